# The AI_PIPELN module type callbacks (docs/COMMANDS.md §7.6). rdb_load runs on the main thread
# (RDB load, RESTORE, replica sync) and registers the loaded pipeline with the pump; free may run
# in Redis's lazy-free thread, so it only marks the pipeline released.
from redisai_module.objects.pipeline cimport RaiPipeline
from redisai_module.redis_api cimport *

# Set by the C shim right after RedisModule_CreateDataType.
cdef public RedisModuleType *RAI_PipelineType


cdef public void *RAI_PipelineType_RdbLoad(RedisModuleIO *io, int encver) noexcept nogil:
    cdef RaiPipeline *pl = pipeline_rdb_decode(io)
    if pl != NULL:
        pipeline_register(pl)
    return pl


cdef public void RAI_PipelineType_RdbSave(RedisModuleIO *io, void *value) noexcept nogil:
    pipeline_rdb_save(io, <RaiPipeline *>value)


cdef public void RAI_PipelineType_AofRewrite(RedisModuleIO *aof, RedisModuleString *key, void *value) noexcept nogil:
    pipeline_aof_rewrite(aof, key, <RaiPipeline *>value)


cdef public size_t RAI_PipelineType_MemUsage(const void *value) noexcept nogil:
    return pipeline_memory(<RaiPipeline *>value)


cdef public void RAI_PipelineType_Free(void *value) noexcept nogil:
    pipeline_key_released(<RaiPipeline *>value)
