"""AI.MODELEXECUTE (docs/COMMANDS.md §5.5, §10, §11; docs/BEHAVIOUR.md §2, §5, §6, §7).

Every parse error in the spec's order with its exact text (some have no "ERR" prefix: those are checked
on the wire too), E.MULTI in MULTI and Lua, successful runs of TORCH and ONNX models (scikit-learn
converted ones included, with the ZipMap output skipped), run-time failures, replication of the outputs
as AI.TENSORSET, inputs and model captured at parse time, a responsive server while a run is in flight,
and concurrent clients.
"""
import threading
import time

import numpy as np
import pytest
import redis

from gate import hold_worker, open_gate, queue_behind, store_gate
from helpers import (NP, blocked_clients, blocked_names, error_of, parse_resp_commands, replicas_acked, shared_bytes,
                     tset)
from models import (onnx_add_model, onnx_empty_and_scalar_model, onnx_mul_model, onnx_sum_model,
                    sklearn_linear_onnx, sklearn_linear_predict, sklearn_logreg_onnx, sklearn_logreg_predict,
                    torch_add_model, torch_empty_and_scalar_model, torch_failing_model, torch_mlp_model,
                    torch_mlp_reference, torch_two_outputs_model)
from redis_server import running_server, wait_for
from resp import Raw, raw

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
E_MULTI = "Cannot run RedisAI command within a transaction or a LUA script"
E_ARITY = "wrong number of arguments for 'AI.MODELEXECUTE' command"
E_NIN = "Number of keys given as INPUTS here does not match model definition"
E_NOUT = "Number of keys given as OUTPUTS here does not match model definition"
AB = [[2, 3], [2, 3]]


# --------------------------------------------------------------------------------------------------
# Helpers


def tget(r, key):
    _, dtype, _, shape, _, blob = r.execute_command("AI.TENSORGET", key)
    return np.frombuffer(blob, NP[dtype.decode()]).reshape(shape), dtype.decode()


def store(r, key, backend, blob, *opts):
    assert r.execute_command("AI.MODELSTORE", key, backend, "CPU", *opts, "BLOB", blob) == b"OK"


def wait_blocked(r, *names, timeout=10):
    wait_for(lambda: set(names) <= blocked_names(r), timeout, what=f"{names} to be blocked")


@pytest.fixture
def add(r):
    """A stored TORCH add model `m`, tensors a = b = [[2,3],[2,3]]."""
    store(r, "m", "TORCH", torch_add_model())
    tset(r, "a", AB)
    tset(r, "b", AB)
    return r


# --------------------------------------------------------------------------------------------------
# E.MULTI (check 0)


