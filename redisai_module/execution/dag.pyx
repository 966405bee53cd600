# A DAG on the run queues (docs/BEHAVIOUR.md §3): one part per device, each a Run that walks the
# DAG's ops of its device in order. Model and script ops are ordinary Runs whose inputs are
# taken from the DAG's slots when they become ready and whose outputs fill new slots;
# TENSORSET ops do nothing here (built at parse time) and TENSORGET ops only check that what
# they read is a tensor (the reply reads it).
from libc.string cimport memset, strlen
from redisai_module.execution.run cimport *
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.pthreads cimport *
from redisai_module.redis_api cimport *

cdef enum DagStepState:
    DAG_STEP_READY   # *step is the next op to execute
    DAG_STEP_WAIT    # its inputs come from another device and are not there yet
    DAG_PART_DONE    # nothing left for this part (or the DAG failed or timed out)


cdef void *dag_zalloc(size_t n) noexcept nogil:
    cdef void *p = RedisModule_Alloc(n if n else 1)
    memset(p, 0, n if n else 1)
    return p


cdef Dag *dag_new(size_t capacity) noexcept nogil:
    """An empty DAG with room for `capacity` ops, slots and parts (the command's argc bounds
    all three); ops and parts are appended as they are parsed."""
    cdef Dag *dag = <Dag *>dag_zalloc(sizeof(Dag))
    pthread_mutex_init(&dag.lock, NULL)
    dag.ops = <DagOp *>dag_zalloc(capacity * sizeof(DagOp))
    dag.nslots = capacity
    dag.slots = <RaiTensor **>dag_zalloc(capacity * sizeof(RaiTensor *))
    dag.slot_not_tensor = <bint *>dag_zalloc(capacity * sizeof(bint))
    dag.parts = <Run **>dag_zalloc(capacity * sizeof(Run *))
    return dag


cdef void dag_free(Dag *dag) noexcept nogil:
    # RedisModule_Free(NULL) is a no-op (zfree), so partially built DAGs free the same way.
    cdef size_t k
    cdef DagOp *op
    for k in range(dag.nops):
        op = &dag.ops[k]
        if op.run != NULL:
            run_free(op.run)
        RedisModule_Free(op.input_slots)
        RedisModule_Free(op.output_slots)
    for k in range(dag.nslots):
        tensor_decref(dag.slots[k])
    for k in range(dag.npersist):
        if dag.persist_keys[k] != NULL:
            RedisModule_FreeString(NULL, dag.persist_keys[k])
    for k in range(dag.nxpersist):
        RedisModule_FreeString(NULL, dag.xpersist_fields[k])
    if dag.xpersist_stream != NULL:
        RedisModule_FreeString(NULL, dag.xpersist_stream)
    for k in range(<size_t>dag.nparts):
        run_free(dag.parts[k])
    RedisModule_Free(dag.persist_keys)
    RedisModule_Free(dag.persist_slots)
    RedisModule_Free(dag.xpersist_fields)
    RedisModule_Free(dag.xpersist_slots)
    RedisModule_Free(dag.parts)
    RedisModule_Free(dag.slots)
    RedisModule_Free(dag.slot_not_tensor)
    RedisModule_Free(dag.ops)
    pthread_mutex_destroy(&dag.lock)
    RedisModule_Free(dag)


cdef bint dag_writes(Dag *dag) noexcept nogil:
    """Its end writes keys (PERSIST, XPERSIST): only when clients are not paused."""
    return dag.npersist > 0 or dag.xpersist_stream != NULL


cdef inline bint op_does_work(DagOp *op) noexcept nogil:
    return op.kind == DAG_MODEL or op.kind == DAG_SCRIPT


cdef const char *dag_op_error(DagOp *op) noexcept nogil:
    """A failed op's error: its run's, or for a TENSORGET op the one way it fails."""
    return op.run.error if op.run != NULL else RAI_ERR_DAG_NOT_A_TENSOR


cdef void fail_op_on_non_tensor(Dag *dag, DagOp *op) noexcept nogil:
    """An op reads a slot that holds no tensor: it fails, and with it the DAG (lock held)."""
    op.status = DAG_OP_FAILED
    if op.run != NULL:
        op.run.error = copy_cstring(RAI_ERR_DAG_NOT_A_TENSOR, strlen(RAI_ERR_DAG_NOT_A_TENSOR))
    dag.failed = True


