# Parsing AI.DAGEXECUTE[_RO] and AI.DAGRUN[_RO] (docs/COMMANDS.md §7.1), all on the main thread and
# before anything runs: the header (LOAD reads its tensors now, by reference), every op (each
# with its command's own parser and errors), then the DAG-local names. The first error stops
# the parse (p.error: the command replies it alone, the LLAPI returns it) and the DAG is
# dropped: an invalid DAG changes nothing.
from libc.string cimport memset
from redisai_module.execution.run cimport *
from redisai_module.objects.model cimport RaiModel
from redisai_module.objects.script cimport RaiScript
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *

cdef void dag_parse_init(DagParse *p, int argc, bint read_only, bint deprecated) noexcept nogil:
    memset(p, 0, sizeof(DagParse))
    p.dag = dag_new(argc)
    p.read_only = read_only
    p.deprecated = deprecated
    p.capacity = argc
    dag_names_init(&p.names, argc)
    p.op_names = <OpNames *>RedisModule_Alloc(argc * sizeof(OpNames))
    memset(p.op_names, 0, argc * sizeof(OpNames))
    p.part_queues = <RunQueue **>RedisModule_Alloc(argc * sizeof(RunQueue *))


cdef void dag_parse_free(DagParse *p) noexcept nogil:
    """The parse's own tables; p.dag is the caller's (queued, or freed on error): this never
    reads it, so it may already be gone."""
    cdef int k
    for k in range(p.capacity):
        if p.op_names[k].owned:
            RedisModule_Free(p.op_names[k].inputs)
            RedisModule_Free(p.op_names[k].outputs)
    RedisModule_Free(p.op_names)
    RedisModule_Free(p.part_queues)
    dag_names_free(&p.names)


cdef int dag_unexpected(DagParse *p, RedisModuleString *arg) noexcept nogil:
    return error_set_token(&p.error, E_DAG_UNEXPECTED, arg, 180)


cdef size_t new_slot(DagParse *p) noexcept nogil:
    p.next_slot += 1
    return p.next_slot - 1


cdef int parse_dag_load(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, int i, DagParse *p) noexcept nogil:
    """LOAD <n> <key>...: each tensor is captured now (the keys are the only ones a DAG reads).
    Returns the index after the keys, or -1."""
    cdef long long n
    cdef RedisModuleKey *key = NULL
    cdef RaiTensor *t
    cdef size_t slot
    cdef int k
    if argc - i - 1 < 2:
        return error_set(&p.error, E_DAG_LOAD_MISSING)
    if RedisModule_StringToLongLong(argv[i + 1], &n) != REDISMODULE_OK or n <= 0:
        return error_set(&p.error, E_DAG_LOAD_COUNT)
    for k in range(i + 2, i + 2 + <int>min(n, <long long>argc)):
        if k >= argc:
            return error_set(&p.error, E_DAG_LOAD_LENGTH)
        t = read_tensor_key(ctx, argv[k], &key, &p.error)
        if t == NULL:
            return -1
        slot = new_slot(p)
        p.dag.slots[slot] = tensor_incref(t)
        RedisModule_CloseKey(key)
        dag_name_bind(&p.names, argv[k], slot)
    return i + 2 + <int>n


cdef int parse_dag_persist(RedisModuleString **argv, int argc, int i, DagParse *p) noexcept nogil:
    """PERSIST <n> <key>...: names to store when the DAG succeeds, resolved after the ops."""
    cdef long long n
    cdef DagNames seen
    cdef size_t ignored
    cdef int k
    if p.read_only:
        return error_set(&p.error, E_DAG_PERSIST_READ_ONLY)
    if argc - i - 1 < 2:
        return error_set(&p.error, E_DAG_PERSIST_MISSING)
    if RedisModule_StringToLongLong(argv[i + 1], &n) != REDISMODULE_OK or n <= 0:
        return error_set(&p.error, E_DAG_PERSIST_COUNT)
    dag_names_init(&seen, argc)
    for k in range(i + 2, i + 2 + <int>min(n, <long long>argc)):
        if k >= argc or dag_name_lookup(&seen, argv[k], &ignored):
            dag_names_free(&seen)
            return error_set(&p.error, E_DAG_PERSIST_LENGTH if k >= argc else E_DAG_PERSIST_UNIQUE)
        dag_name_bind(&seen, argv[k], 0)
    dag_names_free(&seen)
    p.persist_names = argv + i + 2
    p.npersist = <int>n
    return i + 2 + <int>n


