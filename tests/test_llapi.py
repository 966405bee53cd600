"""The low-level C API other modules get through RedisModule_GetSharedAPI (docs/CONFIG.md §6).

tests/llapi/llapi_test_module.c is compiled with gcc at test time and loaded after our module; its
llapitest.* commands drive the API end to end on real keys, and everything they produce is checked
here through ordinary AI.* commands (TENSORGET, MODELGET, SCRIPTGET, INFO, DAGEXECUTE), DUMP/RESTORE
and DEBUG RELOAD.
"""
import shutil
import subprocess
import threading

import pytest
import redis

from models import onnx_add_model, onnx_sequence_model, torch_add_model, torch_inplace_model
from redis_server import ROOT, RedisServer, wait_for
from resp import Raw

C_SOURCE = ROOT / "tests" / "llapi" / "llapi_test_module.c"

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_SCRIPT_CTX = "Finish ctx is not a script run ctx"
NOT_MODEL_CTX = "Finish ctx is not a model run ctx"

# Error codes (docs/CONFIG.md §6, enum order)
RAI_OK, RAI_EMODELCREATE, RAI_EMODELRUN, RAI_ESCRIPTCREATE, RAI_EDAGRUN = 0, 3, 4, 9, 17
E_NOT_A_TENSOR = "ERR model output is not a tensor (e.g. an ONNX sequence or map): no DAG op can read it"

LEGACY_SRC = """
def bar(a, b):
    return a + b

def bar_variadic(a, args : List[Tensor]):
    return args[0] + args[1]
"""

ENTRY_SRC = """
def bar(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] + tensors[1] + len(keys) + len(args)

def count(tensors: List[Tensor], keys: List[str], args: List[str]):
    return torch.tensor([len(tensors), len(keys), len(args)])
"""


# --------------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture(scope="module")
def test_module(tmp_path_factory):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed: the LLAPI test module (tests/llapi/llapi_test_module.c) "
                    "cannot be built")
    out = tmp_path_factory.mktemp("llapi") / "llapitest.so"
    cmd = [gcc, "-shared", "-fPIC", "-O1", "-Wall", "-Werror", f"-I{ROOT / 'src'}",
           f"-I{ROOT / 'deps' / 'redis'}", str(C_SOURCE), "-o", str(out), "-lpthread"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        pytest.fail(f"building the LLAPI test module failed:\n{' '.join(cmd)}\n{res.stderr}")
    return out


@pytest.fixture(scope="module")
def server(test_module):
    """Our module first, then the test module (its OnLoad fails if the shared API is missing)."""
    with RedisServer(config={"loadmodule": str(test_module)}) as s:
        yield s
        assert s.alive(), "redis-server died during the LLAPI tests:\n" + s.log()


def s(x):
    return x.decode() if isinstance(x, bytes) else x


def call(r, *args):
    """A command's reply with bytes decoded (recursively)."""
    def dec(v):
        if isinstance(v, list):
            return [dec(e) for e in v]
        return s(v)
    return dec(r.execute_command(*args))


def raw(server, *args):
    """The reply exactly as on the wire (errors as ("error", text), not stripped of "ERR ")."""
    c = Raw(server.port)
    try:
        return c.call(*args)
    finally:
        c.sock.close()


def raw_error(server, *args):
    reply = raw(server, *args)
    assert isinstance(reply, tuple) and reply[0] == "error", reply
    return reply[1]


def tensor(r, key):
    """(dtype, shape, values) with numbers as floats/ints and strings as bytes."""
    reply = r.execute_command("AI.TENSORGET", key, "META", "VALUES")
    dtype, shape, values = s(reply[1]), reply[3], reply[5]
    if dtype in ("FLOAT", "DOUBLE"):
        values = [float(v) for v in values]
    return dtype, shape, values


def blob(r, key):
    return r.execute_command("AI.TENSORGET", key, "BLOB")


def info(r, key):
    reply = r.execute_command("AI.INFO", key)
    d = {s(reply[i]): reply[i + 1] for i in range(0, len(reply), 2)}
    return {k: d[k] for k in ("calls", "errors", "samples")}


def set_inputs(r):
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, 2, "VALUES", 1, 2, 3, 4)
    r.execute_command("AI.TENSORSET", "b", "FLOAT", 2, 2, "VALUES", 10, 20, 30, 40)
    r.execute_command("AI.TENSORSET", "bad", "FLOAT", 2, 3, "VALUES", 1, 2, 3, 4, 5, 6)
    r.execute_command("AI.TENSORSET", "a1", "FLOAT", 1, 2, "VALUES", 5, 6)
    r.execute_command("AI.TENSORSET", "b1", "FLOAT", 1, 2, "VALUES", 50, 60)


