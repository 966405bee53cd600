# Script decoder for encoding versions 1 and 2 (RedisAI 1.2.0-1.2.3; PERSISTENCE.md §5.3).
# FROZEN: this layout shipped; never edit it, add a new decoder instead.
# device+NUL, tag as a plain string, source+NUL. No entry points.
from redisai_module.objects.script cimport RaiScript
from redisai_module.redis_api cimport *


cdef RaiScript *script_rdb_load_v1(RedisModuleIO *io) noexcept nogil:
    cdef RaiScript *s = load_script_head(io, False)
    if s == NULL:
        return NULL
    return script_load_finish(io, s)
