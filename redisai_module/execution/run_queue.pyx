# One run queue per device (its name upper-cased: `cpu` and `CPU` share one, `GPU:0` and `GPU`
# do not), each served by THREADS_PER_QUEUE worker threads (BEHAVIOUR.md §1). The main thread
# only parses and queues; workers run the models and unblock the clients.
from libc.string cimport strlen, strcmp
from redisai_module.execution.model_run cimport ModelRun
from redisai_module.pthreads cimport *
from redisai_module.redis_api cimport *

cdef extern from "<ctype.h>" nogil:
    int toupper(int c)

cdef enum:
    MAX_RUN_QUEUES = 256

ctypedef struct RunQueue:
    char *device
    pthread_mutex_t lock
    pthread_cond_t wakeup
    ModelRun *head
    ModelRun *tail

# Created and looked up on the main thread only; a queue, once created, lives for ever.
cdef RunQueue *run_queues[MAX_RUN_QUEUES]
cdef int n_run_queues = 0


cdef RunQueue *find_run_queue(const char *device) noexcept nogil:
    cdef char upper[64]
    cdef size_t i, n = strlen(device)
    if n >= sizeof(upper):
        return NULL
    for i in range(n + 1):
        upper[i] = toupper(device[i])
    for i in range(n_run_queues):
        if strcmp(run_queues[i].device, upper) == 0:
            return run_queues[i]
    return NULL


cdef RunQueue *ensure_run_queue(const char *device) noexcept nogil:
    """The queue of `device`, created with its workers on first use; NULL if none can be made."""
    global n_run_queues
    cdef RunQueue *q = find_run_queue(device)
    if q != NULL or n_run_queues == MAX_RUN_QUEUES or strlen(device) >= 64:
        return q
    q = <RunQueue *>RedisModule_Alloc(sizeof(RunQueue))
    q.device = copy_cstring(device, strlen(device))
    cdef size_t i
    for i in range(strlen(q.device)):
        q.device[i] = toupper(q.device[i])
    pthread_mutex_init(&q.lock, NULL)
    pthread_cond_init(&q.wakeup, NULL)
    q.head = q.tail = NULL
    cdef pthread_t thread
    cdef long long k
    for k in range(rai_config.threads_per_queue):
        if pthread_create(&thread, NULL, run_queue_worker, q) != 0:
            break
        pthread_detach(thread)
    run_queues[n_run_queues] = q
    n_run_queues += 1
    return q


cdef void run_queue_push(RunQueue *q, ModelRun *run) noexcept nogil:
    run.next = NULL
    run.queued_at_ms = monotonic_ms()
    pthread_mutex_lock(&q.lock)
    if q.tail == NULL:
        q.head = run
    else:
        q.tail.next = run
    q.tail = run
    pthread_cond_signal(&q.wakeup)
    pthread_mutex_unlock(&q.lock)


cdef ModelRun *run_queue_pop(RunQueue *q) noexcept nogil:
    """Blocks until a run is queued."""
    pthread_mutex_lock(&q.lock)
    while q.head == NULL:
        pthread_cond_wait(&q.wakeup, &q.lock)
    cdef ModelRun *run = q.head
    q.head = run.next
    if q.head == NULL:
        q.tail = NULL
    pthread_mutex_unlock(&q.lock)
    return run


cdef void *run_queue_worker(void *arg) noexcept nogil:
    cdef RunQueue *q = <RunQueue *>arg
    cdef ModelRun *run
    while True:
        run = run_queue_pop(q)
        model_run_execute(run)
        RedisModule_BlockedClientMeasureTimeEnd(run.blocked_client)  # SLOWLOG sees the run
        RedisModule_UnblockClient(run.blocked_client, run)
    return NULL