A_PLUS_B = [11.0, 22.0, 33.0, 44.0]


def store_add_model(r, key="m"):
    assert r.execute_command("AI.MODELSTORE", key, "TORCH", "CPU", "BLOB", torch_add_model()) == b"OK"


def store_legacy_script(r, key="s"):
    assert r.execute_command("AI.SCRIPTSET", key, "CPU", "SOURCE", LEGACY_SRC) == b"OK"


# --------------------------------------------------------------------------------------------------
# Loading, version


def test_test_module_loaded_and_version(server, r):
    modules = raw(server, "MODULE", "LIST")
    names = [m[m.index(b"name") + 1] for m in modules]
    assert b"ai" in names and b"llapitest" in names
    assert r.execute_command("llapitest.version") == 1
    info_text = raw(server, "INFO", "MODULES").decode()
    assert "ai_low_level_API_version:1\r\n" in info_text


def test_test_module_refused_without_redisai(test_module):
    """RedisAI_Initialize fails when our module is not loaded: the dependant's load fails."""
    with RedisServer(load_module=False, config={"enable-module-command": "yes"}) as srv:
        c = srv.client()
        with pytest.raises(redis.ResponseError, match="Error loading the extension"):
            c.execute_command("MODULE", "LOAD", str(test_module))
        assert "llapitest: RedisAI low-level API not available" in srv.log()


# --------------------------------------------------------------------------------------------------
# Tensors


def test_tensor_api(r):
    assert r.execute_command("llapitest.tensor", "t") == b"OK"
    assert tensor(r, "t:float") == ("FLOAT", [2, 2], [1.5, 2.5, -3.0, 4.0])
    assert tensor(r, "t:concat") == ("FLOAT", [3, 2], [1.5, 2.5, -3.0, 4.0, 5.0, 6.0])
    assert tensor(r, "t:slice") == ("FLOAT", [2, 2], [-3.0, 4.0, 5.0, 6.0])
    assert tensor(r, "t:int") == ("INT64", [3], [-5, 0, 1 << 40])
    assert tensor(r, "t:uint8") == ("UINT8", [2], [255, 7])
    assert tensor(r, "t:bool") == ("BOOL", [4], [1, 0, 1, 1])
    assert tensor(r, "t:int32") == ("INT32", [2], [-7, 100000])
    assert tensor(r, "t:string") == ("STRING", [2], [b"", b""])
    assert blob(r, "t:string") == b"\0\0"
    assert tensor(r, "t:strcat") == ("STRING", [3], [b"a", b"bc", b"def"])
    assert blob(r, "t:strcat") == b"a\0bc\0def\0"
    assert tensor(r, "t:strslice") == ("STRING", [2], [b"bc", b"def"])
    assert blob(r, "t:strslice") == b"bc\0def\0"
    assert tensor(r, "t:scalar") == ("DOUBLE", [], [0.25])
    assert tensor(r, "t:shared1") == ("INT8", [2], [-1, 2])
    assert tensor(r, "t:shared2") == ("INT8", [2], [-1, 2])
    # One tensor, two keys holding a reference each: deleting one leaves the other intact
    assert r.delete("t:shared1") == 1
    assert tensor(r, "t:shared2") == ("INT8", [2], [-1, 2])
    assert r.type("t:float") == b"AI_TENSOR"
    # Tensors made through the API are ordinary values: usable by AI.* commands and serialisable
    store_add_model(r)
    r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "t:float", "t:slice", "OUTPUTS", 1, "o")
    assert tensor(r, "o") == ("FLOAT", [2, 2], [-1.5, 6.5, 2.0, 10.0])
    for key in ("t:float", "t:int", "t:strcat", "t:scalar", "t:bool"):
        dump = r.dump(key)
        r.restore(key + ":copy", 0, dump)
        assert tensor(r, key + ":copy") == tensor(r, key)
        assert blob(r, key + ":copy") == blob(r, key)


def test_tensor_api_repeated(r):
    """Keys are overwritten in place; running the checks again leaks nothing visible."""
    for _ in range(3):
        assert r.execute_command("llapitest.tensor", "t") == b"OK"
    assert tensor(r, "t:concat") == ("FLOAT", [3, 2], [1.5, 2.5, -3.0, 4.0, 5.0, 6.0])