cdef int parse_dag_header(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, DagParse *p) noexcept nogil:
    """LOAD, PERSIST, XLOAD, XPERSIST, ROUTING, TIMEOUT, each at most once, up to the first `|>` that is not the
    last token. 0, or -1."""
    cdef int i = 1
    while i < argc:
        if arg_is(argv[i], "|>", 2) and i + 1 < argc:
            p.first_op = i
            # RedisAI's scan goes on through the ops: a `|>` that ends the command starts no op
            # and is an unexpected argument, reported before anything the ops could report.
            if arg_is(argv[argc - 1], "|>", 2):
                return dag_unexpected(p, argv[argc - 1])
            return 0
        if arg_is(argv[i], "LOAD", 4) and not p.seen_load:
            p.seen_load = True
            i = parse_dag_load(ctx, argv, argc, i, p)
        elif arg_is(argv[i], "PERSIST", 7) and not p.seen_persist:
            p.seen_persist = True
            i = parse_dag_persist(argv, argc, i, p)
        elif arg_is(argv[i], "XLOAD", 5) and not p.seen_xload:
            p.seen_xload = True
            i = parse_dag_xload(ctx, argv, argc, i, p)
        elif arg_is(argv[i], "XPERSIST", 8) and p.xpersist_stream == NULL:
            i = parse_dag_xpersist(argv, argc, i, p)
        elif arg_is(argv[i], "ROUTING", 7) and not p.seen_routing:
            p.seen_routing = True
            if i + 1 >= argc:
                return error_set(&p.error, E_DAG_ROUTING_MISSING)
            i += 2  # only used for cluster routing
        elif arg_is(argv[i], "TIMEOUT", 7) and not p.seen_timeout:
            p.seen_timeout = True
            if i + 1 >= argc:
                return error_set(&p.error, E_TIMEOUT_MISSING)
            if RedisModule_StringToLongLong(argv[i + 1], &p.timeout_ms) != REDISMODULE_OK:
                return error_set(&p.error, E_TIMEOUT_VALUE)
            i += 2  # 0 and negative values mean no timeout, as in RedisAI
        else:
            return dag_unexpected(p, argv[i])
        if i < 0:
            return -1
    p.first_op = argc
    return 0


cdef int dag_part_for(DagParse *p, const char *device) noexcept nogil:
    """The part (one per run queue) that runs ops on `device`; -1 if no queue can be made."""
    cdef Dag *dag = p.dag
    cdef RunQueue *q = ensure_run_queue(device)
    cdef int k
    if q == NULL:
        return -1
    for k in range(dag.nparts):
        if p.part_queues[k] == q:
            return k
    k = dag.nparts
    dag.parts[k] = run_new(0, 0)
    dag.parts[k].dag = dag
    dag.parts[k].dag_part = k
    p.part_queues[k] = q
    dag.nparts += 1
    return k


cdef int parse_model_op(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, DagParse *p, DagOp *op,
                        OpNames *names) noexcept nogil:
    """AI.MODELEXECUTE (§5.5) or, in DAGRUN, AI.MODELRUN (§5.6), without keyspace access for
    the tensors and without TIMEOUT."""
    cdef RaiModel *m = NULL
    cdef long long timeout_ms = 0
    cdef ModelRunArgs a
    cdef bint deprecated_op = arg_is(argv[0], "AI.MODELRUN", 11)
    cdef RedisModuleKey *key = open_run_target(
        ctx, argv, argc, 6 if deprecated_op else 8,
        E_MODELRUN_ARITY if deprecated_op else E_MODELEXECUTE_ARITY,
        False, <void **>&m, &p.error)
    if key == NULL:
        return -1
    if deprecated_op and not key_permitted(ctx, argv[1], REDISMODULE_CMD_KEY_ACCESS, &p.error):
        RedisModule_CloseKey(key)  # §11: not reported, so Redis did not check it
        return -1
    if deprecated_op:
        if parse_modelrun(argv, argc, m, &a, &p.error) < 0:
            RedisModule_CloseKey(key)
            return -1
    else:
        a.ninputs = parse_run_counts(argv, argc, m, &a.timeout_ms, &p.error)
        if a.ninputs < 0:
            RedisModule_CloseKey(key)
            return -1
        a.first_input = 4
        a.first_output = 4 + a.ninputs + 2
        a.noutputs = <int>m.noutputs
    if a.timeout_ms > 0:
        RedisModule_CloseKey(key)
        return error_set(&p.error, E_TIMEOUT_IN_DAG)
    op.kind = DAG_MODEL
    op.run = model_run_new(m, a.ninputs, a.noutputs)
    RedisModule_CloseKey(key)
    names.inputs, names.ninputs = argv + a.first_input, a.ninputs
    names.outputs, names.noutputs = argv + a.first_output, a.noutputs
    return 0


