# A run's life: created by AI.MODELEXECUTE / AI.SCRIPTEXECUTE (and their deprecated forms),
# executed by a worker (the only step that takes the GIL), freed after the reply (or after the
# client went away).
from libc.string cimport memset
from redisai_module.execution.run cimport Run
from redisai_module.objects.model cimport RaiModel
from redisai_module.objects.run_stats cimport RunStats
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *


cdef Run *run_new(size_t ninputs, size_t noutputs) noexcept nogil:
    cdef Run *run = <Run *>RedisModule_Alloc(sizeof(Run))
    memset(run, 0, sizeof(Run))
    run.ninputs = ninputs
    run.inputs = <RaiTensor **>RedisModule_Alloc((ninputs if ninputs else 1) * sizeof(RaiTensor *))
    memset(run.inputs, 0, (ninputs if ninputs else 1) * sizeof(RaiTensor *))
    run.noutputs = noutputs
    run.output_keys = <RedisModuleString **>RedisModule_Alloc((noutputs if noutputs else 1) * sizeof(RedisModuleString *))
    memset(run.output_keys, 0, (noutputs if noutputs else 1) * sizeof(RedisModuleString *))
    run.outputs = <RaiTensor **>RedisModule_Alloc((noutputs if noutputs else 1) * sizeof(RaiTensor *))
    memset(run.outputs, 0, (noutputs if noutputs else 1) * sizeof(RaiTensor *))
    return run


cdef inline RunStats *run_stats_of(Run *run) noexcept nogil:
    """The statistics of the run's model or script; NULL when it is not stored under a key."""
    return run.script.head.stats if run.script != NULL else run.model.head.stats


cdef Run *model_run_new(RaiModel *model, size_t ninputs, size_t noutputs) noexcept nogil:
    cdef Run *run = run_new(ninputs, noutputs)
    run.model = model_incref(model)
    return run


cdef Run *script_run_new(RaiScript *script, const char *function, size_t function_len,
                         size_t ninputs, size_t noutputs) noexcept nogil:
    cdef Run *run = run_new(ninputs, noutputs)
    run.script = script_incref(script)
    run.function = copy_cstring(function, function_len)
    return run


cdef void run_free(Run *run) noexcept nogil:
    cdef size_t k
    for k in range(run.ninputs):
        tensor_decref(run.inputs[k])
    for k in range(run.noutputs):
        tensor_decref(run.outputs[k])
        if run.output_keys[k] != NULL:
            RedisModule_FreeString(NULL, run.output_keys[k])
    RedisModule_Free(run.inputs)
    RedisModule_Free(run.outputs)
    RedisModule_Free(run.output_keys)
    if run.error != NULL:
        RedisModule_Free(run.error)
    if run.function != NULL:
        RedisModule_Free(run.function)
    if run.user != NULL:
        RedisModule_FreeString(NULL, run.user)
    free_name_list(run.keys, run.nkeys)
    free_name_list(run.args, run.nargs)
    model_decref(run.model)
    script_decref(run.script)
    RedisModule_Free(run)


cdef void model_run_fail(Run *run, message) noexcept:
    encoded = one_line(message).encode("utf-8", "replace")
    run.error = copy_cstring(encoded, len(encoded))


cdef void model_run_in_backend(Run *run) noexcept:
    """Hand the inputs to the backend zero-copy, copy its outputs into Redis memory."""
    cdef RaiModel *m = run.model
    cdef size_t k
    release_parked()
    adapter = backend_adapter(m.backend)
    if adapter is None or m.head.handle == NULL:
        model_run_fail(run, backend_not_loaded(m.backend))
        return
    try:
        inputs = [backend_input(run.inputs[k]) for k in range(run.ninputs)]
        results = adapter.run(<object>m.head.handle, inputs)
        if len(results) < run.noutputs:
            raise BackendError(RAI_ERR_OUTPUT_COUNT_MISMATCH.decode())
        for k in range(run.noutputs):
            if results[k] is not None:
                run.outputs[k] = tensor_from_output(results[k])
    except BaseException as e:
        model_run_fail(run, e)


cdef int64_t gil_held_since(int64_t started) noexcept:
    """With the GIL: the time since `started`, less what the adapter spent in framework calls
    that released it (clamped: the two clocks differ)."""
    cdef int64_t held = monotonic_us() - started - take_released_us()
    return held if held > 0 else 0


