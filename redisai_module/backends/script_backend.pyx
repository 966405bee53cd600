# Compiling a script's source with TorchScript (the one step of a script's life that needs Python).
from cpython.ref cimport Py_INCREF
from redisai_module.objects.script cimport RaiScript


cdef object script_attach_handle(RaiScript *s):
    """Compile s; None on success, else the client-visible error text."""
    release_parked()
    adapter = backend_adapter(RAI_BACKEND_TORCH)
    if adapter is None:
        return RAI_ERR_LOAD_BACKEND.decode()
    try:
        handle = adapter.compile_script(s.source[:s.source_len].decode("utf-8", "surrogateescape"),
                                        s.head.device.decode("latin-1"),
                                        names_of(s.entry_points, s.nentry_points))
    except Exception as e:
        return str(e) or RAI_ERR_GENERIC.decode()  # whole: the LLAPI's RedisAI_GetError shows it so
    Py_INCREF(handle)
    s.head.handle = <void *>handle
    s.head.native = native_runner_of(adapter, handle)
    return None

