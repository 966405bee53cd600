"""Model outputs that are not tensors (ONNX-ML's ZipMap, ONNX sequences) in DAGs and plain runs
(docs/BEHAVIOUR.md §2.4, §6; issue 11 item 1). Such an output is produced but holds no tensor: PERSIST
and AI.MODELEXECUTE skip it (its key is left as it was), and any DAG op that reads it (a model or
script input, AI.TENSORGET) fails with a clear error, failing the DAG as any failed op does. A DAG
never waits for it and the server never crashes (it did: a NULL output was taken a reference on).
"""
import threading

import numpy as np
import pytest
import redis

from helpers import info, tset
from models import onnx_sequence_model, sklearn_logreg_onnx, torch_add_model
from redis_server import running_server, wait_for

E_NOT_A_TENSOR = "model output is not a tensor (e.g. an ONNX sequence or map): no DAG op can read it"
IRIS_ROW = [5.1, 3.5, 1.4, 0.2]
DOUBLE = """
def double(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] * 2
"""


def dag(r, *args):
    return r.execute_command("AI.DAGEXECUTE", *args)


def is_not_a_tensor_error(element):
    return isinstance(element, redis.ResponseError) and str(element) == E_NOT_A_TENSOR


@pytest.fixture
def seq(r):
    """`seq`: ONNX model x -> (SequenceConstruct(x, x), x + x); `m`: TORCH a + b; `s`: a script
    with `double`; tensor x = [1, 2]."""
    assert r.execute_command("AI.MODELSTORE", "seq", "ONNX", "CPU", "BLOB", onnx_sequence_model()) == b"OK"
    assert r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", torch_add_model()) == b"OK"
    assert r.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 1, "double", "SOURCE", DOUBLE) == b"OK"
    assert r.execute_command("AI.TENSORSET", "x", "FLOAT", 2, "VALUES", 1, 2) == b"OK"
    return r


RUN_SEQ = ("|>", "AI.MODELEXECUTE", "seq", "INPUTS", 1, "x", "OUTPUTS", 2, "sq", "y")


def test_the_issue_repro_sklearn_logreg_label_read_zipmap_ignored(r, server):
    r.execute_command("AI.MODELSTORE", "logreg", "ONNX", "CPU", "BLOB", sklearn_logreg_onnx())
    tset(r, "features", [IRIS_ROW])
    for _ in range(3):
        assert dag(r, "LOAD", 1, "features", "|>",
                   "AI.MODELEXECUTE", "logreg", "INPUTS", 1, "features", "OUTPUTS", 2, "label", "probs", "|>",
                   "AI.TENSORGET", "label", "VALUES") == [b"OK", [0]]
    assert server.alive() and r.ping()


def test_an_ignored_sequence_output(seq):
    assert dag(seq, "LOAD", 1, "x", "PERSIST", 1, "y", *RUN_SEQ) == [b"OK"]
    assert seq.execute_command("AI.TENSORGET", "y", "VALUES") == [b"2", b"4"]


def test_a_persisted_sequence_output_is_skipped_as_modelexecute_skips_it(seq):
    seq.set("sq", "untouched")
    assert dag(seq, "LOAD", 1, "x", "PERSIST", 2, "sq", "y", *RUN_SEQ) == [b"OK"]
    assert seq.get("sq") == b"untouched"
    assert seq.execute_command("AI.TENSORGET", "y", "VALUES") == [b"2", b"4"]
    # plain AI.MODELEXECUTE agrees
    seq.delete("y")
    assert seq.execute_command("AI.MODELEXECUTE", "seq", "INPUTS", 1, "x", "OUTPUTS", 2, "sq", "y") == b"OK"
    assert seq.get("sq") == b"untouched"
    assert seq.execute_command("AI.TENSORGET", "y", "VALUES") == [b"2", b"4"]


def test_tensorget_of_a_sequence_output_fails_the_dag(seq):
    reply = dag(seq, "LOAD", 1, "x", "PERSIST", 1, "y", *RUN_SEQ, "|>",
                "AI.TENSORGET", "y", "VALUES", "|>", "AI.TENSORGET", "sq", "VALUES", "|>",
                "AI.MODELEXECUTE", "m", "INPUTS", 2, "y", "y", "OUTPUTS", 1, "z")
    assert reply[:2] == [b"OK", [b"2", b"4"]]
    assert is_not_a_tensor_error(reply[2])
    assert reply[3] == b"NA" and len(reply) == 4  # the DAG failed: later ops skipped, nothing persisted
    assert seq.exists("y") == 0
    assert info(seq, "m")[b"calls"] == 0


