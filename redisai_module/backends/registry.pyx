# Backends load lazily: the first model of a backend builds its adapter, which imports its
# framework. A server that never sees a TF model never imports TensorFlow.
import importlib
from redisai_module.backends import common as adapter_common

# What adapters spent in framework calls that release the GIL, for the workers' GIL accounting.
take_released_us = adapter_common.take_released_us
from libc.string cimport strncpy

_adapters = {}

# What INFO reports of each backend once it is loaded, kept in C memory so that INFO needs no GIL.
# Written once, on the main thread, when the backend's adapter is created.
cdef char backend_version[N_BACKENDS][64]
cdef bint backend_version_set[N_BACKENDS]


cdef void record_backend_version(int backend, str version):
    cdef bytes text = version.encode("ascii", "replace")[:63]
    strncpy(backend_version[backend], text, 63)
    backend_version[backend][63] = 0
    backend_version_set[backend] = True


def backend_adapter(int backend):
    """The adapter for a backend code; None when its framework is not installed here."""
    cdef const Backend *row
    adapter = _adapters.get(backend)
    if adapter is None:
        row = backend_of(backend)
        if row == NULL:
            return None
        factory = getattr(importlib.import_module(row.adapter_module.decode()), row.adapter_class.decode())
        try:
            adapter = factory(ADAPTER_HOST)
        except ImportError as e:
            log_warning(f"{backend_name(backend).decode()} backend unavailable: {one_line(e)}")
            return None
        _adapters[backend] = adapter
        record_backend_version(backend, adapter.version)
    return adapter


def backend_not_loaded(int backend):
    """The run-time error of a model or script whose framework, or whose loaded handle, is missing."""
    return RAI_ERR_BACKEND_NOT_LOADED.decode() + backend_name(backend).decode()


def is_backend_loaded(int backend):
    return backend in _adapters


def log_warning(message):
    cdef bytes text = message.encode("utf-8", "replace")
    RedisModule_Log(NULL, "warning", "%s", <const char *>text)


def log_notice(message):
    cdef bytes text = message.encode("utf-8", "replace")
    RedisModule_Log(NULL, "notice", "%s", <const char *>text)