cdef int parse_script_op(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, DagParse *p, DagOp *op,
                         OpNames *names) noexcept nogil:
    """AI.SCRIPTEXECUTE (§6.5, sections in any order) or, in DAGRUN, AI.SCRIPTRUN (§6.6)."""
    cdef RaiScript *s = NULL
    cdef ScriptCall call
    cdef ScriptRunArgs a
    cdef size_t n
    cdef const char *function
    cdef bint deprecated_op = arg_is(argv[0], "AI.SCRIPTRUN", 12)
    cdef RedisModuleKey *key = open_run_target(
        ctx, argv, argc, 3, E_SCRIPTRUN_ARITY if deprecated_op else E_SCRIPTEXECUTE_ARITY,
        True, <void **>&s, &p.error)
    if key == NULL:
        return -1
    if deprecated_op and not key_permitted(ctx, argv[1], REDISMODULE_CMD_KEY_ACCESS, &p.error):
        RedisModule_CloseKey(key)  # §11: not reported, so Redis did not check it
        return -1
    function = RedisModule_StringPtrLen(argv[2], &n)
    if deprecated_op:
        if parse_scriptrun(argv, argc, &a, &p.error) < 0:
            scriptrun_args_free(&a)
            RedisModule_CloseKey(key)
            return -1
        names.owned = True
        names.inputs, names.ninputs = a.inputs, a.ninputs
        names.outputs, names.noutputs = a.outputs, a.noutputs
        call.timeout_ms = a.timeout_ms
    else:
        memset(&call, 0, sizeof(ScriptCall))
        if parse_script_call(argv, argc, &call, True, &p.error) < 0:
            RedisModule_CloseKey(key)
            return -1
        names.inputs, names.ninputs = argv + call.inputs_at, call.ninputs
        names.outputs, names.noutputs = argv + call.outputs_at, call.noutputs
    if call.timeout_ms > 0:
        RedisModule_CloseKey(key)
        return error_set(&p.error, E_TIMEOUT_IN_DAG)
    op.run = script_run_new(s, function, n, names.ninputs, names.noutputs)
    if not deprecated_op:
        op.run.keys = copy_name_span(argv, call.keys_at, call.keys_at + call.nkeys, &op.run.nkeys)
        op.run.args = copy_name_span(argv, call.args_at, call.args_at + call.nargs, &op.run.nargs)
    op.kind = DAG_SCRIPT
    RedisModule_CloseKey(key)
    return 0


cdef int parse_dag_op(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, DagParse *p) noexcept nogil:
    """One op (the tokens between two `|>`), appended to the DAG with its output slots fresh;
    its input names are resolved later, in DAG order. 0, or -1."""
    cdef Dag *dag = p.dag
    cdef DagOp *op = &dag.ops[dag.nops]
    cdef OpNames *names = &p.op_names[dag.nops]
    cdef const char *device = "CPU"  # where TENSORSET and TENSORGET steps belong
    cdef int rc = 0
    dag.nops += 1  # from now on the DAG owns whatever the op holds
    if argc == 0:
        return error_set(&p.error, E_DAG_UNSUPPORTED_OP)
    if arg_is(argv[0], "AI.TENSORSET", 12):
        if argc < 4:
            return error_set(&p.error, E_DAG_TENSORSET_ARITY)
        op.kind = DAG_TENSORSET
        dag.slots[p.next_slot] = tensor_from_args(argv + 2, argc - 2, &p.error)  # built now, as RedisAI does
        if dag.slots[p.next_slot] == NULL:
            return -1
        names.outputs, names.noutputs = argv + 1, 1
    elif arg_is(argv[0], "AI.TENSORGET", 12):
        if argc < 2 or argc > 4:
            return error_set(&p.error, E_DAG_TENSORGET_ARITY)
        op.kind = DAG_TENSORGET
        op.tensorget_format = parse_tensor_formats(argv + 2, argc - 2, &p.error)
        if op.tensorget_format == 0:
            return -1
        names.inputs, names.ninputs = argv + 1, 1
    elif arg_is(argv[0], "AI.MODELEXECUTE", 15) or arg_is(argv[0], "AI.MODELRUN", 11):
        if p.deprecated != arg_is(argv[0], "AI.MODELRUN", 11):
            return error_set(&p.error, E_DAG_MODELEXECUTE_IN_DAGRUN if p.deprecated else E_DAG_MODELRUN_IN_DAGEXECUTE)
        rc = parse_model_op(ctx, argv, argc, p, op, names)
        if rc == 0:
            device = op.run.model.head.device
    elif arg_is(argv[0], "AI.SCRIPTEXECUTE", 16) or arg_is(argv[0], "AI.SCRIPTRUN", 12):
        if p.deprecated != arg_is(argv[0], "AI.SCRIPTRUN", 12):
            return error_set(&p.error, E_DAG_SCRIPTEXECUTE_IN_DAGRUN if p.deprecated else E_DAG_SCRIPTRUN_IN_DAGEXECUTE)
        if p.read_only and not p.deprecated:
            return error_set(&p.error, E_DAG_SCRIPTEXECUTE_READ_ONLY)
        rc = parse_script_op(ctx, argv, argc, p, op, names)
        if rc == 0:
            device = op.run.script.head.device
    else:
        return error_set(&p.error, E_DAG_UNSUPPORTED_OP)
    if rc < 0:
        return -1
    return place_op(p, op, names.ninputs, names.noutputs, device)


