# The execution room's doors: the per-device run queues and the runs and DAGs they carry (the
# structs are in run.pxd).
from libc.stdint cimport int64_t
from redisai_module.execution.run cimport Run, Dag, DagOp
from redisai_module.objects.model cimport RaiModel
from redisai_module.objects.run_stats cimport RunStats
from redisai_module.objects.script cimport RaiScript
from redisai_module.pthreads cimport *
from redisai_module.redis_api cimport RedisModuleCtx

cdef enum:
    MAX_RUN_QUEUES = 256

cdef enum:
    IN_FLIGHT_KEY_MAX = 128  # a running model's or script's key, as INFO and AI.STATS show it (cut)

ctypedef struct InFlight:        # what one worker runs now (live introspection), under its queue's lock
    bint busy
    bint is_script
    char key[IN_FLIGHT_KEY_MAX]
    size_t key_len
    int64_t started_us
    int64_t batch_size           # model runs: rows of the batch; 0 for scripts
    int64_t estimate_us          # admission control: what the run is expected to take

ctypedef struct RunQueue:
    char *device
    pthread_mutex_t lock
    pthread_cond_t wakeup
    Run *head
    Run *tail
    int64_t length               # items queued (runs and DAG parts), under lock
    InFlight *in_flight          # one per worker, indexed as `threads`
    int n_started                # workers that took their index (under lock)
    pthread_t *threads           # its workers, for their CPU time in INFO MODULES
    int n_threads
    int n_parked                 # workers waiting for work (under lock)

cdef extern from *:
    """
    static __thread int rai_worker_thread = 0;
    static inline void rai_mark_worker_thread(void) { rai_worker_thread = 1; }
    static inline int rai_on_worker_thread(void) { return rai_worker_thread; }
    """
    void rai_mark_worker_thread() nogil
    int rai_on_worker_thread() nogil  # an LLAPI caller may run models on its own thread

# admission.pyx
cdef bint admission_refuses(RunQueue *q, Run *item) noexcept nogil

# batching.pyx
cdef int64_t batch_rows(Run *run) noexcept nogil

# clock.pyx
cdef int64_t monotonic_ms() noexcept nogil
cdef int64_t monotonic_us() noexcept nogil

# dag.pyx
cdef void dag_free(Dag *dag) noexcept nogil
cdef Dag *dag_new(size_t capacity) noexcept nogil
cdef bint dag_writes(Dag *dag) noexcept nogil
cdef const char *dag_op_error(DagOp *op) noexcept nogil

# run_queue.pyx
cdef RunQueue *ensure_run_queue(const char *device) noexcept nogil
cdef int n_run_queues
cdef void run_queue_push(RunQueue *q, Run *run) noexcept nogil
cdef RunQueue *run_queues[MAX_RUN_QUEUES]

# unblock_when_writable.pyx
ctypedef void (*WritableCall)(RedisModuleCtx *ctx, void *data) noexcept nogil
cdef void call_when_writable(WritableCall call, void *data) noexcept nogil
cdef void call_on_main_thread(WritableCall call, void *data, const char *waiting) noexcept nogil

# worker_stats.pyx
cdef enum:
    WORKER_KIND_SCRIPT = N_BACKENDS  # after the backend codes
    N_WORKER_KINDS = N_BACKENDS + 1
cdef int64_t worker_runs[N_WORKER_KINDS]
cdef int64_t worker_gil_held_us[N_WORKER_KINDS]

# run.pyx
cdef void model_batch_execute(Run **members, int n, int64_t total) noexcept nogil
cdef void model_run_execute(Run *run) noexcept nogil
cdef Run *model_run_new(RaiModel *model, size_t ninputs, size_t noutputs) noexcept nogil
cdef void run_free(Run *run) noexcept nogil
cdef RunStats *run_stats_of(Run *run) noexcept nogil
cdef Run *run_new(size_t ninputs, size_t noutputs) noexcept nogil
cdef Run *script_run_new(RaiScript *script, const char *function, size_t function_len, size_t ninputs, size_t noutputs) noexcept nogil
