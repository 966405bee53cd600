# Script codec for encoding versions 3 and 4 (RedisAI 1.2.4+; PERSISTENCE.md §3.3): the one we
# write. device+NUL, tag, source+NUL, entry point count, entry points+NUL.
from libc.string cimport strlen
from redisai_module.objects.script cimport RaiScript
from redisai_module.redis_api cimport *


cdef void script_rdb_save_v4(RedisModuleIO *io, RaiScript *s) noexcept nogil:
    RedisModule_SaveStringBuffer(io, s.head.device, strlen(s.head.device) + 1)
    RedisModule_SaveStringBuffer(io, s.head.tag, s.head.tag_len)
    RedisModule_SaveStringBuffer(io, s.source, s.source_len + 1)
    save_name_list(io, s.entry_points, s.nentry_points)


cdef RaiScript *script_rdb_load_v4(RedisModuleIO *io) noexcept nogil:
    cdef RaiScript *s = load_script_head(io, False)
    if s == NULL:
        return NULL
    if not load_name_list(io, &s.entry_points, &s.nentry_points):
        return script_load_failed(io, s)
    return script_load_finish(io, s)
