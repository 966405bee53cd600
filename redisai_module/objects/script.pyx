# Script life cycle in C memory; nogil throughout (type callbacks, lazy-free thread).
from libc.string cimport memset
from redisai_module.objects.script cimport RaiScript
from redisai_module.redis_api cimport RedisModule_Alloc, RedisModule_Free, RedisModule_MallocSize


cdef RaiScript *script_new() noexcept nogil:
    cdef RaiScript *s = <RaiScript *>RedisModule_Alloc(sizeof(RaiScript))
    memset(s, 0, sizeof(RaiScript))
    runnable_init(&s.head, True)
    return s


cdef inline RaiScript *script_incref(RaiScript *s) noexcept nogil:
    runnable_incref(&s.head)
    return s


cdef void script_decref(RaiScript *s) noexcept nogil:
    if s != NULL:
        runnable_decref(&s.head)


cdef void script_free_own_parts(RaiScript *s) noexcept nogil:
    """What the header does not hold (runnable_decref, on the last reference)."""
    if s.source != NULL:
        RedisModule_Free(s.source)
    free_name_list(s.entry_points, s.nentry_points)


cdef size_t script_memory(RaiScript *s) noexcept nogil:
    cdef size_t total = RedisModule_MallocSize(s) + runnable_memory(&s.head)
    if s.source != NULL:
        total += RedisModule_MallocSize(s.source)
    return total + name_list_memory(s.entry_points, s.nentry_points)