@pytest.mark.parametrize("reader", [
    ("AI.MODELEXECUTE", "m", "INPUTS", 2, "x", "sq", "OUTPUTS", 1, "z"),
    ("AI.SCRIPTEXECUTE", "s", "double", "INPUTS", 1, "sq", "OUTPUTS", 1, "z"),
])
def test_an_op_fed_a_sequence_output_fails_the_dag(seq, reader):
    reply = dag(seq, "LOAD", 1, "x", "PERSIST", 2, "y", "z", *RUN_SEQ, "|>", *reader, "|>",
                "AI.TENSORGET", "z", "VALUES")
    assert reply[0] == b"OK" and is_not_a_tensor_error(reply[1]) and reply[2] == b"NA"
    assert seq.exists("y", "z") == 0
    key = reader[1]
    assert (info(seq, key)[b"calls"], info(seq, key)[b"errors"]) == (1, 1)


def test_a_read_only_dag_reading_a_sequence_output(seq):
    reply = seq.execute_command("AI.DAGEXECUTE_RO", "LOAD", 1, "x", *RUN_SEQ, "|>",
                                "AI.TENSORGET", "sq", "META")
    assert reply[0] == b"OK" and is_not_a_tensor_error(reply[1])


def test_readers_on_another_device_fail_and_nothing_waits(r):
    """The producer runs on `CPU:1`; a TENSORGET (on the CPU part) and a script on `CPU` read its
    sequence output: each fails instead of waiting for a tensor that never comes."""
    r.execute_command("AI.MODELSTORE", "seq1", "ONNX", "CPU:1", "BLOB", onnx_sequence_model())
    r.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 1, "double", "SOURCE", DOUBLE)
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 2, "VALUES", 1, 2)
    run = ("|>", "AI.MODELEXECUTE", "seq1", "INPUTS", 1, "x", "OUTPUTS", 2, "sq", "y")
    reply = dag(r, "LOAD", 1, "x", *run, "|>", "AI.TENSORGET", "y", "VALUES", "|>", "AI.TENSORGET", "sq", "VALUES")
    assert reply[:2] == [b"OK", [b"2", b"4"]] and is_not_a_tensor_error(reply[2])
    reply = dag(r, "LOAD", 1, "x", *run, "|>", "AI.SCRIPTEXECUTE", "s", "double", "INPUTS", 1, "sq", "OUTPUTS", 1, "z")
    assert reply[0] == b"OK" and is_not_a_tensor_error(reply[1])


def test_a_batched_dag_step_with_a_zipmap_output(r, server):
    """A DAG step and a plain run of the same model batch together (MINBATCHSIZE 2 holds the
    first until the second arrives): the label splits back to each, the ZipMap is skipped."""
    r.execute_command("AI.MODELSTORE", "logreg", "ONNX", "CPU", "BATCHSIZE", 4, "MINBATCHSIZE", 2,
                      "BLOB", sklearn_logreg_onnx())
    tset(r, "f1", [IRIS_ROW])
    tset(r, "f2", [[6.7, 3.0, 5.2, 2.3]])
    results = {}
    c1 = server.client()
    t = threading.Thread(target=lambda: results.update(dag=dag(
        c1, "LOAD", 1, "f1", "PERSIST", 2, "label", "probs", "|>",
        "AI.MODELEXECUTE", "logreg", "INPUTS", 1, "f1", "OUTPUTS", 2, "label", "probs", "|>",
        "AI.TENSORGET", "label", "VALUES", "|>", "AI.TENSORGET", "probs", "VALUES")))
    t.start()
    wait_for(lambda: r.info("clients")["blocked_clients"] == 1, what="the DAG waiting for a batch")
    assert r.execute_command("AI.MODELEXECUTE", "logreg", "INPUTS", 1, "f2", "OUTPUTS", 2, "plain", "pprobs") == b"OK"
    t.join(30)
    reply = results["dag"]
    assert reply[:2] == [b"OK", [0]] and is_not_a_tensor_error(reply[2])
    assert [r.exists(k) for k in ("label", "probs", "pprobs")] == [0, 0, 0], r.keys()
    assert r.execute_command("AI.TENSORGET", "plain", "VALUES") == [2]
    assert info(r, "logreg")[b"samples"] == 2
    assert server.alive()


def test_the_server_survives_every_combination_3_times():
    """Each reproduction crashed a fresh server; all of them, three times, on one."""
    with running_server() as server:
        r = server.client()
        r.execute_command("AI.MODELSTORE", "seq", "ONNX", "CPU", "BLOB", onnx_sequence_model())
        r.execute_command("AI.TENSORSET", "x", "FLOAT", 2, "VALUES", 1, 2)
        for _ in range(3):
            dag(r, "LOAD", 1, "x", "PERSIST", 1, "sq", *RUN_SEQ)
            dag(r, "LOAD", 1, "x", *RUN_SEQ, "|>", "AI.MODELEXECUTE", "seq", "INPUTS", 1, "sq", "OUTPUTS", 2, "a", "b")
            dag(r, "LOAD", 1, "x", *RUN_SEQ)
            dag(r, "LOAD", 1, "x", *RUN_SEQ, "|>", "AI.TENSORGET", "sq", "BLOB")
        assert server.alive() and r.ping()
        assert info(r, "seq")[b"calls"] == 15
