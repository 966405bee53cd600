# One run queue per device (its name upper-cased: `cpu` and `CPU` share one, `GPU:0` and `GPU`
# do not), each served by THREADS_PER_QUEUE worker threads (docs/BEHAVIOUR.md §1). The main thread
# only parses and queues; workers run the models and unblock the clients.
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy, memset, strlen, strcmp
from redisai_module.objects.run_stats cimport RunStats
from posix.time cimport clock_gettime, timespec, CLOCK_REALTIME
from posix.unistd cimport usleep
from redisai_module.execution.run cimport Run
from redisai_module.pthreads cimport *
from redisai_module.redis_api cimport *
from redisai_module.system cimport toupper

# Set at shutdown, under every queue's lock: workers finish what they run and take nothing new.
cdef bint workers_stopping = False

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
    q.length = 0
    q.n_parked = 0
    q.n_started = 0
    q.in_flight = <InFlight *>RedisModule_Alloc(sizeof(InFlight) * rai_config.threads_per_queue)
    memset(q.in_flight, 0, sizeof(InFlight) * rai_config.threads_per_queue)
    q.threads = <pthread_t *>RedisModule_Alloc(sizeof(pthread_t) * rai_config.threads_per_queue)
    q.n_threads = 0
    cdef long long k
    for k in range(rai_config.threads_per_queue):
        if pthread_create(&q.threads[q.n_threads], NULL, run_queue_worker, q) != 0:
            break
        pthread_detach(q.threads[q.n_threads])
        q.n_threads += 1
    run_queues[n_run_queues] = q
    n_run_queues += 1
    return q


cdef inline void push_locked(RunQueue *q, Run *run) noexcept nogil:
    run.next = NULL
    if q.tail == NULL:
        q.head = run
    else:
        q.tail.next = run
    q.tail = run
    q.length += 1


cdef void run_queue_push(RunQueue *q, Run *run) noexcept nogil:
    run.queued_at_us = monotonic_us()
    run.queued_at_ms = run.queued_at_us // 1000  # TIMEOUT and MINBATCHTIMEOUT count from here
    set_deadline(run)
    pthread_mutex_lock(&q.lock)
    push_locked(q, run)
    pthread_cond_signal(&q.wakeup)
    pthread_mutex_unlock(&q.lock)


cdef inline void unlink_locked(RunQueue *q, Run *prev, Run *item) noexcept nogil:
    """Take `item` out of the queue; `prev` is the one before it (NULL: it is the head)."""
    if prev == NULL:
        q.head = item.next
    else:
        prev.next = item.next
    if q.tail == item:
        q.tail = prev
    q.length -= 1


cdef inline Run *pop_locked(RunQueue *q) noexcept nogil:
    """The next item: the earliest deadline under admission control, else the oldest."""
    if rai_config.admission_control:
        return pop_earliest_deadline_locked(q)
    cdef Run *run = q.head
    unlink_locked(q, NULL, run)
    return run


cdef inline bint run_expired(Run *run) noexcept nogil:
    return run.timeout_ms > 0 and monotonic_ms() - run.queued_at_ms > run.timeout_ms


cdef void finish_run(Run *run) noexcept nogil:
    if run.blocked_client == NULL:
        run.done(run)  # queued by another module through the LLAPI
        return
    RedisModule_BlockedClientMeasureTimeEnd(run.blocked_client)  # SLOWLOG sees the run
    if run.noutputs > 0:
        unblock_when_writable(run.blocked_client, run)  # its reply stores the outputs
    else:
        RedisModule_UnblockClient(run.blocked_client, run)


cdef void wait_a_millisecond(RunQueue *q) noexcept nogil:
    """A batch waiting for MINBATCHSIZE polls every millisecond, as RedisAI's workers do."""
    cdef timespec deadline
    clock_gettime(CLOCK_REALTIME, &deadline)
    deadline.tv_nsec += 1000000
    if deadline.tv_nsec >= 1000000000:
        deadline.tv_sec += 1
        deadline.tv_nsec -= 1000000000
    pthread_cond_timedwait(&q.wakeup, &q.lock, &deadline)


cdef extern from *:
    """
    static inline void *rai_load_ptr(void **p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
    static inline void rai_cpu_relax(void) { __builtin_ia32_pause(); }
    """
    void *rai_load_ptr(void **p) nogil
    void rai_cpu_relax() nogil

cdef enum:
    IDLE_SPIN_US = 50  # a sleeping worker takes tens of microseconds to wake on a VM


cdef void spin_for_work(RunQueue *q) noexcept nogil:
    """With q unlocked: watch the queue briefly before sleeping, so back-to-back requests of
    one client do not each pay a thread wake-up."""
    cdef int64_t until = monotonic_us() + IDLE_SPIN_US
    while rai_load_ptr(<void **>&q.head) == NULL and monotonic_us() < until:
        rai_cpu_relax()


cdef inline void push_front_locked(RunQueue *q, Run *run) noexcept nogil:
    run.next = q.head
    q.head = run
    if q.tail == NULL:
        q.tail = run
    q.length += 1