# --------------------------------------------------------------------------------------------------
# Models


def test_model_run_async_counts_in_ai_info(server, r):
    set_inputs(r)
    store_add_model(r, "m")
    store_add_model(r, "m_ref")
    expected_err = raw_error(server, "AI.MODELEXECUTE", "m_ref", "INPUTS", 2, "bad", "a", "OUTPUTS", 1, "x")

    failed = call(r, "llapitest.modelrun", "m", "out", "bad", "a")
    assert failed == ["ERROR", RAI_EMODELRUN, expected_err, NOT_SCRIPT_CTX]
    assert r.exists("out") == 0

    ok = call(r, "llapitest.modelrun", "m", "out", "a", "b")
    assert ok == ["OK", 1, 1, NOT_SCRIPT_CTX]   # 1 output; callback ran on a worker thread
    assert tensor(r, "out") == ("FLOAT", [2, 2], A_PLUS_B)
    assert info(r, "m") == {"calls": 2, "errors": 1, "samples": 2}

    # Inputs are positional (the C module passes misleading input/output names, ignored)
    assert call(r, "llapitest.modelrun", "m", "out2", "a1", "b1")[0] == "OK"
    assert tensor(r, "out2") == ("FLOAT", [1, 2], [55.0, 66.0])
    assert info(r, "m") == {"calls": 3, "errors": 1, "samples": 3}


def test_model_run_sync_does_not_count(server, r):
    set_inputs(r)
    store_add_model(r, "m")
    assert call(r, "llapitest.modelrun_sync", "m", "out", "a", "b") == ["OK", 1, 0, ""]
    assert tensor(r, "out") == ("FLOAT", [2, 2], A_PLUS_B)
    expected_err = raw_error(server, "AI.MODELEXECUTE", "m", "INPUTS", 2, "bad", "a", "OUTPUTS", 1, "x")
    r.execute_command("AI.INFO", "m", "RESETSTAT")
    failed = call(r, "llapitest.modelrun_sync", "m", "out3", "bad", "a")
    assert failed == ["ERROR", RAI_EMODELRUN, expected_err, ""]
    assert r.exists("out3") == 0
    assert info(r, "m") == {"calls": 0, "errors": 0, "samples": 0}


def test_model_run_sync_batch_of_two_contexts(r):
    set_inputs(r)
    store_add_model(r, "m")
    assert r.execute_command("llapitest.modelrun_batch", "m", "o1", "o2", "a", "b", "a1", "b1") == b"OK"
    assert tensor(r, "o1") == ("FLOAT", [2, 2], A_PLUS_B)
    assert tensor(r, "o2") == ("FLOAT", [1, 2], [55.0, 66.0])
    assert info(r, "m") == {"calls": 0, "errors": 0, "samples": 0}


def test_model_run_nothing_to_run(r):
    rc, code, text = call(r, "llapitest.modelrun_none")
    assert (rc, text) == (1, "ERR Nothing to run")   # REDISMODULE_ERR
    assert code != RAI_OK


def test_model_run_onnx(r):
    set_inputs(r)
    assert r.execute_command("AI.MODELSTORE", "mo", "ONNX", "CPU", "BLOB", onnx_add_model()) == b"OK"
    assert call(r, "llapitest.modelrun", "mo", "out", "a", "b")[:3] == ["OK", 1, 1]
    assert tensor(r, "out") == ("FLOAT", [2, 2], A_PLUS_B)
    # Only RedisAI's workers run ONNX models (docs/BEHAVIOUR.md §6): a synchronous run is refused.
    assert call(r, "llapitest.modelrun_sync", "mo", "out2", "a1", "b1")[:3] == \
        ["ERROR", 4, "Cannot execute onnxruntime model synchronously, use async execution instead"]
    assert not r.exists("out2")
    assert info(r, "mo") == {"calls": 1, "errors": 0, "samples": 2}


def test_model_from_keyspace_errors(server, r):
    set_inputs(r)
    assert raw_error(server, "llapitest.modelrun", "nokey", "out", "a", "b") == "ERR model key is empty"
    assert raw_error(server, "llapitest.modelrun", "a", "out", "a", "b") == WRONGTYPE
    assert raw_error(server, "llapitest.modelrun_sync", "nokey", "out", "a", "b") == "ERR model key is empty"


