# Models and scripts for other modules (docs/CONFIG.md §6.3, §6.4): creating them, fetching them from
# keys, and running them. RAI_ModelRunCtx* and RAI_ScriptRunCtx* are our Run*: the same
# structure the commands queue, so LLAPI runs batch with client runs and count in AI.INFO.
from libc.string cimport memcpy, memset, strlen
from redisai_module.execution.run cimport Run, FinishCallback
from redisai_module.objects.model cimport RaiModel
from redisai_module.objects.runnable cimport RaiRunnable
from redisai_module.objects.script cimport RaiScript
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *

ctypedef struct LlapiModelOpts:  # RAI_ModelOpts, passed by value
    size_t batchsize
    size_t minbatchsize
    size_t minbatchtimeout
    long long intra_op_parallelism  # accepted; the backends use the load-time settings
    long long inter_op_parallelism

cdef enum:  # what an RAI_OnFinishCtx is; a DAG's is its RAI_DAGRunCtx, whose first field says so
    FINISH_MODEL_RUN = 1
    FINISH_SCRIPT_RUN = 2
    FINISH_DAG = 3

ctypedef struct LlapiRunFinish:  # the RAI_OnFinishCtx of a model or script run
    int kind
    Run *run


cdef char **copy_names(const char **names, size_t n) noexcept nogil:
    cdef char **out = new_name_list(n)
    cdef size_t k
    for k in range(n):
        out[k] = copy_cstring(names[k], strlen(names[k]))
    return out


cdef void set_device_and_tag(RaiRunnable *h, const char *device, RedisModuleString *tag) noexcept nogil:
    cdef size_t n = 0
    cdef const char *s = ""
    if tag != NULL:
        s = RedisModule_StringPtrLen(tag, &n)
    runnable_set_device(h, device, strlen(device))
    runnable_set_tag(h, s, n)


cdef bint llapi_device_ok(const char *device) noexcept nogil:
    cdef RedisModuleString *arg = RedisModule_CreateString(NULL, device, strlen(device))
    cdef bint ok = device_is_valid(arg)
    RedisModule_FreeString(NULL, arg)
    return ok


cdef bint load_or_free(RaiRunnable *h, int code, RaiError *err) noexcept nogil:
    """Load the model (or compile the script) h as the store commands do and make its device's
    queue; else its error, whole, goes into `err` and h is freed."""
    cdef char *error = runnable_load(h)
    if error != NULL:
        llapi_set_error(err, code, error)
        RedisModule_Free(error)
        runnable_decref(h)
        return False
    ensure_run_queue(h.device)
    return True


cdef RaiModel *llapi_model_create(int backend, char *device, RedisModuleString *tag, LlapiModelOpts opts,
                                  size_t ninputs, const char **inputs, size_t noutputs, const char **outputs,
                                  const char *blob, size_t blob_len, RaiError *err) noexcept nogil:
    """Load a model as AI.MODELSTORE would; NULL with `err` set when it cannot be loaded."""
    if backend_of(backend) == NULL:
        llapi_set_error(err, RAI_EUNSUPPORTEDBACKEND, RAI_ERR_UNSUPPORTED_BACKEND)
        return NULL
    if device == NULL or not llapi_device_ok(device):
        llapi_set_error(err, RAI_EMODELCREATE, RAI_ERR_INVALID_DEVICE)
        return NULL
    cdef RaiModel *m = model_new(backend)
    set_device_and_tag(&m.head, device, tag)
    m.batchsize, m.minbatchsize, m.minbatchtimeout = opts.batchsize, opts.minbatchsize, opts.minbatchtimeout
    m.inputs, m.ninputs = copy_names(inputs, ninputs), ninputs
    m.outputs, m.noutputs = copy_names(outputs, noutputs), noutputs
    m.blob = <char *>RedisModule_Alloc(blob_len if blob_len else 1)
    memcpy(m.blob, blob, blob_len)
    m.blob_len = blob_len
    return m if load_or_free(&m.head, RAI_EMODELCREATE, err) else NULL


cdef void llapi_model_free(RaiModel *m, RaiError *err) noexcept nogil:
    model_decref(m)


cdef int value_from_keyspace(RedisModuleCtx *ctx, RedisModuleString *name, bint is_script, int mode,
                             int wrongtype_code, void **value, RaiError *err) noexcept nogil:
    """The model or script in a key, borrowed (the ShallowCopy functions keep it beyond the key's
    life); the commands' errors otherwise (empty key, WRONGTYPE)."""
    cdef ErrorValue e
    cdef RedisModuleKey *key = open_runnable_key(ctx, name, is_script, mode, value, &e)
    if key == NULL:
        llapi_set_error(err, wrongtype_code if e.code == E_WRONGTYPE else RAI_EKEYEMPTY, e.text)
        return REDISMODULE_ERR
    RedisModule_CloseKey(key)
    return REDISMODULE_OK


