"""Models and scripts on a CUDA device: run wherever torch sees one, skip cleanly elsewhere."""
import numpy as np

from gpu import needs_gpu, needs_onnx_gpu
from models import onnx_add_model, torch_add_model

pytestmark = needs_gpu

SCRIPT = "def add(tensors: List[Tensor], keys: List[str], args: List[str]):\n    return tensors[0] + tensors[1]\n"


def test_torch_model_runs_on_gpu(r):
    assert r.execute_command("AI.MODELSTORE", "m", "TORCH", "GPU", "BLOB", torch_add_model()) == b"OK"
    a = np.arange(4, dtype=np.float32).reshape(2, 2)
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, 2, "BLOB", a.tobytes())
    assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "c") == b"OK"
    out = np.frombuffer(r.execute_command("AI.TENSORGET", "c", "BLOB"), dtype=np.float32)
    assert out.tolist() == (a * 2).reshape(-1).tolist()


@needs_onnx_gpu
def test_onnx_model_runs_on_gpu(r):
    """onnxruntime's GPU package (GPU=1): the session takes the CUDA provider."""
    assert r.execute_command("AI.MODELSTORE", "o", "ONNX", "GPU:0", "BLOB", onnx_add_model()) == b"OK"
    a = np.arange(4, dtype=np.float32).reshape(2, 2)
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, 2, "BLOB", a.tobytes())
    assert r.execute_command("AI.MODELEXECUTE", "o", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "c") == b"OK"
    out = np.frombuffer(r.execute_command("AI.TENSORGET", "c", "BLOB"), dtype=np.float32)
    assert out.tolist() == (a * 2).reshape(-1).tolist()
    assert r.execute_command("AI.MODELGET", "o", "META")[3] == b"GPU:0"


def test_gpu_and_cpu_models_use_separate_queues(r):
    r.execute_command("AI.MODELSTORE", "g", "TORCH", "GPU:0", "BLOB", torch_add_model())
    r.execute_command("AI.MODELSTORE", "c", "TORCH", "CPU", "BLOB", torch_add_model())
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 1, "VALUES", 1)
    for model in ("g", "c"):
        assert r.execute_command("AI.MODELEXECUTE", model, "INPUTS", 2, "a", "a", "OUTPUTS", 1, "o") == b"OK"
        assert r.execute_command("AI.TENSORGET", "o", "VALUES") == [b"2"]


def test_script_stores_on_gpu(r):
    assert r.execute_command("AI.SCRIPTSTORE", "s", "GPU", "ENTRY_POINTS", 1, "add", "SOURCE", SCRIPT) == b"OK"


INPLACE_SCRIPT = "def bump(tensors: List[Tensor], keys: List[str], args: List[str]):\n    tensors[0].add_(1)\n    return tensors[0]\n"


def test_gpu_runs_that_write_into_their_inputs_leave_the_key_unchanged(r):
    """The copy to the device is the run's private input (issue 11, item 9)."""
    from models import torch_inplace_model
    r.execute_command("AI.MODELSTORE", "m", "TORCH", "GPU", "BLOB", torch_inplace_model())
    r.execute_command("AI.SCRIPTSTORE", "s", "GPU", "ENTRY_POINTS", 1, "bump", "SOURCE", INPLACE_SCRIPT)
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, "VALUES", 1, 2)
    assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 1, "a", "OUTPUTS", 1, "o") == b"OK"
    assert r.execute_command("AI.TENSORGET", "o", "VALUES") == [b"4", b"6"]
    assert r.execute_command("AI.SCRIPTEXECUTE", "s", "bump", "INPUTS", 1, "a", "OUTPUTS", 1, "p") == b"OK"
    assert r.execute_command("AI.TENSORGET", "p", "VALUES") == [b"2", b"3"]
    assert r.execute_command("AI.TENSORGET", "a", "VALUES") == [b"1", b"2"]
