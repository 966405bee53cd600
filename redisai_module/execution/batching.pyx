# Auto-batching (docs/BEHAVIOUR.md §4): runs of the same model instance whose inputs agree beyond
# dim 0 are concatenated along dim 0, run once, and the outputs split back by each run's own
# first dimension.
from libc.stdint cimport int64_t, uint64_t
from redisai_module.objects.model cimport RaiModel
from redisai_module.execution.run cimport Run
from redisai_module.objects.tensor cimport RaiTensor

cdef enum:
    MAX_BATCH_MEMBERS = 1024


cdef int64_t batch_rows(Run *run) noexcept nogil:
    """First dimension shared by all inputs, or 0 when they disagree (or are scalars)."""
    cdef size_t k
    if run.ninputs == 0 or run.inputs[0].dl.ndim == 0:
        return 0
    cdef int64_t rows = run.inputs[0].dl.shape[0]
    for k in range(1, run.ninputs):
        if run.inputs[k].dl.ndim == 0 or run.inputs[k].dl.shape[0] != rows:
            return 0
    return rows


cdef bint batches_with(Run *leader, Run *run) noexcept nogil:
    """Same model object, same inputs count, same shapes beyond dim 0 (and same types)."""
    cdef size_t k
    cdef int d
    cdef RaiTensor *a
    cdef RaiTensor *b
    if run.model != leader.model or run.ninputs != leader.ninputs:
        return False
    for k in range(run.ninputs):
        a = leader.inputs[k]
        b = run.inputs[k]
        if (a.dl.ndim != b.dl.ndim or a.dl.ndim == 0 or a.dl.dtype.code != b.dl.dtype.code
                or a.dl.dtype.bits != b.dl.dtype.bits):
            return False
        for d in range(1, a.dl.ndim):
            if a.dl.shape[d] != b.dl.shape[d]:
                return False
    return True


cdef inline bint step_batchable(Run *step) noexcept nogil:
    cdef int64_t rows
    if step.model == NULL or step.model.batchsize == 0:
        return False
    rows = batch_rows(step)
    return rows != 0 and <uint64_t>rows < step.model.batchsize


cdef Run *queued_step(Run *item) noexcept nogil:
    """What a queued item would run next if taken into a batch now, or NULL."""
    cdef Run *step = item
    if run_expired(item):
        return NULL
    if item.dag != NULL and dag_next_step(item, &step) != DAG_STEP_READY:
        return NULL
    return step


cdef int collect_batch_locked(RunQueue *q, Run **items, Run **steps, int64_t *total) noexcept nogil:
    """With q locked and the leader in items[0]/steps[0]: move queued items whose next step
    batches with the leader's into items[] (their steps into steps[]), until the batch reaches
    BATCHSIZE (the last one may overshoot: no splitting). Returns the count."""
    cdef Run *leader = steps[0]
    cdef uint64_t batchsize = leader.model.batchsize
    cdef int n = 1
    cdef Run *prev = NULL
    cdef Run *item = q.head
    cdef Run *next
    cdef Run *step
    total[0] = batch_rows(leader)
    while item != NULL and <uint64_t>total[0] < batchsize and n < MAX_BATCH_MEMBERS:
        next = item.next
        step = queued_step(item)
        if step == NULL or not batches_with(leader, step):
            prev = item
        else:
            unlink_locked(q, prev, item)
            items[n] = item
            steps[n] = step
            total[0] += batch_rows(step)
            n += 1
        item = next
    return n


cdef bint batch_ready(Run *leader, int64_t total) noexcept nogil:
    """MINBATCHSIZE not reached: wait, unless MINBATCHTIMEOUT has passed since the leader queued."""
    cdef RaiModel *m = leader.model
    if m.minbatchsize == 0 or <uint64_t>total >= m.minbatchsize:
        return True
    return m.minbatchtimeout > 0 and monotonic_ms() - leader.queued_at_ms > <int64_t>m.minbatchtimeout