cdef int llapi_get_model_from_keyspace(RedisModuleCtx *ctx, RedisModuleString *name, RaiModel **model,
                                       int mode, RaiError *err) noexcept nogil:
    return value_from_keyspace(ctx, name, False, mode, RAI_EMODELRUN, <void **>model, err)


cdef int llapi_get_script_from_keyspace(RedisModuleCtx *ctx, RedisModuleString *name, RaiScript **script,
                                        int mode, RaiError *err) noexcept nogil:
    return value_from_keyspace(ctx, name, True, mode, RAI_ESCRIPTRUN, <void **>script, err)


cdef Run *llapi_model_run_ctx_create(RaiModel *m) noexcept nogil:
    return model_run_new(m, 0, 0)


cdef void *grow(void *array, size_t count, size_t item) noexcept nogil:
    """Room for one more item after `count` of them, the new one zeroed."""
    cdef char *out = <char *>RedisModule_Realloc(array, (count + 1) * item)
    memset(out + count * item, 0, item)
    return out


cdef int run_add_input(Run *run, RaiTensor *t) noexcept nogil:
    """Names are ignored, as RedisAI ignores them: inputs are positional."""
    run.inputs = <RaiTensor **>grow(run.inputs, run.ninputs, sizeof(RaiTensor *))
    run.inputs[run.ninputs] = tensor_incref(t)
    run.ninputs += 1
    return 1


cdef int llapi_model_run_add_input(Run *run, const char *name, RaiTensor *t) noexcept nogil:
    return run_add_input(run, t)


cdef int run_add_output(Run *run) noexcept nogil:
    run.outputs = <RaiTensor **>grow(run.outputs, run.noutputs, sizeof(RaiTensor *))
    run.output_keys = <RedisModuleString **>grow(run.output_keys, run.noutputs, sizeof(RedisModuleString *))
    run.noutputs += 1
    return 1


cdef int llapi_model_run_add_output(Run *run, const char *name) noexcept nogil:
    return run_add_output(run)


cdef size_t llapi_run_num_outputs(Run *run) noexcept nogil:
    return run.noutputs


cdef RaiTensor *llapi_run_output(Run *run, size_t index) noexcept nogil:
    """Borrowed: the run context owns it (RedisAI_TensorGetShallowCopy to keep it)."""
    return run.outputs[index] if index < run.noutputs else NULL


cdef void llapi_run_free(Run *run) noexcept nogil:
    run_free(run)


cdef void run_reset(Run *run) noexcept nogil:
    """Forget a previous run's outputs and error: a context may run again."""
    cdef size_t k
    for k in range(run.noutputs):
        tensor_decref(run.outputs[k])
        run.outputs[k] = NULL
    RedisModule_Free(run.error)
    run.error = NULL


cdef int llapi_model_run(Run **runs, long long n, RaiError *err) noexcept nogil:
    """Synchronously, on the caller's thread; n contexts of one model run as one batch.
    Not counted in AI.INFO, as in RedisAI."""
    cdef long long k
    cdef int64_t total = 0
    if n <= 0:
        llapi_set_error(err, RAI_EMODELRUN, RAI_ERR_LLAPI_NOTHING_TO_RUN)
        return REDISMODULE_ERR
    if not backend_of(runs[0].model.backend).llapi_runs_anywhere and not rai_on_worker_thread():
        # ONNX's execution timeout watches RedisAI's workers only (docs/BEHAVIOUR.md §6)
        llapi_set_error(err, RAI_EMODELRUN, RAI_ERR_LLAPI_ONNX_SYNC)
        return REDISMODULE_ERR
    for k in range(n):
        run_reset(runs[k])
        total += batch_rows(runs[k])
    if n == 1:
        model_run_execute(runs[0])
    else:
        model_batch_execute(runs, <int>n, total)
    for k in range(n):
        if runs[k].error != NULL:
            llapi_set_error(err, RAI_EMODELRUN, runs[k].error)
            return REDISMODULE_ERR
    return REDISMODULE_OK


cdef int queue_llapi_run(Run *run, const char *device, FinishCallback callback, void *private_data) noexcept nogil:
    cdef RunQueue *queue = ensure_run_queue(device)
    if queue == NULL:
        return REDISMODULE_ERR
    run_reset(run)
    run.on_finish = callback
    run.on_finish_data = private_data
    run.done = llapi_run_finished
    run.timed_out = False
    run_queue_push(queue, run)
    return REDISMODULE_OK


cdef int llapi_model_run_async(Run *run, FinishCallback callback, void *private_data) noexcept nogil:
    return queue_llapi_run(run, run.model.head.device, callback, private_data)


