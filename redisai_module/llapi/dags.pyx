# DAGs for other modules (docs/CONFIG.md §6.5). The caller builds ops one by one or from a string in
# AI.DAGEXECUTE's op syntax (parsed by the command's own parser), then RedisAI_DAGRun turns them
# into the Dag the commands queue: same per-device parts, same batching, same AI.INFO counting.
# The callback gets the RAI_DAGRunCtx itself as its RAI_OnFinishCtx and frees it with DAGFree.
from libc.string cimport memset, strcmp, strlen
from redisai_module.execution.run cimport *
from redisai_module.objects.model cimport RaiModel
from redisai_module.objects.script cimport RaiScript
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *

ctypedef struct LlapiOp:          # RAI_DAGRunOp
    DagOpKind kind
    Run *run                      # model and script ops, until the DAG runs (then the Dag owns it)
    RaiTensor *tensor             # TENSORSET: one reference
    char **inputs                 # DAG-local names
    size_t ninputs
    char **outputs
    size_t noutputs

ctypedef struct LlapiDag:         # RAI_DAGRunCtx, and in the callback its RAI_OnFinishCtx
    int kind                      # FINISH_DAG (models.pyx): the first field of every finish ctx
    char **loaded_names
    RaiTensor **loaded            # one reference each
    size_t nloaded
    LlapiOp **ops
    size_t nops
    Dag *dag                      # once RedisAI_DAGRun queued it
    FinishCallback callback
    void *private_data
    RaiError error                # the first failed op's error


cdef LlapiDag *llapi_dag_create() noexcept nogil:
    cdef LlapiDag *d = <LlapiDag *>RedisModule_Alloc(sizeof(LlapiDag))
    memset(d, 0, sizeof(LlapiDag))
    d.kind = FINISH_DAG
    return d


cdef LlapiOp *new_op(DagOpKind kind) noexcept nogil:
    cdef LlapiOp *op = <LlapiOp *>RedisModule_Alloc(sizeof(LlapiOp))
    memset(op, 0, sizeof(LlapiOp))
    op.kind = kind
    return op


cdef void add_name(char ***names, size_t *count, const char *name) noexcept nogil:
    names[0] = <char **>grow(names[0], count[0], sizeof(char *))
    names[0][count[0]] = copy_cstring(name, strlen(name))
    count[0] += 1


cdef LlapiOp *llapi_dag_model_op(RaiModel *m) noexcept nogil:
    cdef LlapiOp *op = new_op(DAG_MODEL)
    op.run = model_run_new(m, 0, 0)
    return op


cdef LlapiOp *llapi_dag_script_op(RaiScript *s, const char *function) noexcept nogil:
    cdef LlapiOp *op = new_op(DAG_SCRIPT)
    op.run = script_run_new(s, function, strlen(function), 0, 0)
    return op


cdef int llapi_dag_op_add_input(LlapiOp *op, const char *name) noexcept nogil:
    add_name(&op.inputs, &op.ninputs, name)
    return 1


cdef int llapi_dag_op_add_output(LlapiOp *op, const char *name) noexcept nogil:
    add_name(&op.outputs, &op.noutputs, name)
    return 1


cdef void llapi_dag_op_free(LlapiOp *op) noexcept nogil:
    if op == NULL:
        return
    if op.run != NULL:
        run_free(op.run)
    tensor_decref(op.tensor)
    free_name_list(op.inputs, op.ninputs)
    free_name_list(op.outputs, op.noutputs)
    RedisModule_Free(op)


cdef void append_op(LlapiDag *d, LlapiOp *op) noexcept nogil:
    d.ops = <LlapiOp **>grow(d.ops, d.nops, sizeof(LlapiOp *))
    d.ops[d.nops] = op
    d.nops += 1


cdef void size_run_for(LlapiOp *op) noexcept nogil:
    """The run's input and output arrays, one entry per name (filled when the DAG runs)."""
    cdef Run *run = op.run
    while run.ninputs < op.ninputs:
        run.inputs = <RaiTensor **>grow(run.inputs, run.ninputs, sizeof(RaiTensor *))
        run.ninputs += 1
    while run.noutputs < op.noutputs:
        run_add_output(run)