def test_many_concurrent_async_runs(server, r):
    set_inputs(r)
    store_add_model(r, "m")
    n = 16
    results = [None] * n

    def run(i):
        c = server.client()
        try:
            results[i] = call(c, "llapitest.modelrun", "m", f"out{i}", "a", "b")
        finally:
            c.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(res is not None and res[0] == "OK" for res in results), results
    for i in range(n):
        assert tensor(r, f"out{i}")[2] == A_PLUS_B
    assert info(r, "m") == {"calls": n, "errors": 0, "samples": 2 * n}


def test_concurrent_mixed_model_script_dag_runs(server, r):
    set_inputs(r)
    store_add_model(r, "m")
    store_legacy_script(r, "s")
    n = 6
    jobs = []
    for i in range(n):
        jobs.append(("llapitest.modelrun", "m", f"mo{i}", "a", "b"))
        jobs.append(("llapitest.scriptrun", "ASYNC", "TENSOR", "s", "bar", f"so{i}", "a", "b"))
        jobs.append(("llapitest.dagrun", MODEL_DAG.format(m="m"), f"do{i}", "x", "a", "y", "b"))
        jobs.append(("llapitest.dagrun_ops", "m", "s", "bar", f"po{i}", "a"))
    results = [None] * len(jobs)

    def run(k):
        c = server.client()
        try:
            results[k] = call(c, *jobs[k])
        finally:
            c.close()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(res is not None and res[0] == "OK" for res in results), results
    for i in range(n):
        for key in (f"mo{i}", f"so{i}", f"do{i}", f"po{i}"):
            assert tensor(r, key) == ("FLOAT", [2, 2], A_PLUS_B)
        assert tensor(r, f"po{i}:1")[2] == [12.0, 24.0, 36.0, 48.0]
    assert info(r, "m") == {"calls": 3 * n, "errors": 0, "samples": 6 * n}
    assert info(r, "s") == {"calls": 2 * n, "errors": 0, "samples": -1}


def test_client_gone_before_the_callback(server, r):
    """The blocked client disconnects at once: the callback still runs, nothing crashes."""
    set_inputs(r)
    store_add_model(r, "m")
    for i in range(4):
        c = Raw(server.port)
        c.send("llapitest.modelrun", "m", f"gone{i}", "a", "b")
        c.sock.close()
    wait_for(lambda: info(r, "m")["calls"] == 4, what="the four runs")
    assert r.ping()
    assert call(r, "llapitest.modelrun", "m", "out", "a", "b")[0] == "OK"


def test_model_create(r):
    blob_ = torch_add_model()
    assert call(r, "llapitest.modelcreate", "mc", 2, "CPU", "mytag", 0, 0, 0, blob_) == ["OK", 1]
    meta = call(r, "AI.MODELGET", "mc", "META")
    assert meta == ["backend", "TORCH", "device", "CPU", "tag", "mytag", "batchsize", 0,
                    "minbatchsize", 0, "inputs", ["a", "b"], "outputs", [""], "minbatchtimeout", 0]
    assert r.execute_command("AI.MODELGET", "mc", "BLOB") == blob_
    assert r.type("mc") == b"AI__MODEL"

    # Options struct passed by value; NULL tag
    assert call(r, "llapitest.modelcreate", "mc2", 2, "CPU", "", 4, 2, 100, blob_) == ["OK", 1]
    meta = call(r, "AI.MODELGET", "mc2", "META")
    assert meta[4:10] == ["tag", "", "batchsize", 4, "minbatchsize", 2]
    assert meta[14:16] == ["minbatchtimeout", 100]

    onnx = onnx_add_model()
    assert call(r, "llapitest.modelcreate", "mo", 3, "CPU", "", 0, 0, 0, onnx) == ["OK", 1]
    meta = call(r, "AI.MODELGET", "mo", "META")
    assert meta[:6] == ["backend", "ONNX", "device", "CPU", "tag", ""]
    assert meta[10:14] == ["inputs", ["a", "b"], "outputs", ["c"]]
    assert r.execute_command("AI.MODELGET", "mo", "BLOB") == onnx

    # A model made through the API runs like any other, through the API and through commands
    set_inputs(r)
    assert call(r, "llapitest.modelrun", "mc", "out", "a", "b")[0] == "OK"
    assert tensor(r, "out")[2] == A_PLUS_B
    r.execute_command("AI.MODELEXECUTE", "mo", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "out2")
    assert tensor(r, "out2")[2] == A_PLUS_B

    # DUMP / RESTORE
    r.restore("mc:copy", 0, r.dump("mc"))
    assert call(r, "AI.MODELGET", "mc:copy", "META") == call(r, "AI.MODELGET", "mc", "META")
    assert r.execute_command("AI.MODELGET", "mc:copy", "BLOB") == blob_


