# Run statistics of one model or script (AI.INFO, docs/BEHAVIOUR.md §11). Owned by its model; an
# index by key name (run_stats.pyx) finds it. Counters change on the main thread only.
from libc.stdint cimport int64_t

cdef enum:
    LATENCY_BUCKETS = 128  # microseconds: 0-3 exactly, then four buckets per power of two
    BATCH_BUCKETS = 12     # rows per run: 1, 2, 3-4, 5-8, ..., 513-1024, more

ctypedef struct RunStats:
    RunStats *next     # index link
    bint indexed
    char *key          # the key name at creation (RENAME does not follow, as in RedisAI)
    size_t key_len
    bint is_script
    int backend
    char *device
    char *tag
    size_t tag_len
    int64_t duration_us
    int64_t samples
    int64_t calls
    int64_t errors
    # Live introspection (ours): how long runs waited in the queue and ran, and how many rows
    # the batch they ran in held (models only), since load or the last RESETSTAT.
    int64_t wait_us_hist[LATENCY_BUCKETS]
    int64_t run_us_hist[LATENCY_BUCKETS]
    int64_t batch_hist[BATCH_BUCKETS]
    int64_t backend_bytes        # the value's RaiRunnable.backend_bytes
    # Admission control: running estimates (1/8 weight to each new run) of a successful run's
    # time, per batch-size bucket and over all runs; 0 while unknown.
    int64_t estimate_us[BATCH_BUCKETS]
    int64_t estimate_any_us
