# Finished runs whose reply writes keys (OUTPUTS, DAG PERSIST) must not reach their reply while
# Redis pauses clients (CLIENT PAUSE, FAILOVER, shutdown waiting for replicas): the reply's
# replication would assert in Redis (propagation is frozen during a pause). Workers hand such
# runs here, and ended async DAGs (which write with no client): the main thread unblocks or ends
# them just before Redis serves unblocked clients (the event loop's before-sleep event, nothing
# runs in between) and only when no pause is on.
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
    WaitingUnblock *next

cdef WaitingUnblock *waiting_head = NULL   # under _writable_lock, oldest first
cdef WaitingUnblock *waiting_tail = NULL
cdef bint logged_pause = False             # main thread only: one log line per pause


cdef void wake_event_loop(void *data) noexcept nogil:
    pass  # the wake-up was the point: the loop now reaches its before-sleep event


cdef void unblock_when_writable(RedisModuleBlockedClient *bc, void *privdata) noexcept nogil:
    """RedisModule_UnblockClient, as soon as no client pause is on (any thread)."""
    wait_until_writable(NULL, bc, privdata)


cdef void call_when_writable(WritableCall call, void *data) noexcept nogil:
    """call(ctx, data) on the main thread, as soon as no client pause is on (any thread)."""
    wait_until_writable(call, NULL, data)


cdef void wait_until_writable(WritableCall call, RedisModuleBlockedClient *bc, void *privdata) noexcept nogil:
    global waiting_head, waiting_tail
    cdef WaitingUnblock *w = <WaitingUnblock *>RedisModule_Alloc(sizeof(WaitingUnblock))
    w.call, w.bc, w.privdata, w.next = call, bc, privdata, NULL
    pthread_mutex_lock(&_writable_lock)
    if waiting_tail == NULL:
        waiting_head = w
    else:
        waiting_tail.next = w
    waiting_tail = w
    pthread_mutex_unlock(&_writable_lock)
    RedisModule_EventLoopAddOneShot(wake_event_loop, NULL)


cdef public void RAI_UnblockWritableRuns(RedisModuleCtx *ctx) noexcept nogil:
    """The before-sleep hook (main thread)."""
    global waiting_head, waiting_tail, logged_pause
    cdef WaitingUnblock *w
    cdef WaitingUnblock *next_w
    pthread_mutex_lock(&_writable_lock)
    w = waiting_head
    if w != NULL and RedisModule_AvoidReplicaTraffic():
        w = NULL
        if not logged_pause:
            RedisModule_Log(ctx, "notice", "finished runs wait to write their outputs: clients are paused")
            logged_pause = True
    elif w != NULL:
        waiting_head = waiting_tail = NULL
        logged_pause = False
    pthread_mutex_unlock(&_writable_lock)
    while w != NULL:
        next_w = w.next
        if w.call != NULL:
            w.call(ctx, w.privdata)
        else:
            RedisModule_UnblockClient(w.bc, w.privdata)
        RedisModule_Free(w)
        w = next_w
