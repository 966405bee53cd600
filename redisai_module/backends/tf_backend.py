"""TF: frozen TensorFlow GraphDefs run in a tf.compat.v1 Session (graph mode), CPU and CUDA.

Input i feeds node inputs[i] output 0; output j fetches node outputs[j] output 0 (docs/BEHAVIOUR.md §10).
Runs go through a Session callable (C++ Session::MakeCallable): it binds feeds and fetches once
at store time, and a failed run raises with TensorFlow's own status text, as upstream replies
(Session.run would rewrite it into "Graph execution error: ... Detected at node ...").
"""
import os

from redisai_module import errors
from redisai_module.backends.common import BackendError, parse_device, releasing

# Ops that call into the Python of the process running the graph: registered in TensorFlow's
# Python runtime, absent from libtensorflow (RedisAI's). A client's graph must not reach them.
_PYTHON_CALLBACK_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})


def _refuse_python_callback_ops(graph_def):
    functions = graph_def.library.function
    for node in [*graph_def.node, *(n for f in functions for n in f.node_def)]:
        if node.op in _PYTHON_CALLBACK_OPS:
            raise BackendError(f"Op type not registered '{node.op}' in binary")


class TFBackend:
    name = "TF"

    def __init__(self, host):
        import numpy
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TF's info lines out of Redis's output
        import tensorflow  # 2-3 s: only when the first TF model arrives
        from google.protobuf.message import DecodeError
        from tensorflow.core.protobuf.config_pb2 import CallableOptions
        self.rai_config = host.config
        self.np = numpy
        self.tf = tensorflow
        self.version = tensorflow.__version__  # INFO: TensorFlow_version (docs/CONFIG.md §4)
        self._decode_error = DecodeError
        self._callable_options = CallableOptions

    def _import(self, blob):
        """The graph of a frozen GraphDef; TensorFlow's message when it cannot be imported."""
        tf = self.tf
        graph_def = tf.compat.v1.GraphDef()
        try:
            graph_def.ParseFromString(bytes(blob))
        except self._decode_error:
            raise BackendError("Invalid GraphDef") from None
        _refuse_python_callback_ops(graph_def)
        graph = tf.Graph()
        try:
            with graph.as_default():
                tf.import_graph_def(graph_def, name="")
        except tf.errors.OpError as e:
            raise BackendError(e.message) from None
        except Exception as e:  # ValueError wrapping the import status, e.g. "Node 'c': Unknown input node 'x'"
            raise BackendError(str(e)) from None
        return graph

    def _config(self, kind, index):
        config = self.tf.compat.v1.ConfigProto()
        if kind == "CPU":
            config.device_count["GPU"] = 0
            if self.rai_config.intra_op_parallelism > 0:
                config.intra_op_parallelism_threads = self.rai_config.intra_op_parallelism
            if self.rai_config.inter_op_parallelism > 0:
                config.inter_op_parallelism_threads = self.rai_config.inter_op_parallelism
        else:
            config.gpu_options.allow_growth = True
            config.gpu_options.visible_device_list = str(index)
        return config

    def create(self, blob, device, inputs, outputs):
        tf = self.tf
        kind, index = parse_device(device)
        graph = self._import(blob)
        op_types = {op.name: op.type for op in graph.get_operations()}
        for name in inputs:
            if op_types.get(name) != "Placeholder":
                raise BackendError(errors.TF_INPUT_NOT_FOUND % name)
        for name in outputs:
            if name not in op_types:
                raise BackendError(errors.TF_OUTPUT_NOT_FOUND % name)
        if kind == "GPU" and not tf.config.list_physical_devices("GPU"):
            raise BackendError(errors.TF_NO_CUDA)
        try:
            session = tf.compat.v1.Session(graph=graph, config=self._config(kind, index))
            # A model restored from encoding 0 has no input/output names (docs/PERSISTENCE.md §4): it
            # loads, but can never run (AI.MODELEXECUTE's counts cannot match zero), so no callable.
            run = None
            if outputs:
                options = self._callable_options(feed=[f"{n}:0" for n in inputs],
                                                 fetch=[f"{n}:0" for n in outputs])
                run = session._make_callable_from_options(options)
        except tf.errors.OpError as e:
            raise BackendError(e.message) from None
        except Exception as e:  # e.g. an output node without output 0
            raise BackendError(str(e)) from None
        return (session, run), list(inputs), list(outputs)

    def _output(self, value):
        """A C-contiguous, writeable array (numpy exports read-only arrays only to DLPack 1.x consumers)."""
        np = self.np
        array = np.asarray(value)  # 0-d fetches come back as numpy scalars
        if not (array.flags.c_contiguous and array.flags.writeable):
            array = np.array(array, order="C", copy=True)
        return array

    def run(self, handle, inputs):
        np = self.np
        session, run = handle
        feeds = [view if isinstance(view, np.ndarray) else np.from_dlpack(view) for view in inputs]
        try:
            results = releasing(run, *feeds)  # the GIL is released while TensorFlow runs
        except self.tf.errors.OpError as e:
            raise BackendError(e.message) from None
        return [self._output(r) for r in results]
