# ONNX: onnxruntime sessions, ONNX-ML models included (non-tensor outputs such as ZipMap are
# skipped, BEHAVIOUR.md §6).
import re
import threading
import time

_ORT_PREFIX = re.compile(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ")
_ARENA_EXHAUSTED = "Available memory of"  # onnxruntime's BFCArena, when its max_mem is reached
_MEMORY_LIMIT_EXCEEDED = "Onnxruntime memory limit exceeded, memory allocation failed."


class OnnxBackend:
    name = "ONNX"

    def __init__(self):
        import numpy
        import onnxruntime
        self.np = numpy
        self.ort = onnxruntime
        self.version = onnxruntime.__version__  # INFO: onnxruntime_version (CONFIG.md §4)
        self._running = {}  # id -> (deadline, RunOptions) of the runs in flight
        self._running_lock = threading.Lock()
        self._watchdog = None
        self._memory_limited = rai_config.backend_memory_limit > 0
        if self._memory_limited:
            # BACKEND_MEMORY_LIMIT (BEHAVIOUR.md §6): CPU sessions allocate from one shared arena
            # capped at the limit; onnxruntime refuses what would exceed it.
            ort = onnxruntime
            info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
            ort.create_and_register_allocator(info, ort.OrtArenaCfg(
                rai_config.backend_memory_limit * 1024 * 1024, -1, -1, -1))

    def _watch(self):
        """MODEL_EXECUTION_TIMEOUT (BEHAVIOUR.md §6): terminate runs that exceed it."""
        while True:
            time.sleep(0.05)
            now = time.monotonic()
            with self._running_lock:
                for deadline, options in self._running.values():
                    if now > deadline:
                        options.terminate = True

    def _start_watch(self, options):
        deadline = time.monotonic() + rai_config.model_execution_timeout / 1000.0
        with self._running_lock:
            self._running[id(options)] = (deadline, options)
            if self._watchdog is None:
                self._watchdog = threading.Thread(target=self._watch, name="onnx-timeout", daemon=True)
                self._watchdog.start()

    def _end_watch(self, options):
        with self._running_lock:
            del self._running[id(options)]

    def _providers(self, device):
        kind, index = parse_device(device)
        if kind == "CPU":
            return ["CPUExecutionProvider"]
        if "CUDAExecutionProvider" not in self.ort.get_available_providers():
            raise BackendError("ERR GPU requested but ONNX couldn't find CUDA")
        return [("CUDAExecutionProvider", {"device_id": index})]

    def _errors(self, e, creating=False):
        """onnxruntime's own message, without the Python binding's status prefix; RedisAI's text
        when the memory limit stopped it."""
        message = _ORT_PREFIX.sub("", str(e))
        if self._memory_limited and _ARENA_EXHAUSTED in message:
            message = ("Exception during initialization: " if creating else "") + _MEMORY_LIMIT_EXCEEDED
        return BackendError(message)

    def _refuse_external_data(self, blob):
        """Models must be self-contained: external initializers would make the server read files
        named by a client (RedisAI refuses them with this message before loading)."""
        import onnx
        try:
            model = onnx.load_model_from_string(blob)
        except Exception:
            return  # not a readable model: onnxruntime's own error follows
        for initializer in model.graph.initializer:
            if initializer.data_location == onnx.TensorProto.EXTERNAL:
                raise BackendError("Initializer tensors with external data is not allowed.")

    def create(self, blob, device, inputs, outputs):
        self._refuse_external_data(blob)
        options = self.ort.SessionOptions()
        options.graph_optimization_level = self.ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        if rai_config.intra_op_parallelism:
            options.intra_op_num_threads = rai_config.intra_op_parallelism
        if rai_config.inter_op_parallelism:
            options.inter_op_num_threads = rai_config.inter_op_parallelism
        providers = self._providers(device)
        if self._memory_limited and device.upper() == "CPU":  # exactly CPU, as RedisAI does
            options.add_session_config_entry("session.use_env_allocators", "1")
        try:
            session = self.ort.InferenceSession(blob, options, providers=providers)
        except Exception as e:
            raise self._errors(e, creating=True) from None
        input_names = [i.name for i in session.get_inputs()]
        return session, input_names, [o.name for o in session.get_outputs()]

    def _feed(self, x):
        """DLPack views as numpy; STRING arrays (bytes) as str, which onnxruntime encodes as UTF-8
        (it would turn bytes objects into their repr)."""
        np = self.np
        if isinstance(x, np.ndarray) and x.dtype == object:
            try:
                return np.vectorize(lambda e: e.decode("utf-8"), otypes=[object])(x)
            except UnicodeDecodeError:
                raise BackendError("ERR ONNX STRING tensors must hold UTF-8 text") from None
        return x if isinstance(x, np.ndarray) else np.from_dlpack(x)

    def run(self, session, inputs):
        np = self.np
        feeds = {meta.name: self._feed(x) for meta, x in zip(session.get_inputs(), inputs)}
        options = self.ort.RunOptions()
        self._start_watch(options)
        try:
            results = session.run(None, feeds, options)
        except Exception as e:
            raise self._errors(e) from None
        finally:
            self._end_watch(options)
        return [np.ascontiguousarray(r) if isinstance(r, np.ndarray) else None for r in results]
