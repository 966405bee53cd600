# The AI__MODEL module type callbacks (PERSISTENCE.md §1, §3.2, §6).
# rdb_save, aof_rewrite, mem_usage and free are nogil and call no Python (BGSAVE's forked
# child, lazy-free thread). rdb_load is the one exception: it must load the blob into the
# backend, and it only ever runs on the main thread (RDB load, RESTORE, replica sync), never in
# a forked child, so taking the GIL there cannot deadlock the way a fork can.
from libc.stdint cimport uint64_t
from libc.string cimport strlen
from redisai_module.objects.model cimport RaiModel
from redisai_module.redis_api cimport *

cdef enum:
    MODEL_ENCODING_VERSION = 4

# Set by the C shim right after RedisModule_CreateDataType.
cdef public RedisModuleType *RAI_ModelType


cdef public void *RAI_ModelType_RdbLoad(RedisModuleIO *io, int encver) noexcept nogil:
    if encver > MODEL_ENCODING_VERSION:
        RedisModule_LogIOError(io, "warning",
                               "Failed loading model, RedisAI version (%d) is not forward compatible.",
                               REDISAI_MODULE_VERSION)
        return NULL
    if encver == 0:
        return model_rdb_load_v0(io)
    if encver == 1:
        return model_rdb_load_v1(io)
    return model_rdb_load_v4(io)


cdef public void RAI_ModelType_RdbSave(RedisModuleIO *io, void *value) noexcept nogil:
    model_rdb_save_v4(io, <RaiModel *>value)


cdef RedisModuleString *aof_cstring(const char *s) noexcept nogil:
    return RedisModule_CreateString(NULL, s, strlen(s))


cdef RedisModuleString *aof_number(uint64_t n) noexcept nogil:
    return RedisModule_CreateStringFromLongLong(NULL, <long long>n)


cdef public void RAI_ModelType_AofRewrite(RedisModuleIO *aof, RedisModuleString *key, void *value) noexcept nogil:
    """AI.MODELSTORE <key> <BACKEND> <device> TAG <tag> BATCHSIZE n MINBATCHSIZE m
    MINBATCHTIMEOUT t [INPUTS n ... OUTPUTS n ...] BLOB <chunk>..."""
    cdef RaiModel *m = <RaiModel *>value
    cdef size_t chunk = <size_t>rai_config.model_chunk_size
    cdef size_t nchunks = m.blob_len // chunk + 1
    cdef size_t cap = 12 + m.ninputs + m.noutputs + 4 + nchunks
    cdef RedisModuleString **args = <RedisModuleString **>RedisModule_Alloc(cap * sizeof(RedisModuleString *))
    cdef size_t n = 0, k
    args[n] = aof_cstring(backend_name(m.backend)); n += 1
    args[n] = aof_cstring(m.head.device); n += 1
    args[n] = aof_cstring("TAG"); n += 1
    args[n] = RedisModule_CreateString(NULL, m.head.tag, m.head.tag_len); n += 1
    args[n] = aof_cstring("BATCHSIZE"); n += 1
    args[n] = aof_number(m.batchsize); n += 1
    args[n] = aof_cstring("MINBATCHSIZE"); n += 1
    args[n] = aof_number(m.minbatchsize); n += 1
    args[n] = aof_cstring("MINBATCHTIMEOUT"); n += 1
    args[n] = aof_number(m.minbatchtimeout); n += 1
    if backend_of(m.backend).names_at_store:
        args[n] = aof_cstring("INPUTS"); n += 1
        args[n] = aof_number(m.ninputs); n += 1
        for k in range(m.ninputs):
            args[n] = aof_cstring(m.inputs[k]); n += 1
        args[n] = aof_cstring("OUTPUTS"); n += 1
        args[n] = aof_number(m.noutputs); n += 1
        for k in range(m.noutputs):
            args[n] = aof_cstring(m.outputs[k]); n += 1
    args[n] = aof_cstring("BLOB"); n += 1
    for k in range(nchunks):
        args[n] = RedisModule_CreateString(NULL, m.blob + k * chunk,
                                           chunk if k < nchunks - 1 else m.blob_len % chunk)
        n += 1
    # The key goes through 's': Redis hands aof_rewrite a stack object that 'v' would try to
    # retain (a panic in the rewrite child); 's' copies such objects.
    RedisModule_EmitAOF(aof, "AI.MODELSTORE", "sv", key, args, n)
    for k in range(n):
        RedisModule_FreeString(NULL, args[k])
    RedisModule_Free(args)


cdef public size_t RAI_ModelType_MemUsage(const void *value) noexcept nogil:
    return model_memory(<RaiModel *>value)


cdef public void RAI_ModelType_Free(void *value) noexcept nogil:
    """The key lets go of the model (queued runs may still hold it): its statistics go now."""
    run_stats_unindex((<RaiModel *>value).head.stats)
    model_decref(<RaiModel *>value)
