# The tensor value: a DLPack tensor plus a reference count, in two blocks from the Redis
# allocator: the header (this struct | shape | strides | string offsets) and the data, on its
# own so that its size stays in the allocator's exact size class (a 1 MiB tensor costs 1 MiB).
# A DAG's intermediate may instead point into a runner's output, freed by its deleter.
# Immutable once stored, so a key, a queued run and a DLPack consumer can all hold it safely.
from libc.stdint cimport int64_t, uint64_t
from redisai_module.dlpack cimport DLTensor

ctypedef struct RaiTensor:
    DLTensor dl        # shape and strides point into the header block, data to its own block
    int64_t refcount   # atomic; the block is freed when it drops to zero
    size_t length      # number of elements (product of the shape; 1 for a scalar)
    size_t nbytes      # bytes of data (STRING: the NUL-terminated elements)
    uint64_t *offsets  # STRING only: byte offset of each element in data; NULL otherwise
    void *owner        # NULL: data is its own Redis block. Else the DLManagedTensor that owns
                       # the data: a runner's output a DAG keeps as it is (tensor_adopt)