cdef DagStepState dag_op_inputs_state(Dag *dag, DagOp *op, size_t ninputs) noexcept nogil:
    """READY when every slot the op reads holds a tensor, WAIT while one is still to come (from
    another device); an input produced as a non-tensor fails the op and the DAG (DONE)."""
    cdef DagStepState state = DAG_STEP_READY
    cdef size_t k, slot
    for k in range(ninputs):
        slot = op.input_slots[k]
        if dag.slot_not_tensor[slot]:
            fail_op_on_non_tensor(dag, op)
            return DAG_PART_DONE
        if dag.slots[slot] == NULL:
            state = DAG_STEP_WAIT
    return state


cdef DagStepState dag_next_step(Run *part, Run **step) noexcept nogil:
    """The part's next model/script op if its inputs are all produced (they become the step's
    inputs, by reference). TENSORGET ops on the way are passed once what they read is there.
    Also used on queued parts when a worker looks for batch members."""
    cdef Dag *dag = part.dag
    cdef DagOp *op
    cdef size_t k
    cdef DagStepState state = DAG_PART_DONE
    pthread_mutex_lock(&dag.lock)
    while not (dag.failed or dag.timed_out) and part.dag_cursor < dag.nops:
        op = &dag.ops[part.dag_cursor]
        if op.part != part.dag_part or op.kind == DAG_TENSORSET:
            part.dag_cursor += 1
            continue
        state = dag_op_inputs_state(dag, op, op.run.ninputs if op_does_work(op) else 1)
        if state == DAG_STEP_READY and not op_does_work(op):
            part.dag_cursor += 1  # a TENSORGET of a tensor: the reply reads it
            state = DAG_PART_DONE
            continue
        if state == DAG_STEP_READY:
            for k in range(op.run.ninputs):
                if op.run.inputs[k] == NULL:
                    op.run.inputs[k] = tensor_incref(dag.slots[op.input_slots[k]])
            op.run.queued_at_ms = part.queued_at_ms  # MINBATCHTIMEOUT counts from the DAG's queueing
            op.run.queued_at_us = part.queued_at_us  # its wait: since queueing or the previous step
            op.run.outputs_stay_in_dag = True
            dag.started = True
            step[0] = op.run
        break
    pthread_mutex_unlock(&dag.lock)
    return state


cdef bint dag_step_done(Run *part, Run *step) noexcept nogil:
    """Publish the step's outputs (or its failure, which stops every part); True if this part
    has more to do."""
    cdef Dag *dag = part.dag
    cdef DagOp *op
    cdef size_t k
    cdef bint more = False
    pthread_mutex_lock(&dag.lock)
    op = &dag.ops[part.dag_cursor]
    if step.error != NULL:
        op.status = DAG_OP_FAILED
        dag.failed = True
    else:
        op.status = DAG_OP_DONE
        for k in range(step.noutputs):
            if step.outputs[k] == NULL:  # the model's output is not a tensor
                dag.slot_not_tensor[op.output_slots[k]] = True
            else:
                dag.slots[op.output_slots[k]] = tensor_incref(step.outputs[k])
    part.dag_cursor += 1
    part.queued_at_us = monotonic_us()
    if not dag.failed and not dag.timed_out:
        for k in range(part.dag_cursor, dag.nops):
            if dag.ops[k].part == part.dag_part and dag.ops[k].kind != DAG_TENSORSET:
                more = True  # a TENSORGET too: dag_next_step checks what it reads
                break
    pthread_mutex_unlock(&dag.lock)
    return more


cdef void dag_time_out(Run *part) noexcept nogil:
    pthread_mutex_lock(&part.dag.lock)
    part.dag.timed_out = True
    pthread_mutex_unlock(&part.dag.lock)


cdef void dag_part_finished(Run *part) noexcept nogil:
    """The last part to finish unblocks the client (the reply callback reads the slots)."""
    cdef Dag *dag = part.dag
    pthread_mutex_lock(&dag.lock)
    dag.parts_left -= 1
    cdef bint last = dag.parts_left == 0
    pthread_mutex_unlock(&dag.lock)
    if last and dag.done != NULL:
        dag.done(dag)
    elif last:
        RedisModule_BlockedClientMeasureTimeEnd(dag.blocked_client)
        if dag_writes(dag):
            unblock_when_writable(dag.blocked_client, dag)  # its reply stores the PERSIST keys
        else:
            RedisModule_UnblockClient(dag.blocked_client, dag)