cdef extern from *:
    """
    /* Workers inside Python adapters at once: at most one per core. Past that, a worker coming
     * back from the framework's compute waits for the GIL behind the others, and more workers
     * served fewer calls (ONNX, 8 workers on 2 cores: 0.82x of one). */
    #include <semaphore.h>
    #include <unistd.h>
    static sem_t rai_python_gate;
    static pthread_once_t rai_python_gate_once = PTHREAD_ONCE_INIT;
    static void rai_python_gate_init(void) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        sem_init(&rai_python_gate, 0, cores > 0 ? (unsigned)cores : 1);
    }
    static inline void rai_python_gate_enter(void) {
        pthread_once(&rai_python_gate_once, rai_python_gate_init);
        while (sem_wait(&rai_python_gate) != 0) {}  /* EINTR: wait again */
    }
    static inline void rai_python_gate_leave(void) { sem_post(&rai_python_gate); }
    """
    void rai_python_gate_enter() nogil
    void rai_python_gate_leave() nogil


cdef int64_t models_execute(Run **members, int n, int64_t total) noexcept nogil:
    """n runs of one model (n == 1: not batched), natively when its backend gave a runner, else
    through its adapter behind the gate; returns the microseconds the GIL was held."""
    cdef int64_t held
    if members[0].model.head.native != NULL:
        held = release_parked_if_any()
        native_model_run(members, n, total)
        return held
    rai_python_gate_enter()
    with gil:
        held = monotonic_us()
        if n == 1:
            model_run_in_backend(members[0])
        else:
            model_batch_in_backend(members, n, total)
        held = gil_held_since(held)
    rai_python_gate_leave()
    return held


cdef void model_run_execute(Run *run) noexcept nogil:
    """On a worker: run one request, natively when its backend gave a runner (no GIL), else
    holding the GIL around the adapter call."""
    cdef int64_t started = monotonic_us()
    cdef int kind = worker_kind(run)
    cdef int64_t held = 0
    run.started_us = started
    if run.script != NULL:
        held = release_parked_if_any()
        if run.script.head.native == NULL:
            run_fail_not_loaded(run, RAI_BACKEND_TORCH)
        else:
            native_script_run(run)
    else:
        run.batch_size = batch_rows(run)
        held = models_execute(&run, 1, 0)
    run.duration_us = monotonic_us() - started
    worker_stats_count(kind, held)


cdef void model_batch_in_backend(Run **members, int n, int64_t total) noexcept:
    """Concatenate each input along dim 0, run once, split each output by the members' rows."""
    cdef RaiModel *m = members[0].model
    cdef int j
    cdef size_t i, k
    cdef int64_t offset, rows
    release_parked()
    adapter = backend_adapter(m.backend)
    try:
        if adapter is None or m.head.handle == NULL:
            raise BackendError(backend_not_loaded(m.backend))
        import numpy as np
        batched = [np.concatenate([as_numpy(backend_input(members[j].inputs[i])) for j in range(n)])
                   for i in range(members[0].ninputs)]
        results = adapter.run(<object>m.head.handle, batched)
        if len(results) < members[0].noutputs:
            raise BackendError(RAI_ERR_OUTPUT_COUNT_MISMATCH.decode())
        for k in range(members[0].noutputs):
            if results[k] is None:
                continue
            out = as_numpy(results[k])
            if out.ndim == 0 and backend_of(m.backend).batch_skips_scalars:
                continue
            if out.ndim == 0 or out.shape[0] != total:
                raise BackendError(backend_of(m.backend).batch_size_error.decode())
            offset = 0
            for j in range(n):
                rows = batch_rows(members[j])
                members[j].outputs[k] = tensor_from_output(np.ascontiguousarray(out[offset:offset + rows]))
                offset += rows
    except BaseException as e:
        for j in range(n):
            model_run_fail(members[j], e)


cdef void model_batch_execute(Run **members, int n, int64_t total) noexcept nogil:
    """Each member is charged the whole batch's duration (docs/BEHAVIOUR.md §4.7)."""
    cdef int64_t started = monotonic_us()
    cdef int j
    cdef int64_t held = models_execute(members, n, total)
    worker_stats_count(worker_kind(members[0]), held)
    cdef int64_t duration = monotonic_us() - started
    for j in range(n):
        members[j].started_us = started
        members[j].duration_us = duration
        members[j].batch_size = total