cdef void llapi_run_finished(Run *run) noexcept nogil:
    """On the worker, for a run queued through the LLAPI: count it, then call the caller back."""
    count_run(run)
    cdef LlapiRunFinish *finish = <LlapiRunFinish *>RedisModule_Alloc(sizeof(LlapiRunFinish))
    finish.kind = FINISH_SCRIPT_RUN if run.script != NULL else FINISH_MODEL_RUN
    finish.run = run
    run.on_finish(finish, run.on_finish_data)


cdef Run *take_run_back(void *finish_ctx, int kind, int code, const char *wrong_kind, RaiError *err) noexcept nogil:
    """The run context of a finished run; the finish context is freed."""
    cdef LlapiRunFinish *finish = <LlapiRunFinish *>finish_ctx
    if finish == NULL or finish.kind != kind:
        llapi_set_error(err, RAI_EFINISHCTX, wrong_kind)
        return NULL
    cdef Run *run = finish.run
    RedisModule_Free(finish)
    if run.error != NULL:
        llapi_set_error(err, code, run.error)
    return run


cdef Run *llapi_get_as_model_run(void *finish_ctx, RaiError *err) noexcept nogil:
    return take_run_back(finish_ctx, FINISH_MODEL_RUN, RAI_EMODELRUN, RAI_ERR_LLAPI_NOT_MODEL_RUN, err)


cdef int llapi_model_serialize(RaiModel *m, char **buffer, size_t *len, RaiError *err) noexcept nogil:
    """A copy of the model's bytes, from the Redis allocator (free it with RedisModule_Free)."""
    buffer[0] = <char *>RedisModule_Alloc(m.blob_len if m.blob_len else 1)
    memcpy(buffer[0], m.blob, m.blob_len)
    len[0] = m.blob_len
    return REDISMODULE_OK


cdef RaiModel *llapi_model_shallow_copy(RaiModel *m) noexcept nogil:
    return model_incref(m)


cdef RedisModuleType *llapi_model_type() noexcept nogil:
    return RAI_ModelType


# Scripts

cdef RaiScript *llapi_script_create(char *device, RedisModuleString *tag, const char *source,
                                    RaiError *err) noexcept nogil:
    """A script without entry points (AI.SCRIPTSET's kind); NULL with `err` set if it does not compile."""
    if device == NULL or not llapi_device_ok(device):
        llapi_set_error(err, RAI_ESCRIPTCREATE, RAI_ERR_INVALID_DEVICE)
        return NULL
    cdef RaiScript *s = script_new()
    set_device_and_tag(&s.head, device, tag)
    s.source_len = strlen(source)
    s.source = copy_cstring(source, s.source_len)
    return s if load_or_free(&s.head, RAI_ESCRIPTCREATE, err) else NULL


cdef void llapi_script_free(RaiScript *s, RaiError *err) noexcept nogil:
    script_decref(s)


cdef Run *llapi_script_run_ctx_create(RaiScript *s, const char *function) noexcept nogil:
    return script_run_new(s, function, strlen(function), 0, 0)


cdef int llapi_script_add_input(Run *run, RaiTensor *t, RaiError *err) noexcept nogil:
    return run_add_input(run, t)


cdef int llapi_script_add_tensor_input(Run *run, RaiTensor *t) noexcept nogil:
    return run_add_input(run, t)


cdef int llapi_script_add_input_list(Run *run, RaiTensor **ts, size_t n, RaiError *err) noexcept nogil:
    cdef size_t k
    for k in range(n):
        run_add_input(run, ts[k])
    return 1


cdef int llapi_script_add_tensor_input_list(Run *run, RaiTensor **ts, size_t n) noexcept nogil:
    return llapi_script_add_input_list(run, ts, n, NULL)


cdef int llapi_script_add_output(Run *run) noexcept nogil:
    return run_add_output(run)


cdef int llapi_script_run(Run *run, RaiError *err) noexcept nogil:
    """Synchronously, on the caller's thread; not counted in AI.INFO."""
    run_reset(run)
    model_run_execute(run)
    if run.error != NULL:
        llapi_set_error(err, RAI_ESCRIPTRUN, run.error)
        return REDISMODULE_ERR
    return REDISMODULE_OK


cdef RaiScript *llapi_script_shallow_copy(RaiScript *s) noexcept nogil:
    return script_incref(s)


cdef RedisModuleType *llapi_script_type() noexcept nogil:
    return RAI_ScriptType


cdef int llapi_script_run_async(Run *run, FinishCallback callback, void *private_data) noexcept nogil:
    return queue_llapi_run(run, run.script.head.device, callback, private_data)


cdef Run *llapi_get_as_script_run(void *finish_ctx, RaiError *err) noexcept nogil:
    return take_run_back(finish_ctx, FINISH_SCRIPT_RUN, RAI_ESCRIPTRUN, RAI_ERR_LLAPI_NOT_SCRIPT_RUN, err)
