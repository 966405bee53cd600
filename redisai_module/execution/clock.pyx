# Monotonic time for queueing deadlines and run durations (safe from any thread).
from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC
from libc.stdint cimport int64_t


cdef inline int64_t monotonic_us() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <int64_t>ts.tv_sec * 1000000 + ts.tv_nsec // 1000


cdef inline int64_t monotonic_ms() noexcept nogil:
    return monotonic_us() // 1000
