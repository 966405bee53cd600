"""Model payloads for the model tests, generated in-process (no downloads), deterministic, cached.

Every function returns the raw bytes a client would send after BLOB.
"""
import functools
import io
from typing import Tuple

import numpy as np

ONNX_OPSET = 13
ONNX_IR_VERSION = 8  # onnx 1.23 would write a newer IR by default; 8 is what opset 13 needs


# --------------------------------------------------------------------------------------------------
# TorchScript


def _torch_bytes(module):
    import torch
    torch.manual_seed(0)
    scripted = torch.jit.script(module)
    buf = io.BytesIO()
    torch.jit.save(scripted, buf)
    return buf.getvalue()


@functools.lru_cache(maxsize=None)
def torch_add_model() -> bytes:
    """forward(a, b) -> a + b; RedisAI reports inputs [a, b] and outputs [""]."""
    import torch

    class Add(torch.nn.Module):
        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return a + b

    return _torch_bytes(Add())


@functools.lru_cache(maxsize=None)
def torch_two_outputs_model() -> bytes:
    """forward(a, b) -> (a + b, a * b)."""
    import torch

    class AddMul(torch.nn.Module):
        def forward(self, a: torch.Tensor, b: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
            return a + b, a * b

    return _torch_bytes(AddMul())


@functools.lru_cache(maxsize=None)
def torch_filter_model() -> bytes:
    """forward(a) -> the rows of `a` whose sum is above 100: shape [0, n] when none is (a detector
    that found nothing)."""
    import torch

    class Filter(torch.nn.Module):
        def forward(self, a: torch.Tensor) -> torch.Tensor:
            return a[a.sum(1) > 100]

    return _torch_bytes(Filter())


@functools.lru_cache(maxsize=None)
def torch_failing_model() -> bytes:
    """Loads fine; running it fails unless every element of `a` is negative."""
    import torch

    class Failing(torch.nn.Module):
        def forward(self, a: torch.Tensor) -> torch.Tensor:
            torch._assert(bool(a.sum() < 0), "input must be negative")
            return a * 2

    return _torch_bytes(Failing())


@functools.lru_cache(maxsize=None)
def torch_gate_model(value: float) -> bytes:
    """forward(a) is a * 0 + value: a gate a script polls (WAIT_GATE_SCRIPT) until a test swaps in
    an open one (value != 0), holding its worker without timing."""
    import torch

    class Gate(torch.nn.Module):
        def __init__(self, value: float):
            super().__init__()
            self.value = value

        def forward(self, a: torch.Tensor) -> torch.Tensor:
            return a * 0 + self.value

    return _torch_bytes(Gate(value))


# Busy for ARGS[0] loop iterations (about 0.1 us each), then returns its input unchanged.
SLOW_SCRIPT = """
def slow(tensors: List[Tensor], keys: List[str], args: List[str]):
    n = int(args[0])
    x = 0
    for i in range(n):
        x = x + i % 3
    return tensors[0] + (x - x)
"""


# Spins on redisAI.model_execute of the gate model KEYS[0] (a read, which client pauses do not hold
# back) until it answers non-zero, then returns [7].
WAIT_GATE_SCRIPT = """
def wait_gate(tensors: List[Tensor], keys: List[str], args: List[str]):
    x = torch.zeros(1)
    while bool(redisAI.model_execute(keys[0], [x], 1)[0].sum() == 0):
        pass
    return x + 7
"""


@functools.lru_cache(maxsize=None)
def torch_inplace_model() -> bytes:
    """forward(a) adds 1 to `a` in place and returns 2 * a (a run must leave a stored `a` as it was)."""
    import torch

    class Inplace(torch.nn.Module):
        def forward(self, a: torch.Tensor) -> torch.Tensor:
            a.add_(1)
            return a * 2

    return _torch_bytes(Inplace())


@functools.lru_cache(maxsize=None)
def torch_mlp_model(width: int = 1024) -> bytes:
    """3-layer MLP (Linear/ReLU), fixed weights (seed 0); input [batch, width] -> [batch, width]."""
    import torch

    class MLP(torch.nn.Module):
        # Own forward over plain parameters (nn.Sequential's generated code is not byte-stable)
        def __init__(self, w0, b0, w1, b1, w2, b2):
            super().__init__()
            self.w0, self.b0 = torch.nn.Parameter(w0), torch.nn.Parameter(b0)
            self.w1, self.b1 = torch.nn.Parameter(w1), torch.nn.Parameter(b1)
            self.w2, self.b2 = torch.nn.Parameter(w2), torch.nn.Parameter(b2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = torch.relu(torch.nn.functional.linear(x, self.w0, self.b0))
            x = torch.relu(torch.nn.functional.linear(x, self.w1, self.b1))
            return torch.nn.functional.linear(x, self.w2, self.b2)

    g = torch.Generator().manual_seed(0)
    bound = 1.0 / width ** 0.5
    params = []
    for _ in range(3):
        params.append((torch.rand(width, width, generator=g) * 2 - 1) * bound)
        params.append((torch.rand(width, generator=g) * 2 - 1) * bound)
    mlp = MLP(*params)
    mlp.eval()
    return _torch_bytes(mlp)


def torch_mlp_reference(x: np.ndarray, width: int = 1024) -> np.ndarray:
    """What torch_mlp_model(width) computes for x (float32 [batch, width])."""
    import torch
    m = torch.jit.load(io.BytesIO(torch_mlp_model(width)))
    with torch.no_grad():
        return m(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()


# --------------------------------------------------------------------------------------------------
# ONNX (hand-built graphs)


def _onnx_bytes(graph):
    import onnx
    from onnx import helper
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
                              producer_name="redisai-tests")
    model.ir_version = ONNX_IR_VERSION
    onnx.checker.check_model(model)
    return model.SerializeToString()


@functools.lru_cache(maxsize=None)
def onnx_add_model() -> bytes:
    """c = a + b, a and b float ["N", 2]."""
    from onnx import TensorProto, helper
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 2])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, ["N", 2])
    c = helper.make_tensor_value_info("c", TensorProto.FLOAT, ["N", 2])
    graph = helper.make_graph([helper.make_node("Add", ["a", "b"], ["c"])], "add", [a, b], [c])
    return _onnx_bytes(graph)


