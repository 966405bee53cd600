"""TFLITE: .tflite flatbuffers run by the LiteRT interpreter (ai-edge-litert), CPU only.

Names are the interpreter's tensor names. An interpreter is not thread-safe and invoke() releases
the GIL, so each model's runs are serialised by a lock kept in its handle. Error texts are
upstream's (libtflite_c): "Failed to load model from buffer", "Input tensor type doesn't match ...".
"""
import threading

from redisai_module import errors
from redisai_module.backends.common import BackendError, parse_device, releasing
from redisai_module.backends.tflite_check import tflite_model_is_sound

_TFLITE_TYPE_MISMATCH = "Input tensor type doesn't match the type expected by the model definition"


class _TFLiteModel:
    """One interpreter and what a run needs to know about it (guarded by lock)."""

    def __init__(self, interpreter, blob, inputs, outputs):
        self.interpreter = interpreter
        self.blob = blob  # the interpreter reads the flatbuffer in place
        self.lock = threading.Lock()
        self.inputs = inputs  # [(tensor index, numpy dtype, current shape)]
        self.outputs = outputs  # [(tensor index, numpy dtype)]
        self.must_allocate = False  # a failed allocate_tensors leaves the interpreter unprepared


# XNNPACK, LiteRT's CPU delegate, handles at most 6 dimensions and overruns its stack (the server
# crashed) when a resized input has 11 or more; anything above 6 is refused before resizing.
_MAX_INPUT_RANK = 6


class TFLiteBackend:
    name = "TFLITE"
    version = "NA"  # INFO: TensorFlowLite_version (docs/CONFIG.md §4)

    def __init__(self, host):
        import numpy
        from ai_edge_litert.interpreter import Interpreter
        self.np = numpy
        self.Interpreter = Interpreter
        # The element types upstream moves in and out (BOOL, INT8-64, UINT8, FLOAT).
        self._supported = {numpy.dtype(t) for t in (numpy.uint8, numpy.int64, numpy.int32,
                                                    numpy.int16, numpy.int8, numpy.float32,
                                                    numpy.bool_)}

    def create(self, blob, device, inputs, outputs):
        try:
            kind, _ = parse_device(device)
        except BackendError:
            kind = None
        if kind != "CPU":
            raise BackendError(errors.TFLITE_UNSUPPORTED_DEVICE)
        blob = bytes(blob)
        if not tflite_model_is_sound(blob):
            raise BackendError("Failed to load model from buffer")
        try:
            interpreter = self.Interpreter(model_content=blob)
        except Exception as e:
            if not blob or "flatbuffer" in str(e).lower():
                raise BackendError("Failed to load model from buffer") from None
            raise BackendError("Failed to construct interpreter") from None  # e.g. unresolved ops
        try:
            interpreter.allocate_tensors()
        except Exception:
            raise BackendError("Failed to allocate tensors") from None
        np = self.np
        in_details = interpreter.get_input_details()
        out_details = interpreter.get_output_details()
        model = _TFLiteModel(
            interpreter, blob,
            [(d["index"], np.dtype(d["dtype"]), tuple(int(n) for n in d["shape"])) for d in in_details],
            [(d["index"], np.dtype(d["dtype"])) for d in out_details])
        return model, [d["name"] for d in in_details], [d["name"] for d in out_details]

    def _check_input_type(self, expected, array):
        if expected == self.np.float16:
            raise BackendError("Float16 not currently supported as input tensor data type")
        if expected not in self._supported:
            raise BackendError("Unsupported input data type")
        if array.dtype != expected:
            raise BackendError(_TFLITE_TYPE_MISMATCH)

    def _output(self, interpreter, index, dtype):
        np = self.np
        if dtype == np.float16:
            raise BackendError("Float16 not currently supported as output tensor data type")
        if dtype not in self._supported:
            raise BackendError("Unsupported output data type")
        array = np.asarray(interpreter.get_tensor(index))  # get_tensor copies; 0-d comes back a scalar
        if not (array.flags.c_contiguous and array.flags.writeable):
            array = np.array(array, order="C", copy=True)
        return array

    def run(self, model, inputs):
        np = self.np
        arrays = [view if isinstance(view, np.ndarray) else np.from_dlpack(view) for view in inputs]
        with model.lock:
            interpreter = model.interpreter
            if len(arrays) != len(model.inputs):
                raise BackendError("Inconsistent number of inputs")
            # Resize inputs whose shape changed since the last run, then re-plan the whole graph.
            allocate = model.must_allocate
            for i, array in enumerate(arrays):
                index, dtype, shape = model.inputs[i]
                if array.shape != shape:
                    if array.ndim > _MAX_INPUT_RANK:
                        raise BackendError("Failed to resize input tensors")
                    try:
                        interpreter.resize_tensor_input(index, list(array.shape))
                    except Exception:
                        model.must_allocate = True
                        raise BackendError("Failed to resize input tensors") from None
                    model.inputs[i] = (index, dtype, array.shape)
                    allocate = True
            if allocate:
                model.must_allocate = True
                try:
                    interpreter.allocate_tensors()
                except Exception:
                    raise BackendError("Failed to allocate tensors") from None
                model.must_allocate = False
            for (index, dtype, _), array in zip(model.inputs, arrays):
                self._check_input_type(dtype, array)
                interpreter.set_tensor(index, array)
            try:
                releasing(interpreter.invoke)  # releases the GIL
            except Exception:
                raise BackendError("Failed to invoke TfLite") from None
            return [self._output(interpreter, index, dtype) for index, dtype in model.outputs]