def test_model_create_errors(r):
    bad = call(r, "llapitest.modelcreate", "mbad", 2, "CPU", "", 0, 0, 0, b"not a model")
    assert bad[0] == "ERROR" and bad[1] == RAI_EMODELCREATE and bad[2]
    assert bad[2] == bad[3].replace("\r", " ").replace("\n", " ")
    bad = call(r, "llapitest.modelcreate", "mbad", 3, "CPU", "", 0, 0, 0, b"not a model")
    assert bad[0] == "ERROR" and bad[1] != RAI_OK and bad[2]
    assert r.exists("mbad") == 0


# --------------------------------------------------------------------------------------------------
# Scripts


def test_script_runs_async_and_sync(server, r):
    set_inputs(r)
    store_legacy_script(r, "s")
    store_legacy_script(r, "s_ref")

    assert call(r, "llapitest.scriptrun", "ASYNC", "TENSOR", "s", "bar", "o1", "a", "b") == \
        ["OK", 1, 1, NOT_MODEL_CTX]
    assert tensor(r, "o1") == ("FLOAT", [2, 2], A_PLUS_B)
    # bar_variadic(a, args: List[Tensor]) -> args[0] + args[1] = b + a1 (broadcast)
    assert call(r, "llapitest.scriptrun", "ASYNC", "TENSORLIST", "s", "bar_variadic", "o2", "a", "b",
                "a1")[0] == "OK"
    assert tensor(r, "o2") == ("FLOAT", [2, 2], [15.0, 26.0, 35.0, 46.0])

    expected = raw_error(server, "AI.SCRIPTEXECUTE", "s_ref", "nosuchfn", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "x")
    failed = call(r, "llapitest.scriptrun", "ASYNC", "TENSOR", "s", "nosuchfn", "o3", "a", "b")
    assert failed[0] == "ERROR" and failed[2] == expected and failed[3] == NOT_MODEL_CTX
    assert failed[1] != RAI_OK
    assert r.exists("o3") == 0
    assert info(r, "s") == {"calls": 3, "errors": 1, "samples": -1}

    # Synchronous runs, deprecated input functions included: not counted
    assert call(r, "llapitest.scriptrun", "SYNC", "TENSOR", "s", "bar", "o4", "a1", "b1") == ["OK", 1, 0, ""]
    assert tensor(r, "o4") == ("FLOAT", [1, 2], [55.0, 66.0])
    assert call(r, "llapitest.scriptrun", "SYNC", "INPUT", "s", "bar", "o5", "b", "a")[0] == "OK"
    assert tensor(r, "o5")[2] == A_PLUS_B
    assert call(r, "llapitest.scriptrun", "SYNC", "INPUTLIST", "s", "bar_variadic", "o6", "a1", "a", "b")[0] == "OK"
    assert tensor(r, "o6")[2] == A_PLUS_B
    assert call(r, "llapitest.scriptrun", "SYNC", "TENSORLIST", "s", "bar_variadic", "o7", "a", "a1", "b1")[0] == "OK"
    assert tensor(r, "o7") == ("FLOAT", [1, 2], [55.0, 66.0])
    expected = raw_error(server, "AI.SCRIPTEXECUTE", "s_ref", "bar", "INPUTS", 1, "a", "OUTPUTS", 1, "x")
    failed = call(r, "llapitest.scriptrun", "SYNC", "TENSOR", "s", "bar", "o8", "a")
    assert failed == ["ERROR", failed[1], expected, ""] and failed[1] != RAI_OK
    assert info(r, "s") == {"calls": 3, "errors": 1, "samples": -1}


def test_script_run_variadic_async(r):
    set_inputs(r)
    store_legacy_script(r, "s")
    assert call(r, "llapitest.scriptrun", "ASYNC", "TENSORLIST", "s", "bar_variadic", "o", "a1", "a", "b")[0] == "OK"
    assert tensor(r, "o") == ("FLOAT", [2, 2], A_PLUS_B)
    assert call(r, "llapitest.scriptrun", "ASYNC", "INPUTLIST", "s", "bar_variadic", "o", "a", "a1", "b1")[0] == "OK"
    assert tensor(r, "o") == ("FLOAT", [1, 2], [55.0, 66.0])


