# Pieces every script decoder shares (the string fields are in string_fields.pyx). Frozen decoders
# call them: change them only in ways that read every shipped layout as before.
from redisai_module.objects.script cimport RaiScript
from redisai_module.redis_api cimport *


cdef RaiScript *script_load_failed(RedisModuleIO *io, RaiScript *s) noexcept nogil:
    log_short_read(io, "script")
    script_decref(s)
    return NULL


cdef RaiScript *load_script_head(RedisModuleIO *io, bint tag_has_nul) noexcept nogil:
    """device+NUL, tag (with its NUL in encoding 0 only), source+NUL: every encoding's start."""
    cdef RaiScript *s = script_new()
    if not load_device_and_tag(io, tag_has_nul, &s.head):
        return script_load_failed(io, s)
    s.source = load_buffer_cstring(io, True, &s.source_len)
    if s.source == NULL:
        return script_load_failed(io, s)
    return s


cdef RaiScript *script_load_finish(RedisModuleIO *io, RaiScript *s) noexcept nogil:
    """Every field is read (s is NULL, logged, if one was not): compile (main thread only, see
    types/), AI.INFO counters under the key's name."""
    if s == NULL:
        return NULL
    if not runnable_load_finish(io, &s.head):
        script_decref(s)
        return NULL
    return s
