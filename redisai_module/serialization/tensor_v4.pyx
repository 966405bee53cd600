# Tensor decoder for encoding version 4 (RedisAI 1.2.5+; docs/PERSISTENCE.md §3.1): the layout
# tensor_save.pyx writes today.
# FROZEN: this layout shipped; never edit this file again: a new layout gets its own decoder.
# Layout: dtype code, dtype bits, signed ndims, signed dims, data, and for STRING tensors the
# offset of each element. Signed values are written with SaveSigned (UINT opcode on disk).
from libc.stdint cimport int64_t, uint64_t, uint8_t, INT64_MAX
from libc.string cimport memcpy, memmove, strlen
from redisai_module.dlpack cimport DLDataType, kDLString
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *


cdef RaiTensor *tensor_rdb_load_v4(RedisModuleIO *io) noexcept nogil:
    cdef int64_t shape[TENSOR_MAX_NDIM]
    cdef uint64_t code = RedisModule_LoadUnsigned(io)
    cdef uint64_t bits = RedisModule_LoadUnsigned(io)
    cdef int64_t ndim = RedisModule_LoadSigned(io)
    if RedisModule_IsIOError(io):
        return tensor_load_io_error(io)
    cdef DLDataType dtype = make_dtype(<uint8_t>code, <uint8_t>bits)
    if code > 255 or bits > 255 or not dtype_is_supported(dtype) or ndim < 0 or ndim > TENSOR_MAX_NDIM:
        return tensor_load_invalid(io)
    cdef int64_t i
    for i in range(ndim):
        shape[i] = RedisModule_LoadSigned(io)
        if shape[i] < 0:
            return tensor_load_invalid(io)
    if RedisModule_IsIOError(io):
        return tensor_load_io_error(io)
    if dtype.code != kDLString:
        return tensor_load_numeric_data(io, dtype, <int>ndim, shape)
    return tensor_load_string_data(io, <int>ndim, shape)


cdef RaiTensor *tensor_load_string_data(RedisModuleIO *io, int ndim, const int64_t *shape) noexcept nogil:
    """STRING blob plus one offset per element, accepted only as RedisAI or this module could
    have written them: the first offset 0, each next one past a NUL that ends the element before
    it, the blob's last byte a NUL (a zero-size tensor: no blob). Anything else (an offset
    mid-element, decreasing or repeated, a missing final NUL) is refused."""
    cdef size_t length, n, k
    cdef uint64_t offset
    cdef bint bad
    if not shape_length(ndim, shape, &length):
        return tensor_load_invalid(io)
    cdef char *blob = RedisModule_LoadStringBuffer(io, &n)
    if RedisModule_IsIOError(io) or blob == NULL:
        if blob != NULL:
            RedisModule_Free(blob)
        return tensor_load_io_error(io)
    if length > n or (length == 0) != (n == 0) or (n > 0 and blob[n - 1] != 0):
        RedisModule_Free(blob)
        return tensor_load_invalid(io)
    cdef RaiTensor *t = tensor_alloc(make_dtype(kDLString, 8), ndim, shape, length, n)
    if t == NULL:
        RedisModule_Free(blob)
        return tensor_load_invalid(io)
    memcpy(t.dl.data, blob, n)
    RedisModule_Free(blob)
    for k in range(length):
        offset = RedisModule_LoadUnsigned(io)
        if RedisModule_IsIOError(io):
            tensor_decref(t)
            return tensor_load_io_error(io)
        if k == 0:
            bad = offset != 0
        else:
            bad = offset <= t.offsets[k - 1] or offset >= n or tensor_data(t)[offset - 1] != 0
        if bad:
            tensor_decref(t)
            return tensor_load_invalid(io)
        t.offsets[k] = offset
    if string_elements_compact(t):
        RedisModule_LogIOError(io, "notice", "STRING tensor in RDB: elements cut at their first NUL")
    return t


cdef bint string_elements_compact(RaiTensor *t) noexcept nogil:
    """Cut each element at its first NUL, as every reader (TENSORGET VALUES, backends) sees it.
    RedisAI stored TF and ONNX string outputs with their inner NULs, which no AI.TENSORSET can
    re-issue. True if any element changed."""
    cdef char *data = tensor_data(t)
    cdef size_t k, size, pos = 0
    for k in range(t.length):
        size = strlen(data + t.offsets[k]) + 1  # bounded: the element's span ends with a NUL
        memmove(data + pos, data + t.offsets[k], size)
        t.offsets[k] = pos
        pos += size
    cdef bint changed = pos != t.nbytes
    t.nbytes = pos
    return changed
