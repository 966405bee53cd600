# The AI_TENSOR module type callbacks (PERSISTENCE.md §1, §6).
# All are `noexcept nogil` and call no Python: rdb_save and aof_rewrite run in BGSAVE's forked
# child, where taking the GIL can deadlock, and free also runs in Redis's lazy-free thread.
# tests/test_nogil_callbacks.py checks the generated C of everything reachable from here.
from libc.stdint cimport int64_t
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *

cdef enum:
    TENSOR_ENCODING_VERSION = 4

# Set by the C shim right after RedisModule_CreateDataType.
cdef public RedisModuleType *RAI_TensorType


cdef public void *RAI_TensorType_RdbLoad(RedisModuleIO *io, int encver) noexcept nogil:
    if encver > TENSOR_ENCODING_VERSION:
        RedisModule_LogIOError(io, "warning",
                               "Failed loading tensor, RedisAI version (%d) is not forward compatible.",
                               REDISAI_MODULE_VERSION)
        return NULL
    if encver < TENSOR_ENCODING_VERSION:
        return tensor_rdb_load_v0(io)
    return tensor_rdb_load_v4(io)


cdef public void RAI_TensorType_RdbSave(RedisModuleIO *io, void *value) noexcept nogil:
    tensor_rdb_save_v4(io, <RaiTensor *>value)


cdef public void RAI_TensorType_AofRewrite(RedisModuleIO *aof, RedisModuleString *key, void *value) noexcept nogil:
    """AI.TENSORSET <key> <TYPE> <dims...> BLOB <data>"""
    cdef RaiTensor *t = <RaiTensor *>value
    cdef RedisModuleString *dims[TENSOR_MAX_NDIM]
    tensor_dim_strings(t, dims)
    RedisModule_EmitAOF(aof, "AI.TENSORSET", "scvcb", key, dtype_name(t.dl.dtype),
                        dims, <size_t>t.dl.ndim, "BLOB", <const char *>t.dl.data, t.nbytes)
    free_dim_strings(t, dims)


cdef public size_t RAI_TensorType_MemUsage(const void *value) noexcept nogil:
    return tensor_memory(<RaiTensor *>value)


cdef public void RAI_TensorType_Free(void *value) noexcept nogil:
    tensor_decref(<RaiTensor *>value)


cdef public void *RAI_TensorType_Copy(RedisModuleString *fromkey, RedisModuleString *tokey,
                                      const void *value) noexcept nogil:
    # Tensors are immutable: COPY shares the block instead of duplicating the data.
    return tensor_incref(<RaiTensor *>value)
