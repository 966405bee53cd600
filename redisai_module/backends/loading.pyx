# Loading a backend on request: AI.CONFIG LOADBACKEND and the TF/TFLITE/TORCH/ONNX load-time
# arguments (docs/CONFIG.md §2). Our backends are Python packages, not shared libraries, so the path
# names which backend to load: it must end in RedisAI's library name for it (for example
# redisai_torch/redisai_torch.so), relative to BACKENDSPATH or absolute, like RedisAI's own.
import os


cdef bint load_backend_now(int backend, str path):
    name = backend_name(backend).decode()
    if not path.startswith("/"):
        path = os.path.join(rai_config.backends_path.decode("utf-8", "surrogateescape"), path)
    if os.path.basename(path) != backend_of(backend).library.decode():
        log_warning(f"Could not load {name} backend from {path}: not a RedisAI {name} backend")
        return False
    if is_backend_loaded(backend):
        log_warning(f"Could not load {name} backend: backend already loaded")
        return False
    if backend_adapter(backend) is None:
        log_warning(f"Could not load {name} backend: its Python package is not installed")
        return False
    log_notice(f"{name} backend loaded")
    return True


cdef bint load_backend(RedisModuleCtx *ctx, int backend, RedisModuleString *path_arg) noexcept nogil:
    cdef size_t n
    cdef const char *path = RedisModule_StringPtrLen(path_arg, &n)
    with gil:
        try:
            return load_backend_now(backend, path[:n].decode("utf-8", "surrogateescape"))
        except BaseException as e:
            log_warning(f"Could not load backend: {one_line(e)}")
            return False