def test_script_entry_point_called_with_empty_keys_and_args(r):
    set_inputs(r)
    assert r.execute_command("AI.SCRIPTSTORE", "se", "CPU", "ENTRY_POINTS", 2, "bar", "count",
                             "SOURCE", ENTRY_SRC) == b"OK"
    assert call(r, "llapitest.scriptrun", "ASYNC", "TENSOR", "se", "bar", "o", "a", "b")[0] == "OK"
    assert tensor(r, "o") == ("FLOAT", [2, 2], A_PLUS_B)
    assert call(r, "llapitest.scriptrun", "SYNC", "TENSOR", "se", "count", "o2", "a", "b", "a1")[0] == "OK"
    assert tensor(r, "o2") == ("INT64", [3], [3, 0, 0])


def test_script_from_keyspace_errors(server, r):
    set_inputs(r)
    assert raw_error(server, "llapitest.scriptrun", "SYNC", "TENSOR", "nokey", "bar", "o", "a") == \
        "ERR script key is empty"
    assert raw_error(server, "llapitest.scriptrun", "ASYNC", "TENSOR", "a", "bar", "o", "a") == WRONGTYPE


def test_script_create(r):
    set_inputs(r)
    assert r.execute_command("llapitest.scriptcreate", "sc", "CPU", "mytag", LEGACY_SRC) == b"OK"
    assert r.type("sc") == b"AI_SCRIPT"
    assert call(r, "AI.SCRIPTGET", "sc") == ["device", "CPU", "tag", "mytag", "Entry Points", [],
                                            "source", LEGACY_SRC]
    assert r.execute_command("llapitest.scriptcreate", "sc2", "CPU", "", LEGACY_SRC) == b"OK"
    assert call(r, "AI.SCRIPTGET", "sc2", "META")[:4] == ["device", "CPU", "tag", ""]
    # Runs through commands (legacy convention: no entry points) and through the API
    r.execute_command("AI.SCRIPTEXECUTE", "sc", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "o")
    assert tensor(r, "o")[2] == A_PLUS_B
    assert call(r, "llapitest.scriptrun", "ASYNC", "TENSOR", "sc2", "bar", "o2", "a1", "b1")[0] == "OK"
    assert tensor(r, "o2")[2] == [55.0, 66.0]
    r.restore("sc:copy", 0, r.dump("sc"))
    assert call(r, "AI.SCRIPTGET", "sc:copy") == call(r, "AI.SCRIPTGET", "sc")

    bad = call(r, "llapitest.scriptcreate", "scbad", "CPU", "", "def f(a):\n    return a +\n")
    assert bad[0] == "ERROR" and bad[1] == RAI_ESCRIPTCREATE and bad[2]
    assert bad[2] == bad[3].replace("\r", " ").replace("\n", " ")
    assert r.exists("scbad") == 0


# --------------------------------------------------------------------------------------------------
# DAGs


MODEL_DAG = "|> AI.MODELEXECUTE {m} INPUTS 2 x y OUTPUTS 1 z |> AI.TENSORGET z VALUES"


def test_dag_from_string(server, r):
    set_inputs(r)
    store_add_model(r, "m")
    store_add_model(r, "m_ref")
    ok = call(r, "llapitest.dagrun", MODEL_DAG.format(m="m"), "out", "x", "a", "y", "b")
    assert ok == ["OK", 1, 1, NOT_MODEL_CTX]
    assert tensor(r, "out") == ("FLOAT", [2, 2], A_PLUS_B)
    assert info(r, "m") == {"calls": 1, "errors": 0, "samples": 2}

    reference = raw(server, "AI.DAGEXECUTE", "LOAD", 2, "bad", "a", "|>", "AI.MODELEXECUTE", "m_ref",
                    "INPUTS", 2, "bad", "a", "OUTPUTS", 1, "z", "|>", "AI.TENSORGET", "z", "VALUES")
    assert reference[0][0] == "error" and reference[1] == "NA", reference
    failed = call(r, "llapitest.dagrun", MODEL_DAG.format(m="m"), "out_f", "x", "bad", "y", "a")
    assert failed[0] == "ERROR" and failed[1] != RAI_OK and failed[2] == reference[0][1]
    assert r.exists("out_f") == 0
    assert info(r, "m") == {"calls": 2, "errors": 1, "samples": 2}


