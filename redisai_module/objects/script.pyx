# Script life cycle in C memory; nogil throughout (type callbacks, lazy-free thread).
from libc.string cimport memset
from redisai_module.objects.script cimport RaiScript
from redisai_module.redis_api cimport RedisModule_Alloc, RedisModule_Free, RedisModule_MallocSize


cdef RaiScript *script_new() noexcept nogil:
    cdef RaiScript *s = <RaiScript *>RedisModule_Alloc(sizeof(RaiScript))
    memset(s, 0, sizeof(RaiScript))
    s.refcount = 1
    return s


cdef inline RaiScript *script_incref(RaiScript *s) noexcept nogil:
    rai_refcount_incr(&s.refcount)
    return s


cdef void script_decref(RaiScript *s) noexcept nogil:
    if s == NULL or rai_refcount_decr(&s.refcount) != 0:
        return
    if s.device != NULL:
        RedisModule_Free(s.device)
    if s.tag != NULL:
        RedisModule_Free(s.tag)
    if s.source != NULL:
        RedisModule_Free(s.source)
    free_name_list(s.entry_points, s.nentry_points)
    release_later(s.handle)
    run_stats_free(s.stats)
    RedisModule_Free(s)


cdef size_t script_memory(RaiScript *s) noexcept nogil:
    cdef size_t total = RedisModule_MallocSize(s)
    if s.device != NULL:
        total += RedisModule_MallocSize(s.device)
    if s.tag != NULL:
        total += RedisModule_MallocSize(s.tag)
    if s.source != NULL:
        total += RedisModule_MallocSize(s.source)
    return total + name_list_memory(s.entry_points, s.nentry_points)


cdef void script_track_stats(RaiScript *s, const char *key, size_t key_len) noexcept nogil:
    """Fresh AI.INFO counters under `key` (scripts report backend TORCH, samples -1)."""
    run_stats_free(s.stats)
    s.stats = run_stats_create(key, key_len, True, RAI_BACKEND_TORCH, s.device, s.tag, s.tag_len)
