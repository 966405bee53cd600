"""ONNX memory as RedisAI accounted it (docs/BEHAVIOUR.md §6, docs/CONFIG.md §4): sessions on device CPU
allocate from the module's allocator, initializers included, so INFO's ai_onnxruntime_memory and
ai_onnxruntime_memory_access_num follow what onnxruntime holds and does, and BACKEND_MEMORY_LIMIT
refuses a model whose weights do not fit when it is stored.

The run-time side of the limit is test_config.py::test_backend_memory_limit_refuses_onnx_allocations_beyond_it.
"""
import threading

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from helpers import error_of
from models import ONNX_IR_VERSION, ONNX_OPSET, onnx_add_model
from redis_server import running_server, wait_for

MiB = 1024 * 1024
LIMIT_EXCEEDED_AT_STORE = ("Exception during initialization: "
                           "Onnxruntime memory limit exceeded, memory allocation failed.")


def weights_model(mebibytes):
    """y = x + w, with w a float initializer of `mebibytes` MiB (x and y of the same length)."""
    n = int(mebibytes * MiB) // 4
    w = numpy_helper.from_array(np.full(n, 0.5, np.float32), "w")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [n])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [n])
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "weights", [x], [y], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    model.ir_version = ONNX_IR_VERSION
    return model.SerializeToString()


def onnx_memory(r):
    """(ai_onnxruntime_memory, ai_onnxruntime_memory_access_num)."""
    info = r.info("ai_backends_info")
    return info["ai_onnxruntime_memory"], info["ai_onnxruntime_memory_access_num"]


def store(r, key, blob, device="CPU"):
    return r.execute_command("AI.MODELSTORE", key, "ONNX", device, "BLOB", blob)


def test_a_model_whose_weights_exceed_the_limit_is_refused_when_stored():
    with running_server(module_args=("BACKEND_MEMORY_LIMIT", 1)) as s:
        r = s.client()
        assert error_of(r, "AI.MODELSTORE", "big", "ONNX", "CPU", "BLOB", weights_model(45)) == \
            LIMIT_EXCEEDED_AT_STORE
        assert not r.exists("big")
        assert onnx_memory(r)[0] == 0  # nothing of the refused model is held
        # what fits is stored, counted, and runs
        assert store(r, "small", onnx_add_model()) == b"OK"
        r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, 2, "VALUES", 1, 2, 3, 4)
        assert r.execute_command("AI.MODELEXECUTE", "small", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "c") == b"OK"
        assert r.execute_command("AI.TENSORGET", "c", "VALUES") == [b"2", b"4", b"6", b"8"]
    with running_server() as s:  # no limit by default
        assert store(s.client(), "big", weights_model(45)) == b"OK"


def test_info_counts_the_weights_held_and_what_runs_allocate():
    with running_server() as s:
        r = s.client()
        store(r, "small", onnx_add_model())  # loads the backend
        empty, calls = onnx_memory(r)
        assert store(r, "m", weights_model(8)) == b"OK"
        held, calls_after_store = onnx_memory(r)
        assert held - empty == 8 * MiB and calls_after_store > calls
        n = 8 * MiB // 4
        r.execute_command("AI.TENSORSET", "x", "FLOAT", n, "BLOB", np.ones(n, np.float32).tobytes())
        assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 1, "x", "OUTPUTS", 1, "y") == b"OK"
        assert np.frombuffer(r.execute_command("AI.TENSORGET", "y", "BLOB"), np.float32)[-1] == 1.5
        after_run, calls_after_run = onnx_memory(r)
        assert after_run == held  # the run's output was allocated from it and given back
        assert calls_after_run >= calls_after_store + 2
        r.delete("m")
        store(r, "small", onnx_add_model())  # storing a model first drops the sessions let go of
        assert onnx_memory(r)[0] == empty


