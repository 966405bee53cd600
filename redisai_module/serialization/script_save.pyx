# Today's script encoder: what RDB save and DUMP write (encoding RAI_ENCODING_VERSION, read back
# by script_v3_v4.pyx; docs/PERSISTENCE.md §3.3) and what AOF rewrite emits (§6).
from libc.string cimport strlen
from redisai_module.objects.script cimport RaiScript
from redisai_module.redis_api cimport *


cdef void script_rdb_save(RedisModuleIO *io, RaiScript *s) noexcept nogil:
    RedisModule_SaveStringBuffer(io, s.head.device, strlen(s.head.device) + 1)
    RedisModule_SaveStringBuffer(io, s.head.tag, s.head.tag_len)
    RedisModule_SaveStringBuffer(io, s.source, s.source_len + 1)
    save_name_list(io, s.entry_points, s.nentry_points)


cdef void script_aof_rewrite(RedisModuleIO *aof, RedisModuleString *key, RaiScript *s) noexcept nogil:
    """AI.SCRIPTSTORE <key> <device> TAG <tag> ENTRY_POINTS <n> <fn>... SOURCE <source>, or for a
    script without entry points AI.SCRIPTSET <key> <device> TAG <tag> SOURCE <source> (RedisAI
    wrote an AI.SCRIPTSTORE that cannot load back, docs/PERSISTENCE.md §6)."""
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
    emit_aof_and_free(aof, "AI.SCRIPTSTORE" if s.nentry_points else "AI.SCRIPTSET", key, args, n)