@pytest.mark.parametrize("args", [
    ["AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c"],
    ["AI.MODELEXECUTE"],                                     # before any argument parsing
    ["AI.MODELEXECUTE", "nokey", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c"],
    ["AI.MODELEXECUTE", "m", "FOO"],
])
def test_0_refused_inside_multi(add, args):
    r = add
    with r.pipeline(transaction=True) as p:
        p.execute_command("AI.TENSORSET", "x", "FLOAT", 1, "VALUES", 1)
        p.execute_command(*args)
        p.execute_command("AI.TENSORGET", "x", "VALUES")
        results = p.execute(raise_on_error=False)
    assert results[0] == b"OK" and results[2] == [b"1"]
    assert isinstance(results[1], redis.ResponseError) and str(results[1]) == E_MULTI
    assert not r.exists("c")


def test_0_refused_inside_multi_on_the_wire(add, server):
    c = Raw(server.port)
    try:
        assert c.call("MULTI") == "OK"
        assert c.call("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == "QUEUED"
        assert c.call("EXEC") == [("error", "ERR " + E_MULTI)]
    finally:
        c.close()
    assert not add.exists("c")


@pytest.mark.parametrize("args", [["m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c"], ["m"]])
def test_0_refused_from_lua(add, args):
    r = add
    script = "return redis.pcall('AI.MODELEXECUTE', unpack(ARGV))"
    assert error_of(r, "EVAL", script, 0, *args) == E_MULTI
    script = "return redis.call('AI.MODELEXECUTE', unpack(ARGV))"
    assert E_MULTI in error_of(r, "EVAL", script, 0, *args)
    assert not r.exists("c")


# --------------------------------------------------------------------------------------------------
# Parse errors, in order (checks 1-18)


@pytest.mark.parametrize("args", [
    ["AI.MODELEXECUTE"],
    ["AI.MODELEXECUTE", "m"],
    ["AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS"],
    ["AI.MODELEXECUTE", "nokey", "INPUTS", 1, "a"],          # before the model key lookup
    ["AI.MODELEXECUTE", "a", "INPUTS", 2, "a", "b", "OUTPUTS"],
    ["ai.modelexecute", "m", "INPUTS", 1, "a", "OUTPUTS", 1],  # fixed text and case whatever was sent
    ["Ai.ModelExecute", "m", "x", "y", "z", "w", "v"],
])
def test_1_arity_fixed_text(add, server, args):
    assert error_of(add, *args) == E_ARITY
    assert raw(server.port, *args) == ("error", "ERR " + E_ARITY)


@pytest.mark.parametrize("key", ["nokey", "a", "str", "list"])
def test_2_model_key_missing_or_wrong_type(add, server, key):
    r = add
    r.set("str", "x")
    r.rpush("list", "x")
    # the model key is checked before INPUTS: a bad INPUTS token is not reported
    args = ["AI.MODELEXECUTE", key, "FOO", "x", "a", "b", "OUTPUTS", 1, "c"]
    if key == "nokey":
        assert error_of(r, *args) == "model key is empty"
        assert raw(server.port, *args) == ("error", "ERR model key is empty")
    else:
        assert error_of(r, *args) == WRONGTYPE
    assert not r.exists("c")


# (args after the model key, exact error text on the wire) for the TORCH add model `m`
# (2 inputs, 1 output), the two-output model `m2` and the 5-input ONNX model `s5`.
PARSE_ERRORS = [
    # 3
    ("m", ["FOO", 2, "a", "b", "OUTPUTS", 1, "c"], "ERR INPUTS not specified"),
    ("m", ["TIMEOUT", 10, "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c"], "ERR INPUTS not specified"),
    ("m", ["OUTPUTS", 1, "c", "INPUTS", 2, "a", "b"], "ERR INPUTS not specified"),
    ("m", ["INPUT", 2, "a", "b", "OUTPUTS", 1, "c"], "ERR INPUTS not specified"),
    # 4
    ("m", ["INPUTS", "x", "a", "b", "OUTPUTS", 1, "c"], "ERR Invalid argument for input_count"),
    ("m", ["INPUTS", "2.0", "a", "b", "OUTPUTS", 1, "c"], "ERR Invalid argument for input_count"),
    ("m", ["INPUTS", "+2", "a", "b", "OUTPUTS", 1, "c"], "ERR Invalid argument for input_count"),
    ("m", ["INPUTS", "02", "a", "b", "OUTPUTS", 1, "c"], "ERR Invalid argument for input_count"),
    ("m", ["INPUTS", " 2", "a", "b", "OUTPUTS", 1, "c"], "ERR Invalid argument for input_count"),
    ("m", ["INPUTS", "", "a", "b", "OUTPUTS", 1, "c"], "ERR Invalid argument for input_count"),
    ("m", ["INPUTS", "99999999999999999999", "a", "OUTPUTS", 1, "c"], "ERR Invalid argument for input_count"),
    # 5
    ("m", ["INPUTS", 0, "a", "b", "OUTPUTS", 1, "c"], "ERR Input count must be a positive integer"),
    ("m", ["INPUTS", -1, "a", "b", "OUTPUTS", 1, "c"], "ERR Input count must be a positive integer"),
    # 6 (no ERR prefix)
    ("m", ["INPUTS", 1, "a", "OUTPUTS", 1, "c", "d"], E_NIN),
    ("m", ["INPUTS", 3, "a", "b", "a", "OUTPUTS", 1, "c"],
     "Number of keys given as INPUTS here does not match model definition"),
    ("m", ["INPUTS", 100, "a", "b", "OUTPUTS", 1], E_NIN),
    # 7
    ("s5", ["INPUTS", 5, "a", "b", "c", "d"],
     "ERR number of input keys to AI.MODELEXECUTE command does not match the number of given arguments"),
    # 8
    ("m", ["INPUTS", 2, "a", "b", "FOO", 1, "c"], "ERR OUTPUTS not specified"),
    ("m", ["INPUTS", 2, "a", "b", "c", "OUTPUTS", 1, "d"], "ERR OUTPUTS not specified"),
    ("m", ["INPUTS", 2, "a", "b", "TIMEOUT", 10, "c"], "ERR OUTPUTS not specified"),
    ("s5", ["INPUTS", 5, "a", "b", "c", "d", "e"], "ERR OUTPUTS not specified"),
    # 9
    ("m", ["INPUTS", 2, "a", "b", "OUTPUTS", "x", "c"], "ERR Invalid argument for output_count"),
    ("m", ["INPUTS", 2, "a", "b", "OUTPUTS", "1.0", "c"], "ERR Invalid argument for output_count"),
    ("s5", ["INPUTS", 5, "a", "b", "c", "d", "e", "OUTPUTS"], "ERR Invalid argument for output_count"),
    # 10
    ("m", ["INPUTS", 2, "a", "b", "OUTPUTS", 0, "c"], "ERR Output count must be a positive integer"),
    ("m", ["INPUTS", 2, "a", "b", "OUTPUTS", -3, "c"], "ERR Output count must be a positive integer"),
    # 11 (no ERR prefix)
    ("m", ["INPUTS", 2, "a", "b", "OUTPUTS", 2, "c", "d"],
     "Number of keys given as OUTPUTS here does not match model definition"),
    ("m2", ["INPUTS", 2, "a", "b", "OUTPUTS", 1, "c"],
     "Number of keys given as OUTPUTS here does not match model definition"),
    ("m", ["INPUTS", 2, "a", "b", "OUTPUTS", 7], E_NOUT),
    # 12
    ("m2", ["INPUTS", 2, "a", "b", "OUTPUTS", 2, "c"],
     "ERR number of output keys to AI.MODELEXECUTE command does not match the number of given arguments"),
    # 13 (no ERR prefix, the token as sent)
    ("m", ["INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "d"], "Invalid argument: d"),
    ("m", ["INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "TIMEOUTS", 5], "Invalid argument: TIMEOUTS"),
    ("m", ["INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "Foo Bar"], "Invalid argument: Foo Bar"),
    # 14
    ("m", ["INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "TIMEOUT"], "ERR No value provided for TIMEOUT"),
    ("m", ["INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "timeout"], "ERR No value provided for TIMEOUT"),
    # 15
    ("m", ["INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "TIMEOUT", 0], "ERR Invalid value for TIMEOUT"),
    ("m", ["INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "TIMEOUT", -5], "ERR Invalid value for TIMEOUT"),
    ("m", ["INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "TIMEOUT", "x"], "ERR Invalid value for TIMEOUT"),
    ("m", ["INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "TIMEOUT", "1.5"], "ERR Invalid value for TIMEOUT"),
    ("m", ["INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "TIMEOUT", "10.0"], "ERR Invalid value for TIMEOUT"),
    ("m", ["INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "TIMEOUT", "+10"], "ERR Invalid value for TIMEOUT"),
    ("m", ["INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "TIMEOUT", ""], "ERR Invalid value for TIMEOUT"),
    ("m", ["INPUTS", 2, "missing", "b", "OUTPUTS", 1, "c", "TIMEOUT", 0], "ERR Invalid value for TIMEOUT"),
    # 16
    ("m", ["INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "TIMEOUT", 100, "x"], "Invalid argument: x"),
    ("m", ["INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "TIMEOUT", 100, "TIMEOUT", 100], "Invalid argument: TIMEOUT"),
    ("m", ["INPUTS", 2, "missing", "b", "OUTPUTS", 1, "c", "TIMEOUT", 100, "x"], "Invalid argument: x"),
    # 18
    ("m", ["INPUTS", 2, "missing", "b", "OUTPUTS", 1, "c"], "ERR tensor key is empty or in a different shard"),
    ("m", ["INPUTS", 2, "a", "missing", "OUTPUTS", 1, "c", "TIMEOUT", 1000],
     "ERR tensor key is empty or in a different shard"),
    ("m", ["INPUTS", 2, "a", "str", "OUTPUTS", 1, "c"], WRONGTYPE),
    ("m", ["INPUTS", 2, "m", "b", "OUTPUTS", 1, "c"], WRONGTYPE),
    ("m", ["INPUTS", 2, "str", "missing", "OUTPUTS", 1, "c"], WRONGTYPE),
    ("m", ["INPUTS", 2, "missing", "str", "OUTPUTS", 1, "c"], "ERR tensor key is empty or in a different shard"),
    ("s5", ["INPUTS", 5, "a", "b", "a", "b", "missing", "OUTPUTS", 1, "c"],
     "ERR tensor key is empty or in a different shard"),
]


@pytest.mark.parametrize("model, args, message", PARSE_ERRORS,
                         ids=[f"{i}-{m}-{msg[:24]}" for i, (m, _, msg) in enumerate(PARSE_ERRORS)])
def test_parse_errors_in_order(add, server, model, args, message):
    r = add
    store(r, "m2", "TORCH", torch_two_outputs_model())
    store(r, "s5", "ONNX", onnx_sum_model(5))
    r.set("str", "x")
    full = ["AI.MODELEXECUTE", model, *args]
    assert raw(server.port, *full) == ("error", message)
    expected = message[4:] if message.startswith("ERR ") else message
    assert error_of(r, *full) == expected
    assert not r.exists("c") and not r.exists("d")
    assert blocked_clients(r) == 0


def test_keywords_are_case_insensitive(add):
    r = add
    assert r.execute_command("ai.modelexecute", "m", "inputs", 2, "a", "b", "outputs", 1, "c", "timeout", 5000) == b"OK"
    assert r.execute_command("AI.TENSORGET", "c", "VALUES") == [b"4", b"6", b"4", b"6"]


# --------------------------------------------------------------------------------------------------
# Successful runs


def test_torch_add(add, server):
    r = add
    assert raw(server.port, "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == "OK"
    assert r.execute_command("AI.TENSORGET", "c", "META", "VALUES") == \
        [b"dtype", b"FLOAT", b"shape", [2, 2], b"values", [b"4", b"6", b"4", b"6"]]
    assert r.execute_command("AI.TENSORGET", "c", "BLOB") == np.array([4, 6, 4, 6], np.float32).tobytes()
    # inputs untouched
    assert r.execute_command("AI.TENSORGET", "a", "VALUES") == [b"2", b"3", b"2", b"3"]


def test_upstream_pt_minimal_fixture(r):
    blob = shared_bytes("embedded/pt-minimal.pt")
    store(r, "pt", "TORCH", blob)
    r.execute_command("AI.TENSORSET", "a{1}", "FLOAT", 2, 2, "VALUES", 2, 3, 2, 3)
    r.execute_command("AI.TENSORSET", "b{1}", "FLOAT", 2, 2, "VALUES", 2, 3, 2, 3)
    assert r.execute_command("AI.MODELEXECUTE", "pt", "INPUTS", 2, "a{1}", "b{1}", "OUTPUTS", 1, "c{1}") == b"OK"
    assert r.execute_command("AI.TENSORGET", "c{1}", "VALUES") == [b"4", b"6", b"4", b"6"]


def test_output_replaces_an_existing_tensor_and_can_be_an_input(add):
    r = add
    tset(r, "c", [[1.0]], "DOUBLE")
    r.expire("c", 1000)
    assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == b"OK"
    assert r.execute_command("AI.TENSORGET", "c", "META") == [b"dtype", b"FLOAT", b"shape", [2, 2]]
    # same key as input and output
    assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "a") == b"OK"
    assert r.execute_command("AI.TENSORGET", "a", "VALUES") == [b"4", b"6", b"4", b"6"]
    assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "a") == b"OK"
    assert r.execute_command("AI.TENSORGET", "a", "VALUES") == [b"8", b"12", b"8", b"12"]


@pytest.mark.parametrize("dtype", ["FLOAT", "DOUBLE", "INT64", "INT32"])
def test_torch_add_keeps_the_dtype(r, dtype):
    store(r, "m", "TORCH", torch_add_model())
    x = np.arange(12).reshape(3, 4)
    tset(r, "x", x, dtype)
    tset(r, "y", x * 10, dtype)
    assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "x", "y", "OUTPUTS", 1, "z") == b"OK"
    out, got_dtype = tget(r, "z")
    assert got_dtype == dtype
    assert out.shape == (3, 4)
    np.testing.assert_array_equal(out, x * 11)


def test_torch_two_outputs(add):
    r = add
    store(r, "m2", "TORCH", torch_two_outputs_model())
    assert r.execute_command("AI.MODELEXECUTE", "m2", "INPUTS", 2, "a", "b", "OUTPUTS", 2, "sum", "prod") == b"OK"
    assert r.execute_command("AI.TENSORGET", "sum", "VALUES") == [b"4", b"6", b"4", b"6"]
    assert r.execute_command("AI.TENSORGET", "prod", "VALUES") == [b"4", b"9", b"4", b"9"]
    # binding is positional: the same key twice gets the last one written
    assert r.execute_command("AI.MODELEXECUTE", "m2", "INPUTS", 2, "a", "b", "OUTPUTS", 2, "o", "o") == b"OK"
    assert r.execute_command("AI.TENSORGET", "o", "VALUES") == [b"4", b"9", b"4", b"9"]


def test_onnx_add(r):
    store(r, "o", "ONNX", onnx_add_model())
    a = np.array([[1.5, 2], [3, 4], [5, 6]], np.float32)
    b = np.array([[10, 20], [30, 40], [50, 60.25]], np.float32)
    tset(r, "a", a)
    tset(r, "b", b)
    assert r.execute_command("AI.MODELEXECUTE", "o", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == b"OK"
    out, dtype = tget(r, "c")
    assert dtype == "FLOAT" and out.shape == (3, 2)
    np.testing.assert_array_equal(out, a + b)
    assert r.execute_command("AI.TENSORGET", "c", "VALUES") == [b"11.5", b"22", b"33", b"44", b"55", b"66.25"]


def test_onnx_mul(r):
    store(r, "mul", "ONNX", onnx_mul_model())
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 3, 2, "VALUES", 1, 2, 3, 4, 5, 6)
    assert r.execute_command("AI.MODELEXECUTE", "mul", "INPUTS", 1, "x", "OUTPUTS", 1, "y") == b"OK"
    assert r.execute_command("AI.TENSORGET", "y", "META", "VALUES") == \
        [b"dtype", b"FLOAT", b"shape", [3, 2], b"values", [b"1", b"4", b"9", b"16", b"25", b"36"]]


def test_onnx_sum_of_five_inputs(r):
    store(r, "s5", "ONNX", onnx_sum_model(5))
    for i in range(5):
        r.execute_command("AI.TENSORSET", f"x{i}", "FLOAT", 3, "VALUES", i, 10 * i, 100 * i)
    assert r.execute_command("AI.MODELEXECUTE", "s5", "INPUTS", 5, "x0", "x1", "x2", "x3", "x4",
                             "OUTPUTS", 1, "y") == b"OK"
    assert r.execute_command("AI.TENSORGET", "y", "VALUES") == [b"10", b"100", b"1000"]


def test_onnx_run_time_error_is_flattened_and_writes_nothing(r):
    store(r, "mul", "ONNX", onnx_mul_model())
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 2, 2, "VALUES", 1, 2, 3, 4)   # model wants [3, 2]
    text = error_of(r, "AI.MODELEXECUTE", "mul", "INPUTS", 1, "x", "OUTPUTS", 1, "y")
    assert text and "\n" not in text and "\r" not in text
    assert not r.exists("y")
    # a string tensor into a float input is a run-time error too
    r.execute_command("AI.TENSORSET", "s", "STRING", 3, 2, "VALUES", *"abcdef")
    text = error_of(r, "AI.MODELEXECUTE", "mul", "INPUTS", 1, "s", "OUTPUTS", 1, "y")
    assert text and "\n" not in text
    assert not r.exists("y")


IRIS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]


@pytest.mark.parametrize("rows", [1, 3])
def test_sklearn_linear_regression(r, rows):
    store(r, "lin", "ONNX", sklearn_linear_onnx())
    x = np.array(IRIS[:rows], np.float32)
    tset(r, "features", x)
    assert r.execute_command("AI.MODELEXECUTE", "lin", "INPUTS", 1, "features", "OUTPUTS", 1, "out") == b"OK"
    out, dtype = tget(r, "out")
    assert dtype == "FLOAT" and out.shape == (rows, 1)
    np.testing.assert_allclose(out[:, 0], sklearn_linear_predict(x), rtol=1e-5, atol=1e-5)
    values = r.execute_command("AI.TENSORGET", "out", "VALUES")
    assert [float(v) for v in values] == [float(v) for v in out[:, 0]]   # float32 widened to double


def test_upstream_linear_iris_value(r):
    blob = shared_bytes("embedded/linear_iris.onnx")
    store(r, "linear_iris", "ONNX", blob)
    r.execute_command("AI.TENSORSET", "features", "FLOAT", 1, 4, "VALUES", 5.1, 3.5, 1.4, 0.2)
    assert r.execute_command("AI.MODELEXECUTE", "linear_iris", "INPUTS", 1, "features",
                             "OUTPUTS", 1, "linear_out") == b"OK"
    assert float(r.execute_command("AI.TENSORGET", "linear_out", "VALUES")[0]) == -0.090524077415466309


@pytest.mark.parametrize("rows", [1, 3])
def test_sklearn_logreg_label_written_zipmap_skipped(r, server, rows):
    store(r, "logreg", "ONNX", sklearn_logreg_onnx())
    x = np.array(IRIS[:rows], np.float32)
    tset(r, "features", x)
    assert raw(server.port, "AI.MODELEXECUTE", "logreg", "INPUTS", 1, "features",
               "OUTPUTS", 2, "label", "probs") == "OK"
    label, dtype = tget(r, "label")
    assert dtype == "INT64" and label.shape == (rows,)
    np.testing.assert_array_equal(label, sklearn_logreg_predict(x))
    assert list(label) == [0, 2, 1][:rows]
    assert not r.exists("probs")


def test_sklearn_logreg_zipmap_key_left_alone(r):
    """A skipped (non-tensor) output does not touch what its key holds."""
    store(r, "logreg", "ONNX", sklearn_logreg_onnx())
    tset(r, "features", np.array(IRIS[:1], np.float32))
    r.set("probs", "untouched")
    assert r.execute_command("AI.MODELEXECUTE", "logreg", "INPUTS", 1, "features",
                             "OUTPUTS", 2, "label", "probs") == b"OK"
    assert r.get("probs") == b"untouched"
    assert r.execute_command("AI.TENSORGET", "label", "VALUES") == [0]


def test_failing_model_errors_and_writes_nothing(r, server):
    store(r, "f", "TORCH", torch_failing_model())
    r.execute_command("AI.TENSORSET", "pos", "FLOAT", 2, "VALUES", 1, 2)
    r.execute_command("AI.TENSORSET", "neg", "FLOAT", 2, "VALUES", -1, -2)
    reply = raw(server.port, "AI.MODELEXECUTE", "f", "INPUTS", 1, "pos", "OUTPUTS", 1, "out")
    assert isinstance(reply, tuple) and reply[0] == "error", reply
    assert "input must be negative" in reply[1]
    assert "\n" not in reply[1] and "\r" not in reply[1]
    assert not r.exists("out")
    # an existing output key keeps its value
    r.execute_command("AI.TENSORSET", "out", "FLOAT", 1, "VALUES", 42)
    with pytest.raises(redis.ResponseError, match="input must be negative"):
        r.execute_command("AI.MODELEXECUTE", "f", "INPUTS", 1, "pos", "OUTPUTS", 1, "out")
    assert r.execute_command("AI.TENSORGET", "out", "VALUES") == [b"42"]
    # the model still works for good input, and the connection is in sync
    assert r.execute_command("AI.MODELEXECUTE", "f", "INPUTS", 1, "neg", "OUTPUTS", 1, "out") == b"OK"
    assert r.execute_command("AI.TENSORGET", "out", "VALUES") == [b"-2", b"-4"]
    assert r.ping()


def test_torch_shape_mismatch_is_a_run_time_error(add):
    r = add
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 3, "VALUES", 1, 2, 3)
    text = error_of(r, "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "x", "OUTPUTS", 1, "c")
    assert text and "\n" not in text and "\r" not in text
    assert not r.exists("c")


def test_output_key_of_another_type_gives_one_error_reply(add, server):
    """docs/BEHAVIOUR.md §2.4: WRONGTYPE at write time; only the error is sent (the connection stays in sync)."""
    r = add
    r.set("s", "string")
    c = Raw(server.port, timeout=30)
    try:
        c.send("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "s")
        c.send("PING")
        assert c.read() == ("error", WRONGTYPE)
        assert c.read() == "PONG"
    finally:
        c.close()
    assert r.get("s") == b"string"


@pytest.mark.parametrize("timeout", [1, 100, 100000, 9223372036854775807])
def test_timeout_that_does_not_expire(add, timeout):
    r = add
    assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c",
                             "TIMEOUT", timeout) in (b"OK", b"TIMEDOUT")
    if timeout >= 100:
        assert r.execute_command("AI.TENSORGET", "c", "VALUES") == [b"4", b"6", b"4", b"6"]


def test_timeout_expires_while_queued_behind_a_long_run(r, server):
    store(r, "m", "TORCH", torch_add_model())
    tset(r, "a", AB)
    store_gate(r)
    held = hold_worker(server)
    timed = queue_behind(server, [("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "c", "TIMEOUT", 1)])
    time.sleep(0.01)  # its 1 ms passes while the worker is held
    assert open_gate(server, held, *timed) == [b"OK", b"TIMEDOUT"]
    assert not r.exists("c")


# --------------------------------------------------------------------------------------------------
# Replication (docs/BEHAVIOUR.md §7)


def aof_incr_file(s):
    manifest = (s.dir / "appendonlydir" / "appendonly.aof.manifest").read_text().split("\n")
    for line in filter(None, manifest):
        parts = line.split()
        if parts[parts.index("type") + 1] == "i":
            return s.dir / "appendonlydir" / parts[1]
    raise AssertionError("no incremental AOF file")


def aof_commands(s):
    return [c for c in parse_resp_commands(aof_incr_file(s).read_bytes())
            if c[0].upper() not in (b"SELECT", b"MULTI", b"EXEC")]


def test_outputs_replicate_as_tensorset_and_modelexecute_does_not():
    with running_server({"appendonly": "yes", "aof-use-rdb-preamble": "no"}) as master:
        m = master.client()
        wait_for(lambda: m.info("persistence")["aof_rewrite_in_progress"] == 0, 10, what="startup AOF")
        with running_server({"replicaof": f"127.0.0.1 {master.port}"}) as replica:
            rr = replica.client()
            wait_for(lambda: rr.info("replication").get("master_link_status") == "up", 20, what="the replica sync")
            store(m, "m", "TORCH", torch_add_model(), "TAG", "rep")
            store(m, "m2", "TORCH", torch_two_outputs_model())
            store(m, "f", "TORCH", torch_failing_model())
            tset(m, "a", AB)
            tset(m, "b", AB)
            assert m.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == b"OK"
            assert m.execute_command("AI.MODELEXECUTE", "m2", "INPUTS", 2, "a", "b", "OUTPUTS", 2, "s", "p") == b"OK"
            with pytest.raises(redis.ResponseError):
                m.execute_command("AI.MODELEXECUTE", "f", "INPUTS", 1, "a", "OUTPUTS", 1, "never")
            with pytest.raises(redis.ResponseError):
                m.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "missing", "OUTPUTS", 1, "never")
            assert replicas_acked(m)
            wait_for(lambda: rr.dbsize() == m.dbsize(), 10, what="the replica to catch up")
            # the replica got the models by MODELSTORE and the outputs as tensors
            assert rr.execute_command("AI.MODELGET", "m") == m.execute_command("AI.MODELGET", "m")
            for key in ("c", "s", "p"):
                assert rr.execute_command("AI.TENSORGET", key) == m.execute_command("AI.TENSORGET", key)
            assert rr.execute_command("AI.TENSORGET", "c", "VALUES") == [b"4", b"6", b"4", b"6"]
            assert not rr.exists("never")
            # the replica is read-only for the command
            with pytest.raises(redis.ReadOnlyError):
                rr.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c")
            # what the master propagated
            f32 = lambda v: np.array(v, np.float32).tobytes()  # noqa: E731
            cmds = aof_commands(master)
            names = [c[0].upper() for c in cmds]
            assert b"AI.MODELEXECUTE" not in names
            assert names.count(b"AI.MODELSTORE") == 3
            tensorsets = [c for c in cmds if c[0].upper() == b"AI.TENSORSET" and c[1] in (b"c", b"s", b"p")]
            assert [[c[0].upper(), *c[1:]] for c in tensorsets] == [
                [b"AI.TENSORSET", b"c", b"FLOAT", b"2", b"2", b"BLOB", f32([4, 6, 4, 6])],
                [b"AI.TENSORSET", b"s", b"FLOAT", b"2", b"2", b"BLOB", f32([4, 6, 4, 6])],
                [b"AI.TENSORSET", b"p", b"FLOAT", b"2", b"2", b"BLOB", f32([4, 9, 4, 9])]]
            assert not any(c[1] == b"never" for c in cmds)
            # MODELDEL replicates too
            assert m.execute_command("AI.MODELDEL", "m") == b"OK"
            assert replicas_acked(m)
            wait_for(lambda: not rr.exists("m"), 10, what="MODELDEL on the replica")


# --------------------------------------------------------------------------------------------------
# Values captured at parse time (docs/BEHAVIOUR.md §2.1)


def test_pipeline_del_of_inputs_after_the_run(add):
    r = add
    with r.pipeline(transaction=False) as p:
        p.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c")
        p.delete("a")
        p.execute_command("AI.TENSORSET", "b", "FLOAT", 2, 2, "VALUES", 100, 100, 100, 100)
        p.execute_command("AI.TENSORGET", "c", "VALUES")
        assert p.execute() == [b"OK", 1, b"OK", [b"4", b"6", b"4", b"6"]]


def test_pipeline_del_of_the_model_after_the_run(add):
    r = add
    with r.pipeline(transaction=False) as p:
        p.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c")
        p.execute_command("AI.MODELDEL", "m")
        p.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "d")
        results = p.execute(raise_on_error=False)
    assert results[0] == b"OK" and results[1] == b"OK"
    assert isinstance(results[2], redis.ResponseError) and str(results[2]) == "model key is empty"
    assert r.execute_command("AI.TENSORGET", "c", "VALUES") == [b"4", b"6", b"4", b"6"]
    assert not r.exists("d")


def test_inputs_overwritten_and_deleted_while_queued(add, server):
    r = add
    store_gate(r)
    held = hold_worker(server)
    runner = Raw(server.port, name="runner")
    try:
        runner.send("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c")
        wait_blocked(r, "runner")
        # while it waits for the worker: change both inputs
        r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, 2, "VALUES", 100, 100, 100, 100)
        assert r.delete("b") == 1
        assert "runner" in blocked_names(r)
        assert open_gate(server, held) == [b"OK"]
        assert runner.read() == "OK"
    finally:
        runner.close()
    assert r.execute_command("AI.TENSORGET", "c", "VALUES") == [b"4", b"6", b"4", b"6"]


def test_model_deleted_or_replaced_while_queued(add, server):
    r = add
    store_gate(r)
    held = hold_worker(server)
    runners = [Raw(server.port, name="runner0"), Raw(server.port, name="runner1")]
    try:
        runners[0].send("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c1")
        wait_blocked(r, "runner0")
        assert r.execute_command("AI.MODELDEL", "m") == b"OK"
        store(r, "m", "TORCH", torch_two_outputs_model())   # the queued run still uses the add model
        runners[1].send("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 2, "c2", "d2")
        wait_blocked(r, "runner1")
        r.delete("m")
        assert {"runner0", "runner1"} <= blocked_names(r)
        assert open_gate(server, held) == [b"OK"]
        assert runners[0].read() == "OK"
        assert runners[1].read() == "OK"
    finally:
        for c in runners:
            c.close()
    assert r.execute_command("AI.TENSORGET", "c1", "VALUES") == [b"4", b"6", b"4", b"6"]
    assert r.execute_command("AI.TENSORGET", "c2", "VALUES") == [b"4", b"6", b"4", b"6"]
    assert r.execute_command("AI.TENSORGET", "d2", "VALUES") == [b"4", b"9", b"4", b"9"]
    assert not r.exists("m")
    assert server.alive()


def test_client_disconnects_before_the_run_ends(add, server):
    r = add
    store_gate(r)
    held = hold_worker(server)
    gone = Raw(server.port, name="gone")
    gone.send("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "never")
    wait_blocked(r, "gone")
    gone.close()
    assert open_gate(server, held) == [b"OK"]
    wait_for(lambda: blocked_clients(r) == 0, 20, what="the abandoned run to finish")
    assert server.alive() and r.ping()
    # upstream writes no output for a client that is gone; a re-implementation may, but must not crash
    if r.exists("never"):
        assert r.execute_command("AI.TENSORGET", "never", "VALUES") == [b"4", b"6", b"4", b"6"]


# --------------------------------------------------------------------------------------------------
# The server stays responsive; concurrency


def test_server_answers_while_runs_are_in_flight(r, server):
    """Redis answers, module commands included, while the worker is inside a run (a script
    running a model in a loop) and big runs wait behind it: none of them can end before the test
    opens the gate, so every answer came while they were in flight."""
    store(r, "mlp", "TORCH", torch_mlp_model())
    x = np.random.default_rng(1).standard_normal((4096, 1024)).astype(np.float32)
    tset(r, "x", x)
    store_gate(r)
    held = hold_worker(server)
    runners = [Raw(server.port, name=f"run{i}") for i in range(3)]
    try:
        for i, c in enumerate(runners):
            c.send("AI.MODELEXECUTE", "mlp", "INPUTS", 1, "x", "OUTPUTS", 1, f"y{i}")
        wait_blocked(r, "run0", "run1", "run2")
        for _ in range(50):
            assert r.ping()
            assert r.execute_command("AI.TENSORGET", "x", "META") == [b"dtype", b"FLOAT", b"shape", [4096, 1024]]
            assert r.execute_command("AI.TENSORSET", "t", "FLOAT", 1, "VALUES", 1) == b"OK"
        assert {"run0", "run1", "run2"} <= blocked_names(r) and "value" not in held[1]
        assert open_gate(server, held) == [b"OK"]
        for c in runners:
            assert c.read() == "OK"
    finally:
        for c in runners:
            c.close()
    expected = torch_mlp_reference(x)
    for i in range(3):
        out, dtype = tget(r, f"y{i}")
        assert dtype == "FLOAT" and out.shape == (4096, 1024)
        np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_concurrent_clients_get_their_own_results(r, server):
    store(r, "torch", "TORCH", torch_add_model())
    store(r, "onnx", "ONNX", onnx_add_model())
    errors = []

    def worker(t):
        c = server.client()
        try:
            model = "torch" if t % 2 == 0 else "onnx"
            for j in range(20):
                a = np.array([[t, j], [t * j, 1.5]], np.float32)
                b = np.array([[1000 * t, 7], [j, -t]], np.float32)
                tset(c, f"a:{t}", a)
                tset(c, f"b:{t}", b)
                assert c.execute_command("AI.MODELEXECUTE", model, "INPUTS", 2, f"a:{t}", f"b:{t}",
                                         "OUTPUTS", 1, f"c:{t}:{j}") == b"OK"
                out, dtype = tget(c, f"c:{t}:{j}")
                np.testing.assert_array_equal(out, a + b)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append((t, repr(e)))
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not any(th.is_alive() for th in threads), "a client hung"
    assert errors == []
    assert len(r.keys("c:*")) == 160
    for t in range(8):
        for j in (0, 19):
            out, _ = tget(r, f"c:{t}:{j}")
            np.testing.assert_array_equal(out, np.array([[t + 1000 * t, j + 7], [t * j + j, 1.5 - t]], np.float32))


# --------------------------------------------------------------------------------------------------
# The command table and key extraction (§1, §11)


def test_command_info(server):
    reply = raw(server.port, "COMMAND", "INFO", "ai.modelexecute")
    assert len(reply) == 1 and reply[0] is not None, "ai.modelexecute is not registered"
    info = reply[0]
    flags = {f.decode() if isinstance(f, bytes) else f for f in info[2]}
    assert info[0] == b"ai.modelexecute"
    assert info[1] == -1
    assert {"write", "denyoom", "movablekeys"} <= flags, flags
    assert tuple(info[3:6]) == (4, 4, 1)


@pytest.mark.parametrize("args, keys", [
    (["m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c"], ["m", "a", "b", "c"]),
    (["m", "INPUTS", 1, "a", "OUTPUTS", 2, "c", "d", "TIMEOUT", 5], ["m", "a", "c", "d"]),
    (["m", "INPUTS", "x", "a", "OUTPUTS", 1, "c"], ["m"]),
    (["m", "INPUTS", 2, "a", "b", "OUTPUTS", "x", "c"], ["m"]),
    (["m", "INPUTS", 2, "a", "b", "OUTPUTS", 2, "c"], ["m"]),
])
def test_command_getkeys(server, args, keys):
    assert raw(server.port, "COMMAND", "GETKEYS", "AI.MODELEXECUTE", *args) == [k.encode() for k in keys]


# --------------------------------------------------------------------------------------------------
# Zero-size and rank-0 outputs: ONNX as TORCH (issue 11 item 14: ONNX answered `array must be
# contiguous` for the first and shape [1] for the second)


def test_onnx_zero_size_and_rank_0_outputs_are_what_torch_gives(r):
    store(r, "onnx", "ONNX", onnx_empty_and_scalar_model())
    store(r, "torch", "TORCH", torch_empty_and_scalar_model())
    tset(r, "x", [[1, 2], [3, 4]])
    replies = {}
    for key in ("onnx", "torch"):
        replies[key] = [r.execute_command("AI.MODELEXECUTE", key, "INPUTS", 1, "x",
                                          "OUTPUTS", 2, f"{key}_empty", f"{key}_total")]
        for out in ("empty", "total"):
            try:
                replies[key].append(r.execute_command("AI.TENSORGET", f"{key}_{out}", "META", "VALUES"))
            except redis.ResponseError as e:
                replies[key].append(str(e))
    assert replies["onnx"] == replies["torch"]
    assert replies["onnx"][2] == [b"dtype", b"FLOAT", b"shape", [], b"values", [b"10"]]
