# Histograms of the run statistics (live introspection, docs/CONFIG.md §4): latencies in
# log-linear buckets (exact below 4 us, then four per power of two: at most 25% wide), batch
# sizes by power of two. Percentiles are read as the upper bound of the bucket they fall in.
from libc.stdint cimport int64_t


cdef extern from *:
    """
    static inline int rai_floor_log2(unsigned long long v) { return 63 - __builtin_clzll(v); }
    """
    int rai_floor_log2(unsigned long long v) nogil


cdef int latency_bucket(int64_t us) noexcept nogil:
    if us < 4:
        return <int>us if us > 0 else 0
    cdef int e = rai_floor_log2(<unsigned long long>us)
    cdef int k = 4 * (e - 1) + <int>((us >> (e - 2)) & 3)
    return k if k < LATENCY_BUCKETS else LATENCY_BUCKETS - 1


cdef int64_t latency_bucket_top(int k) noexcept nogil:
    """The largest value bucket k holds."""
    if k < 4:
        return k
    cdef int e = k // 4 + 1
    return ((<int64_t>(4 + k % 4 + 1)) << (e - 2)) - 1


cdef int64_t histogram_percentile(const int64_t *hist, int nbuckets, int percent) noexcept nogil:
    """The value at or below which `percent`% of the samples are (a bucket's top); -1 if none."""
    cdef int64_t total = 0, seen = 0, rank
    cdef int k
    for k in range(nbuckets):
        total += hist[k]
    if total == 0:
        return -1
    rank = (total * percent + 99) // 100
    for k in range(nbuckets):
        seen += hist[k]
        if seen >= rank:
            return latency_bucket_top(k)
    return latency_bucket_top(nbuckets - 1)


cdef int batch_bucket(int64_t rows) noexcept nogil:
    if rows <= 1:
        return 0
    cdef int k = rai_floor_log2(<unsigned long long>(rows - 1)) + 1  # ceil(log2(rows))
    return k if k < BATCH_BUCKETS else BATCH_BUCKETS - 1


cdef int64_t batch_bucket_top(int k) noexcept nogil:
    """The most rows bucket k holds; -1 for the last, open one."""
    return -1 if k == BATCH_BUCKETS - 1 else (<int64_t>1) << k
