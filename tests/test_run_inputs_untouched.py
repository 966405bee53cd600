"""A run never changes a stored value (issue 11 item 9): TorchScript models and scripts that write
into their inputs in place (`add_`) get private copies, so the key, a COPY of it (which shares the
data), a replica, an AOF-only restart and a read-only DAG on a replica all keep the original value,
on every path torch sees stored data: MODELEXECUTE, SCRIPTEXECUTE, DAG steps (LOAD keys and
DAG-local TENSORSETs), batched runs and redisAI.model_execute from a script (LLAPI runs: in
test_llapi.py)."""
import threading

import redis

from helpers import replicas_acked, tset, values
from models import torch_inplace_model
from redis_server import running_server, wait_for

INPLACE_SCRIPT = """
def bump(tensors: List[Tensor], keys: List[str], args: List[str]):
    tensors[0].add_(1)
    return tensors[0]

def via_model(tensors: List[Tensor], keys: List[str], args: List[str]):
    return redisAI.model_execute(keys[0], tensors, 1)[0]
"""


def floats(r, key):
    return [float(v) for v in values(r, key)]


def run_everything(m):
    """Every path through which torch sees stored data, each with a writer of its inputs."""
    model = torch_inplace_model()
    assert m.execute_command("AI.MODELSTORE", "inplace", "TORCH", "CPU", "BLOB", model) == b"OK"
    assert m.execute_command("AI.MODELSTORE", "batched", "TORCH", "CPU", "BATCHSIZE", 4,
                             "MINBATCHSIZE", 2, "BLOB", model) == b"OK"
    assert m.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 2, "bump", "via_model",
                             "SOURCE", INPLACE_SCRIPT) == b"OK"
    tset(m, "x", [1, 2])
    assert m.execute_command("COPY", "x", "xc") == 1

    assert m.execute_command("AI.MODELEXECUTE", "inplace", "INPUTS", 1, "x", "OUTPUTS", 1, "y") == b"OK"
    assert floats(m, "y") == [4, 6]
    assert m.execute_command("AI.SCRIPTEXECUTE", "s", "bump", "INPUTS", 1, "x", "OUTPUTS", 1, "z") == b"OK"
    assert floats(m, "z") == [2, 3]
    assert m.execute_command("AI.SCRIPTEXECUTE", "s", "via_model", "KEYS", 1, "inplace",
                             "INPUTS", 1, "xc", "OUTPUTS", 1, "w") == b"OK"
    assert floats(m, "w") == [4, 6]
    # MINBATCHSIZE 2 holds the first run until the second arrives: one batched run, for sure
    other = threading.Thread(target=lambda: m.execute_command(
        "AI.MODELEXECUTE", "batched", "INPUTS", 1, "xc", "OUTPUTS", 1, "b1"))
    other.start()
    assert m.execute_command("AI.MODELEXECUTE", "batched", "INPUTS", 1, "x", "OUTPUTS", 1, "b2") == b"OK"
    other.join()
    assert floats(m, "b1") == floats(m, "b2") == [4, 6]
    # DAG: a LOAD key read after two writers, and a DAG-local tensor persisted after a writer
    assert m.execute_command(
        "AI.DAGEXECUTE", "LOAD", 1, "x", "PERSIST", 1, "local", "|>",
        "AI.MODELEXECUTE", "inplace", "INPUTS", 1, "x", "OUTPUTS", 1, "d1", "|>",
        "AI.SCRIPTEXECUTE", "s", "bump", "INPUTS", 1, "x", "OUTPUTS", 1, "d2", "|>",
        "AI.TENSORSET", "local", "FLOAT", 2, "VALUES", 5, 6, "|>",
        "AI.MODELEXECUTE", "inplace", "INPUTS", 1, "local", "OUTPUTS", 1, "d3", "|>",
        "AI.TENSORGET", "x", "VALUES", "|>",
        "AI.TENSORGET", "d3", "VALUES") == [b"OK", b"OK", b"OK", b"OK", [b"1", b"2"], [b"12", b"14"]]
    assert floats(m, "local") == [5, 6]


