"""ONNX: onnxruntime sessions, ONNX-ML models included (non-tensor outputs such as ZipMap are
skipped, docs/BEHAVIOUR.md §6)."""
import os
import re
import threading
import time

from redisai_module import errors
from redisai_module.backends.common import BackendError, parse_device, releasing

_ORT_PREFIX = re.compile(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ")
_INITIALIZATION_FAILED = "Exception during initialization: "  # onnxruntime's prefix at creation
# onnxruntime keeps each initializer larger than this many bytes as it loaded it, in memory of its
# own, and hands it to kernels without asking the session's allocator (its
# kSmallTensorExternalDataThreshold); smaller ones are copied into the allocator's memory.
_ALLOCATOR_INITIALIZER_BYTES = 127


def _graph_initializers(graph):
    """The graph's initializers and those of its subgraphs (If, Loop, Scan bodies)."""
    yield from graph.initializer
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("g"):
                yield from _graph_initializers(attribute.g)
            for subgraph in attribute.graphs:
                yield from _graph_initializers(subgraph)


def _initializer_bytes(onnx, initializer):
    """The size of an initializer's data as the model carries it (not as its shape claims: a
    forged shape is onnxruntime's error to report). 0 for strings, which onnxruntime copies into
    the allocator's memory, and for types onnx does not know, which onnxruntime refuses."""
    if initializer.raw_data:
        return len(initializer.raw_data)
    if initializer.data_type == onnx.TensorProto.STRING:
        return 0
    try:
        values = getattr(initializer, onnx.helper.tensor_dtype_to_field(initializer.data_type))
        itemsize = onnx.helper.tensor_dtype_to_np_dtype(initializer.data_type).itemsize
    except KeyError:
        return 0
    return len(values) * itemsize


class OnnxBackend:
    name = "ONNX"

    def __init__(self, host):
        import numpy
        import onnxruntime
        self.rai_config = host.config
        self.allocator = host.onnx_allocator
        self.memory_limit_exceeded = host.messages.ONNX_MEMORY_LIMIT_EXCEEDED
        self.np = numpy
        self.ort = onnxruntime
        self.version = onnxruntime.__version__  # INFO: onnxruntime_version (docs/CONFIG.md §4)
        self._running = {}  # id -> (deadline, RunOptions) of the runs in flight
        self._running_lock = threading.Lock()
        self._watchdog = None
        # BACKEND_MEMORY_LIMIT (docs/BEHAVIOUR.md §6): sessions on device CPU allocate from the module's
        # allocator (src/onnx_allocator.cpp), which onnxruntime's binding registers when it loads
        # this module as a custom-op library.
        self.allocator.set_limit(min(self.rai_config.backend_memory_limit * 1024 * 1024, 2 ** 63 - 1))
        onnxruntime.SessionOptions().register_custom_ops_library(os.fsdecode(self.allocator.library_path()))
        if not self.allocator.registered():
            raise BackendError(errors.ONNX_ALLOCATOR_REFUSED % self.version)

    def _watch(self):
        """MODEL_EXECUTION_TIMEOUT (docs/BEHAVIOUR.md §6): terminate runs that exceed it."""
        while True:
            time.sleep(0.05)
            now = time.monotonic()
            with self._running_lock:
                for deadline, options in self._running.values():
                    if now > deadline:
                        options.terminate = True

    def _start_watch(self, options):
        deadline = time.monotonic() + self.rai_config.model_execution_timeout / 1000.0
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
            raise BackendError(errors.ONNX_NO_CUDA)
        return [("CUDAExecutionProvider", {"device_id": index})]

    def _errors(self, e, creating=False):
        """onnxruntime's own message, without the Python binding's status prefix; RedisAI's text
        when the memory limit stopped it (onnxruntime wraps the allocator's message)."""
        message = _ORT_PREFIX.sub("", str(e))
        if self.memory_limit_exceeded in message:
            message = (_INITIALIZATION_FAILED if creating else "") + self.memory_limit_exceeded
        return BackendError(message)

    def _initializers(self, blob):
        """(bytes, count) of the initializers onnxruntime will keep outside the allocator, and
        the bytes of all of them.
        Models must be self-contained: external initializers would make the server read files
        named by a client (RedisAI refuses them with this message before loading)."""
        import onnx
        try:
            model = onnx.load_model_from_string(blob)
        except Exception:
            return 0, 0, 0  # not a readable model: onnxruntime's own error follows
        total = count = every = 0
        for initializer in _graph_initializers(model.graph):
            if initializer.data_location == onnx.TensorProto.EXTERNAL:
                raise BackendError("Initializer tensors with external data is not allowed.")
            nbytes = _initializer_bytes(onnx, initializer)
            every += nbytes
            if nbytes > _ALLOCATOR_INITIALIZER_BYTES:
                total += nbytes
                count += 1
        return total, count, every

    def create(self, blob, device, inputs, outputs):
        large_bytes, large_count, initializer_bytes = self._initializers(blob)
        options = self.ort.SessionOptions()
        options.graph_optimization_level = self.ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        if self.rai_config.intra_op_parallelism:
            options.intra_op_num_threads = self.rai_config.intra_op_parallelism
        if self.rai_config.inter_op_parallelism:
            options.inter_op_num_threads = self.rai_config.inter_op_parallelism
        providers = self._providers(device)
        charge = None
        if device.upper() == "CPU":  # exactly CPU, as RedisAI does: no arena, the module's allocator
            options.enable_cpu_mem_arena = False
            options.add_session_config_entry("session.use_env_allocators", "1")
            # RedisAI's onnxruntime allocated the initializers from its allocator: they count in
            # INFO and against BACKEND_MEMORY_LIMIT for as long as the session lives.
            charge = self.allocator.charge(large_bytes, large_count)
            if charge is None:
                raise BackendError(_INITIALIZATION_FAILED + self.memory_limit_exceeded)
        try:
            session = self.ort.InferenceSession(blob, options, providers=providers)
        except Exception as e:
            raise self._errors(e, creating=True) from None
        session.rai_initializer_charge = charge  # released with the session
        session.rai_initializer_bytes = initializer_bytes
        input_names = [i.name for i in session.get_inputs()]
        session.rai_input_names = input_names  # read on every run: get_inputs() builds objects
        return session, input_names, [o.name for o in session.get_outputs()]

    def memory_bytes(self, session):
        """Bytes of the model's initializers (its weights)."""
        return session.rai_initializer_bytes

    def _feed(self, x):
        """DLPack views as numpy; STRING arrays (bytes) as str, which onnxruntime encodes as UTF-8
        (it would turn bytes objects into their repr)."""
        np = self.np
        if isinstance(x, np.ndarray) and x.dtype == object:
            try:
                return np.vectorize(lambda e: e.decode("utf-8"), otypes=[object])(x)
            except UnicodeDecodeError:
                raise BackendError(errors.ONNX_STRING_UTF8) from None
        return x if isinstance(x, np.ndarray) else np.from_dlpack(x)

    def run(self, session, inputs):
        np = self.np
        feeds = {name: self._feed(x) for name, x in zip(session.rai_input_names, inputs)}
        options = self.ort.RunOptions()
        self._start_watch(options)
        try:
            results = releasing(session.run, None, feeds, options)
        except Exception as e:
            raise self._errors(e) from None
        finally:
            self._end_watch(options)
        # np.require keeps rank 0 (np.ascontiguousarray would make it [1]); sequences and maps
        # are not tensors: None
        return [np.require(r, requirements="C") if isinstance(r, np.ndarray) else None for r in results]
