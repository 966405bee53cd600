# The AI_SCRIPT module type callbacks (PERSISTENCE.md §1, §3.3, §6). As for models: rdb_load
# compiles the source (main thread only, never in a forked child); everything else is nogil and
# calls no Python.
from libc.string cimport strlen
from redisai_module.objects.script cimport RaiScript
from redisai_module.redis_api cimport *

cdef enum:
    SCRIPT_ENCODING_VERSION = 4

# Set by the C shim right after RedisModule_CreateDataType.
cdef public RedisModuleType *RAI_ScriptType


cdef public void *RAI_ScriptType_RdbLoad(RedisModuleIO *io, int encver) noexcept nogil:
    if encver > SCRIPT_ENCODING_VERSION:
        RedisModule_LogIOError(io, "warning",
                               "Failed loading script, RedisAI version (%d) is not forward compatible.",
                               REDISAI_MODULE_VERSION)
        return NULL
    if encver == 0:
        return script_rdb_load_v0(io)
    if encver < 3:
        return script_rdb_load_v1(io)
    return script_rdb_load_v4(io)


cdef public void RAI_ScriptType_RdbSave(RedisModuleIO *io, void *value) noexcept nogil:
    script_rdb_save_v4(io, <RaiScript *>value)


cdef public void RAI_ScriptType_AofRewrite(RedisModuleIO *aof, RedisModuleString *key, void *value) noexcept nogil:
    """AI.SCRIPTSTORE <key> <device> TAG <tag> ENTRY_POINTS <n> <fn>... SOURCE <source>, or for a
    script without entry points AI.SCRIPTSET <key> <device> TAG <tag> SOURCE <source> (RedisAI
    wrote an AI.SCRIPTSTORE that cannot load back, PERSISTENCE.md §6)."""
    cdef RaiScript *s = <RaiScript *>value
    cdef size_t n = 0, k
    cdef RedisModuleString **args = <RedisModuleString **>RedisModule_Alloc(
        (7 + s.nentry_points) * sizeof(RedisModuleString *))
    args[n] = aof_cstring(s.head.device); n += 1
    args[n] = aof_cstring("TAG"); n += 1
    args[n] = RedisModule_CreateString(NULL, s.head.tag, s.head.tag_len); n += 1
    if s.nentry_points:
        args[n] = aof_cstring("ENTRY_POINTS"); n += 1
        args[n] = aof_number(s.nentry_points); n += 1
        for k in range(s.nentry_points):
            args[n] = aof_cstring(s.entry_points[k]); n += 1
    args[n] = aof_cstring("SOURCE"); n += 1
    args[n] = RedisModule_CreateString(NULL, s.source, s.source_len); n += 1
    # The key goes through 's' (a stack object, see the model type).
    RedisModule_EmitAOF(aof, "AI.SCRIPTSTORE" if s.nentry_points else "AI.SCRIPTSET", "sv", key, args, n)
    for k in range(n):
        RedisModule_FreeString(NULL, args[k])
    RedisModule_Free(args)


cdef public size_t RAI_ScriptType_MemUsage(const void *value) noexcept nogil:
    return script_memory(<RaiScript *>value)


cdef public void RAI_ScriptType_Free(void *value) noexcept nogil:
    """The key lets go of the script (queued runs may still hold it): its statistics go now."""
    run_stats_unindex((<RaiScript *>value).head.stats)
    script_decref(<RaiScript *>value)
