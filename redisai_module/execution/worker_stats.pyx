# What the workers' runs cost in GIL time, per backend and for scripts (INFO MODULES, section
# ai_workers): a run on a native runner holds none; a run through a Python adapter holds it for
# the adapter call, less the framework calls that release it. Batches count as one run.
from libc.stdint cimport int64_t
from redisai_module.execution.run cimport Run

cdef extern from *:
    """
    static inline void rai_counter_add(int64_t *p, int64_t v) { __atomic_add_fetch(p, v, __ATOMIC_RELAXED); }
    """
    void rai_counter_add(int64_t *p, int64_t v) nogil

cdef int64_t worker_runs[N_WORKER_KINDS]
cdef int64_t worker_gil_held_us[N_WORKER_KINDS]


cdef inline int worker_kind(Run *run) noexcept nogil:
    return WORKER_KIND_SCRIPT if run.script != NULL else run.model.backend


cdef void worker_stats_count(int kind, int64_t gil_held_us) noexcept nogil:
    rai_counter_add(&worker_runs[kind], 1)
    if gil_held_us > 0:
        rai_counter_add(&worker_gil_held_us[kind], gil_held_us)


cdef int64_t release_parked_if_any() noexcept nogil:
    """Python objects parked by frees (deferred_release.pyx) would wait for the next GIL holder,
    which a native worker never is: it takes the GIL for them only when there are some. Returns
    the microseconds it held the GIL."""
    cdef int64_t held = 0
    if parked_pending():
        with gil:
            held = monotonic_us()
            release_parked()
            held = monotonic_us() - held
    return held
