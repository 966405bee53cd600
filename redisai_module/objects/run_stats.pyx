# The index of run statistics by key name. Insertions happen on the main thread; removals also
# from Redis's lazy-free thread (a model's free callback), hence the mutex.
from libc.string cimport memcmp, memset, strlen
from redisai_module.objects.run_stats cimport RunStats
from redisai_module.pthreads cimport *
from redisai_module.redis_api cimport RedisModule_Alloc, RedisModule_Free

cdef extern from *:
    """
    static pthread_mutex_t rai_stats_lock = PTHREAD_MUTEX_INITIALIZER;
    """
    pthread_mutex_t _stats_lock "rai_stats_lock"

cdef RunStats *_stats_index = NULL


cdef void _unlink_locked(RunStats *s) noexcept nogil:
    global _stats_index
    cdef RunStats **p = &_stats_index
    while p[0] != NULL:
        if p[0] == s:
            p[0] = s.next
            s.indexed = False
            return
        p = &p[0].next


cdef RunStats *_find_locked(const char *key, size_t key_len) noexcept nogil:
    cdef RunStats *s = _stats_index
    while s != NULL:
        if s.key_len == key_len and memcmp(s.key, key, key_len) == 0:
            return s
        s = s.next
    return NULL


cdef RunStats *run_stats_create(const char *key, size_t key_len, bint is_script, int backend,
                                const char *device, const char *tag, size_t tag_len) noexcept nogil:
    """A fresh record (counters 0), in front of any the index holds for this key. The one behind
    stays until its value leaves the keyspace (run_stats_unindex): a RESTORE ... REPLACE that Redis
    rejects after loading frees the new value, and the old one's record shows again."""
    global _stats_index
    cdef RunStats *s = <RunStats *>RedisModule_Alloc(sizeof(RunStats))
    memset(s, 0, sizeof(RunStats))
    s.key = copy_cstring(key, key_len)
    s.key_len = key_len
    s.is_script = is_script
    s.backend = backend
    s.device = copy_cstring(device, strlen(device))
    s.tag = copy_cstring(tag, tag_len)
    s.tag_len = tag_len
    pthread_mutex_lock(&_stats_lock)
    s.next = _stats_index
    _stats_index = s
    s.indexed = True
    pthread_mutex_unlock(&_stats_lock)
    return s


cdef void run_stats_unindex(RunStats *s) noexcept nogil:
    """Its value left the keyspace (deleted, overwritten, refused): AI.INFO no longer finds it,
    though runs still holding the value may count into it."""
    if s == NULL:
        return
    pthread_mutex_lock(&_stats_lock)
    if s.indexed:
        _unlink_locked(s)
    pthread_mutex_unlock(&_stats_lock)


cdef void run_stats_free(RunStats *s) noexcept nogil:
    """The owner is gone: leave the index (if still there) and free."""
    if s == NULL:
        return
    run_stats_unindex(s)
    RedisModule_Free(s.key)
    RedisModule_Free(s.device)
    RedisModule_Free(s.tag)
    RedisModule_Free(s)


# Readers (AI.INFO, AI._MODELSCAN) hold the lock while they use a record: a model freed by the
# lazy-free thread at that moment would otherwise free the record under them.
cdef inline void run_stats_lock() noexcept nogil:
    pthread_mutex_lock(&_stats_lock)


cdef inline void run_stats_unlock() noexcept nogil:
    pthread_mutex_unlock(&_stats_lock)


cdef inline RunStats *run_stats_find_locked(const char *key, size_t key_len) noexcept nogil:
    return _find_locked(key, key_len)


cdef inline RunStats *run_stats_first_locked() noexcept nogil:
    return _stats_index
