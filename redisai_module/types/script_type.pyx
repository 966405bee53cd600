# The AI_SCRIPT module type callbacks (docs/PERSISTENCE.md §1, §3.3, §6): each hands the value to
# serialization/ or objects/. As for models: rdb_load compiles the source (main thread only,
# never in a forked child); everything else is nogil and calls no Python.
from redisai_module.objects.script cimport RaiScript
from redisai_module.objects.runnable cimport RaiRunnable
from redisai_module.redis_api cimport *

# Set by the C shim right after RedisModule_CreateDataType.
cdef public RedisModuleType *RAI_ScriptType


cdef public void *RAI_ScriptType_RdbLoad(RedisModuleIO *io, int encver) noexcept nogil:
    """As for models: the decoded script's device gets its run queue here, not in the decoder."""
    cdef RaiScript *s = script_rdb_decode(io, encver)
    if s != NULL:
        ensure_run_queue(s.head.device)
    return s


cdef public void RAI_ScriptType_RdbSave(RedisModuleIO *io, void *value) noexcept nogil:
    script_rdb_save(io, <RaiScript *>value)


cdef public void RAI_ScriptType_AofRewrite(RedisModuleIO *aof, RedisModuleString *key, void *value) noexcept nogil:
    script_aof_rewrite(aof, key, <RaiScript *>value)


cdef public size_t RAI_ScriptType_MemUsage(const void *value) noexcept nogil:
    return script_memory(<RaiScript *>value)


cdef public void RAI_ScriptType_Free(void *value) noexcept nogil:
    runnable_key_released(<RaiRunnable *>value)
