# AI.MODELEXECUTE <key> INPUTS <n> <input>... OUTPUTS <n> <output>... [TIMEOUT <ms>]
# Parsed and validated on the main thread (COMMANDS.md §5.5, in order), then queued on the
# model's device with the client blocked; the reply callback writes the outputs.
from libc.stdint cimport int64_t
from libc.stdio cimport snprintf
from redisai_module.execution.model_run cimport ModelRun
from redisai_module.objects.model cimport RaiModel
from redisai_module.objects.run_stats cimport RunStats
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *


cdef inline bint blocking_refused(RedisModuleCtx *ctx) noexcept nogil:
    """MULTI, Lua and functions cannot wait for a background run (E.MULTI)."""
    return (RedisModule_GetContextFlags(ctx) & (REDISMODULE_CTX_FLAGS_MULTI | REDISMODULE_CTX_FLAGS_LUA
                                                | REDISMODULE_CTX_FLAGS_DENY_BLOCKING)) != 0


cdef inline int fail(RedisModuleCtx *ctx, const char *error) noexcept nogil:
    RedisModule_ReplyWithError(ctx, error)
    return -1


cdef int reply_invalid_argument(RedisModuleCtx *ctx, RedisModuleString *arg) noexcept nogil:
    """`Invalid argument: <token>` (no ERR prefix, as RedisAI sends it)."""
    cdef size_t n
    cdef const char *s = RedisModule_StringPtrLen(arg, &n)
    cdef char message[256]
    snprintf(message, sizeof(message), "Invalid argument: %.*s", <int>(n if n < 200 else 200), s)
    return RedisModule_ReplyWithError(ctx, message)


cdef RedisModuleKey *open_model_to_run(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, int min_argc,
                                       const char *arity_error, RaiModel **m) noexcept nogil:
    """The checks every model-running command starts with: E.MULTI, its arity, the model key.
    Replies the error and returns NULL, or returns the open model key with *m set."""
    cdef const char *err = NULL
    if blocking_refused(ctx):
        RedisModule_ReplyWithError(ctx, RAI_ERR_MULTI)
        return NULL
    if argc < min_argc:
        RedisModule_ReplyWithError(ctx, arity_error)
        return NULL
    cdef RedisModuleKey *key = open_value_key(ctx, argv[1], RAI_ModelType, REDISMODULE_READ,
                                              RAI_ERR_MODEL_EMPTY, &err)
    if key == NULL:
        RedisModule_ReplyWithError(ctx, err)
        return NULL
    m[0] = <RaiModel *>RedisModule_ModuleTypeGetValue(key)
    return key


cdef int parse_run_counts(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, RaiModel *m,
                          long long *timeout_ms) noexcept nogil:
    """Checks 3-17 of §5.5; replies the error and returns -1, or returns the input count."""
    cdef long long nin, nout
    if not arg_is(argv[2], "INPUTS", 6):
        return fail(ctx, RAI_ERR_INPUTS_NOT_SPECIFIED)
    if RedisModule_StringToLongLong(argv[3], &nin) != REDISMODULE_OK:
        return fail(ctx, RAI_ERR_INPUT_COUNT)
    if nin <= 0:
        return fail(ctx, RAI_ERR_INPUT_COUNT_POSITIVE)
    if <size_t>nin != m.ninputs:
        return fail(ctx, RAI_ERR_INPUTS_MODEL_MISMATCH)
    cdef int i = 4
    if argc - i < nin:
        return fail(ctx, RAI_ERR_INPUT_KEYS)
    i += <int>nin
    if i >= argc or not arg_is(argv[i], "OUTPUTS", 7):
        return fail(ctx, RAI_ERR_OUTPUTS_NOT_SPECIFIED)
    i += 1
    if i >= argc or RedisModule_StringToLongLong(argv[i], &nout) != REDISMODULE_OK:
        return fail(ctx, RAI_ERR_OUTPUT_COUNT)
    if nout <= 0:
        return fail(ctx, RAI_ERR_OUTPUT_COUNT_POSITIVE)
    if <size_t>nout != m.noutputs:
        return fail(ctx, RAI_ERR_OUTPUTS_MODEL_MISMATCH)
    i += 1
    if argc - i < nout:
        return fail(ctx, RAI_ERR_OUTPUT_KEYS)
    i += <int>nout
    timeout_ms[0] = 0
    if i < argc:
        if not arg_is(argv[i], "TIMEOUT", 7):
            reply_invalid_argument(ctx, argv[i])
            return -1
        if i + 1 >= argc:
            return fail(ctx, RAI_ERR_TIMEOUT_MISSING)
        if RedisModule_StringToLongLong(argv[i + 1], timeout_ms) != REDISMODULE_OK or timeout_ms[0] <= 0:
            return fail(ctx, RAI_ERR_TIMEOUT_VALUE)
        if i + 2 < argc:
            reply_invalid_argument(ctx, argv[i + 2])
            return -1
    return <int>nin


cdef bint capture_inputs(RedisModuleCtx *ctx, ModelRun *run, RedisModuleString **names) noexcept nogil:
    """Take a reference to each input tensor now: later writes to the keys do not affect the run."""
    cdef const char *err = NULL
    cdef RedisModuleKey *key = NULL
    cdef RaiTensor *t
    cdef size_t k
    for k in range(run.ninputs):
        t = read_tensor_key(ctx, names[k], &key, &err)
        if t == NULL:
            RedisModule_ReplyWithError(ctx, err)
            return False
        run.inputs[k] = tensor_incref(t)
        RedisModule_CloseKey(key)
    return True


