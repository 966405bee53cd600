# The AI_TENSOR module type callbacks (docs/PERSISTENCE.md §1, §6): each hands the value to
# serialization/ or objects/.
# All are `noexcept nogil` and call no Python: rdb_save and aof_rewrite run in BGSAVE's forked
# child, where taking the GIL can deadlock, and free also runs in Redis's lazy-free thread.
# tests/test_nogil_callbacks.py checks the generated C of everything reachable from here.
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *

# Set by the C shim right after RedisModule_CreateDataType.
cdef public RedisModuleType *RAI_TensorType


cdef public void *RAI_TensorType_RdbLoad(RedisModuleIO *io, int encver) noexcept nogil:
    return tensor_rdb_decode(io, encver)


cdef public void RAI_TensorType_RdbSave(RedisModuleIO *io, void *value) noexcept nogil:
    tensor_rdb_save(io, <RaiTensor *>value)


cdef public void RAI_TensorType_AofRewrite(RedisModuleIO *aof, RedisModuleString *key, void *value) noexcept nogil:
    tensor_aof_rewrite(aof, key, <RaiTensor *>value)


cdef public size_t RAI_TensorType_MemUsage(const void *value) noexcept nogil:
    return tensor_memory(<RaiTensor *>value)


cdef public void RAI_TensorType_Free(void *value) noexcept nogil:
    tensor_decref(<RaiTensor *>value)


cdef public void *RAI_TensorType_Copy(RedisModuleString *fromkey, RedisModuleString *tokey,
                                      const void *value) noexcept nogil:
    # Tensors are immutable: COPY shares the block instead of duplicating the data.
    return tensor_incref(<RaiTensor *>value)
