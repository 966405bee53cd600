# Script life cycle in C memory; nogil throughout (type callbacks, lazy-free thread).
from redisai_module.objects.script cimport RaiScript
from redisai_module.objects.runnable cimport RaiRunnable
from redisai_module.redis_api cimport RedisModule_Free, RedisModule_MallocSize


cdef RaiScript *script_new() noexcept nogil:
    return <RaiScript *>runnable_new(sizeof(RaiScript), True)


cdef inline RaiScript *script_incref(RaiScript *s) noexcept nogil:
    return <RaiScript *>runnable_incref(&s.head)


cdef inline void script_decref(RaiScript *s) noexcept nogil:
    runnable_decref(<RaiRunnable *>s)


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
