# Run statistics of one model or script (AI.INFO, docs/BEHAVIOUR.md §11). Owned by its model; an
# index by key name (run_stats.pyx) finds it. Counters change on the main thread only.
from libc.stdint cimport int64_t

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
