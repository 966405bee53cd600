# Loading a model into its backend or compiling a script, with the error as a value: the
# commands reply it, the LLAPI keeps it in its RAI_Error, RDB loading logs it.
from libc.string cimport strlen
from redisai_module.objects.model cimport RaiModel
from redisai_module.objects.runnable cimport RaiRunnable
from redisai_module.objects.script cimport RaiScript
from redisai_module.redis_api cimport RedisModule_Free, RedisModule_Log


cdef char *runnable_load(RaiRunnable *h) noexcept nogil:
    """Give h its handle. NULL on success, else the error text whole, as the backend raised it
    (the LLAPI's RedisAI_GetError shows it so), in Redis memory for the caller to free."""
    with gil:
        return attach_handle_or_error(h)


cdef char *attach_handle_or_error(RaiRunnable *h) noexcept:
    try:
        error = script_attach_handle(<RaiScript *>h) if h.is_script else model_attach_handle(<RaiModel *>h)
    except BaseException as e:  # never let an exception escape into Redis
        error = one_line(e)
    if error is None:
        return NULL
    cdef bytes message = error.encode("utf-8", "replace")
    return copy_cstring(message, len(message))


cdef char *runnable_error_one_line(char *error) noexcept nogil:
    """RedisAI sends and logs backend errors on one line: CR and LF become spaces. In place."""
    cdef size_t i
    for i in range(strlen(error)):
        if error[i] == b'\r' or error[i] == b'\n':
            error[i] = b' '
    return error


cdef bint runnable_load_or_log(RaiRunnable *h) noexcept nogil:
    """runnable_load for RDB loading, which has no client: a failure is logged."""
    cdef char *error = runnable_load(h)
    if error == NULL:
        return True
    cdef const char *kind = "script" if h.is_script else "model"
    RedisModule_Log(NULL, "warning", "could not load a %s from RDB: %s", kind, runnable_error_one_line(error))
    RedisModule_Free(error)
    return False
