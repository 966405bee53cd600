# AI.DAGEXECUTEASYNC, its deprecated alias AI.DAGRUNASYNC, and AI.DAGRUNINFO (docs/COMMANDS.md
# §7.4): a DAG parsed and queued exactly as AI.DAGEXECUTE's, answered at once with an id. The
# last worker hands the ended DAG to the main thread, which stores its PERSIST keys just before
# Redis sleeps (as a blocked client's reply would, and never while clients are paused), counts its
# runs, and announces the end with a keyspace event. The record then answers AI.DAGRUNINFO for
# ASYNC_DAG_RESULT_TTL ms. Records are not data: nothing here is saved, replicated or kept
# across a restart, and they live on the shard that ran the DAG.
from libc.stdint cimport int64_t
from libc.stdio cimport snprintf
from libc.string cimport strlen
from redisai_module.execution.run cimport *
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.pthreads cimport pthread_mutex_lock, pthread_mutex_unlock
from redisai_module.redis_api cimport *

cdef enum AsyncDagState:
    ASYNC_QUEUED
    ASYNC_RUNNING
    ASYNC_DONE
    ASYNC_FAILED
    ASYNC_TIMEDOUT

cdef const char *ASYNC_STATE_NAMES[5]
ASYNC_STATE_NAMES[:] = [b"QUEUED", b"RUNNING", b"DONE", b"FAILED", b"TIMEDOUT"]

# The keyspace event (class `d`, module) on the id when a DAG ends, whatever its state.
cdef const char *ASYNC_DAG_ENDED_EVENT = b"ai.dagrun.ended"

ctypedef struct AsyncDag:
    Dag *dag
    RedisModuleString *id
    int db                    # the caller's: where PERSIST writes and the event go
    bint on_master            # queued on a master (not a writable replica)
    bint deprecated           # AI.DAGRUNASYNC: ops are named AI.MODELRUN / AI.SCRIPTRUN
    AsyncDagState state       # QUEUED until it ended; RUNNING is read from the DAG
    int64_t submitted_ms
    int64_t ended_ms
    bint persist_failed       # a PERSIST key could not be written: persist_error
    ErrorValue persist_error
    AsyncDag *next            # the expiry list

cdef RedisModuleDict *async_dags = NULL    # id -> AsyncDag; main thread only
cdef long long async_pending = 0           # submitted, not ended yet
cdef unsigned long long async_last_id = 0
cdef AsyncDag *expiry_head = NULL          # ended, oldest first
cdef AsyncDag *expiry_tail = NULL


cdef void first_key_pos(void *data, int pos, bint written) noexcept nogil:
    if (<int *>data)[0] == 0:
        (<int *>data)[0] = pos


cdef RedisModuleString *new_async_id(RedisModuleString **argv, int argc) noexcept nogil:
    """dag:<n>{<tag>}: the tag puts the id in its DAG's cluster slot (that of its first key), so
    cluster clients route AI.DAGRUNINFO to the shard that holds the record."""
    global async_last_id
    cdef int pos = 0
    cdef size_t n
    cdef const char *key
    cdef int slot = 0
    cdef char text[64]
    visit_dag_keys(argv, argc, first_key_pos, &pos)
    if pos > 0:
        key = RedisModule_StringPtrLen(argv[pos], &n)
        slot = key_slot(key, n)
    async_last_id += 1
    snprintf(text, sizeof(text), "dag:%llu{%s}", async_last_id, slot_tag(slot))
    return RedisModule_CreateString(NULL, text, strlen(text))


cdef void async_dag_free(AsyncDag *rec) noexcept nogil:
    dag_free(rec.dag)
    RedisModule_FreeString(NULL, rec.id)
    RedisModule_Free(rec)


cdef void expire_async_dags() noexcept nogil:
    """Forget ended DAGs older than the TTL (the list is in end order, so the head goes first)."""
    global expiry_head, expiry_tail
    cdef AsyncDag *rec
    cdef size_t n
    cdef const char *id
    cdef int64_t now = monotonic_ms()
    while expiry_head != NULL and now - expiry_head.ended_ms >= rai_config.async_dag_result_ttl:
        rec = expiry_head
        expiry_head = rec.next
        if expiry_head == NULL:
            expiry_tail = NULL
        id = RedisModule_StringPtrLen(rec.id, &n)
        RedisModule_DictDelC(async_dags, <void *>id, n, NULL)
        async_dag_free(rec)


cdef void async_dag_ended(Dag *dag) noexcept nogil:
    """The last part's worker: the main thread ends it when it may write."""
    call_when_writable(end_async_dag, dag.done_data)