def test_runs_that_write_into_their_inputs_leave_stored_values_unchanged():
    with running_server({"appendonly": "yes", "aof-use-rdb-preamble": "no"}) as master:
        m = master.client()
        wait_for(lambda: m.info("persistence")["aof_rewrite_in_progress"] == 0, 10, what="startup AOF")
        with running_server({"replicaof": f"127.0.0.1 {master.port}"}) as replica:
            rr = replica.client()
            wait_for(lambda: rr.info("replication").get("master_link_status") == "up", 20, what="the sync")
            run_everything(m)
            assert floats(m, "x") == floats(m, "xc") == [1, 2]
            assert replicas_acked(m)
            assert floats(rr, "x") == floats(rr, "xc") == [1, 2] and floats(rr, "local") == [5, 6]

            # read-only DAGs on the replica leave the replica's data unchanged too
            assert rr.execute_command(
                "AI.DAGEXECUTE_RO", "LOAD", 1, "x", "|>",
                "AI.MODELEXECUTE", "inplace", "INPUTS", 1, "x", "OUTPUTS", 1, "y", "|>",
                "AI.MODELEXECUTE", "inplace", "INPUTS", 1, "x", "OUTPUTS", 1, "z", "|>",
                "AI.TENSORGET", "z", "VALUES") == [b"OK", b"OK", [b"4", b"6"]]
            assert floats(rr, "x") == floats(rr, "xc") == [1, 2]

        # an AOF-only restart replays what was acknowledged, which is what the master holds
        master.restart()
        m = master.client()
        assert floats(m, "x") == floats(m, "xc") == [1, 2]
        assert floats(m, "local") == [5, 6]


def test_a_failed_run_that_wrote_into_its_input_leaves_it_unchanged(r):
    """The copy is made before the run, so a run failing after its write changes nothing either."""
    import io
    import torch

    class WriteThenFail(torch.nn.Module):
        def forward(self, a: torch.Tensor) -> torch.Tensor:
            a.add_(1)
            torch._assert(bool(a.sum() < 0), "input must be negative")
            return a

    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(WriteThenFail()), buf)
    assert r.execute_command("AI.MODELSTORE", "f", "TORCH", "CPU", "BLOB", buf.getvalue()) == b"OK"
    tset(r, "x", [1, 2])
    try:
        r.execute_command("AI.MODELEXECUTE", "f", "INPUTS", 1, "x", "OUTPUTS", 1, "y")
    except redis.ResponseError as e:
        assert "input must be negative" in str(e)
    else:
        raise AssertionError("the run should have failed")
    assert floats(r, "x") == [1, 2] and not r.exists("y")


def onnx_relu_model() -> bytes:
    """y = Relu(x): an op onnxruntime may run in place (it never does on a graph input)."""
    from onnx import TensorProto, helper
    from models import _onnx_bytes
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])
    return _onnx_bytes(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu", [x], [y]))


def test_numpy_based_backends_never_write_into_stored_inputs(r):
    """ONNX, TF and TFLite get read-only numpy views; ops that may reuse an input buffer for their
    output (Relu in onnxruntime, Mul in TensorFlow) leave the stored tensor as it was."""
    from tf_models import tf_mul_graph, tflite_add_model
    tset(r, "x", [[-1, 2], [3, -4]])
    stored = r.execute_command("AI.TENSORGET", "x", "BLOB")
    assert r.execute_command("AI.MODELSTORE", "onnx", "ONNX", "CPU", "BLOB", onnx_relu_model()) == b"OK"
    assert r.execute_command("AI.MODELSTORE", "tf", "TF", "CPU", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "mul",
                             "BLOB", tf_mul_graph()) == b"OK"
    assert r.execute_command("AI.MODELSTORE", "tflite", "TFLITE", "CPU", "BLOB", tflite_add_model()) == b"OK"
    assert r.execute_command("AI.MODELEXECUTE", "onnx", "INPUTS", 1, "x", "OUTPUTS", 1, "o") == b"OK"
    assert r.execute_command("AI.MODELEXECUTE", "tf", "INPUTS", 2, "x", "x", "OUTPUTS", 1, "t") == b"OK"
    assert r.execute_command("AI.MODELEXECUTE", "tflite", "INPUTS", 2, "x", "x", "OUTPUTS", 1, "l") == b"OK"
    assert floats(r, "o") == [0, 2, 3, 0]
    assert floats(r, "t") == [1, 4, 9, 16]
    assert floats(r, "l") == [-2, 4, 6, -8]
    assert r.execute_command("AI.TENSORGET", "x", "BLOB") == stored
