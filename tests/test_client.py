"""The repository's typed client (client/redisai_client), blocking API, against the module.

Runs in the suite's venv (redis-py 4.6) and, through test_client_on_newest_redis_py.py, in
build/venv-client (redis-py 8.2). Each reply the client reads is checked against the raw reply of
the same command from a plain redis-py connection.
"""
import warnings

import numpy as np
import pytest
import redis
import torch

import client_path  # noqa: F401
from models import torch_add_model
from redisai_client import Client, DTYPES

ARRAYS = {
    "FLOAT": np.array([[1.5, -2.25, 3.0], [0.1, 1e30, -0.0]], dtype=np.float32),
    "DOUBLE": np.array([[1.5, -2.25], [1e300, 1 / 3]], dtype=np.float64),
    "INT8": np.array([-128, 0, 127], dtype=np.int8),
    "INT16": np.array([-32768, 7, 32767], dtype=np.int16),
    "INT32": np.array([[-2 ** 31], [2 ** 31 - 1]], dtype=np.int32),
    "INT64": np.array([-2 ** 63, 2 ** 63 - 1], dtype=np.int64),
    "UINT8": np.array([0, 255], dtype=np.uint8),
    "UINT16": np.array([0, 65535], dtype=np.uint16),
    "BOOL": np.array([[True, False], [False, True]]),
}
SCRIPT = """
def bump(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("SET", keys[0], args[0])
    return tensors[0] + int(args[0])
"""


@pytest.fixture(params=[False, True], ids=["bytes", "decoded"])
def ai(server, r, request):  # r: the database is flushed; both decode_responses settings
    client = Client(host="127.0.0.1", port=server.port, decode_responses=request.param)
    yield client
    client.close()


@pytest.mark.parametrize("name", list(ARRAYS))
def test_every_numeric_type_round_trips_bit_exact(ai, r, name):
    array = ARRAYS[name]
    assert ai.tensorset("x", array) == "OK"
    got = ai.tensorget("x")
    assert (got.dtype, got.shape, got.tobytes()) == (DTYPES[name], array.shape, array.tobytes())
    raw = r.execute_command("AI.TENSORGET", "x", "META", "BLOB")
    assert raw == [b"dtype", name.encode(), b"shape", list(array.shape), b"blob", array.tobytes()]
    assert ai.tensorget("x", meta_only=True) == {"dtype": name, "shape": list(array.shape)}
    values = r.execute_command("AI.TENSORGET", "x", "VALUES")
    want = [float(v) for v in values] if name in ("FLOAT", "DOUBLE") else values
    assert ai.tensorget("x", as_numpy=False) == {"dtype": name, "shape": list(array.shape), "values": want}


def test_arrays_are_read_only_views_unless_mutable_is_asked(ai):
    ai.tensorset("x", np.arange(4, dtype=np.int32))
    assert not ai.tensorget("x").flags.writeable
    mutable = ai.tensorget("x", as_numpy_mutable=True)
    mutable[0] = 9
    assert mutable.tolist() == [9, 1, 2, 3] and ai.tensorget("x").tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("array", [
    np.arange(12, dtype=np.float32).reshape(3, 4).T,  # not contiguous
    np.arange(6, dtype=">i4"),  # big-endian: stored as the value, in RedisAI's little-endian bytes
    np.zeros((2, 0, 3), dtype=np.float64),  # no elements
    np.array(3.5, dtype=np.float32),  # a scalar: shape ()
], ids=["transposed", "big-endian", "empty", "scalar"])
def test_awkward_numpy_arrays_are_stored_as_their_values(ai, array):
    ai.tensorset("x", array)
    got = ai.tensorget("x")
    assert got.shape == array.shape
    np.testing.assert_array_equal(got, array)


def test_string_tensors_round_trip(ai, r):
    ai.tensorset("s", np.array([["a", "bc"], ["", "déf"]]))
    assert r.execute_command("AI.TENSORGET", "s", "BLOB") == "a\0bc\0\0déf\0".encode()
    assert ai.tensorget("s").tolist() == [[b"a", b"bc"], [b"", "déf".encode()]]
    ai.tensorset("l", ["x", "yz"], dtype="STRING")
    assert ai.tensorget("l", as_numpy=False) == {"dtype": "STRING", "shape": [2], "values": [b"x", b"yz"]}
    with pytest.raises(ValueError, match="NUL"):
        ai.tensorset("bad", np.array([b"a\0b"], dtype=object))
    assert r.exists("bad") == 0


