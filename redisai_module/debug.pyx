# AI._DEBUG: introspection for the test suite, registered only with the load-time argument
# `DEBUG_COMMAND yes` (like Redis's own enable-debug-command).
#   AI._DEBUG PYTHON_BUSY ON              start a Python thread that spins (holding the GIL) until OFF
#   AI._DEBUG PYTHON_BUSY OFF             stop the spinners; replies how many were still spinning
#   AI._DEBUG PYTHON_MODULES              top-level Python modules imported so far (lazy loading)
#   AI._DEBUG DLPACK <src> <dst> NUMPY|TORCH
#       view <src> in the framework through DLPack, store 2*src into <dst>;
#       replies [zero_copy (1 if the framework saw our memory), read_only (as the framework sees it)]
import sys
import threading

from redisai_module.objects.tensor cimport RaiTensor
from redisai_module.redis_api cimport *


# Interpreted on purpose: a Cython-compiled loop never yields the GIL, interpreted bytecode
# holds it like real Python work does and hands it over every switch interval.
# A spinner runs until told to stop, not for a time: tests then order their steps against it
# instead of racing a clock.
_SPIN_SOURCE = """
def debug_spin(stop):
    x = 0
    while not stop.is_set():
        x += 1
"""
_spin_namespace = {}
exec(_SPIN_SOURCE, _spin_namespace)
_spinners = []  # one threading.Event per spinner started and not yet stopped


cdef int _python_busy(RedisModuleCtx *ctx, RedisModuleString *what):
    if arg_is(what, "ON", 2):
        stop = threading.Event()
        _spinners.append(stop)
        threading.Thread(target=_spin_namespace["debug_spin"], args=(stop,), daemon=True).start()
        return RedisModule_ReplyWithSimpleString(ctx, "OK")
    if arg_is(what, "OFF", 3):
        stopped = len(_spinners)
        for stop in _spinners:
            stop.set()
        _spinners.clear()
        return RedisModule_ReplyWithLongLong(ctx, stopped)
    return _reply_error(ctx, "PYTHON_BUSY takes ON or OFF")


cdef int _reply_error(RedisModuleCtx *ctx, message):
    return RedisModule_ReplyWithError(ctx, (RAI_ERR_DEBUG.decode() % str(message).replace("\n", " ")).encode())


cdef int _dlpack_roundtrip(RedisModuleCtx *ctx, RedisModuleString **argv) except -1:
    cdef ErrorValue err
    cdef RedisModuleKey *key = NULL
    cdef RaiTensor *src = read_tensor_key(ctx, argv[2], &key, &err)
    if src == NULL:
        return reply_error_value(ctx, &err)
    view = TensorView.wrap(src)
    RedisModule_CloseKey(key)
    cdef size_t n
    cdef const char *name = RedisModule_StringPtrLen(argv[4], &n)
    framework = name[:n].decode().lower()
    if framework == "numpy":
        import numpy
        x = numpy.from_dlpack(view)
        zero_copy = x.ctypes.data == <size_t>src.dl.data
        read_only = not x.flags.writeable
    elif framework == "torch":
        import torch
        x = torch.from_dlpack(view)
        zero_copy = x.data_ptr() == <size_t>src.dl.data
        read_only = False  # torch has no read-only tensors
    else:
        return _reply_error(ctx, "unknown framework")
    cdef RaiTensor *doubled = tensor_from_dlpack(x * 2)
    key = open_tensor_key_for_write(ctx, argv[3], &err)
    if key == NULL:
        tensor_decref(doubled)
        return reply_error_value(ctx, &err)
    store_tensor(key, doubled)
    RedisModule_CloseKey(key)
    RedisModule_ReplyWithArray(ctx, 2)
    RedisModule_ReplyWithLongLong(ctx, zero_copy)
    return RedisModule_ReplyWithLongLong(ctx, read_only)


cdef int _debug_command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc):
    try:
        if argc == 3 and arg_is(argv[1], "PYTHON_BUSY", 11):
            return _python_busy(ctx, argv[2])
        if argc == 2 and arg_is(argv[1], "PYTHON_MODULES", 14):
            names = sorted({name.partition(".")[0] for name in list(sys.modules)})
            RedisModule_ReplyWithArray(ctx, len(names))
            for name in names:
                encoded = name.encode()
                RedisModule_ReplyWithStringBuffer(ctx, encoded, len(encoded))
            return REDISMODULE_OK
        if argc == 5 and arg_is(argv[1], "DLPACK", 6):
            return _dlpack_roundtrip(ctx, argv)
        return _reply_error(ctx, "unknown AI._DEBUG subcommand or wrong number of arguments")
    except Exception as e:
        return _reply_error(ctx, f"{type(e).__name__}: {e}")


cdef public int RAI_Debug_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) noexcept nogil:
    with gil:
        return _debug_command(ctx, argv, argc)
