# Tensor decoder for encoding versions 0-3 (RedisAI <= 1.2.4; docs/PERSISTENCE.md §5.1).
# FROZEN: this layout shipped; never edit this file again: a new layout gets its own decoder.
# Layout: device type, device id, dtype bits, dtype code, lanes, ndims, dims, strides,
# byte offset, data. No STRING tensors. Device, strides and offset are discarded.
from libc.stdint cimport int64_t, uint64_t, uint8_t, INT64_MAX
from libc.string cimport memcpy
from redisai_module.dlpack cimport DLDataType, kDLCPU, kDLString
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *


cdef RaiTensor *tensor_rdb_load_v0_v3(RedisModuleIO *io) noexcept nogil:
    cdef int64_t shape[TENSOR_MAX_NDIM]
    cdef uint64_t device_type = RedisModule_LoadUnsigned(io)
    RedisModule_LoadUnsigned(io)  # device id
    cdef uint64_t bits = RedisModule_LoadUnsigned(io)
    cdef uint64_t code = RedisModule_LoadUnsigned(io)
    cdef uint64_t lanes = RedisModule_LoadUnsigned(io)
    cdef uint64_t ndim = RedisModule_LoadUnsigned(io)
    if RedisModule_IsIOError(io):
        return tensor_load_io_error(io)
    cdef DLDataType dtype = make_dtype(<uint8_t>code, <uint8_t>bits)
    if (device_type != kDLCPU or lanes != 1 or code > 255 or bits > 255
            or not dtype_is_supported(dtype) or code == kDLString or ndim > TENSOR_MAX_NDIM):
        return tensor_load_invalid(io)
    cdef uint64_t i, dim
    for i in range(ndim):
        dim = RedisModule_LoadUnsigned(io)
        if dim > <uint64_t>INT64_MAX:
            return tensor_load_invalid(io)
        shape[i] = <int64_t>dim
    for i in range(ndim):
        RedisModule_LoadUnsigned(io)  # strides
    RedisModule_LoadUnsigned(io)  # byte offset
    if RedisModule_IsIOError(io):
        return tensor_load_io_error(io)
    return tensor_load_numeric_data(io, dtype, <int>ndim, shape)
