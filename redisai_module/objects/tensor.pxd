# The tensor value: a DLPack tensor plus a reference count, in ONE block from the Redis
# allocator (header | shape | strides | string offsets | data). Immutable once stored, so a key,
# a queued run and a DLPack consumer can all hold the same block safely.
from libc.stdint cimport int64_t, uint64_t
from redisai_module.dlpack cimport DLTensor

ctypedef struct RaiTensor:
    DLTensor dl        # data, shape and strides point into this same block
    int64_t refcount   # atomic; the block is freed when it drops to zero
    size_t length      # number of elements (product of the shape; 1 for a scalar)
    size_t nbytes      # bytes of data (STRING: the NUL-terminated elements)
    uint64_t *offsets  # STRING only: byte offset of each element in data; NULL otherwise
