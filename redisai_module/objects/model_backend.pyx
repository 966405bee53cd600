# Loading a model's blob into its backend (the one step of a model's life that needs Python).
from cpython.ref cimport Py_INCREF
from redisai_module.objects.model cimport RaiModel
from redisai_module.redis_api cimport *


cdef list names_of(char **names, size_t n):
    return [names[i].decode("utf-8", "surrogateescape") for i in range(n)]


cdef char **name_list_from(list names, size_t *count):
    cdef char **out = new_name_list(len(names))
    cdef bytes encoded
    for k, name in enumerate(names):
        encoded = name.encode("utf-8", "surrogateescape")
        out[k] = copy_cstring(encoded, len(encoded))
    count[0] = len(names)
    return out


cdef object model_attach_handle(RaiModel *m):
    """Load m into its backend; None on success, else the client-visible error text."""
    release_parked()
    adapter = backend_adapter(m.backend)
    if adapter is None:
        return "ERR Could not load backend"
    try:
        handle, inputs, outputs = adapter.create(
            m.blob[:m.blob_len], m.device.decode("latin-1"),
            names_of(m.inputs, m.ninputs), names_of(m.outputs, m.noutputs))
    except Exception as e:
        return str(e) or "ERR Generic error"  # whole: the LLAPI's RedisAI_GetError shows it so
    if not backend_of(m.backend).names_at_store:
        free_name_list(m.inputs, m.ninputs)
        free_name_list(m.outputs, m.noutputs)
        m.inputs = name_list_from(inputs, &m.ninputs)
        m.outputs = name_list_from(outputs, &m.noutputs)
    Py_INCREF(handle)
    m.handle = <void *>handle
    return None


cdef bint report_load_error(RedisModuleCtx *ctx, object error, str what):
    """True when there is no error; else reply it to the client, or log it when ctx is NULL
    (RDB loading has no client). Called with the GIL held."""
    if error is None:
        return True
    if ctx == NULL or ctx != error_capture_ctx:
        error = one_line(error)  # a client reply or a log line
    cdef bytes message = error.encode("utf-8", "replace")
    cdef bytes kind = what.encode()
    if ctx != NULL:
        reply_error(ctx, message)
    else:
        RedisModule_Log(NULL, "warning", "could not load a %s from RDB: %s", <const char *>kind, <const char *>message)
    return False


cdef bint model_load_into_backend(RedisModuleCtx *ctx, RaiModel *m) noexcept nogil:
    """Load m into its backend; on failure reply with the error (or log it when ctx is NULL)."""
    with gil:
        try:
            error = model_attach_handle(m)
        except BaseException as e:  # never let an exception escape into Redis
            error = one_line(e)
        return report_load_error(ctx, error, "model")
