# Script decoder for encoding versions 3 and 4 (RedisAI 1.2.4+; docs/PERSISTENCE.md §3.3): the layout
# script_save.pyx writes today.
# FROZEN: this layout shipped; never edit this file again: a new layout gets its own decoder.
# device+NUL, tag, source+NUL, entry point count, entry points+NUL.
from redisai_module.objects.script cimport RaiScript
from redisai_module.redis_api cimport *


cdef RaiScript *script_rdb_load_v3_v4(RedisModuleIO *io) noexcept nogil:
    cdef RaiScript *s = load_script_head(io, False)
    if s != NULL and not load_name_list(io, &s.entry_points, &s.nentry_points):
        return script_load_failed(io, s)
    return script_load_finish(io, s)
