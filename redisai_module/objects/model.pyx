# Model life cycle in C memory: creation, names, reference counting, size. nogil throughout:
# the type callbacks use it from BGSAVE's child and the lazy-free thread.
from libc.string cimport memcpy, memset, strlen
from redisai_module.objects.model cimport *
from redisai_module.redis_api cimport RedisModule_Alloc, RedisModule_Free, RedisModule_MallocSize


cdef RaiModel *model_new(int backend) noexcept nogil:
    cdef RaiModel *m = <RaiModel *>RedisModule_Alloc(sizeof(RaiModel))
    memset(m, 0, sizeof(RaiModel))
    m.refcount = 1
    m.backend = backend
    return m


cdef char *copy_cstring(const char *s, size_t n) noexcept nogil:
    """A NUL-terminated copy of n bytes, in Redis memory."""
    cdef char *out = <char *>RedisModule_Alloc(n + 1)
    memcpy(out, s, n)
    out[n] = 0
    return out


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
    rai_refcount_incr(&m.refcount)
    return m


cdef void model_decref(RaiModel *m) noexcept nogil:
    if m == NULL or rai_refcount_decr(&m.refcount) != 0:
        return
    if m.device != NULL:
        RedisModule_Free(m.device)
    if m.tag != NULL:
        RedisModule_Free(m.tag)
    free_name_list(m.inputs, m.ninputs)
    free_name_list(m.outputs, m.noutputs)
    if m.blob != NULL:
        RedisModule_Free(m.blob)
    release_later(m.handle)
    run_stats_free(m.stats)
    RedisModule_Free(m)


cdef size_t model_memory(RaiModel *m) noexcept nogil:
    cdef size_t total = RedisModule_MallocSize(m)
    if m.device != NULL:
        total += RedisModule_MallocSize(m.device)
    if m.tag != NULL:
        total += RedisModule_MallocSize(m.tag)
    if m.blob != NULL:
        total += RedisModule_MallocSize(m.blob)
    return total + name_list_memory(m.inputs, m.ninputs) + name_list_memory(m.outputs, m.noutputs)


cdef void model_track_stats(RaiModel *m, const char *key, size_t key_len) noexcept nogil:
    """Fresh AI.INFO counters for m under `key` (a store or a load replaces older ones)."""
    run_stats_free(m.stats)
    m.stats = run_stats_create(key, key_len, False, m.backend, m.device, m.tag, m.tag_len)
