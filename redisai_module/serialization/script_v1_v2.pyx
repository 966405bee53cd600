# Script decoder for encoding versions 1 and 2 (RedisAI 1.2.0-1.2.3; docs/PERSISTENCE.md §5.3).
# FROZEN: this layout shipped; never edit this file again: a new layout gets its own decoder.
# device+NUL, tag as a plain string, source+NUL. No entry points.
from redisai_module.objects.script cimport RaiScript
from redisai_module.redis_api cimport *


cdef RaiScript *script_rdb_load_v1_v2(RedisModuleIO *io) noexcept nogil:
    return script_load_finish(io, load_script_head(io, False))
