# The AI__MODEL module type callbacks (docs/PERSISTENCE.md §1, §3.2, §6): each hands the value to
# serialization/ or objects/.
# rdb_save, aof_rewrite, mem_usage and free are nogil and call no Python (BGSAVE's forked
# child, lazy-free thread). rdb_load is the one exception: it must load the blob into the
# backend, and it only ever runs on the main thread (RDB load, RESTORE, replica sync), never in
# a forked child, so taking the GIL there cannot deadlock the way a fork can.
from redisai_module.objects.model cimport RaiModel
from redisai_module.objects.runnable cimport RaiRunnable
from redisai_module.redis_api cimport *

# Set by the C shim right after RedisModule_CreateDataType.
cdef public RedisModuleType *RAI_ModelType


cdef public void *RAI_ModelType_RdbLoad(RedisModuleIO *io, int encver) noexcept nogil:
    """The decoded model becomes a key's value: its device's run queue exists from now on, as
    after AI.MODELSTORE (docs/BEHAVIOUR.md §1). Here, not in the decoder: decoding starts no threads."""
    cdef RaiModel *m = model_rdb_decode(io, encver)
    if m != NULL:
        ensure_run_queue(m.head.device)
    return m


cdef public void RAI_ModelType_RdbSave(RedisModuleIO *io, void *value) noexcept nogil:
    model_rdb_save(io, <RaiModel *>value)


cdef public void RAI_ModelType_AofRewrite(RedisModuleIO *aof, RedisModuleString *key, void *value) noexcept nogil:
    model_aof_rewrite(aof, key, <RaiModel *>value)


cdef public size_t RAI_ModelType_MemUsage(const void *value) noexcept nogil:
    return model_memory(<RaiModel *>value)


cdef public void RAI_ModelType_Free(void *value) noexcept nogil:
    runnable_key_released(<RaiRunnable *>value)
