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
        inputs = [backend_input(run.inputs[k]) for k in range(run.ninputs)]
        results = adapter.run(<object>m.handle, inputs)
        if len(results) < run.noutputs:
            raise BackendError("ERR Model did not generate the expected number of outputs")
        for k in range(run.noutputs):
            if results[k] is not None:
                run.outputs[k] = tensor_from_output(results[k])
    except BaseException as e:
        model_run_fail(run, e)


cdef void model_run_execute(ModelRun *run) noexcept nogil:
    """On a worker: run one request (the GIL is taken only around the backend call)."""
    cdef int64_t started = monotonic_us()
    with gil:
        model_run_in_backend(run)
    run.duration_us = monotonic_us() - started


cdef void model_batch_in_backend(ModelRun **members, int n, int64_t total) noexcept:
    """Concatenate each input along dim 0, run once, split each output by the members' rows."""
    cdef RaiModel *m = members[0].model
    cdef int j
    cdef size_t i, k
    cdef int64_t offset, rows
    release_parked()
    adapter = backend_adapter(m.backend)
    try:
        if adapter is None or m.handle == NULL:
            raise BackendError("ERR Backend not loaded: " + backend_name(m.backend).decode())
        import numpy as np
        batched = [np.concatenate([as_numpy(backend_input(members[j].inputs[i])) for j in range(n)])
                   for i in range(members[0].ninputs)]
        results = adapter.run(<object>m.handle, batched)
        if len(results) < members[0].noutputs:
            raise BackendError("ERR Model did not generate the expected number of outputs")
        for k in range(members[0].noutputs):
            if results[k] is None:
                continue
            out = as_numpy(results[k])
            if m.backend == RAI_BACKEND_TF:
                if out.ndim == 0:
                    continue  # TF skips 0-d outputs when splitting (BEHAVIOUR.md §4.6)
                if out.shape[0] != total:
                    raise BackendError("ERR Tensorflow batching error: model did not generate the expected batch size")
            elif out.ndim == 0 or out.shape[0] != total:
                raise BackendError("ERR Model did not generate the expected batch size")
            offset = 0
            for j in range(n):
                rows = batch_rows(members[j])
                members[j].outputs[k] = tensor_from_output(np.ascontiguousarray(out[offset:offset + rows]))
                offset += rows
    except BaseException as e:
        for j in range(n):
            model_run_fail(members[j], e)


cdef void model_batch_execute(ModelRun **members, int n, int64_t total) noexcept nogil:
    """Each member is charged the whole batch's duration (BEHAVIOUR.md §4.7)."""
    cdef int64_t started = monotonic_us()
    cdef int j
    with gil:
        model_batch_in_backend(members, n, total)
    cdef int64_t duration = monotonic_us() - started
    for j in range(n):
        members[j].duration_us = duration
