# Script decoder for encoding version 0 (RedisAI <= 1.0; docs/PERSISTENCE.md §5.3).
# FROZEN: this layout shipped; never edit this file again: a new layout gets its own decoder.
# device+NUL, tag+NUL (the NUL dropped), source+NUL. No entry points.
from redisai_module.objects.script cimport RaiScript
from redisai_module.redis_api cimport *


cdef RaiScript *script_rdb_load_v0(RedisModuleIO *io) noexcept nogil:
    return script_load_finish(io, load_script_head(io, True))