def test_the_limit_counts_the_weights_of_the_models_held():
    with running_server(module_args=("BACKEND_MEMORY_LIMIT", 12)) as s:
        r = s.client()
        assert store(r, "a", weights_model(8)) == b"OK"
        assert error_of(r, "AI.MODELSTORE", "b", "ONNX", "CPU", "BLOB", weights_model(8)) == \
            LIMIT_EXCEEDED_AT_STORE
        assert store(r, "b", weights_model(8), device="CPU:1") == b"OK"  # only exactly CPU, as upstream
        r.delete("a")
        assert store(r, "b", weights_model(8)) == b"OK"
        # b's weights leave 4 MiB: a run whose 8 MiB output does not fit is refused, the server goes on
        n = 8 * MiB // 4
        r.execute_command("AI.TENSORSET", "x", "FLOAT", n, "BLOB", np.ones(n, np.float32).tobytes())
        assert error_of(r, "AI.MODELEXECUTE", "b", "INPUTS", 1, "x", "OUTPUTS", 1, "y") == \
            "Onnxruntime memory limit exceeded, memory allocation failed."
        assert not r.exists("y")


def test_snapshots_and_reloads_while_onnx_runs_keep_the_count():
    """BGSAVE forks while workers allocate from the allocator; the child never touches it, and a
    reload gives back exactly the weights of the models it recreates."""
    with running_server(module_args=("THREADS_PER_QUEUE", 2)) as s:
        r = s.client()
        store(r, "m", weights_model(2))
        n = 2 * MiB // 4
        r.execute_command("AI.TENSORSET", "x", "FLOAT", n, "BLOB", np.ones(n, np.float32).tobytes())
        held = onnx_memory(r)[0]
        stop, failures = threading.Event(), []

        def run_until_stopped():
            c = s.client()
            while not stop.is_set():
                try:
                    c.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 1, "x", "OUTPUTS", 1, "y")
                except Exception as e:  # noqa: BLE001 - any failure is a test failure
                    failures.append(e)
                    return

        runner = threading.Thread(target=run_until_stopped)
        runner.start()
        try:
            for _ in range(3):
                saves = r.info("persistence")["rdb_saves"]
                assert r.bgsave()
                wait_for(lambda: r.info("persistence")["rdb_saves"] > saves
                         and r.info("persistence")["rdb_bgsave_in_progress"] == 0, 30, what="BGSAVE")
                assert r.info("persistence")["rdb_last_bgsave_status"] == "ok"
        finally:
            stop.set()
            runner.join(30)
        assert not failures, failures
        assert onnx_memory(r)[0] == held
        assert r.execute_command("DEBUG", "RELOAD") == b"OK"
        assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 1, "x", "OUTPUTS", 1, "y") == b"OK"
        assert onnx_memory(r)[0] == held  # the old session was let go of when the run started


def test_weights_are_counted_as_the_model_carries_them():
    """Typed (not raw) data counts at its size; a shape that claims more than the data, or a type
    onnx does not know, is onnxruntime's error to report, not a count."""
    def add_model(initializer):
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, None)
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
        graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [x], [y], [initializer])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
        model.ir_version = ONNX_IR_VERSION
        return model.SerializeToString()

    forged = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2 ** 40, 2 ** 40])
    unknown = TensorProto(name="w", data_type=999, dims=[64], int32_data=list(range(64)))
    unloadable = bytearray(weights_model(0.5)).replace(b"Add", b"Ad_")  # no such operator
    with running_server(module_args=("BACKEND_MEMORY_LIMIT", 1)) as s:
        r = s.client()
        assert "Integer overflow" in error_of(r, "AI.MODELSTORE", "f", "ONNX", "CPU", "BLOB", add_model(forged))
        assert "does not have valid data type" in \
            error_of(r, "AI.MODELSTORE", "u", "ONNX", "CPU", "BLOB", add_model(unknown))
        assert "Ad_" in error_of(r, "AI.MODELSTORE", "n", "ONNX", "CPU", "BLOB", bytes(unloadable))
        assert onnx_memory(r)[0] == 0  # the weights of a model that failed to load are not held
        typed = helper.make_tensor("w", TensorProto.FLOAT, [64], [1.0] * 64)
        assert store(r, "t", add_model(typed)) == b"OK"
        assert onnx_memory(r)[0] == 64 * 4