cdef int place_op(DagParse *p, DagOp *op, size_t ninputs, size_t noutputs, const char *device) noexcept nogil:
    """Room for the op's input slots (resolved later), fresh output slots, and its device's part.
    0, or -1."""
    cdef size_t k
    op.input_slots = <size_t *>RedisModule_Alloc((ninputs + 1) * sizeof(size_t))
    op.output_slots = <size_t *>RedisModule_Alloc((noutputs + 1) * sizeof(size_t))
    for k in range(noutputs):
        op.output_slots[k] = new_slot(p)
    op.part = dag_part_for(p, device)
    if op.part < 0:
        return error_set(&p.error, E_NO_QUEUE)
    return 0


cdef int resolve_dag_names(DagParse *p) noexcept nogil:
    """Walk the ops in order: each input is the latest earlier producer of its name (or a
    LOADed key), each output re-points its name; PERSIST takes the final versions."""
    cdef Dag *dag = p.dag
    cdef OpNames *names
    cdef size_t k
    cdef int j
    for k in range(dag.nops):
        names = &p.op_names[k]
        for j in range(names.ninputs):
            if not dag_name_lookup(&p.names, names.inputs[j], &dag.ops[k].input_slots[j]):
                return error_set(&p.error, E_DAG_INPUT_NOT_FOUND)
        for j in range(names.noutputs):
            dag_name_bind(&p.names, names.outputs[j], dag.ops[k].output_slots[j])
    dag.persist_keys = <RedisModuleString **>RedisModule_Alloc((p.npersist + 1) * sizeof(RedisModuleString *))
    dag.persist_slots = <size_t *>RedisModule_Alloc((p.npersist + 1) * sizeof(size_t))
    for j in range(p.npersist):
        dag.persist_keys[j] = NULL
    for j in range(p.npersist):
        if not dag_name_lookup(&p.names, p.persist_names[j], &dag.persist_slots[j]):
            return error_set(&p.error, E_DAG_PERSIST_NOT_FOUND)
        dag.persist_keys[j] = RedisModule_HoldString(NULL, p.persist_names[j])
        dag.npersist += 1
    return resolve_xpersist(p)


cdef int parse_dag(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, DagParse *p) noexcept nogil:
    """The whole command, in RedisAI's order of checks; 0, or -1 with p.error set."""
    cdef int i, end
    if parse_dag_header(ctx, argv, argc, p) < 0:
        return -1
    if not p.deprecated and not (p.seen_load or p.seen_persist or p.seen_routing or p.seen_xload
                                 or p.xpersist_stream != NULL):
        return error_set(&p.error, E_DAG_NEEDS_KEYWORD)
    if p.first_op >= argc:
        return error_set(&p.error, E_DAG_EMPTY)
    i = p.first_op
    while i < argc:  # argv[i] is a `|>`; the op runs to the next one
        end = i + 1
        while end < argc and not arg_is(argv[end], "|>", 2):
            end += 1
        if parse_dag_op(ctx, argv + i + 1, end - i - 1, p) < 0:
            return -1
        i = end
    return resolve_dag_names(p)
