# Pieces every tensor decoder shares: the numeric data blob and the load-failure paths. Frozen
# decoders call them: change them only in ways that read every shipped layout as before.
from libc.stdint cimport int64_t
from libc.string cimport memcpy
from redisai_module.dlpack cimport DLDataType
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *


cdef RaiTensor *tensor_load_io_error(RedisModuleIO *io) noexcept nogil:
    log_short_read(io, "tensor")
    return NULL


cdef RaiTensor *tensor_load_invalid(RedisModuleIO *io) noexcept nogil:
    RedisModule_LogIOError(io, "warning", "Invalid tensor in RDB: bad type, shape or data length")
    return NULL


cdef RaiTensor *tensor_load_numeric_data(RedisModuleIO *io, DLDataType dtype, int ndim,
                                         const int64_t *shape) noexcept nogil:
    """The data blob of a non-STRING tensor; its length must match shape and type (a zero-size
    tensor has an empty blob)."""
    cdef size_t length, n
    if not shape_length(ndim, shape, &length):
        return tensor_load_invalid(io)
    cdef char *blob = RedisModule_LoadStringBuffer(io, &n)
    if RedisModule_IsIOError(io) or blob == NULL:
        if blob != NULL:
            RedisModule_Free(blob)
        return tensor_load_io_error(io)
    if length > n or n != length * dtype_size(dtype):
        RedisModule_Free(blob)
        return tensor_load_invalid(io)
    cdef RaiTensor *t = tensor_alloc(dtype, ndim, shape, length, n)
    if t != NULL:
        memcpy(t.dl.data, blob, n)
    RedisModule_Free(blob)
    if t == NULL:
        return tensor_load_invalid(io)
    if tensor_normalise_bools(t):
        # RedisAI could store such bytes (its TENSORSET skipped the last one): kept as true, the
        # form AI.TENSORSET accepts, so that AOF rewrite and replication can re-issue the value.
        RedisModule_LogIOError(io, "notice", "BOOL tensor in RDB: bytes other than 0 and 1 loaded as 1")
    return t