def test_dag_from_string_tensorset_versions_and_script(r):
    set_inputs(r)
    store_legacy_script(r, "s")
    ops = ("|> AI.TENSORSET x FLOAT 2 VALUES 3 4 |> AI.TENSORGET x VALUES "
           "|> AI.TENSORSET x INT8 1 VALUES 9 |> AI.TENSORGET x VALUES")
    assert call(r, "llapitest.dagrun", ops, "out")[:3] == ["OK", 2, 1]
    assert tensor(r, "out") == ("FLOAT", [2], [3.0, 4.0])
    assert tensor(r, "out:1") == ("INT8", [1], [9])

    ops = "|> AI.SCRIPTEXECUTE s bar INPUTS 2 p q OUTPUTS 1 z |> AI.TENSORGET z VALUES"
    assert call(r, "llapitest.dagrun", ops, "out2", "p", "a1", "q", "b1")[:3] == ["OK", 1, 1]
    assert tensor(r, "out2") == ("FLOAT", [1, 2], [55.0, 66.0])
    assert info(r, "s") == {"calls": 1, "errors": 0, "samples": -1}


def test_dag_from_string_builder_errors(r):
    set_inputs(r)
    res = call(r, "llapitest.dagrun", "AI.TENSORGET x VALUES", "out", "x", "a")
    assert res[0] == "BUILD_ERROR" and res[2] == "DAG op should start with: '|>' " and res[1] != RAI_OK
    res = call(r, "llapitest.dagrun", MODEL_DAG.format(m="nokey"), "out", "x", "a", "y", "b")
    assert res[0] == "BUILD_ERROR" and res[2] == "ERR model key is empty"
    res = call(r, "llapitest.dagrun", "|> AI.TENSORGET nowhere VALUES", "out", "x", "a")
    assert res[0] == "RUN_ERROR" and res[2] == "ERR INPUT key cannot be found in DAG"
    assert r.exists("out") == 0


def test_dag_with_a_model_output_that_is_not_a_tensor(r):
    """The LLAPI DAG shares the command's slots: reading the ONNX sequence output fails the DAG
    with a clear error (it crashed the server), leaving it unread is fine."""
    r.execute_command("AI.MODELSTORE", "seq", "ONNX", "CPU", "BLOB", onnx_sequence_model())
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 2, "VALUES", 1, 2)
    run = "|> AI.MODELEXECUTE seq INPUTS 1 x OUTPUTS 2 sq y "
    assert call(r, "llapitest.dagrun", run + "|> AI.TENSORGET y VALUES", "nt_out", "x", "x")[:3] == ["OK", 1, 1]
    assert tensor(r, "nt_out") == ("FLOAT", [2], [2.0, 4.0])
    res = call(r, "llapitest.dagrun", run + "|> AI.TENSORGET y VALUES |> AI.TENSORGET sq VALUES", "nt_get", "x", "x")
    assert res[:3] == ["ERROR", RAI_EDAGRUN, E_NOT_A_TENSOR]
    res = call(r, "llapitest.dagrun", run + "|> AI.MODELEXECUTE seq INPUTS 1 sq OUTPUTS 2 p q", "nt_in", "x", "x")
    assert res[:3] == ["ERROR", RAI_EMODELRUN, E_NOT_A_TENSOR]
    assert r.exists("nt_get", "nt_in") == 0
    assert [info(r, "seq")[k] for k in ("calls", "errors")] == [4, 1]


def test_dag_built_op_by_op(r):
    set_inputs(r)
    store_add_model(r, "m")
    store_legacy_script(r, "s")
    ok = call(r, "llapitest.dagrun_ops", "m", "s", "bar", "out", "a")
    assert ok == ["OK", 2, 1, NOT_MODEL_CTX]
    assert tensor(r, "out") == ("FLOAT", [2, 2], A_PLUS_B)                     # c = a + b
    assert tensor(r, "out:1") == ("FLOAT", [2, 2], [12.0, 24.0, 36.0, 48.0])  # d = c + a
    assert info(r, "m") == {"calls": 1, "errors": 0, "samples": 2}
    assert info(r, "s") == {"calls": 1, "errors": 0, "samples": -1}
    # A failing script step fails the DAG: nothing stored, both steps counted
    failed = call(r, "llapitest.dagrun_ops", "m", "s", "nosuchfn", "out2", "a")
    assert failed[0] == "ERROR" and "nosuchfn" in failed[2]
    assert info(r, "s") == {"calls": 2, "errors": 1, "samples": -1}
    assert info(r, "m") == {"calls": 2, "errors": 0, "samples": 4}
    assert r.exists("out2") == 0


