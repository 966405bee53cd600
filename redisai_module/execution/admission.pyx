# Admission by time-to-response (ours, docs/BEHAVIOUR.md §1.1), when ADMISSION_CONTROL is on: a
# queue hands out the earliest deadline first (a TIMEOUT's, or NO_DEADLINE_US after queueing for
# a run without one, so that none waits for ever), and a run or DAG whose TIMEOUT its queue
# cannot meet by the estimates (the queued work due before it, what the busy workers have left,
# its own run) is refused at once instead of timing out later. Off, queues stay first in, first out.
from libc.stdint cimport int64_t
from redisai_module.execution.run cimport Run
from redisai_module.objects.run_stats cimport RunStats

cdef enum:
    NO_DEADLINE_US = 1000000  # a run without TIMEOUT is due one second after its queueing
    PUT_BACK_US = 1000        # an item put back to wait lets the others go first this long


cdef int64_t step_estimate_us(Run *step) noexcept nogil:
    """What one model or script run is expected to take (its batch size's estimate when known);
    0 while unknown. Read without the statistics lock: an estimate, not an account."""
    cdef RunStats *s = run_stats_of(step)
    cdef int64_t e
    if s == NULL:
        return 0
    if step.model != NULL and step.ninputs > 0 and step.inputs[0] != NULL:
        e = s.estimate_us[batch_bucket(batch_rows(step))]
        if e > 0:
            return e
    return s.estimate_any_us


cdef int64_t item_estimate_us(Run *item) noexcept nogil:
    """A queued item's work: a run's, or the sum of its DAG part's model and script ops."""
    cdef int64_t total = 0
    cdef size_t k
    cdef DagOp *op
    if item.dag == NULL:
        return step_estimate_us(item)
    for k in range(item.dag.nops):
        op = &item.dag.ops[k]
        if op.part == item.dag_part and op.run != NULL:
            total += step_estimate_us(op.run)
    return total


cdef inline void set_deadline(Run *item) noexcept nogil:
    item.deadline_us = item.queued_at_us + (item.timeout_ms * 1000 if item.timeout_ms > 0 else NO_DEADLINE_US)


cdef int64_t queue_wait_us_locked(RunQueue *q, int64_t deadline_us, int64_t now) noexcept nogil:
    """The wait of a run due at `deadline_us`: the queued work due no later and what the busy
    workers have left, shared among the workers."""
    cdef int64_t total = 0, left
    cdef Run *item = q.head
    cdef int k
    while item != NULL:
        if item.deadline_us <= deadline_us:
            total += item.estimate_us
        item = item.next
    for k in range(q.n_started):
        if q.in_flight[k].busy:
            left = q.in_flight[k].estimate_us - (now - q.in_flight[k].started_us)
            total += left if left > 0 else 0
    return total // (q.n_threads if q.n_threads > 0 else 1)


cdef bint admission_refuses(RunQueue *q, Run *item) noexcept nogil:
    """Main thread, before `item` (a run or a DAG part with its timeout_ms set) is queued on q:
    whether its TIMEOUT cannot be met. With admission control on, also leaves its estimate on
    it for the runs behind (items queued while it was off count 0)."""
    if not rai_config.admission_control:
        return False
    item.estimate_us = item_estimate_us(item)
    if item.timeout_ms <= 0 or item.estimate_us == 0:
        return False
    cdef int64_t now = monotonic_us()
    pthread_mutex_lock(&q.lock)
    cdef int64_t wait = queue_wait_us_locked(q, now + item.timeout_ms * 1000, now)
    pthread_mutex_unlock(&q.lock)
    return wait + item.estimate_us > item.timeout_ms * 1000


cdef Run *pop_earliest_deadline_locked(RunQueue *q) noexcept nogil:
    """The queued item due first among those not put back just now (else the head), unlinked."""
    cdef int64_t now = monotonic_us()
    cdef Run *best = NULL
    cdef Run *best_prev = NULL
    cdef Run *prev = NULL
    cdef Run *item = q.head
    while item != NULL:
        if item.skip_until_us <= now and (best == NULL or item.deadline_us < best.deadline_us):
            best, best_prev = item, prev
        prev = item
        item = item.next
    if best == NULL:
        best = q.head
    unlink_locked(q, best_prev, best)
    return best
