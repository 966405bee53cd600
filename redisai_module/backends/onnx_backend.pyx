# ONNX: onnxruntime sessions, ONNX-ML models included (non-tensor outputs such as ZipMap are
# skipped, BEHAVIOUR.md §6).
import re

_ORT_PREFIX = re.compile(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ")


class OnnxBackend:
    name = "ONNX"

    def __init__(self):
        import numpy
        import onnxruntime
        self.np = numpy
        self.ort = onnxruntime

    def _providers(self, device):
        kind, index = parse_device(device)
        if kind == "CPU":
            return ["CPUExecutionProvider"]
        if "CUDAExecutionProvider" not in self.ort.get_available_providers():
            raise BackendError("ERR GPU requested but ONNX couldn't find CUDA")
        return [("CUDAExecutionProvider", {"device_id": index})]

    def _errors(self, e):
        """onnxruntime's own message, without the Python binding's status prefix."""
        return BackendError(_ORT_PREFIX.sub("", str(e)))

    def create(self, blob, device, inputs, outputs):
        options = self.ort.SessionOptions()
        options.graph_optimization_level = self.ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        if rai_config.intra_op_parallelism:
            options.intra_op_num_threads = rai_config.intra_op_parallelism
        if rai_config.inter_op_parallelism:
            options.inter_op_num_threads = rai_config.inter_op_parallelism
        providers = self._providers(device)
        try:
            session = self.ort.InferenceSession(blob, options, providers=providers)
        except Exception as e:
            raise self._errors(e) from None
        input_names = [i.name for i in session.get_inputs()]
        return session, input_names, [o.name for o in session.get_outputs()]

    def run(self, session, inputs):
        np = self.np
        feeds = {meta.name: np.from_dlpack(view) for meta, view in zip(session.get_inputs(), inputs)}
        try:
            results = session.run(None, feeds)
        except Exception as e:
            raise self._errors(e) from None
        return [np.ascontiguousarray(r) if isinstance(r, np.ndarray) else None for r in results]