cdef int llapi_dag_add_run_op(LlapiDag *d, LlapiOp *op, RaiError *err) noexcept nogil:
    """The op moves into the DAG; on error it stays the caller's (RedisAI_DAGRunOpFree)."""
    if op.kind == DAG_MODEL and op.ninputs != op.run.model.ninputs:
        llapi_set_error(err, RAI_EDAGBUILDER, RAI_ERR_LLAPI_INPUTS_MISMATCH)
        return REDISMODULE_ERR
    if op.kind == DAG_MODEL and op.noutputs != op.run.model.noutputs:
        llapi_set_error(err, RAI_EDAGBUILDER, RAI_ERR_LLAPI_OUTPUTS_MISMATCH)
        return REDISMODULE_ERR
    size_run_for(op)
    append_op(d, op)
    return REDISMODULE_OK


cdef int llapi_dag_load_tensor(LlapiDag *d, const char *name, RaiTensor *t) noexcept nogil:
    cdef size_t k
    for k in range(d.nloaded):
        if strcmp(d.loaded_names[k], name) == 0:
            return REDISMODULE_ERR
    d.loaded = <RaiTensor **>grow(d.loaded, d.nloaded, sizeof(RaiTensor *))
    d.loaded[d.nloaded] = tensor_incref(t)
    add_name(&d.loaded_names, &d.nloaded, name)  # counts the tensor too
    return REDISMODULE_OK


cdef int llapi_dag_add_tensor_set(LlapiDag *d, const char *name, RaiTensor *t) noexcept nogil:
    cdef LlapiOp *op = new_op(DAG_TENSORSET)
    op.tensor = tensor_incref(t)
    add_name(&op.outputs, &op.noutputs, name)
    append_op(d, op)
    return REDISMODULE_OK


cdef int llapi_dag_add_tensor_get(LlapiDag *d, const char *name) noexcept nogil:
    cdef LlapiOp *op = new_op(DAG_TENSORGET)
    add_name(&op.inputs, &op.ninputs, name)
    append_op(d, op)
    return REDISMODULE_OK


