# Backends load lazily: the first model of a backend imports its framework. A server that never
# sees a TF model never imports TensorFlow.
_adapters = {}


def backend_adapter(int backend):
    """The adapter for a backend code; None when it cannot be loaded here."""
    adapter = _adapters.get(backend)
    if adapter is None:
        factory = {RAI_BACKEND_TF: TFBackend, RAI_BACKEND_TFLITE: TFLiteBackend,
                   RAI_BACKEND_TORCH: TorchBackend, RAI_BACKEND_ONNX: OnnxBackend}.get(backend)
        if factory is None:
            return None
        try:
            adapter = factory()
        except ImportError:
            return None
        _adapters[backend] = adapter
        record_backend_version(backend, getattr(adapter, "version", "NA"))
    return adapter


def loaded_backends():
    return sorted(adapter.name for adapter in _adapters.values())


def is_backend_loaded(int backend):
    return backend in _adapters


def log_warning(message):
    cdef bytes text = message.encode("utf-8", "replace")
    RedisModule_Log(NULL, "warning", "%s", <const char *>text)


def log_notice(message):
    cdef bytes text = message.encode("utf-8", "replace")
    RedisModule_Log(NULL, "notice", "%s", <const char *>text)
