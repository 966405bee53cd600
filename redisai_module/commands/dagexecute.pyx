# AI.DAGEXECUTE, AI.DAGEXECUTE_RO and the deprecated AI.DAGRUN, AI.DAGRUN_RO: parse everything
# (dag_parse.pyx), block the client, queue one part per device (execution/dag.pyx); the reply
# callback answers one element per op and stores the PERSIST keys when every op succeeded.
from redisai_module.execution.run cimport *
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *


ctypedef void (*DagKeyVisitor)(void *data, int pos, bint written) noexcept nogil


cdef void visit_dag_keys(RedisModuleString **argv, int argc, DagKeyVisitor visit, void *data) noexcept nogil:
    """§11: LOAD and PERSIST keys, XLOAD and XPERSIST streams, the ROUTING value, and the key after every AI.MODELEXECUTE
    and AI.SCRIPTEXECUTE token, in order; DAG-local tensor names are not keys."""
    cdef long long n
    cdef int i = 1, k
    while i < argc:
        if arg_is(argv[i], "LOAD", 4) or arg_is(argv[i], "PERSIST", 7):
            if (i + 1 >= argc or RedisModule_StringToLongLong(argv[i + 1], &n) != REDISMODULE_OK or n <= 0
                    or i + 1 + n >= argc - 1):
                break
            for k in range(i + 2, i + 2 + <int>n):
                visit(data, k, arg_is(argv[i], "PERSIST", 7))
            i += 2 + <int>n
            continue
        if arg_is(argv[i], "XLOAD", 5) or arg_is(argv[i], "XPERSIST", 8):
            i = visit_stream_item(argv, argc, i, visit, data)
            if i < 0:
                break
            continue
        if arg_is(argv[i], "ROUTING", 7) and i + 1 < argc:
            visit(data, i + 1, False)  # a key or a tag: checked by ACL like one, as in RedisAI
            i += 1
        elif (arg_is(argv[i], "AI.MODELEXECUTE", 15) or arg_is(argv[i], "AI.SCRIPTEXECUTE", 16)) and i + 1 < argc:
            visit(data, i + 1, False)
            i += 1
        i += 1


cdef int visit_stream_item(RedisModuleString **argv, int argc, int i, DagKeyVisitor visit, void *data) noexcept nogil:
    """XLOAD <stream> <id> <n> (<field> <dtype> <ndims> <dim>...)... or XPERSIST <stream> <n>
    <name>... at argv[i]: its stream, and the index after it; -1 where it is malformed (the
    parse reports it)."""
    cdef long long n, ndims
    cdef bint xload = arg_is(argv[i], "XLOAD", 5)
    cdef int at = i + (3 if xload else 2)
    if at >= argc or RedisModule_StringToLongLong(argv[at], &n) != REDISMODULE_OK or n <= 0 or n > argc:
        return -1
    at += 1
    if xload:
        while n > 0:
            if (at + 2 >= argc or RedisModule_StringToLongLong(argv[at + 2], &ndims) != REDISMODULE_OK
                    or ndims < 1 or ndims > argc):
                return -1
            at += 3 + <int>ndims
            n -= 1
    else:
        at += <int>n
    if at > argc:
        return -1
    visit(data, i + 1, not xload)
    return at


cdef void report_dag_key(void *ctx, int pos, bint written) noexcept nogil:
    if written:
        report_written_key(<RedisModuleCtx *>ctx, pos)
    else:
        report_read_key(<RedisModuleCtx *>ctx, pos)


cdef int report_dag_keys(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    visit_dag_keys(argv, argc, report_dag_key, ctx)
    return REDISMODULE_OK


cdef void push_dag(RedisModuleCtx *ctx, DagParse *p) noexcept nogil:
    """Queue the parsed DAG's parts; its script steps' Redis calls act as the caller (its ACL
    user, its database), on its behalf."""
    cdef RedisModuleString *user = RedisModule_GetCurrentUserName(ctx)
    push_dag_as(p, user, RedisModule_GetSelectedDb(ctx))
    if user != NULL:
        RedisModule_FreeString(NULL, user)


cdef void push_dag_as(DagParse *p, RedisModuleString *user, int db) noexcept nogil:
    """Queue the parsed DAG's parts, its script steps' Redis calls acting as `user` (NULL: no
    ACL user) in database `db`."""
    cdef Dag *dag = p.dag
    cdef size_t i
    cdef int k
    dag.parts_left = dag.nparts  # before the first push: no part can finish the DAG early
    for i in range(dag.nops):
        if dag.ops[i].kind == DAG_SCRIPT:
            dag.ops[i].run.user = RedisModule_CreateStringFromString(NULL, user) if user != NULL else NULL
            dag.ops[i].run.blocked_client = dag.blocked_client
            dag.ops[i].run.db = db
    for k in range(dag.nparts):
        run_queue_push(p.part_queues[k], dag.parts[k])


cdef bint dag_refused(DagParse *p) noexcept nogil:
    """Set each part's timeout; True when admission control refuses one of them (nothing queued)."""
    cdef int k
    cdef bint refused = False
    for k in range(p.dag.nparts):
        p.dag.parts[k].timeout_ms = p.timeout_ms if p.timeout_ms > 0 else 0
        refused = admission_refuses(p.part_queues[k], p.dag.parts[k]) or refused
    return refused


cdef void queue_dag(RedisModuleCtx *ctx, DagParse *p) noexcept nogil:
    p.dag.blocked_client = RedisModule_BlockClient(ctx, RAI_Dag_Reply, NULL, RAI_Dag_Free, 0)
    RedisModule_BlockedClientMeasureTimeStart(p.dag.blocked_client)
    push_dag(ctx, p)


cdef int dag_command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, bint read_only,
                     bint deprecated, const char *arity_error) noexcept nogil:
    if RedisModule_IsKeysPositionRequest(ctx):
        return report_dag_keys(ctx, argv, argc)
    if blocking_refused(ctx):
        return RedisModule_ReplyWithError(ctx, RAI_ERR_MULTI)
    cdef DagParse p
    if not parse_dag_or_reply(ctx, argv, argc, &p, read_only, deprecated, arity_error):
        return REDISMODULE_OK
    if dag_refused(&p):
        RedisModule_ReplyWithError(ctx, RAI_ERR_ADMISSION_REFUSED)
        dag_free(p.dag)
    else:
        queue_dag(ctx, &p)
    dag_parse_free(&p)
    return REDISMODULE_OK


