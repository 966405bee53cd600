# Live introspection in INFO MODULES (ours, docs/CONFIG.md §4): section ai_queues (per device
# queue its depth and busy workers, and what each busy worker runs now) and ai_runnables (per
# model and script: calls, errors, latency percentiles, batch sizes, framework memory), so any
# INFO scraper (redis_exporter) picks them up. Key names appear with every byte outside
# [A-Za-z0-9_] as `_` and cut: INFO is a line, colon and comma format; AI.STATS has them exact.
from libc.stdint cimport int64_t
from libc.stdio cimport snprintf
from libc.string cimport memcpy, strlen
from redisai_module.objects.run_stats cimport RunStats, LATENCY_BUCKETS, BATCH_BUCKETS
from redisai_module.pthreads cimport pthread_mutex_lock, pthread_mutex_unlock
from redisai_module.redis_api cimport *

cdef enum:
    INFO_NAME_MAX = 96


cdef void info_name(char *out, const char *prefix, const char *name, size_t n) noexcept nogil:
    """prefix + name, every byte outside [A-Za-z0-9_] as `_`, within INFO_NAME_MAX."""
    cdef size_t k, at
    cdef char c
    snprintf(out, INFO_NAME_MAX, "%s", prefix)
    at = 0
    while out[at] != 0:
        at += 1
    k = 0
    while k < n and at < INFO_NAME_MAX - 1:
        c = name[k]
        out[at] = c if (b'a' <= c <= b'z' or b'A' <= c <= b'Z' or b'0' <= c <= b'9') else b'_'
        at += 1
        k += 1
    out[at] = 0


cdef void add_queue_fields(RedisModuleInfoCtx *ctx, RunQueue *q) noexcept nogil:
    """queue_<DEVICE>: depth, workers, busy; run_<DEVICE>_<n>: what busy worker n runs."""
    cdef char name[INFO_NAME_MAX]
    cdef char prefix[INFO_NAME_MAX]
    cdef InFlight *now = <InFlight *>RedisModule_Alloc((q.n_threads if q.n_threads else 1) * sizeof(InFlight))
    cdef int k, busy = 0, workers
    cdef int64_t depth, at = monotonic_us()
    pthread_mutex_lock(&q.lock)  # a snapshot: Redis's INFO calls stay outside the workers' lock
    depth = q.length
    workers = q.n_started
    memcpy(now, q.in_flight, workers * sizeof(InFlight))
    pthread_mutex_unlock(&q.lock)
    for k in range(workers):
        busy += now[k].busy
    info_name(name, "queue_", q.device, strlen(q.device))
    RedisModule_InfoBeginDictField(ctx, name)
    RedisModule_InfoAddFieldLongLong(ctx, "depth", depth)
    RedisModule_InfoAddFieldLongLong(ctx, "workers", q.n_threads)
    RedisModule_InfoAddFieldLongLong(ctx, "busy", busy)
    RedisModule_InfoEndDictField(ctx)
    for k in range(workers):
        if not now[k].busy:
            continue
        snprintf(prefix, sizeof(prefix), "run_%s_%d", q.device, k + 1)
        info_name(name, "", prefix, strlen(prefix))
        RedisModule_InfoBeginDictField(ctx, name)
        info_name(prefix, "", now[k].key, now[k].key_len)
        RedisModule_InfoAddFieldCString(ctx, "key", prefix)
        RedisModule_InfoAddFieldCString(ctx, "type", "SCRIPT" if now[k].is_script else "MODEL")
        RedisModule_InfoAddFieldLongLong(ctx, "running_us", at - now[k].started_us)
        RedisModule_InfoAddFieldLongLong(ctx, "batch_size", now[k].batch_size)
        RedisModule_InfoEndDictField(ctx)
    RedisModule_Free(now)


cdef void add_percentile_fields(RedisModuleInfoCtx *ctx, const char *what, const int64_t *hist) noexcept nogil:
    cdef char field[32]
    snprintf(field, sizeof(field), "%s_p50_us", what)
    RedisModule_InfoAddFieldLongLong(ctx, field, histogram_percentile(hist, LATENCY_BUCKETS, 50))
    snprintf(field, sizeof(field), "%s_p90_us", what)
    RedisModule_InfoAddFieldLongLong(ctx, field, histogram_percentile(hist, LATENCY_BUCKETS, 90))
    snprintf(field, sizeof(field), "%s_p99_us", what)
    RedisModule_InfoAddFieldLongLong(ctx, field, histogram_percentile(hist, LATENCY_BUCKETS, 99))


cdef void add_runnable_fields(RedisModuleInfoCtx *ctx, RunStats *s) noexcept nogil:
    """<model|script>_<key>: its counters; batch_le_<n> / batch_gt_<n> only for sizes it ran."""
    cdef char name[INFO_NAME_MAX]
    cdef char field[32]
    cdef int k
    cdef int64_t top
    info_name(name, "script_" if s.is_script else "model_", s.key, s.key_len)
    RedisModule_InfoBeginDictField(ctx, name)
    RedisModule_InfoAddFieldCString(ctx, "backend", backend_name(s.backend))
    info_name(field, "", s.device, strlen(s.device) if strlen(s.device) < 31 else 31)
    RedisModule_InfoAddFieldCString(ctx, "device", field)
    RedisModule_InfoAddFieldLongLong(ctx, "calls", s.calls)
    RedisModule_InfoAddFieldLongLong(ctx, "errors", s.errors)
    add_percentile_fields(ctx, "wait", s.wait_us_hist)
    add_percentile_fields(ctx, "run", s.run_us_hist)
    for k in range(BATCH_BUCKETS):
        if s.batch_hist[k] == 0:
            continue
        top = batch_bucket_top(k)
        if top < 0:
            snprintf(field, sizeof(field), "batch_gt_%lld", <long long>batch_bucket_top(k - 1))
        else:
            snprintf(field, sizeof(field), "batch_le_%lld", <long long>top)
        RedisModule_InfoAddFieldLongLong(ctx, field, s.batch_hist[k])
    RedisModule_InfoAddFieldLongLong(ctx, "backend_memory", s.backend_bytes)
    RedisModule_InfoEndDictField(ctx)


cdef void add_live_sections(RedisModuleInfoCtx *ctx) noexcept nogil:
    cdef int i
    cdef RunStats *s
    RedisModule_InfoAddSection(ctx, "queues")
    for i in range(n_run_queues):
        add_queue_fields(ctx, run_queues[i])
    RedisModule_InfoAddSection(ctx, "runnables")
    run_stats_lock()
    s = run_stats_first_locked()
    while s != NULL:
        add_runnable_fields(ctx, s)
        s = s.next
    run_stats_unlock()