cdef void stop_item(Run *item) noexcept nogil:
    """A popped item that will not run: it timed out, or its DAG failed or timed out."""
    if item.dag == NULL:
        item.timed_out = True
        finish_run(item)
        return
    if run_expired(item):
        dag_time_out(item)
    dag_part_finished(item)


cdef void in_flight_begin(InFlight *f, Run *step, int64_t total) noexcept nogil:
    """With the queue locked: what this worker now runs (the batch's leader stands for it)."""
    cdef RunStats *s = run_stats_of(step)
    f.busy = True
    f.is_script = step.script != NULL
    f.key_len = 0
    if s != NULL:
        f.key_len = s.key_len if s.key_len < IN_FLIGHT_KEY_MAX else IN_FLIGHT_KEY_MAX
        memcpy(f.key, s.key, f.key_len)
    f.started_us = monotonic_us()
    f.batch_size = 0 if step.script != NULL else (total if total > 0 else batch_rows(step))
    f.estimate_us = step_estimate_us(step) if rai_config.admission_control else 0


cdef void *run_queue_worker(void *arg) noexcept nogil:
    """Pop, skip what timed out while queued, wait for DAG inputs from other devices, batch
    what can batch, run, unblock (or put a DAG part back at the front for its next step)."""
    cdef RunQueue *q = <RunQueue *>arg
    cdef Run *items[MAX_BATCH_MEMBERS]  # what was popped: runs, or DAG parts
    cdef Run *steps[MAX_BATCH_MEMBERS]  # what each executes: the run itself, or the part's op
    cdef Run *item
    cdef Run *step
    cdef DagStepState state
    cdef int64_t total
    cdef int n, k, again
    rai_mark_worker_thread()
    pthread_mutex_lock(&q.lock)
    cdef InFlight *me = &q.in_flight[q.n_started]
    q.n_started += 1
    while True:
        if q.head == NULL:
            pthread_mutex_unlock(&q.lock)
            spin_for_work(q)
            pthread_mutex_lock(&q.lock)
        while q.head == NULL or workers_stopping:
            q.n_parked += 1
            pthread_cond_wait(&q.wakeup, &q.lock)
            q.n_parked -= 1
        item = pop_locked(q)
        step = item
        state = DAG_STEP_READY
        if run_expired(item):
            state = DAG_PART_DONE
        elif item.dag != NULL:
            state = dag_next_step(item, &step)
        if state == DAG_PART_DONE:
            pthread_mutex_unlock(&q.lock)
            stop_item(item)
            pthread_mutex_lock(&q.lock)
            continue
        if state == DAG_STEP_WAIT:
            item.skip_until_us = monotonic_us() + PUT_BACK_US
            push_locked(q, item)
            wait_a_millisecond(q)
            continue
        items[0] = item
        steps[0] = step
        n = 1
        total = 0
        if step_batchable(step):  # scripts never batch
            n = collect_batch_locked(q, items, steps, &total)
            if not batch_ready(step, total):
                for k in range(n):
                    items[k].skip_until_us = monotonic_us() + PUT_BACK_US
                    push_locked(q, items[k])
                wait_a_millisecond(q)
                continue
        in_flight_begin(me, step, total)
        pthread_mutex_unlock(&q.lock)
        if n == 1:
            model_run_execute(step)
        else:
            model_batch_execute(steps, n, total)
        # Idle before any reply goes out: a client that has its reply sees the run over (AI.STATS)
        pthread_mutex_lock(&q.lock)
        me.busy = False
        pthread_mutex_unlock(&q.lock)
        again = 0
        for k in range(n):
            if items[k].dag == NULL:
                finish_run(items[k])
            elif dag_step_done(items[k], steps[k]):
                items[again] = items[k]
                again += 1
            else:
                dag_part_finished(items[k])
        pthread_mutex_lock(&q.lock)
        for k in range(again - 1, -1, -1):
            push_front_locked(q, items[k])  # a DAG continues before other work
    return NULL


cdef public int RAI_RunQueues_Start() noexcept nogil:
    """The CPU queue exists from load on, as RedisAI's: INFO lists its workers before any run."""
    return REDISMODULE_OK if ensure_run_queue("CPU") != NULL else REDISMODULE_ERR


cdef bint run_queues_park(int64_t timeout_ms) noexcept nogil:
    """Shutdown: let each worker finish the run in hand, then park it for good; True when all
    are parked within `timeout_ms` (a run longer than that is still going)."""
    global workers_stopping
    cdef int i, parked, total
    cdef int64_t deadline = monotonic_ms() + timeout_ms
    for i in range(n_run_queues):
        pthread_mutex_lock(&run_queues[i].lock)
        workers_stopping = True
        pthread_cond_broadcast(&run_queues[i].wakeup)
        pthread_mutex_unlock(&run_queues[i].lock)
    while True:
        parked = total = 0
        for i in range(n_run_queues):
            pthread_mutex_lock(&run_queues[i].lock)
            parked += run_queues[i].n_parked
            total += run_queues[i].n_threads
            pthread_mutex_unlock(&run_queues[i].lock)
        if parked == total:
            return True
        if monotonic_ms() > deadline:
            return False
        usleep(1000)
