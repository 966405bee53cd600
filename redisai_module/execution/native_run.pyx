# Runs through a backend's native runner (src/native_runner.h): the worker hands the stored
# inputs over as DLPack views and copies the outputs into Redis memory, with no GIL. Batches go
# over as one call; each output is split back by the members' rows here.
from libc.stdint cimport int64_t
from libc.stdio cimport snprintf
from libc.stdlib cimport free
from libc.string cimport memset, strcmp, strlen
from redisai_module.dlpack cimport DLManagedTensor, DLTensor
from redisai_module.execution.run cimport Run
from redisai_module.native_runner cimport *
from redisai_module.objects.model cimport RaiModel, RAI_BACKEND_TORCH
from redisai_module.objects.script cimport RaiScript
from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport RedisModule_Alloc, RedisModule_Free


cdef void run_fail_text(Run *run, const char *text) noexcept nogil:
    """The run's error, on one line as RedisAI sends backend errors (first one wins)."""
    if run.error != NULL:
        return
    if text == NULL or text[0] == 0:
        text = RAI_ERR_GENERIC
    run.error = runnable_error_one_line(copy_cstring(text, strlen(text)))


cdef void run_fail_not_loaded(Run *run, int backend) noexcept nogil:
    cdef char text[128]
    snprintf(text, sizeof(text), "%s%s", RAI_ERR_BACKEND_NOT_LOADED, backend_name(backend))
    run_fail_text(run, text)


cdef void members_fail(Run **members, int n, const char *text) noexcept nogil:
    cdef int j
    for j in range(n):
        run_fail_text(members[j], text)


cdef const void **native_inputs(Run **members, int n) noexcept nogil:
    """The members' inputs as DLTensor *, member-major (RedisModule_Free it)."""
    cdef size_t ninputs = members[0].ninputs
    cdef const void **inputs = <const void **>RedisModule_Alloc((n * ninputs + 1) * sizeof(void *))
    cdef int j
    cdef size_t i
    for j in range(n):
        for i in range(ninputs):
            inputs[j * ninputs + i] = &members[j].inputs[i].dl
    return inputs


cdef const char *native_failure(int rc, char *error, const Backend *row) noexcept nogil:
    """The text of a runner's failure: its own, or the core's for the codes it words."""
    if rc == RAI_NATIVE_STRING_INPUT:
        return row.string_inputs_error
    if rc == RAI_NATIVE_TEXT_NOT_UTF8:
        return RAI_ERR_SCRIPT_KEYS_ARGS_UTF8
    return error


cdef void release_outputs(void **outputs, size_t n) noexcept nogil:
    cdef size_t k
    cdef DLManagedTensor *m
    for k in range(n):
        m = <DLManagedTensor *>outputs[k]
        if m != NULL and m.deleter != NULL:
            m.deleter(m)
    free(outputs)


cdef RaiTensor *take_output(Run *run, void **outputs, size_t k, ErrorValue *err) noexcept nogil:
    """Output k of a one-member call: a DAG step keeps the runner's tensor as it is (no copy;
    outputs[k] is then the tensor's), anything else gets a copy in Redis memory."""
    cdef DLManagedTensor *m = <DLManagedTensor *>outputs[k]
    cdef RaiTensor *t
    if run.outputs_stay_in_dag:
        t = tensor_adopt(m, err)
        if t != NULL:
            outputs[k] = NULL
        return t
    return tensor_copy_of(&m.dl_tensor, 0, -1, err)


cdef bint split_output(Run **members, int n, int64_t total, size_t k, const DLTensor *dl,
                       bint skips_scalars, const char *batch_size_error) noexcept nogil:
    """Output k of a batch, cut into each member's rows; False when it fails them all."""
    cdef ErrorValue err
    cdef int64_t offset = 0, rows
    cdef int j
    if dl.ndim == 0 and skips_scalars:
        return True
    if dl.ndim == 0 or dl.shape[0] != total:
        members_fail(members, n, batch_size_error)
        return False
    for j in range(n):
        rows = batch_rows(members[j])
        members[j].outputs[k] = tensor_copy_of(dl, offset, rows, &err)
        if members[j].outputs[k] == NULL:
            members_fail(members, n, err.text)
            return False
        offset += rows
    return True


cdef void native_model_run(Run **members, int n, int64_t total) noexcept nogil:
    """One call of the model's native runner for n members (n == 1: not batched)."""
    cdef RaiModel *m = members[0].model
    cdef const Backend *row = backend_of(m.backend)
    cdef RaiNativeModelCall call
    cdef ErrorValue err
    cdef size_t k
    cdef const DLTensor *dl
    cdef int rc
    memset(&call, 0, sizeof(call))
    call.nmembers = n
    call.ninputs = members[0].ninputs
    call.inputs = native_inputs(members, n)
    rc = m.head.native.run_model(m.head.native, &call)
    if rc != 0:
        members_fail(members, n, native_failure(rc, call.error, row))
        free(call.error)
    elif call.noutputs < members[0].noutputs:
        members_fail(members, n, RAI_ERR_OUTPUT_COUNT_MISMATCH)
    else:
        for k in range(members[0].noutputs):
            dl = &(<DLManagedTensor *>call.outputs[k]).dl_tensor
            if n > 1:
                if not split_output(members, n, total, k, dl, row.batch_skips_scalars, row.batch_size_error):
                    break
                continue
            members[0].outputs[k] = take_output(members[0], call.outputs, k, &err)
            if members[0].outputs[k] == NULL:
                run_fail_text(members[0], err.text)
                break
    if call.outputs != NULL:
        release_outputs(call.outputs, call.noutputs)
    RedisModule_Free(<void *>call.inputs)


cdef bint is_entry_point(RaiScript *s, const char *function) noexcept nogil:
    cdef size_t k
    for k in range(s.nentry_points):
        if strcmp(s.entry_points[k], function) == 0:
            return True
    return False


cdef void native_script_run(Run *run) noexcept nogil:
    """The script's function through its native runner; its Redis calls act as the run's client
    (script_extensions.pyx finds the run through this thread)."""
    cdef RaiScript *s = run.script
    cdef RaiNativeScriptCall call
    cdef ErrorValue err
    cdef size_t k
    cdef int rc
    memset(&call, 0, sizeof(call))
    call.function = run.function
    call.entry_point = is_entry_point(s, run.function)
    call.ninputs = run.ninputs
    call.inputs = native_inputs(&run, 1)
    call.nkeys = run.nkeys
    call.keys = <const char *const *>run.keys
    call.nargs = run.nargs
    call.args = <const char *const *>run.args
    call.noutputs = run.noutputs
    rai_set_script_run(run)
    rc = s.head.native.run_script(s.head.native, &call)
    rai_set_script_run(NULL)
    if rc != 0:
        run_fail_text(run, native_failure(rc, call.error, backend_of(RAI_BACKEND_TORCH)))
        free(call.error)
    else:
        for k in range(run.noutputs):
            run.outputs[k] = take_output(run, call.outputs, k, &err)
            if run.outputs[k] == NULL:
                run_fail_text(run, err.text)
                break
        release_outputs(call.outputs, run.noutputs)
    RedisModule_Free(<void *>call.inputs)
