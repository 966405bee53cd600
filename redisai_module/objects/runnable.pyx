# The life cycle of the header a model and a script share (objects/runnable.pxd): references,
# device, tag, handle, statistics. nogil throughout: the type callbacks use it from BGSAVE's
# child and the lazy-free thread.
from libc.string cimport memset
from redisai_module.objects.model cimport RaiModel
from redisai_module.objects.runnable cimport RaiRunnable
from redisai_module.objects.script cimport RaiScript
from redisai_module.redis_api cimport RedisModule_Alloc, RedisModule_Free, RedisModule_MallocSize


cdef RaiRunnable *runnable_new(size_t size, bint is_script) noexcept nogil:
    """A zeroed model or script (`size` bytes, header first) with a single reference."""
    cdef RaiRunnable *h = <RaiRunnable *>RedisModule_Alloc(size)
    memset(h, 0, size)
    h.refcount = 1
    h.is_script = is_script
    h.backend_bytes = -1
    return h


cdef void runnable_set_device(RaiRunnable *h, const char *device, size_t n) noexcept nogil:
    h.device = copy_cstring(device, n)


cdef void runnable_set_tag(RaiRunnable *h, const char *tag, size_t n) noexcept nogil:
    h.tag = copy_cstring(tag, n)
    h.tag_len = n


cdef inline RaiRunnable *runnable_incref(RaiRunnable *h) noexcept nogil:
    rai_refcount_incr(&h.refcount)
    return h


cdef void runnable_decref(RaiRunnable *h) noexcept nogil:
    """Drop one reference (none if h is NULL); the last one frees the whole model or script h
    begins."""
    if h == NULL or rai_refcount_decr(&h.refcount) != 0:
        return
    if h.device != NULL:
        RedisModule_Free(h.device)
    if h.tag != NULL:
        RedisModule_Free(h.tag)
    release_later(h.handle)
    run_stats_free(h.stats)
    if h.is_script:
        script_free_own_parts(<RaiScript *>h)
    else:
        model_free_own_parts(<RaiModel *>h)
    RedisModule_Free(h)


cdef void runnable_key_released(RaiRunnable *h) noexcept nogil:
    """Its key lets go of the value (queued runs may still hold it): the statistics go now."""
    run_stats_unindex(h.stats)
    runnable_decref(h)


cdef size_t runnable_memory(RaiRunnable *h) noexcept nogil:
    """The header's strings (the caller counts its own struct, which holds the header)."""
    cdef size_t total = 0
    if h.device != NULL:
        total += RedisModule_MallocSize(h.device)
    if h.tag != NULL:
        total += RedisModule_MallocSize(h.tag)
    return total


cdef int runnable_backend(RaiRunnable *h) noexcept nogil:
    """A script's backend is TORCH (AI.INFO reports it so)."""
    return RAI_BACKEND_TORCH if h.is_script else (<RaiModel *>h).backend


cdef void runnable_track_stats(RaiRunnable *h, const char *key, size_t key_len) noexcept nogil:
    """Fresh AI.INFO counters under `key` (a store or a load replaces older ones)."""
    run_stats_free(h.stats)
    h.stats = run_stats_create(key, key_len, h.is_script, runnable_backend(h), h.device, h.tag, h.tag_len)
    h.stats.backend_bytes = h.backend_bytes
