"""Models and scripts on a CUDA device: run wherever torch sees one, skip cleanly elsewhere."""
import numpy as np

from gpu import needs_gpu
from models import torch_add_model

pytestmark = needs_gpu

SCRIPT = "def add(tensors: List[Tensor], keys: List[str], args: List[str]):\n    return tensors[0] + tensors[1]\n"


def test_torch_model_runs_on_gpu(r):
    assert r.execute_command("AI.MODELSTORE", "m", "TORCH", "GPU", "BLOB", torch_add_model()) == b"OK"
    a = np.arange(4, dtype=np.float32).reshape(2, 2)
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, 2, "BLOB", a.tobytes())
    assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "c") == b"OK"
    out = np.frombuffer(r.execute_command("AI.TENSORGET", "c", "BLOB"), dtype=np.float32)
    assert out.tolist() == (a * 2).reshape(-1).tolist()


def test_gpu_and_cpu_models_use_separate_queues(r):
    r.execute_command("AI.MODELSTORE", "g", "TORCH", "GPU:0", "BLOB", torch_add_model())
    r.execute_command("AI.MODELSTORE", "c", "TORCH", "CPU", "BLOB", torch_add_model())
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 1, "VALUES", 1)
    for model in ("g", "c"):
        assert r.execute_command("AI.MODELEXECUTE", model, "INPUTS", 2, "a", "a", "OUTPUTS", 1, "o") == b"OK"
        assert r.execute_command("AI.TENSORGET", "o", "VALUES") == [b"2"]


def test_script_stores_on_gpu(r):
    assert r.execute_command("AI.SCRIPTSTORE", "s", "GPU", "ENTRY_POINTS", 1, "add", "SOURCE", SCRIPT) == b"OK"
