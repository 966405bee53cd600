# What every blocking command shares: starting a run (E.MULTI, input capture, blocking the
# client, queueing), and the unblock path: write the outputs, replicate them as AI.TENSORSET
# (never the command itself), reply; and the accounting when a run is freed.
from redisai_module.execution.run cimport Run
from redisai_module.objects.run_stats cimport RunStats
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *


cdef inline bint blocking_refused(RedisModuleCtx *ctx) noexcept nogil:
    """MULTI, Lua and functions cannot wait for a background run (E.MULTI)."""
    return (RedisModule_GetContextFlags(ctx) & (REDISMODULE_CTX_FLAGS_MULTI | REDISMODULE_CTX_FLAGS_LUA
                                                | REDISMODULE_CTX_FLAGS_DENY_BLOCKING)) != 0


cdef RedisModuleKey *open_run_target(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, int min_argc,
                                     int arity_error, bint is_script, void **value, ErrorValue *err) noexcept nogil:
    """The arity check and the model or script key (argv[1]) every run, alone or in a DAG,
    starts with. NULL with `err` set, or the open key with *value set."""
    if argc < min_argc:
        error_set(err, arity_error)
        return NULL
    return open_runnable_key(ctx, argv[1], is_script, REDISMODULE_READ, value, err)


cdef RedisModuleKey *open_blocking_run_target(RedisModuleCtx *ctx, RedisModuleString **argv, int argc,
                                              int min_argc, int arity_error, bint is_script,
                                              void **value) noexcept nogil:
    """open_run_target for a command of its own, which first refuses to block where the client
    cannot wait (E.MULTI). NULL after replying the error."""
    cdef ErrorValue err
    if blocking_refused(ctx):
        RedisModule_ReplyWithError(ctx, RAI_ERR_MULTI)
        return NULL
    cdef RedisModuleKey *key = open_run_target(ctx, argv, argc, min_argc, arity_error, is_script, value, &err)
    if key == NULL:
        reply_error_value(ctx, &err)
    return key


cdef int report_listed_keys(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, int timeout_at,
                            bint skip_variadic) noexcept nogil:
    """Keys of the deprecated AI.MODELRUN / AI.SCRIPTRUN (docs/COMMANDS.md §11): argv[1]; after an
    optional TIMEOUT <ms> at `timeout_at` and the INPUTS token, every token except OUTPUTS (and
    SCRIPTRUN's `$` marker)."""
    cdef int i = timeout_at
    cdef bint outputs = False
    if argc < 2:
        return REDISMODULE_OK
    report_read_key(ctx, 1)
    if i < argc and arg_is(argv[i], "TIMEOUT", 7):
        i += 2
    i += 1  # INPUTS
    while i < argc:
        if arg_is(argv[i], "OUTPUTS", 7):
            outputs = True
        elif not (skip_variadic and arg_is(argv[i], "$", 1)):
            if outputs:
                report_written_key(ctx, i)
            else:
                report_read_key(ctx, i)
        i += 1
    return REDISMODULE_OK


cdef bint capture_inputs(RedisModuleCtx *ctx, Run *run, RedisModuleString **names) noexcept nogil:
    """Take a reference to each input tensor now: later writes to the keys do not affect the run."""
    cdef ErrorValue err
    cdef RedisModuleKey *key = NULL
    cdef RaiTensor *t
    cdef size_t k
    for k in range(run.ninputs):
        t = read_tensor_key(ctx, names[k], &key, &err)
        if t == NULL:
            reply_error_value(ctx, &err)
            return False
        run.inputs[k] = tensor_incref(t)
        RedisModule_CloseKey(key)
    return True


cdef int start_run(RedisModuleCtx *ctx, Run *run, const char *device, RedisModuleString **inputs,
                   RedisModuleString **outputs, long long timeout_ms) noexcept nogil:
    """Capture the inputs by reference, block the client, queue `run` on `device`'s queue."""
    cdef RunQueue *queue = ensure_run_queue(device)
    if queue == NULL:
        run_free(run)
        return RedisModule_ReplyWithError(ctx, RAI_ERR_NO_QUEUE)
    run.timeout_ms = timeout_ms
    if not capture_inputs(ctx, run, inputs):
        run_free(run)
        return REDISMODULE_OK
    cdef size_t k
    for k in range(run.noutputs):
        run.output_keys[k] = RedisModule_HoldString(NULL, outputs[k])
    if admission_refuses(queue, run):
        run_free(run)
        return RedisModule_ReplyWithError(ctx, RAI_ERR_ADMISSION_REFUSED)
    if run.script != NULL:
        run.user = RedisModule_GetCurrentUserName(ctx)  # what the script's Redis calls run as,
        run.db = RedisModule_GetSelectedDb(ctx)         # and where
    run.blocked_client = RedisModule_BlockClient(ctx, RAI_Run_Reply, NULL, RAI_Run_Free, 0)
    RedisModule_BlockedClientMeasureTimeStart(run.blocked_client)
    run_queue_push(queue, run)
    return REDISMODULE_OK


