# Pieces every script decoder shares (input is untrusted: checked reads, capped lists).
from redisai_module.objects.script cimport RaiScript
from redisai_module.redis_api cimport *


cdef RaiScript *script_load_failed(RedisModuleIO *io, RaiScript *s) noexcept nogil:
    RedisModule_LogIOError(io, "warning", "Experienced a short read while reading a script from RDB")
    script_decref(s)
    return NULL


cdef RaiScript *load_script_head(RedisModuleIO *io, bint tag_has_nul) noexcept nogil:
    """device+NUL, tag (with its NUL in encoding 0 only), source+NUL: every encoding's start."""
    cdef RaiScript *s = script_new()
    s.head.device = load_buffer_cstring(io, True, NULL)
    if s.head.device == NULL:
        return script_load_failed(io, s)
    s.head.tag = load_buffer_cstring(io, tag_has_nul, &s.head.tag_len)
    if s.head.tag == NULL:
        return script_load_failed(io, s)
    s.source = load_buffer_cstring(io, True, &s.source_len)
    if s.source == NULL:
        return script_load_failed(io, s)
    return s


cdef RaiScript *script_load_finish(RedisModuleIO *io, RaiScript *s) noexcept nogil:
    """Every field is read: compile (main thread only, see types/), statistics, queue."""
    if not runnable_load_or_log(&s.head):
        script_decref(s)
        return NULL
    cdef size_t key_len
    cdef const char *key_name = key_name_from_io(io, &key_len)
    if key_name != NULL:
        runnable_track_stats(&s.head, key_name, key_len)
    ensure_run_queue(s.head.device)
    return s