cdef RedisModuleString **split_words(const char *text, int *count) noexcept nogil:
    """Space-separated words as Redis strings (free each, then the array)."""
    cdef size_t n = strlen(text), i = 0, start
    cdef RedisModuleString **words = <RedisModuleString **>RedisModule_Alloc((n // 2 + 2) * sizeof(RedisModuleString *))
    count[0] = 0
    while i < n:
        while i < n and text[i] == b' ':
            i += 1
        start = i
        while i < n and text[i] != b' ':
            i += 1
        if i > start:
            words[count[0]] = RedisModule_CreateString(NULL, text + start, i - start)
            count[0] += 1
    return words


cdef void free_words(RedisModuleString **words, int count) noexcept nogil:
    cdef int k
    for k in range(count):
        RedisModule_FreeString(NULL, words[k])
    RedisModule_Free(words)


cdef char **names_from(RedisModuleString **names, int n) noexcept nogil:
    cdef char **out = new_name_list(n)
    cdef const char *s
    cdef size_t len
    cdef int k
    for k in range(n):
        s = RedisModule_StringPtrLen(names[k], &len)
        out[k] = copy_cstring(s, len)
    return out


cdef LlapiOp *op_from_parse(DagParse *p, size_t k) noexcept nogil:
    """Take op k out of a parsed DAG (its run, its TENSORSET tensor) with its names."""
    cdef DagOp *parsed = &p.dag.ops[k]
    cdef OpNames *names = &p.op_names[k]
    cdef LlapiOp *op = new_op(parsed.kind)
    op.run, parsed.run = parsed.run, NULL
    if parsed.kind == DAG_TENSORSET:
        op.tensor, p.dag.slots[parsed.output_slots[0]] = p.dag.slots[parsed.output_slots[0]], NULL
    op.inputs, op.ninputs = names_from(names.inputs, names.ninputs), names.ninputs
    op.outputs, op.noutputs = names_from(names.outputs, names.noutputs), names.noutputs
    return op


cdef int llapi_dag_add_ops_from_string(LlapiDag *d, const char *text, RaiError *err) noexcept nogil:
    """`|> AI.TENSORSET ... |> AI.MODELEXECUTE ...`, with AI.DAGEXECUTE's rules and errors. All
    the ops are added, or none; the parser's error goes into `err`. Needs Redis's lock (model
    and script keys are read now, through a context of our own)."""
    cdef int argc, i, end
    cdef size_t k
    cdef RedisModuleString **argv = split_words(text, &argc)
    if argc == 0 or not arg_is(argv[0], "|>", 2):
        free_words(argv, argc)
        llapi_set_error(err, RAI_EDAGBUILDER, RAI_ERR_LLAPI_DAG_OP_START)
        return REDISMODULE_ERR
    cdef RedisModuleCtx *ctx = RedisModule_GetThreadSafeContext(NULL)
    cdef DagParse p
    cdef int rc = REDISMODULE_OK
    dag_parse_init(&p, argc + 1, False, False)
    i = 0
    while i < argc and rc == REDISMODULE_OK:
        end = i + 1
        while end < argc and not arg_is(argv[end], "|>", 2):
            end += 1
        if parse_dag_op(ctx, argv + i + 1, end - i - 1, &p) < 0:
            llapi_set_error(err, RAI_EDAGBUILDER, p.error.text)
            rc = REDISMODULE_ERR
        i = end
    if rc == REDISMODULE_OK:
        for k in range(p.dag.nops):
            append_op(d, op_from_parse(&p, k))
    dag_free(p.dag)
    dag_parse_free(&p)
    RedisModule_FreeThreadSafeContext(ctx)
    free_words(argv, argc)
    return rc


cdef size_t llapi_dag_num_ops(LlapiDag *d) noexcept nogil:
    return d.nops


cdef RedisModuleString *held_name(RedisModuleString **strings, size_t *n, const char *name) noexcept nogil:
    strings[n[0]] = RedisModule_CreateString(NULL, name, strlen(name))
    n[0] += 1
    return strings[n[0] - 1]


cdef int build_dag(LlapiDag *d, DagParse *p, RedisModuleString **strings, size_t *nstrings) noexcept nogil:
    """The ops and loaded tensors as a Dag, as parse_dag leaves one; -1 with p.error set (a
    name is unresolved, or a device has no queue)."""
    cdef size_t k, j, slot
    cdef LlapiOp *op
    cdef DagOp *dop
    cdef OpNames *names
    cdef const char *device
    for k in range(d.nloaded):
        slot = new_slot(p)
        p.dag.slots[slot] = tensor_incref(d.loaded[k])
        dag_name_bind(&p.names, held_name(strings, nstrings, d.loaded_names[k]), slot)
    for k in range(d.nops):
        op = d.ops[k]
        dop = &p.dag.ops[p.dag.nops]
        names = &p.op_names[p.dag.nops]
        p.dag.nops += 1
        dop.kind = op.kind
        names.owned = True
        names.inputs = <RedisModuleString **>RedisModule_Alloc((op.ninputs + 1) * sizeof(RedisModuleString *))
        names.outputs = <RedisModuleString **>RedisModule_Alloc((op.noutputs + 1) * sizeof(RedisModuleString *))
        names.ninputs, names.noutputs = <int>op.ninputs, <int>op.noutputs
        for j in range(op.ninputs):
            names.inputs[j] = held_name(strings, nstrings, op.inputs[j])
        for j in range(op.noutputs):
            names.outputs[j] = held_name(strings, nstrings, op.outputs[j])
        device = "CPU"
        if op.kind == DAG_TENSORSET:
            p.dag.slots[p.next_slot] = tensor_incref(op.tensor)  # its output slot, allocated next
        elif op.run != NULL:
            dop.run, op.run = op.run, NULL  # the Dag owns it from now on
            device = dop.run.model.head.device if dop.run.model != NULL else dop.run.script.head.device
        if place_op(p, dop, op.ninputs, op.noutputs, device) < 0:
            return -1
    return resolve_dag_names(p)


cdef size_t dag_name_count(LlapiDag *d) noexcept nogil:
    cdef size_t n = d.nloaded, k
    for k in range(d.nops):
        n += d.ops[k].ninputs + d.ops[k].noutputs
    return n


cdef int llapi_dag_run(LlapiDag *d, FinishCallback callback, void *private_data, RaiError *err) noexcept nogil:
    """Queue the DAG; `callback` runs on a worker when every op is done (or one failed)."""
    cdef size_t k, nstrings = 0, nnames = dag_name_count(d)
    if d.dag != NULL:
        llapi_set_error(err, RAI_EDAGRUN, RAI_ERR_LLAPI_DAG_RUNNING)
        return REDISMODULE_ERR
    if d.nops == 0:
        llapi_set_error(err, RAI_EDAGBUILDER, RAI_ERR_DAG_EMPTY)
        return REDISMODULE_ERR
    cdef RedisModuleString **strings = <RedisModuleString **>RedisModule_Alloc((nnames + 1) * sizeof(RedisModuleString *))
    cdef DagParse p
    dag_parse_init(&p, d.nloaded + d.nops + nnames + 1, False, False)
    cdef int rc = build_dag(d, &p, strings, &nstrings)
    cdef Dag *dag = p.dag
    cdef int part
    if rc < 0:
        llapi_set_error(err, RAI_EDAGBUILDER, p.error.text)
        dag_free(dag)
    else:
        d.dag, d.callback, d.private_data = dag, callback, private_data
        dag.done_data = d
        dag.done = llapi_dag_finished
        dag.parts_left = dag.nparts  # before the first push: no part can finish the DAG early
        # From the first push on, the DAG may finish and the callback free it: d and dag are
        # not touched again below.
        for part in range(dag.nparts):
            run_queue_push(p.part_queues[part], dag.parts[part])
    dag_parse_free(&p)
    for k in range(nstrings):
        RedisModule_FreeString(NULL, strings[k])
    RedisModule_Free(strings)
    return REDISMODULE_ERR if rc < 0 else REDISMODULE_OK


cdef int op_error_code(DagOp *op) noexcept nogil:
    if op.kind == DAG_SCRIPT:
        return RAI_ESCRIPTRUN
    return RAI_EMODELRUN if op.kind == DAG_MODEL else RAI_EDAGRUN


cdef void llapi_dag_finished(Dag *dag) noexcept nogil:
    """On the worker that finished the DAG's last part: count its steps, keep the first error,
    call the caller back."""
    cdef LlapiDag *d = <LlapiDag *>dag.done_data
    cdef DagOp *op
    cdef size_t k
    for k in range(dag.nops):
        op = &dag.ops[k]
        if op.run != NULL and op.status != DAG_OP_PENDING:
            count_run(op.run)
        if op.status == DAG_OP_FAILED and d.error.code == RAI_OK:
            llapi_set_error(&d.error, op_error_code(op), dag_op_error(op))
    d.callback(d, d.private_data)


cdef LlapiDag *finished_dag(void *finish_ctx) noexcept nogil:
    cdef LlapiDag *d = <LlapiDag *>finish_ctx
    return d if d != NULL and d.kind == FINISH_DAG and d.dag != NULL else NULL


cdef size_t llapi_dag_num_outputs(void *finish_ctx) noexcept nogil:
    cdef LlapiDag *d = finished_dag(finish_ctx)
    cdef size_t k, n = 0
    if d == NULL:
        return 0
    for k in range(d.dag.nops):
        if d.dag.ops[k].kind == DAG_TENSORGET:
            n += 1
    return n


cdef RaiTensor *llapi_dag_output_tensor(void *finish_ctx, size_t index) noexcept nogil:
    """The tensor of the index-th TENSORGET op (borrowed), NULL if it was not produced (or the
    model's output there is not a tensor)."""
    cdef LlapiDag *d = finished_dag(finish_ctx)
    cdef size_t k
    if d == NULL:
        return NULL
    for k in range(d.dag.nops):
        if d.dag.ops[k].kind != DAG_TENSORGET:
            continue
        if index == 0:
            return d.dag.slots[d.dag.ops[k].input_slots[0]]
        index -= 1
    return NULL


cdef int llapi_dag_run_error(void *finish_ctx) noexcept nogil:
    cdef LlapiDag *d = finished_dag(finish_ctx)
    return 1 if d != NULL and d.dag.failed else 0


cdef const RaiError *llapi_dag_get_error(void *finish_ctx) noexcept nogil:
    cdef LlapiDag *d = <LlapiDag *>finish_ctx
    return &d.error


cdef void llapi_dag_free(LlapiDag *d) noexcept nogil:
    cdef size_t k
    if d == NULL:
        return
    for k in range(d.nops):
        llapi_dag_op_free(d.ops[k])
    for k in range(d.nloaded):
        tensor_decref(d.loaded[k])
    free_name_list(d.loaded_names, d.nloaded)
    RedisModule_Free(d.loaded)
    RedisModule_Free(d.ops)
    if d.dag != NULL:
        dag_free(d.dag)
    llapi_clear_error(&d.error)
    RedisModule_Free(d)
