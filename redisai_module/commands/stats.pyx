# AI.STATS <model_or_script_key> (ours, docs/COMMANDS.md §8.1): live introspection of one model or
# script, beside AI.INFO's RedisAI 1.2 reply: latency percentiles of queue wait and run time,
# the batch sizes it ran in, the workers running it now, the memory its framework holds for it.
from libc.stdint cimport int64_t
from libc.stdio cimport snprintf
from libc.string cimport memcmp
from redisai_module.objects.run_stats cimport RunStats, LATENCY_BUCKETS, BATCH_BUCKETS
from redisai_module.pthreads cimport pthread_mutex_lock, pthread_mutex_unlock
from redisai_module.redis_api cimport *

cdef int PERCENTILES[3]
PERCENTILES[:] = [50, 90, 99]
cdef const char *PERCENTILE_NAMES[3]
PERCENTILE_NAMES[:] = [b"p50", b"p90", b"p99"]


cdef void reply_percentiles(RedisModuleCtx *ctx, const int64_t *hist) noexcept nogil:
    """p50, p90, p99 in microseconds (a bucket's top, at most 25% above the truth); -1: no run."""
    cdef int k
    RedisModule_ReplyWithArray(ctx, 6)
    for k in range(3):
        RedisModule_ReplyWithCString(ctx, PERCENTILE_NAMES[k])
        RedisModule_ReplyWithLongLong(ctx, histogram_percentile(hist, LATENCY_BUCKETS, PERCENTILES[k]))


cdef void batch_bucket_label(int k, char *out, size_t n) noexcept nogil:
    """1, 2, 3-4, 5-8, ..., and `1025+` for the last bucket."""
    cdef int64_t top = batch_bucket_top(k)
    if top < 0:
        snprintf(out, n, "%lld+", <long long>(batch_bucket_top(k - 1) + 1))
    elif k < 2:
        snprintf(out, n, "%lld", <long long>top)
    else:
        snprintf(out, n, "%lld-%lld", <long long>(top // 2 + 1), <long long>top)


cdef void reply_batch_sizes(RedisModuleCtx *ctx, RunStats *s) noexcept nogil:
    """[[label, runs], ...] for the sizes that occurred."""
    cdef char label[32]
    cdef int k
    cdef long n = 0
    for k in range(BATCH_BUCKETS):
        n += s.batch_hist[k] > 0
    RedisModule_ReplyWithArray(ctx, n)
    for k in range(BATCH_BUCKETS):
        if s.batch_hist[k] > 0:
            batch_bucket_label(k, label, sizeof(label))
            RedisModule_ReplyWithArray(ctx, 2)
            RedisModule_ReplyWithCString(ctx, label)
            RedisModule_ReplyWithLongLong(ctx, s.batch_hist[k])


cdef long long runs_in_flight(RunStats *s) noexcept nogil:
    """Workers running this model or script now, over every queue."""
    cdef long long n = 0
    cdef int i, k
    cdef RunQueue *q
    cdef InFlight *f
    cdef size_t key_len = s.key_len if s.key_len < IN_FLIGHT_KEY_MAX else IN_FLIGHT_KEY_MAX
    for i in range(n_run_queues):
        q = run_queues[i]
        pthread_mutex_lock(&q.lock)
        for k in range(q.n_started):
            f = &q.in_flight[k]
            if f.busy and f.is_script == s.is_script and f.key_len == key_len and memcmp(f.key, s.key, key_len) == 0:
                n += 1
        pthread_mutex_unlock(&q.lock)
    return n


cdef public int RAI_Stats_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if argc != 2:
        return RedisModule_WrongArity(ctx)
    cdef RunStats *s = locked_run_stats_or_reply(ctx, argv[1])
    if s == NULL:
        return REDISMODULE_OK
    RedisModule_ReplyWithArray(ctx, 22)
    reply_stats_identity(ctx, s)
    RedisModule_ReplyWithCString(ctx, "calls")
    RedisModule_ReplyWithLongLong(ctx, s.calls)
    RedisModule_ReplyWithCString(ctx, "errors")
    RedisModule_ReplyWithLongLong(ctx, s.errors)
    RedisModule_ReplyWithCString(ctx, "queue_wait_us")
    reply_percentiles(ctx, s.wait_us_hist)
    RedisModule_ReplyWithCString(ctx, "run_us")
    reply_percentiles(ctx, s.run_us_hist)
    RedisModule_ReplyWithCString(ctx, "batch_sizes")
    reply_batch_sizes(ctx, s)
    RedisModule_ReplyWithCString(ctx, "in_flight")
    RedisModule_ReplyWithLongLong(ctx, runs_in_flight(s))
    RedisModule_ReplyWithCString(ctx, "backend_memory")
    RedisModule_ReplyWithLongLong(ctx, s.backend_bytes)
    run_stats_unlock()
    return REDISMODULE_OK