cdef bint parse_dag_or_reply(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, DagParse *p,
                             bint read_only, bint deprecated, const char *arity_error) noexcept nogil:
    """The arity, then the whole DAG into `p`. False after replying the error: nothing ran,
    nothing was written, `p` is freed. True: the caller queues p.dag, then frees `p`."""
    if argc < (4 if deprecated else 6):
        RedisModule_ReplyWithError(ctx, arity_error)
        return False
    dag_parse_init(p, argc, read_only, deprecated)
    if parse_dag(ctx, argv, argc, p) == 0:
        return True
    reply_error_value(ctx, &p.error)
    dag_free(p.dag)
    dag_parse_free(p)
    return False


cdef int reply_dag_op(RedisModuleCtx *ctx, Dag *dag, DagOp *op) noexcept nogil:
    cdef RaiTensor *t
    if op.kind == DAG_TENSORSET:
        return RedisModule_ReplyWithSimpleString(ctx, "OK")
    if op.kind == DAG_TENSORGET:
        if dag.slot_not_tensor[op.input_slots[0]]:
            return RedisModule_ReplyWithError(ctx, RAI_ERR_DAG_NOT_A_TENSOR)
        t = dag.slots[op.input_slots[0]]
        if t == NULL:
            return RedisModule_ReplyWithSimpleString(ctx, "NA")  # its producer failed or never ran
        return reply_tensor(ctx, t, op.tensorget_format)
    if op.status == DAG_OP_DONE:
        return RedisModule_ReplyWithSimpleString(ctx, "OK")
    if op.status == DAG_OP_FAILED:
        return RedisModule_ReplyWithError(ctx, op.run.error)
    return RedisModule_ReplyWithSimpleString(ctx, "NA")  # skipped after an earlier failure


cdef bint persist_dag_outputs(RedisModuleCtx *ctx, Dag *dag, ErrorValue *err) noexcept nogil:
    """Store and replicate each PERSIST key, then append the XPERSIST entry; False, with `err`
    set, at the first write that fails (what was written before it stays)."""
    cdef RaiTensor *t
    cdef size_t k
    for k in range(dag.npersist):
        t = dag.slots[dag.persist_slots[k]]
        if t == NULL:
            continue  # a model output that is not a tensor: skipped, as AI.MODELEXECUTE skips it
        if store_output(ctx, dag.persist_keys[k], t, err) < 0:
            return False
    return append_dag_entry(ctx, dag, err)


cdef int reply_dag_result(RedisModuleCtx *ctx, Dag *dag, const ErrorValue *persist_error) noexcept nogil:
    """What AI.DAGEXECUTE answers: TIMEDOUT, or one element per op and, when a PERSIST key
    could not be written, its error as one more."""
    cdef size_t k
    if dag.timed_out:
        return RedisModule_ReplyWithSimpleString(ctx, "TIMEDOUT")
    RedisModule_ReplyWithArray(ctx, <long>dag.nops + (1 if persist_error != NULL else 0))
    for k in range(dag.nops):
        reply_dag_op(ctx, dag, &dag.ops[k])
    if persist_error != NULL:
        reply_error_value(ctx, persist_error)
    return REDISMODULE_OK


cdef int RAI_Dag_Reply(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    cdef Dag *dag = <Dag *>RedisModule_GetBlockedClientPrivateData(ctx)
    cdef ErrorValue err
    if dag.timed_out or dag.failed or persist_dag_outputs(ctx, dag, &err):
        return reply_dag_result(ctx, dag, NULL)
    return reply_dag_result(ctx, dag, &err)


cdef void count_dag_runs(Dag *dag) noexcept nogil:
    """Every step that ran counts in AI.INFO."""
    cdef size_t k
    for k in range(dag.nops):
        if dag.ops[k].run != NULL and dag.ops[k].status != DAG_OP_PENDING:
            count_run(dag.ops[k].run)


cdef void RAI_Dag_Free(RedisModuleCtx *ctx, void *privdata) noexcept nogil:
    """After the reply, or when the client went away."""
    count_dag_runs(<Dag *>privdata)
    dag_free(<Dag *>privdata)


cdef public int RAI_DagExecute_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    return dag_command(ctx, argv, argc, False, False, RAI_ERR_DAGEXECUTE_ARITY)


cdef public int RAI_DagExecuteRO_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    return dag_command(ctx, argv, argc, True, False, RAI_ERR_DAGEXECUTE_RO_ARITY)


cdef public int RAI_DagRun_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    return dag_command(ctx, argv, argc, False, True, RAI_ERR_DAGRUN_ARITY)


cdef public int RAI_DagRunRO_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    return dag_command(ctx, argv, argc, True, True, RAI_ERR_DAGRUN_RO_ARITY)
