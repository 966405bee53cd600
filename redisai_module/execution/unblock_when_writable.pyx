# Finished runs whose reply writes keys (OUTPUTS, DAG PERSIST) must not reach their reply while
# Redis pauses clients (CLIENT PAUSE, FAILOVER, shutdown waiting for replicas): the reply's
# replication would assert in Redis (propagation is frozen during a pause). Workers hand such
# runs here, and ended async DAGs (which write with no client): the main thread unblocks or ends
# them just before Redis serves unblocked clients (the event loop's before-sleep event, nothing
# runs in between) and only when no pause is on. Scripts' Redis calls are handed over the same way
# (script_extensions.pyx).
# While paused they wait: serverCron wakes the event loop at least every 1000/hz ms.
from redisai_module.pthreads cimport *
from redisai_module.redis_api cimport *

cdef extern from *:
    """
    static pthread_mutex_t rai_writable_lock = PTHREAD_MUTEX_INITIALIZER;
    """
    pthread_mutex_t _writable_lock "rai_writable_lock"

ctypedef struct WaitingUnblock:
    WritableCall call               # NULL: unblock bc with privdata; else call(ctx, privdata)
    RedisModuleBlockedClient *bc
    void *privdata
    const char *waiting             # what the log says while a pause holds it
    WaitingUnblock *next

cdef WaitingUnblock *waiting_head = NULL   # under _writable_lock, oldest first
cdef WaitingUnblock *waiting_tail = NULL
cdef const char *RUNS_WAIT = "finished runs wait to write their outputs: clients are paused"
cdef const char *logged_in_pause[2]        # main thread only: each line once per pause
cdef int n_logged_in_pause = 0


cdef void wake_event_loop(void *data) noexcept nogil:
    pass  # the wake-up was the point: the loop now reaches its before-sleep event


cdef void unblock_when_writable(RedisModuleBlockedClient *bc, void *privdata) noexcept nogil:
    """RedisModule_UnblockClient, as soon as no client pause is on (any thread)."""
    wait_for_main_thread(NULL, bc, privdata, RUNS_WAIT)


cdef void call_when_writable(WritableCall call, void *data) noexcept nogil:
    """call(ctx, data) on the main thread, as soon as no client pause is on (any thread)."""
    wait_for_main_thread(call, NULL, data, RUNS_WAIT)


cdef void call_on_main_thread(WritableCall call, void *data, const char *waiting) noexcept nogil:
    """call_when_writable, the log saying `waiting` while a pause holds it (any thread)."""
    wait_for_main_thread(call, NULL, data, waiting)


cdef void wait_for_main_thread(WritableCall call, RedisModuleBlockedClient *bc, void *privdata,
                               const char *waiting) noexcept nogil:
    global waiting_head, waiting_tail
    cdef WaitingUnblock *w = <WaitingUnblock *>RedisModule_Alloc(sizeof(WaitingUnblock))
    w.call, w.bc, w.privdata, w.next = call, bc, privdata, NULL
    w.waiting = waiting
    pthread_mutex_lock(&_writable_lock)
    if waiting_tail == NULL:
        waiting_head = w
    else:
        waiting_tail.next = w
    waiting_tail = w
    pthread_mutex_unlock(&_writable_lock)
    RedisModule_EventLoopAddOneShot(wake_event_loop, NULL)


cdef void log_once_in_pause(RedisModuleCtx *ctx, const char *line) noexcept nogil:
    global n_logged_in_pause
    cdef int k
    for k in range(n_logged_in_pause):
        if logged_in_pause[k] == line:
            return
    RedisModule_Log(ctx, "notice", "%s", line)
    if n_logged_in_pause < 2:
        logged_in_pause[n_logged_in_pause] = line
        n_logged_in_pause += 1


cdef WaitingUnblock *take_ready(RedisModuleCtx *ctx) noexcept nogil:
    """Under _writable_lock: the whole queue, oldest first, or nothing while clients are paused
    (each waiting kind's line logged once per pause)."""
    global waiting_head, waiting_tail, n_logged_in_pause
    cdef WaitingUnblock *w = waiting_head
    if w != NULL and RedisModule_AvoidReplicaTraffic():
        while w != NULL:
            log_once_in_pause(ctx, w.waiting)
            w = w.next
        return NULL
    waiting_head = waiting_tail = NULL
    n_logged_in_pause = 0
    return w


cdef public void RAI_UnblockWritableRuns(RedisModuleCtx *ctx) noexcept nogil:
    """The before-sleep hook (main thread)."""
    cdef WaitingUnblock *next_w
    pthread_mutex_lock(&_writable_lock)
    cdef WaitingUnblock *w = take_ready(ctx)
    pthread_mutex_unlock(&_writable_lock)
    while w != NULL:
        next_w = w.next
        if w.call != NULL:
            w.call(ctx, w.privdata)
        else:
            RedisModule_UnblockClient(w.bc, w.privdata)
        RedisModule_Free(w)
        w = next_w