cdef int report_keys(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    """Keys for cluster routing and ACL checks (COMMANDS.md §11): the model, the inputs, the
    outputs; reporting stops where the counts stop making sense, as RedisAI's does."""
    cdef long long nin, nout
    cdef int k
    if argc < 4:
        return REDISMODULE_OK
    RedisModule_KeyAtPos(ctx, 1)
    if RedisModule_StringToLongLong(argv[3], &nin) != REDISMODULE_OK or nin < 0 or 3 + nin + 2 >= argc:
        return REDISMODULE_OK
    if (RedisModule_StringToLongLong(argv[3 + nin + 2], &nout) != REDISMODULE_OK or nout < 0
            or argc <= 3 + nin + 2 + nout):
        return REDISMODULE_OK
    for k in range(4, 4 + <int>nin):
        RedisModule_KeyAtPos(ctx, k)
    for k in range(4 + <int>nin + 2, 4 + <int>nin + 2 + <int>nout):
        RedisModule_KeyAtPos(ctx, k)
    return REDISMODULE_OK


cdef public int RAI_ModelExecute_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    if RedisModule_IsKeysPositionRequest(ctx):
        return report_keys(ctx, argv, argc)
    cdef RaiModel *m = NULL
    cdef RedisModuleKey *model_key = open_model_to_run(ctx, argv, argc, 8, RAI_ERR_MODELEXECUTE_ARITY, &m)
    if model_key == NULL:
        return REDISMODULE_OK  # the error was replied
    cdef long long timeout_ms
    cdef int nin = parse_run_counts(ctx, argv, argc, m, &timeout_ms)
    if nin < 0:
        RedisModule_CloseKey(model_key)
        return REDISMODULE_OK
    return start_model_run(ctx, model_key, m, argv + 4, nin, argv + 4 + nin + 2, <int>m.noutputs, timeout_ms)


cdef int start_model_run(RedisModuleCtx *ctx, RedisModuleKey *model_key, RaiModel *m,
                         RedisModuleString **inputs, int nin, RedisModuleString **outputs, int nout,
                         long long timeout_ms) noexcept nogil:
    """Capture the model and inputs by reference, block the client, queue the run on the
    model's device. Closes model_key. Shared by AI.MODELEXECUTE and AI.MODELRUN."""
    cdef RunQueue *queue = ensure_run_queue(m.device)
    if queue == NULL:
        RedisModule_CloseKey(model_key)
        return RedisModule_ReplyWithError(ctx, RAI_ERR_NO_QUEUE)
    cdef ModelRun *run = model_run_new(m, nin, nout)
    RedisModule_CloseKey(model_key)
    run.timeout_ms = timeout_ms
    if not capture_inputs(ctx, run, inputs):
        model_run_free(run)
        return REDISMODULE_OK
    cdef int k
    for k in range(nout):
        run.output_keys[k] = RedisModule_HoldString(NULL, outputs[k])
    run.blocked_client = RedisModule_BlockClient(ctx, RAI_ModelExecute_Reply, NULL, RAI_ModelRun_Free, 0)
    RedisModule_BlockedClientMeasureTimeStart(run.blocked_client)
    run_queue_push(queue, run)
    return REDISMODULE_OK


cdef void replicate_tensor(RedisModuleCtx *ctx, RedisModuleString *key, RaiTensor *t) noexcept nogil:
    """Replicas and the AOF get the result, never the run (BEHAVIOUR.md §7)."""
    cdef RedisModuleString *dims[TENSOR_MAX_NDIM]
    tensor_dim_strings(t, dims)
    RedisModule_Replicate(ctx, "AI.TENSORSET", "scvcb", key, dtype_name(t.dl.dtype), dims,
                          <size_t>t.dl.ndim, "BLOB", <const char *>t.dl.data, t.nbytes)
    free_dim_strings(t, dims)


cdef int RAI_ModelExecute_Reply(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    cdef ModelRun *run = <ModelRun *>RedisModule_GetBlockedClientPrivateData(ctx)
    cdef const char *err = NULL
    cdef RedisModuleKey *key
    cdef size_t k
    if run.timed_out:
        return RedisModule_ReplyWithSimpleString(ctx, "TIMEDOUT")
    if run.error != NULL:
        return RedisModule_ReplyWithError(ctx, run.error)
    # Check every output key before writing any, so a WRONGTYPE leaves all of them untouched.
    for k in range(run.noutputs):
        if run.outputs[k] == NULL:
            continue
        key = open_tensor_key_for_write(ctx, run.output_keys[k], &err)
        if key == NULL:
            return RedisModule_ReplyWithError(ctx, err)
        RedisModule_CloseKey(key)
    for k in range(run.noutputs):
        if run.outputs[k] == NULL:
            continue  # e.g. an ONNX map output: no tensor, no key
        key = open_tensor_key_for_write(ctx, run.output_keys[k], &err)
        store_tensor(key, tensor_incref(run.outputs[k]))
        RedisModule_CloseKey(key)
        replicate_tensor(ctx, run.output_keys[k], run.outputs[k])
    return RedisModule_ReplyWithSimpleString(ctx, "OK")


cdef void count_run(ModelRun *run) noexcept nogil:
    """AI.INFO accounting (BEHAVIOUR.md §11): runs that did not start count nothing."""
    cdef RunStats *s = run.model.stats
    cdef RaiTensor *first
    if s == NULL or run.timed_out:
        return
    s.calls += 1
    if run.error != NULL:
        s.errors += 1
        return
    s.duration_us += run.duration_us
    first = run.outputs[0] if run.noutputs else NULL
    if first != NULL:
        s.samples += first.dl.shape[0] if first.dl.ndim > 0 else 1


cdef void RAI_ModelRun_Free(RedisModuleCtx *ctx, void *privdata) noexcept nogil:
    """After the reply, or when the client went away: the run counts either way."""
    count_run(<ModelRun *>privdata)
    model_run_free(<ModelRun *>privdata)