cdef void drop_unread_slots(Dag *dag) noexcept nogil:
    """An ended DAG keeps only what its reply reads (TENSORGET ops): intermediates go now."""
    cdef size_t k
    cdef bint *read = <bint *>RedisModule_Alloc((dag.nslots if dag.nslots else 1) * sizeof(bint))
    for k in range(dag.nslots):
        read[k] = False
    for k in range(dag.nops):
        if dag.ops[k].kind == DAG_TENSORGET:
            read[dag.ops[k].input_slots[0]] = True
    for k in range(dag.nslots):
        if not read[k]:
            tensor_decref(dag.slots[k])
            dag.slots[k] = NULL
    RedisModule_Free(read)


cdef void end_async_dag(RedisModuleCtx *ctx, void *data) noexcept nogil:
    """Main thread, no pause on: what a blocked client's reply would do, then keep the result
    for the TTL."""
    global async_pending, expiry_head, expiry_tail
    cdef AsyncDag *rec = <AsyncDag *>data
    cdef Dag *dag = rec.dag
    RedisModule_SelectDb(ctx, rec.db)
    if dag.timed_out:
        rec.state = ASYNC_TIMEDOUT
    elif dag.failed:
        rec.state = ASYNC_FAILED
    elif dag_writes(dag) and rec.on_master and RedisModule_GetContextFlags(ctx) & REDISMODULE_CTX_FLAGS_SLAVE:
        # Demoted while it ran: its writes would make this replica differ from its master.
        error_set(&rec.persist_error, E_ASYNC_DAG_DEMOTED)
        rec.persist_failed = True
        rec.state = ASYNC_FAILED
    elif not persist_dag_outputs(ctx, dag, &rec.persist_error):
        rec.persist_failed = True
        rec.state = ASYNC_FAILED
    else:
        rec.state = ASYNC_DONE
    count_dag_runs(dag)
    drop_unread_slots(dag)
    rec.ended_ms = monotonic_ms()
    async_pending -= 1
    rec.next = NULL
    if expiry_tail == NULL:
        expiry_head = rec
    else:
        expiry_tail.next = rec
    expiry_tail = rec
    RedisModule_NotifyKeyspaceEvent(ctx, REDISMODULE_NOTIFY_MODULE, ASYNC_DAG_ENDED_EVENT, rec.id)


cdef public void RAI_ExpireAsyncDags() noexcept nogil:
    """The before-sleep hook (main thread)."""
    if expiry_head != NULL:
        expire_async_dags()


cdef int dag_async_command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, bint deprecated,
                           const char *arity_error) noexcept nogil:
    global async_dags, async_pending
    if RedisModule_IsKeysPositionRequest(ctx):
        return report_dag_keys(ctx, argv, argc)
    cdef DagParse p
    if not parse_dag_or_reply(ctx, argv, argc, &p, False, deprecated, arity_error):
        return REDISMODULE_OK
    cdef const char *refusal = NULL
    if async_pending >= rai_config.async_dag_max_pending:
        refusal = RAI_ERR_ASYNC_DAG_TOO_MANY
    elif dag_refused(&p):
        refusal = RAI_ERR_ADMISSION_REFUSED
    if refusal != NULL:
        dag_free(p.dag)
        dag_parse_free(&p)
        return RedisModule_ReplyWithError(ctx, refusal)
    if async_dags == NULL:
        async_dags = RedisModule_CreateDict(NULL)
    cdef AsyncDag *rec = <AsyncDag *>RedisModule_Alloc(sizeof(AsyncDag))
    rec.dag = p.dag
    rec.id = new_async_id(argv, argc)
    rec.db = RedisModule_GetSelectedDb(ctx)
    rec.on_master = not (RedisModule_GetContextFlags(ctx) & REDISMODULE_CTX_FLAGS_SLAVE)
    rec.deprecated = deprecated
    rec.state = ASYNC_QUEUED
    rec.submitted_ms = monotonic_ms()
    rec.ended_ms = 0
    rec.persist_failed = False
    rec.next = NULL
    cdef size_t n
    cdef const char *id = RedisModule_StringPtrLen(rec.id, &n)
    RedisModule_DictSetC(async_dags, <void *>id, n, rec)
    async_pending += 1
    p.dag.done = async_dag_ended
    p.dag.done_data = rec
    push_dag(ctx, &p)
    dag_parse_free(&p)
    return RedisModule_ReplyWithStringBuffer(ctx, id, n)