cdef void replicate_tensor(RedisModuleCtx *ctx, RedisModuleString *key, RaiTensor *t) noexcept nogil:
    """Replicas and the AOF get the result, never the run (docs/BEHAVIOUR.md §7)."""
    cdef RedisModuleString *dims[TENSOR_MAX_NDIM]
    tensor_dim_strings(t, dims)
    RedisModule_Replicate(ctx, "AI.TENSORSET", "scvcb", key, dtype_name(t.dl.dtype), dims,
                          <size_t>t.dl.ndim, "BLOB", <const char *>t.dl.data, t.nbytes)
    free_dim_strings(t, dims)


cdef int store_output(RedisModuleCtx *ctx, RedisModuleString *name, RaiTensor *t, ErrorValue *err) noexcept nogil:
    """Store `t` under `name` and replicate it as AI.TENSORSET: how run outputs and DAG PERSIST
    keys reach the keyspace. 0, or -1 with `err` set: WRONGTYPE if the key holds another type,
    or no memory for the copy a runner's tensor needs (keys hold Redis memory only)."""
    cdef RaiTensor *stored = tensor_incref(t) if t.owner == NULL else tensor_copy_of(&t.dl, 0, -1, err)
    if stored == NULL:
        return -1
    cdef RedisModuleKey *key = open_tensor_key_for_write(ctx, name, err)
    if key == NULL:
        tensor_decref(stored)
        return -1
    store_tensor(key, stored)
    RedisModule_CloseKey(key)
    notify_tensor_written(ctx, name)
    replicate_tensor(ctx, name, t)
    return 0


cdef int RAI_Run_Reply(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    cdef Run *run = <Run *>RedisModule_GetBlockedClientPrivateData(ctx)
    cdef ErrorValue err
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
            return reply_error_value(ctx, &err)
        RedisModule_CloseKey(key)
    for k in range(run.noutputs):
        if run.outputs[k] == NULL:
            continue  # e.g. an ONNX map output: no tensor, no key
        store_output(ctx, run.output_keys[k], run.outputs[k], &err)
    return RedisModule_ReplyWithSimpleString(ctx, "OK")


cdef void count_run(Run *run) noexcept nogil:
    """AI.INFO accounting (docs/BEHAVIOUR.md §11): runs that did not start count nothing. Under the
    stats lock: LLAPI runs are counted on worker threads."""
    cdef RunStats *s = run_stats_of(run)
    if s == NULL or run.timed_out:
        return
    run_stats_lock()
    count_run_locked(run, s)
    run_stats_unlock()


cdef inline void learn_estimate(int64_t *estimate, int64_t duration_us) noexcept nogil:
    estimate[0] = duration_us if estimate[0] == 0 else estimate[0] + (duration_us - estimate[0]) // 8


cdef void count_run_locked(Run *run, RunStats *s) noexcept nogil:
    cdef RaiTensor *first
    if run.started_us > 0:
        if run.queued_at_us > 0:  # not an LLAPI run executed on its caller's thread
            s.wait_us_hist[latency_bucket(run.started_us - run.queued_at_us)] += 1
        s.run_us_hist[latency_bucket(run.duration_us)] += 1
        if run.model != NULL:
            s.batch_hist[batch_bucket(run.batch_size)] += 1
    s.calls += 1
    if run.error != NULL:
        s.errors += 1
        return
    s.duration_us += run.duration_us
    if run.started_us > 0:
        learn_estimate(&s.estimate_any_us, run.duration_us)
        if run.model != NULL:
            learn_estimate(&s.estimate_us[batch_bucket(run.batch_size)], run.duration_us)
    if run.script != NULL:
        return  # scripts count no samples (AI.INFO reports -1)
    first = run.outputs[0] if run.noutputs else NULL
    if first != NULL:
        s.samples += first.dl.shape[0] if first.dl.ndim > 0 else 1


cdef void RAI_Run_Free(RedisModuleCtx *ctx, void *privdata) noexcept nogil:
    """After the reply, or when the client went away: the run counts either way."""
    count_run(<Run *>privdata)
    run_free(<Run *>privdata)