@pytest.mark.parametrize("dtype,name", [("float", "FLOAT"), ("double", "DOUBLE"), ("int16", "INT16"),
                                        ("UINT8", "UINT8"), (np.float64, "DOUBLE"), ("bool", "BOOL")])
def test_lists_take_redisai_or_numpy_type_names_and_a_shape(ai, dtype, name):
    ai.tensorset("x", [1, 0, 1, 1], shape=(2, 2), dtype=dtype)
    assert ai.tensorget("x", meta_only=True) == {"dtype": name, "shape": [2, 2]}
    assert ai.tensorget("x").tolist() == [[1, 0], [1, 1]]


@pytest.mark.parametrize("array", [np.array([1, 2], dtype=np.uint32), np.array([1j])], ids=["uint32", "complex"])
def test_types_redisai_lacks_are_refused_before_sending(ai, r, array):
    with pytest.raises(ValueError, match="RedisAI has no tensor type"):
        ai.tensorset("x", array)
    assert r.exists("x") == 0


def test_torch_tensors_in_and_out(ai):
    t = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    ai.tensorset("t", t)
    back = ai.tensorget("t", as_torch=True)
    assert isinstance(back, torch.Tensor) and back.dtype == torch.float64
    assert torch.equal(back, t)
    ai.tensorset("g", t.requires_grad_(True)[:, 1])  # a view needing grad: its values are stored
    assert ai.tensorget("g").tolist() == [1.0, 4.0]


def test_server_errors_keep_the_modules_text(ai, r):
    with pytest.raises(redis.ResponseError, match="^tensor key is empty or in a different shard$"):
        ai.tensorget("missing")
    r.set("s", "x")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        ai.tensorget("s")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        ai.tensorset("s", np.zeros(2))
    assert r.get("s") == b"x"
    with pytest.raises(ValueError, match="cannot reshape"):
        ai.tensorset("x", [1, 2], dtype="int64", shape=(1, 1))  # refused before sending
    assert r.exists("x") == 0