@functools.lru_cache(maxsize=None)
def onnx_bias_model(n: int = 100) -> bytes:
    """y = x + w, x float ["N", n], w an initializer of n floats (n * 4 bytes of weights)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", n])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", n])
    w = numpy_helper.from_array(np.arange(n, dtype=np.float32), name="w")
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "bias", [x], [y], [w])
    return _onnx_bytes(graph)


@functools.lru_cache(maxsize=None)
def onnx_mul_model() -> bytes:
    """Y = X * X, X float [3, 2] (the upstream mul_1.onnx)."""
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [3, 2])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [3, 2])
    graph = helper.make_graph([helper.make_node("Mul", ["X", "X"], ["Y"])], "mul_1", [x], [y])
    return _onnx_bytes(graph)


# --------------------------------------------------------------------------------------------------
# scikit-learn through skl2onnx (iris is bundled with scikit-learn: no download)


@functools.lru_cache(maxsize=None)
def _iris():
    from sklearn.datasets import load_iris
    data = load_iris()
    return data.data.astype(np.float32), data.target


@functools.lru_cache(maxsize=None)
def _linear():
    from sklearn.linear_model import LinearRegression
    x, y = _iris()
    return LinearRegression().fit(x, y)


@functools.lru_cache(maxsize=None)
def _logreg():
    from sklearn.linear_model import LogisticRegression
    x, y = _iris()
    return LogisticRegression(max_iter=1000, random_state=0).fit(x, y)


def _convert(est):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    onx = convert_sklearn(est, initial_types=[("float_input", FloatTensorType([None, 4]))],
                          target_opset={"": ONNX_OPSET, "ai.onnx.ml": 1})
    # skl2onnx picks a random graph name and orders opset imports by set order: pin both
    onx.graph.name = type(est).__name__
    opsets = sorted(((o.domain, o.version) for o in onx.opset_import))
    del onx.opset_import[:]
    for domain, version in opsets:
        onx.opset_import.add(domain=domain, version=version)
    return onx.SerializeToString()


@functools.lru_cache(maxsize=None)
def sklearn_linear_onnx() -> bytes:
    """LinearRegression on iris: input "float_input" [None, 4], output "variable" [None, 1]."""
    return _convert(_linear())


@functools.lru_cache(maxsize=None)
def sklearn_logreg_onnx() -> bytes:
    """LogisticRegression on iris: outputs "output_label" (INT64 tensor [None]) and
    "output_probability" (a ZipMap: a sequence of maps, not a tensor)."""
    return _convert(_logreg())


def sklearn_linear_predict(x):
    return _linear().predict(np.asarray(x, dtype=np.float32))


def sklearn_logreg_predict(x):
    return _logreg().predict(np.asarray(x, dtype=np.float32))


@functools.lru_cache(maxsize=None)
def onnx_sum_model(n_inputs: int = 5) -> bytes:
    """y = x0 + x1 + ... (Sum of n float inputs x0..x{n-1}, shape ["N"]): a model with many inputs."""
    from onnx import TensorProto, helper
    names = [f"x{i}" for i in range(n_inputs)]
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N"]) for n in names]
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"])
    graph = helper.make_graph([helper.make_node("Sum", names, ["y"])], "sum", inputs, [y])
    return _onnx_bytes(graph)


@functools.lru_cache(maxsize=None)
def onnx_sequence_model() -> bytes:
    """Outputs "seq" = SequenceConstruct(x, x) (a sequence of tensors: not a tensor) and "y" = x + x,
    x float ["N"]."""
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"])
    seq = helper.make_tensor_sequence_value_info("seq", TensorProto.FLOAT, ["N"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"])
    graph = helper.make_graph([helper.make_node("SequenceConstruct", ["x", "x"], ["seq"]),
                               helper.make_node("Add", ["x", "x"], ["y"])], "sequence", [x], [seq, y])
    return _onnx_bytes(graph)


@functools.lru_cache(maxsize=None)
def onnx_empty_and_scalar_model() -> bytes:
    """x float ["N", 2] -> "empty" = x[0:0] (shape [0, 2], zero-size) and "total" = sum of x
    (rank 0): what torch_empty_and_scalar_model computes."""
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])
    empty = helper.make_tensor_value_info("empty", TensorProto.FLOAT, [0, 2])
    total = helper.make_tensor_value_info("total", TensorProto.FLOAT, [])
    zero = helper.make_tensor("zero", TensorProto.INT64, [1], [0])
    nodes = [helper.make_node("Slice", ["x", "zero", "zero", "zero"], ["empty"]),
             helper.make_node("ReduceSum", ["x"], ["total"], keepdims=0)]
    graph = helper.make_graph(nodes, "empty_and_scalar", [x], [empty, total], initializer=[zero])
    return _onnx_bytes(graph)


@functools.lru_cache(maxsize=None)
def torch_empty_and_scalar_model() -> bytes:
    """forward(x) -> (x[0:0], x.sum()): a zero-size and a rank-0 output."""
    import torch

    class EmptyAndScalar(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
            return x[0:0], x.sum()

    return _torch_bytes(EmptyAndScalar())


@functools.lru_cache(maxsize=None)
def onnx_to_string_model() -> bytes:
    """y = x as text (Cast FLOAT -> STRING), x float ["N"]: a STRING output."""
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"])
    y = helper.make_tensor_value_info("y", TensorProto.STRING, ["N"])
    graph = helper.make_graph([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.STRING)], "to_string", [x], [y])
    return _onnx_bytes(graph)


# --------------------------------------------------------------------------------------------------
# TorchScript sources with the behaviour of RedisAI's two test scripts (docs/BEHAVIOUR.md §9.3)

# Entry-point convention: fn(tensors, keys, args)
ENTRY_POINTS_SCRIPT = """
def bar(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] + tensors[1]

def bar_variadic(tensors: List[Tensor], keys: List[str], args: List[str]):
    rest = tensors[1:]
    return tensors[0] + rest[0]
"""

# Legacy convention: tensors bound to parameters; a List[Tensor] parameter takes the rest
LEGACY_SCRIPT = """
def bar(a, b):
    return a + b

def bar_variadic(a, args : List[Tensor]):
    return args[0] + args[1]
"""
