# Today's tensor encoder: what RDB save and DUMP write (encoding RAI_ENCODING_VERSION, read back
# by tensor_v4.pyx; docs/PERSISTENCE.md §3.1) and what AOF rewrite emits (§6).
from redisai_module.dlpack cimport kDLString
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *


cdef void tensor_rdb_save(RedisModuleIO *io, RaiTensor *t) noexcept nogil:
    cdef int i
    cdef size_t k
    RedisModule_SaveUnsigned(io, t.dl.dtype.code)
    RedisModule_SaveUnsigned(io, t.dl.dtype.bits)
    RedisModule_SaveSigned(io, t.dl.ndim)
    for i in range(t.dl.ndim):
        RedisModule_SaveSigned(io, t.dl.shape[i])
    RedisModule_SaveStringBuffer(io, <const char *>t.dl.data, t.nbytes)
    if t.dl.dtype.code == kDLString:
        for k in range(t.length):
            RedisModule_SaveUnsigned(io, t.offsets[k])


cdef void tensor_aof_rewrite(RedisModuleIO *aof, RedisModuleString *key, RaiTensor *t) noexcept nogil:
    """AI.TENSORSET <key> <TYPE> <dims...> BLOB <data>"""
    cdef RedisModuleString *dims[TENSOR_MAX_NDIM]
    tensor_dim_strings(t, dims)
    RedisModule_EmitAOF(aof, "AI.TENSORSET", "scvcb", key, dtype_name(t.dl.dtype),
                        dims, <size_t>t.dl.ndim, "BLOB", <const char *>t.dl.data, t.nbytes)
    free_dim_strings(t, dims)