def test_models_store_get_run_and_delete(ai, r):
    blob = torch_add_model()
    assert ai.modelstore("m", "TORCH", "CPU", blob, tag="v1", batch=4, minbatch=2, minbatchtimeout=7,
                         chunk_size=len(blob) // 3 + 1) == "OK"
    meta = ai.modelget("m", meta_only=True)
    assert meta == {"backend": "TORCH", "device": "CPU", "tag": "v1", "batchsize": 4, "minbatchsize": 2,
                    "inputs": ["a", "b"], "outputs": [""], "minbatchtimeout": 7}
    raw = r.execute_command("AI.MODELGET", "m", "BLOB")  # one bulk string, or pieces of a big model
    assert ai.modelget("m")["blob"] == blob == (b"".join(raw) if isinstance(raw, list) else raw)
    ai.tensorset("a", np.array([1, 2], dtype=np.float32))
    ai.tensorset("b", np.array([10, 20], dtype=np.float32))
    assert ai.modelexecute("m", ["a", "b"], "c", timeout=10_000) == "OK"
    assert ai.tensorget("c").tolist() == [11, 22]
    assert ai.modelscan() == [["m", "v1"]]
    ai.inforeset("m")
    assert ai.modelexecute("m", inputs=["a", "a"], outputs=["c"]) == "OK"
    info = ai.infoget("m")
    assert (info["key"], info["type"], info["backend"], info["calls"], info["errors"]) == ("m", "MODEL", "TORCH", 1, 0)
    assert ai.inforeset("m") == "OK" and ai.infoget("m")["calls"] == 0
    assert ai.modeldel("m") == "OK"
    assert r.exists("m") == 0


def test_scripts_store_get_run_and_delete(ai, r):
    assert ai.scriptstore("s", "CPU", SCRIPT, entry_points="bump", tag="t") == "OK"
    assert ai.scriptget("s") == {"device": "CPU", "tag": "t", "entry points": ["bump"], "source": SCRIPT}
    assert ai.scriptget("s", meta_only=True) == {"device": "CPU", "tag": "t", "entry points": ["bump"]}
    ai.tensorset("x", np.array([1, 2], dtype=np.int64))
    assert ai.scriptexecute("s", "bump", keys="k", inputs="x", args="5", outputs="y") == "OK"
    assert ai.tensorget("y").tolist() == [6, 7] and r.get("k") == b"5"
    assert ai.scriptscan() == [["s", "t"]]
    assert ai.scriptdel("s") == "OK" and r.exists("s") == 0


def test_deprecated_forms_warn_and_work(ai):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert ai.modelset("m", "TORCH", "CPU", torch_add_model(), inputs=["a", "b"], outputs=["c"]) == "OK"
        ai.tensorset("a", [1, 2], dtype="float")
        assert ai.modelrun("m", ["a", "a"], ["c"]) == "OK"
        assert ai.scriptset("s", "CPU", "def twice(a):\n    return a * 2\n") == "OK"
        assert ai.scriptrun("s", "twice", "c", "d") == "OK"
    assert ai.tensorget("d").tolist() == [4, 8]
    assert [str(w.message).split(" is")[0] for w in caught] == ["AI.MODELSET", "AI.MODELRUN", "AI.SCRIPTSET",
                                                               "AI.SCRIPTRUN"]


def test_config_reads_and_sets(ai):
    old = int(ai.config("MODEL_CHUNK_SIZE"))
    try:
        assert ai.config("MODEL_CHUNK_SIZE", 4096) == "OK"
        assert int(ai.config("MODEL_CHUNK_SIZE")) == 4096
        blob = torch_add_model()
        ai.modelstore("m", "TORCH", "CPU", blob)
        assert ai.modelget("m")["blob"] == blob  # the server answers in 4 KiB pieces: joined here
    finally:
        ai.config("MODEL_CHUNK_SIZE", old)
    with pytest.raises(redis.ResponseError):
        ai.loadbackend("TORCH", "/nonexistent/backend.so")


def test_dag_ops_replies_and_persisted_keys(ai, r):
    ai.modelstore("m", "TORCH", "CPU", torch_add_model())
    ai.tensorset("a", np.array([1, 2], dtype=np.float32))
    dag = ai.dag(load="a", persist=["out"])
    dag.tensorset("b", np.array([5, 5], dtype=np.float32)).modelexecute("m", ["a", "b"], "out")
    dag.tensorget("out").tensorget("out", meta_only=True)
    ok1, ok2, out, meta = dag.execute()
    assert (ok1, ok2, meta) == ("OK", "OK", {"dtype": "FLOAT", "shape": [2]})
    assert out.tolist() == [6, 7] and ai.tensorget("out").tolist() == [6, 7]
    assert r.exists("b") == 0  # only PERSIST keys are written


def test_dag_op_errors_stay_in_place_and_read_only_dags_refuse_persist(ai, r):
    ai.tensorset("a", np.array([1.0], dtype=np.float32))
    replies = ai.dag(load="a", readonly=True).tensorget("a").tensorget("a", meta_only=True).execute()
    assert replies[0].tolist() == [1.0] and replies[1] == {"dtype": "FLOAT", "shape": [1]}
    with pytest.raises(redis.ResponseError):
        ai.dag(load="a").tensorget("nothere").execute()
    with pytest.raises(ValueError, match="cannot PERSIST"):
        ai.dag(persist="x", readonly=True)
    with pytest.raises(ValueError, match="at least one op"):
        ai.dag(load="a").execute()


@pytest.mark.parametrize("transaction", [False, True], ids=["pipeline", "multi-exec"])
def test_pipelines_read_ai_replies_and_leave_others_alone(server, r, transaction):
    ai = Client(host="127.0.0.1", port=server.port)
    pipe = ai.pipeline(transaction=transaction)
    pipe.set("k", "v").tensorset("a", np.array([1, 2], dtype=np.int16)).get("k")
    pipe.tensorget("a").tensorget("a", meta_only=True).tensorget("missing").incr("n")
    results = pipe.execute(raise_on_error=False)
    assert results[:3] == [True, "OK", b"v"]
    assert results[3].tolist() == [1, 2] and results[4] == {"dtype": "INT16", "shape": [2]}
    assert isinstance(results[5], redis.ResponseError) and results[6] == 1
    # a second round starts afresh: no reader of the first round applies to it
    pipe.get("k").tensorget("a", meta_only=True)
    assert pipe.execute() == [b"v", {"dtype": "INT16", "shape": [2]}]
    pipe.tensorget("a")
    pipe.reset()
    assert pipe.get("k").execute() == [b"v"]
    ai.close()


def test_watched_pipeline_runs_ai_commands_at_once_before_multi(server, r):
    ai = Client(host="127.0.0.1", port=server.port)
    ai.tensorset("a", np.array([3], dtype=np.int8))
    with ai.pipeline() as pipe:
        pipe.watch("a")
        assert pipe.tensorget("a").tolist() == [3]  # immediate, read as usual
        pipe.multi()
        pipe.tensorset("a", np.array([4], dtype=np.int8)).tensorget("a")
        ok, got = pipe.execute()
    assert ok == "OK" and got.tolist() == [4]
    ai.close()


def test_blobs_in_a_transaction_on_a_decoding_connection_are_refused_when_queued(server, r):
    ai = Client(host="127.0.0.1", port=server.port, decode_responses=True)
    ai.tensorset("a", np.array([3], dtype=np.int8))
    pipe = ai.pipeline(transaction=True)
    with pytest.raises(TypeError, match="AI.TENSORGET answers raw bytes"):
        pipe.tensorget("a")
    with pytest.raises(TypeError, match="AI.DAGEXECUTE_RO answers raw bytes"):
        pipe.dag(load="a", readonly=True).tensorget("a").execute()
    pipe.tensorget("a", meta_only=True).modelget("nothere", meta_only=True)
    meta, missing = pipe.execute(raise_on_error=False)
    assert meta == {"dtype": "INT8", "shape": [1]} and isinstance(missing, redis.ResponseError)
    assert ai.pipeline(transaction=False).tensorget("a").execute()[0].tolist() == [3]
    ai.close()


def test_same_results_as_redisai_py_for_the_shared_methods(server, r):
    """Migrating is a rename of the import: both clients give equal results for the same calls."""
    redisai = pytest.importorskip("redisai", reason="redisai-py is installed in the suite's venv only")
    old = redisai.Client(host="127.0.0.1", port=server.port)
    new = Client(host="127.0.0.1", port=server.port)
    blob = torch_add_model()

    def both(method, *args, **kwargs):
        a = getattr(old, method)(*args, **kwargs)
        b = getattr(new, method)(*args, **kwargs)
        if isinstance(a, np.ndarray):
            assert (a.dtype, a.shape, a.tobytes()) == (b.dtype, b.shape, b.tobytes())
        else:
            assert a == b, method
        return b

    for name, array in ARRAYS.items():
        both("tensorset", "x", array)
        both("tensorget", "x")
        both("tensorget", "x", meta_only=True)
    both("tensorset", "y", [1, 2, 3], dtype="int32", shape=(3,))
    both("tensorget", "y", as_numpy=False)
    both("modelstore", "m", "TORCH", "CPU", blob, tag="v")
    both("tensorset", "a", np.array([1, 2], dtype=np.float32))
    both("modelexecute", "m", ["a", "a"], ["c"])
    both("tensorget", "c")
    both("scriptstore", "s", "CPU", SCRIPT, "bump")
    both("scriptexecute", "s", "bump", keys=["k"], inputs=["c"], args=["1"], outputs=["d"])
    both("tensorget", "d")
    assert old.modelget("m", meta_only=True) == new.modelget("m", meta_only=True)
    # redisai-py leaves the entry point names as bytes; this client decodes them
    assert old.scriptget("s", meta_only=True) == {**new.scriptget("s", meta_only=True), "entry points": [b"bump"]}
    assert [old.modeldel("m"), old.scriptdel("s")] == ["OK", "OK"]  # as the new client's (above)
    old.close()
    new.close()
