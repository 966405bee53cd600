# Model life cycle in C memory: creation, names, freeing its own parts, size (the header's
# share, references included, is runnable.pyx's). nogil throughout: the type callbacks use it
# from BGSAVE's child and the lazy-free thread.
from libc.string cimport memset
from redisai_module.objects.model cimport *
from redisai_module.objects.runnable cimport RaiRunnable
from redisai_module.redis_api cimport RedisModule_Alloc, RedisModule_Free, RedisModule_MallocSize


cdef RaiModel *model_new(int backend) noexcept nogil:
    cdef RaiModel *m = <RaiModel *>runnable_new(sizeof(RaiModel), False)
    m.backend = backend
    return m


cdef char **new_name_list(size_t n) noexcept nogil:
    cdef char **names = <char **>RedisModule_Alloc((n if n else 1) * sizeof(char *))
    memset(names, 0, (n if n else 1) * sizeof(char *))
    return names


cdef void free_name_list(char **names, size_t n) noexcept nogil:
    cdef size_t i
    if names == NULL:
        return
    for i in range(n):
        if names[i] != NULL:
            RedisModule_Free(names[i])
    RedisModule_Free(names)


cdef size_t name_list_memory(char **names, size_t n) noexcept nogil:
    cdef size_t i, total = RedisModule_MallocSize(names) if names != NULL else 0
    for i in range(n):
        total += RedisModule_MallocSize(names[i])
    return total


cdef inline RaiModel *model_incref(RaiModel *m) noexcept nogil:
    return <RaiModel *>runnable_incref(&m.head)


cdef inline void model_decref(RaiModel *m) noexcept nogil:
    runnable_decref(<RaiRunnable *>m)


cdef void model_free_own_parts(RaiModel *m) noexcept nogil:
    """What the header does not hold (runnable_decref, on the last reference)."""
    free_name_list(m.inputs, m.ninputs)
    free_name_list(m.outputs, m.noutputs)
    if m.blob != NULL:
        RedisModule_Free(m.blob)


cdef size_t model_memory(RaiModel *m) noexcept nogil:
    cdef size_t total = RedisModule_MallocSize(m) + runnable_memory(&m.head)
    if m.blob != NULL:
        total += RedisModule_MallocSize(m.blob)
    return total + name_list_memory(m.inputs, m.ninputs) + name_list_memory(m.outputs, m.noutputs)
