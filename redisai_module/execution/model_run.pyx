# A model run's life: created by AI.MODELEXECUTE, executed by a worker (the only step that takes
# the GIL), freed after the reply (or after the client went away).
from libc.string cimport memset
from redisai_module.execution.model_run cimport ModelRun
from redisai_module.objects.model cimport RaiModel
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *


cdef ModelRun *model_run_new(RaiModel *model, size_t ninputs, size_t noutputs) noexcept nogil:
    cdef ModelRun *run = <ModelRun *>RedisModule_Alloc(sizeof(ModelRun))
    memset(run, 0, sizeof(ModelRun))
    run.model = model_incref(model)
    run.ninputs = ninputs
    run.inputs = <RaiTensor **>RedisModule_Alloc((ninputs if ninputs else 1) * sizeof(RaiTensor *))
    memset(run.inputs, 0, (ninputs if ninputs else 1) * sizeof(RaiTensor *))
    run.noutputs = noutputs
    run.output_keys = <RedisModuleString **>RedisModule_Alloc((noutputs if noutputs else 1) * sizeof(RedisModuleString *))
    memset(run.output_keys, 0, (noutputs if noutputs else 1) * sizeof(RedisModuleString *))
    run.outputs = <RaiTensor **>RedisModule_Alloc((noutputs if noutputs else 1) * sizeof(RaiTensor *))
    memset(run.outputs, 0, (noutputs if noutputs else 1) * sizeof(RaiTensor *))
    return run


cdef void model_run_free(ModelRun *run) noexcept nogil:
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
    model_decref(run.model)
    RedisModule_Free(run)


cdef void model_run_fail(ModelRun *run, message) noexcept:
    encoded = one_line(message).encode("utf-8", "replace")
    run.error = copy_cstring(encoded, len(encoded))


cdef void model_run_in_backend(ModelRun *run) noexcept:
    """Hand the inputs to the backend zero-copy, copy its outputs into Redis memory."""
    cdef RaiModel *m = run.model
    cdef size_t k
    release_parked()
    adapter = backend_adapter(m.backend)
    if adapter is None or m.handle == NULL:
        model_run_fail(run, "ERR Backend not loaded: " + backend_name(m.backend).decode())
        return
    try:
        views = [TensorView.wrap(run.inputs[k]) for k in range(run.ninputs)]
        results = adapter.run(<object>m.handle, views)
        if len(results) < run.noutputs:
            raise BackendError("ERR Model did not generate the expected number of outputs")
        for k in range(run.noutputs):
            if results[k] is not None:
                run.outputs[k] = tensor_from_dlpack(results[k])
    except BaseException as e:
        model_run_fail(run, e)


cdef void model_run_execute(ModelRun *run) noexcept nogil:
    """On a worker: skip a run whose TIMEOUT passed while queued, else run it."""
    cdef int64_t started
    if run.timeout_ms > 0 and monotonic_ms() - run.queued_at_ms > run.timeout_ms:
        run.timed_out = True
        return
    started = monotonic_us()
    with gil:
        model_run_in_backend(run)
    run.duration_us = monotonic_us() - started