def test_dag_builder_errors(r):
    set_inputs(r)
    store_add_model(r, "m")
    res = call(r, "llapitest.dag_errors", "m", "a")
    assert len(res) == 9
    texts = [e[1] for e in res[:7]]
    assert texts == [
        "ERR DAG is empty",
        "ERR INPUT key cannot be found in DAG",
        "ERR INPUT key cannot be found in DAG",
        "Number of keys given as INPUTS does not match model definition",
        "Number of keys given as OUTPUTS does not match model definition",
        "DAG op should start with: '|>' ",
        "Unsupported command within DAG",
    ]
    assert all(e[0] != RAI_OK for e in res[:7]), res
    assert res[7] == [0, 1]   # DAGLoadTensor: first OK, same name again ERR
    assert res[8] == "freed"
    # Nothing of it reached the statistics
    assert info(r, "m") == {"calls": 0, "errors": 0, "samples": 0}


# --------------------------------------------------------------------------------------------------
# Errors


def test_error_api(r):
    r.set("str", "x")
    r.execute_command("AI.TENSORSET", "t", "FLOAT", 1, "VALUES", 1)
    res = call(r, "llapitest.errors", "nokey", "str", "t")
    pairs, flags = res[:6], res[6:]
    assert [p[1] for p in pairs[:5]] == ["ERR model key is empty", WRONGTYPE, WRONGTYPE,
                                        "ERR script key is empty", WRONGTYPE]
    assert all(p[0] != RAI_OK for p in pairs), pairs
    assert pairs[5][0] == RAI_ESCRIPTCREATE and pairs[5][1]
    clone_ok, cleared_ok, oneline_ok, has_newline, clone2_ok, model_untouched = flags
    assert clone_ok == 1       # CloneError copies code and text
    assert cleared_ok == 1     # ClearError resets to OK
    assert has_newline == 1    # GetError keeps TorchScript's multi-line text ...
    assert oneline_ok == 1     # ... GetErrorOneLine replaces each CR/LF by a space
    assert clone2_ok == 1
    assert model_untouched == 1


# --------------------------------------------------------------------------------------------------
# Persistence of values the API stored, and the server at the end


def test_debug_reload_keeps_api_values(server, r):
    set_inputs(r)
    assert r.execute_command("llapitest.tensor", "t") == b"OK"
    assert call(r, "llapitest.modelcreate", "mc", 2, "CPU", "tg", 0, 0, 0, torch_add_model()) == ["OK", 1]
    assert r.execute_command("llapitest.scriptcreate", "sc", "CPU", "", LEGACY_SRC) == b"OK"
    store_add_model(r, "m")
    assert call(r, "llapitest.modelrun", "m", "out", "a", "b")[0] == "OK"
    before = {k: tensor(r, k) for k in ("t:float", "t:strcat", "t:int", "out")}
    meta = call(r, "AI.MODELGET", "mc", "META")
    src = call(r, "AI.SCRIPTGET", "sc", "SOURCE")
    assert r.execute_command("DEBUG", "RELOAD") == b"OK"
    assert {k: tensor(r, k) for k in before} == before
    assert call(r, "AI.MODELGET", "mc", "META") == meta
    assert r.execute_command("AI.MODELGET", "mc", "BLOB") == torch_add_model()
    assert call(r, "AI.SCRIPTGET", "sc", "SOURCE") == src
    assert call(r, "llapitest.modelrun", "mc", "out2", "a", "b")[0] == "OK"
    assert server.alive()


def test_model_runs_that_write_into_their_input_leave_the_key_unchanged(r):
    """Issue 11 item 9: LLAPI runs hand torch a private copy too (async and synchronous)."""
    assert r.execute_command("AI.MODELSTORE", "inplace", "TORCH", "CPU", "BLOB", torch_inplace_model()) == b"OK"
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 2, "VALUES", 1, 2)
    assert call(r, "llapitest.modelrun", "inplace", "o1", "x")[0] == "OK"
    assert call(r, "llapitest.modelrun_sync", "inplace", "o2", "x")[0] == "OK"
    assert tensor(r, "o1") == tensor(r, "o2") == ("FLOAT", [2], [4.0, 6.0])
    assert tensor(r, "x") == ("FLOAT", [2], [1.0, 2.0])