cdef const char *op_command(AsyncDag *rec, DagOp *op) noexcept nogil:
    if op.kind == DAG_TENSORSET:
        return "AI.TENSORSET"
    if op.kind == DAG_TENSORGET:
        return "AI.TENSORGET"
    if op.kind == DAG_MODEL:
        return "AI.MODELRUN" if rec.deprecated else "AI.MODELEXECUTE"
    return "AI.SCRIPTRUN" if rec.deprecated else "AI.SCRIPTEXECUTE"


cdef const char *op_state(AsyncDag *rec, DagOp *op) noexcept nogil:
    """DONE, FAILED, PENDING (not run yet) or SKIPPED (the DAG ended without running it)."""
    cdef Dag *dag = rec.dag
    cdef bint ended = rec.state >= ASYNC_DONE
    if op.kind == DAG_TENSORSET:
        return "DONE"
    if op.kind == DAG_TENSORGET:
        if not ended:
            return "PENDING"
        if dag.slot_not_tensor[op.input_slots[0]]:
            return "FAILED"
        return "DONE" if dag.slots[op.input_slots[0]] != NULL else "SKIPPED"
    if op.status == DAG_OP_DONE:
        return "DONE"
    if op.status == DAG_OP_FAILED:
        return "FAILED"
    return "SKIPPED" if ended else "PENDING"


cdef void reply_ops(RedisModuleCtx *ctx, AsyncDag *rec) noexcept nogil:
    """Per op: its command, state and run time (0 until it ran; TENSORSET and TENSORGET take
    none). While the DAG runs, workers update the ops under the DAG's lock."""
    cdef Dag *dag = rec.dag
    cdef DagOp *op
    cdef size_t k
    RedisModule_ReplyWithArray(ctx, <long>dag.nops)
    for k in range(dag.nops):
        op = &dag.ops[k]
        RedisModule_ReplyWithArray(ctx, 6)
        RedisModule_ReplyWithSimpleString(ctx, "command")
        RedisModule_ReplyWithSimpleString(ctx, op_command(rec, op))
        RedisModule_ReplyWithSimpleString(ctx, "state")
        RedisModule_ReplyWithSimpleString(ctx, op_state(rec, op))
        RedisModule_ReplyWithSimpleString(ctx, "duration_us")
        RedisModule_ReplyWithLongLong(ctx, op.run.duration_us if op.run != NULL and op.status != DAG_OP_PENDING else 0)


cdef public int RAI_DagRunInfo_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    """AI.DAGRUNINFO <id>: state, ops, and once ended the reply AI.DAGEXECUTE would have given."""
    if argc != 2:
        return RedisModule_WrongArity(ctx)
    cdef size_t n
    cdef const char *id = RedisModule_StringPtrLen(argv[1], &n)
    cdef int missing = 1
    cdef AsyncDag *rec = NULL
    if async_dags != NULL:
        expire_async_dags()
        rec = <AsyncDag *>RedisModule_DictGetC(async_dags, <void *>id, n, &missing)
    if rec == NULL:
        return RedisModule_ReplyWithError(ctx, RAI_ERR_ASYNC_DAG_UNKNOWN)
    cdef bint ended = rec.state >= ASYNC_DONE
    cdef AsyncDagState state = rec.state
    cdef int64_t now = monotonic_ms()
    if not ended:
        pthread_mutex_lock(&rec.dag.lock)
        if rec.dag.started:
            state = ASYNC_RUNNING
    RedisModule_ReplyWithArray(ctx, 10 if ended else 8)
    RedisModule_ReplyWithSimpleString(ctx, "id")
    RedisModule_ReplyWithStringBuffer(ctx, id, n)
    RedisModule_ReplyWithSimpleString(ctx, "state")
    RedisModule_ReplyWithSimpleString(ctx, ASYNC_STATE_NAMES[<int>state])
    RedisModule_ReplyWithSimpleString(ctx, "elapsed_ms")
    RedisModule_ReplyWithLongLong(ctx, (rec.ended_ms if ended else now) - rec.submitted_ms)
    RedisModule_ReplyWithSimpleString(ctx, "ops")
    reply_ops(ctx, rec)
    if not ended:
        pthread_mutex_unlock(&rec.dag.lock)
        return REDISMODULE_OK
    RedisModule_ReplyWithSimpleString(ctx, "reply")
    return reply_dag_result(ctx, rec.dag, &rec.persist_error if rec.persist_failed else NULL)


cdef public int RAI_DagExecuteAsync_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    return dag_async_command(ctx, argv, argc, False, RAI_ERR_DAGEXECUTE_ARITY)


cdef public int RAI_DagRunAsync_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    return dag_async_command(ctx, argv, argc, True, RAI_ERR_DAGRUN_ARITY)
