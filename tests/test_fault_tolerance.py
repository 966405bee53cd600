"""Fault tolerance against real redis-server processes (docs/PERSISTENCE.md, docs/BEHAVIOUR.md §2, §7, §12).

* kill -9 with `appendfsync always` (AOF with and without RDB preamble, with an AOF rewrite halfway):
  every acknowledged write of every kind (all tensor dtypes, models of every backend, scripts,
  MODELEXECUTE/SCRIPTEXECUTE outputs, DAG PERSIST outputs, deletes, overwrites) is back byte for byte,
  also when writer threads are cut off mid-stream;
* repeated BGSAVE while several clients run models, scripts and DAGs: every snapshot finishes, and
  the RDB files load in a fresh server with the data;
* clients that leave while their run is queued or running: no blocked client left, memory back,
  AI.INFO counts every run that executed;
* UNLINK / DEL / FLUSHALL ASYNC of the model, script and tensors that queued runs captured: the runs
  complete with the captured values, nothing crashes, memory goes back to the baseline;
* FLUSHALL/FLUSHDB ASYNC of idle models of every backend and scripts (freed by Redis's lazy-free
  thread) while clients run another model;
* maxmemory with noeviction: every deny-oom AI command is refused with Redis's OOM error and changes
  nothing (also from Lua and MULTI), reads and deletes keep working, runs accepted before the limit
  still complete, writes work again once maxmemory is raised; the command flags are the spec's;
* clients leaving a batch that is still filling, the batched model deleted meanwhile;
* SHUTDOWN SAVE while runs are queued and running.

Where a test needs a run to stay queued, a TorchScript busy loop calibrated on this machine holds the
CPU queue (one worker thread unless said otherwise).
"""
import shutil
import socket
import threading
import time

import numpy as np
import pytest
import redis

import models
import tf_models
from gate import hold_worker, open_gate, store_gate
from helpers import blocked_clients, blocked_names
from redis_server import running_server, wait_aof_rewrite, wait_bgsave, wait_for, wait_startup_aof
from resp import Raw, encode

OOM = "OOM command not allowed when used memory > 'maxmemory'."
NO_RUN_INFO = "cannot find run info for key"  # as redis-py reports it (no "ERR ")

SCRIPT = models.SLOW_SCRIPT + """
def add2(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] + tensors[1]

def twice(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] * 2, tensors[0] * 3

def add_and_set(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("SET", keys[0], args[0])
    redis.execute("INCR", keys[1])
    return tensors[0] + tensors[1]
"""
ENTRY_POINTS = ["add2", "twice", "slow", "add_and_set"]
LEGACY_SCRIPT = """
def mul2(a, b):
    return a * b
"""

NUMERIC = [("FLOAT", np.float32), ("DOUBLE", np.float64), ("INT8", np.int8), ("INT16", np.int16),
           ("INT32", np.int32), ("INT64", np.int64), ("UINT8", np.uint8), ("UINT16", np.uint16),
           ("BOOL", np.uint8)]
NP = dict(NUMERIC)


# --------------------------------------------------------------------------------------------------
# Helpers


def ok(reply):
    assert reply in (b"OK", "OK"), reply
    return reply


def cmd(r, *args):
    return r.execute_command(*args)


def random_array(rng, dtype_name, shape):
    dt = NP[dtype_name]
    if dtype_name == "BOOL":
        return rng.integers(0, 2, shape).astype(np.uint8)
    if np.issubdtype(dt, np.integer):
        info = np.iinfo(dt)
        return rng.integers(info.min, info.max, shape, dtype=dt, endpoint=True)
    return rng.standard_normal(shape).astype(dt)


def string_blob(words):
    return b"".join(w + b"\0" for w in words)


def tensor_cases(prefix, seed):
    """key -> AI.TENSORSET arguments: every dtype by BLOB, by VALUES and as a scalar, STRING tensors,
    zero-filled tensors and one 256 KiB tensor."""
    rng = np.random.default_rng(seed)
    cases = {}
    for name, _ in NUMERIC:
        a = random_array(rng, name, (3, 5))
        cases[f"{prefix}:{name}:blob"] = [name, 3, 5, "BLOB", a.tobytes()]
        if name in ("FLOAT", "DOUBLE"):
            values = [f"{v:.6g}" for v in rng.standard_normal(4)]
        elif name == "BOOL":
            values = [int(v) for v in rng.integers(0, 2, 4)]
        else:  # the type's whole range, negatives included (docs/COMMANDS.md §2)
            info = np.iinfo(NP[name])
            values = [int(v) for v in rng.integers(info.min, info.max, 4, endpoint=True)]
        cases[f"{prefix}:{name}:values"] = [name, 2, 2, "VALUES", *values]
        cases[f"{prefix}:{name}:scalar"] = [name, "BLOB", random_array(rng, name, ()).tobytes()]
    words = [b"alpha", b"", b"g\xc3\xa4mma", b"d" * int(rng.integers(1, 300))]
    cases[f"{prefix}:STRING:blob"] = ["STRING", 2, 2, "BLOB", string_blob(words)]
    cases[f"{prefix}:STRING:values"] = ["STRING", 3, "VALUES", "a", "bc", f"def{seed}"]
    cases[f"{prefix}:STRING:empty"] = ["STRING", 5]
    cases[f"{prefix}:zeros"] = ["UINT16", 2, 5]
    cases[f"{prefix}:big"] = ["FLOAT", 256, 256, "BLOB", rng.standard_normal((256, 256)).astype(np.float32).tobytes()]
    return cases


def tensor_reply(r, key):
    return cmd(r, "AI.TENSORGET", key, "META", "BLOB")


def snapshot(r):
    """Everything observable about every key: DUMP bytes and the type's own read command."""
    snap = {}
    for key in sorted(r.keys()):
        kind = r.type(key)
        entry = {"type": kind, "dump": r.dump(key)}
        if kind == b"AI_TENSOR":
            entry["get"] = tensor_reply(r, key)
        elif kind == b"AI__MODEL":
            entry["get"] = cmd(r, "AI.MODELGET", key, "META", "BLOB")
        elif kind == b"AI_SCRIPT":
            entry["get"] = cmd(r, "AI.SCRIPTGET", key, "META", "SOURCE")
        snap[key] = entry
    return snap


def assert_same_snapshot(after, before):
    missing = sorted(set(before) - set(after))
    extra = sorted(set(after) - set(before))
    assert not missing and not extra, f"missing {missing}, unexpected {extra}"
    for key, entry in before.items():
        assert after[key]["type"] == entry["type"], key
        assert after[key].get("get") == entry.get("get"), key
        assert after[key]["dump"] == entry["dump"], f"{key}: DUMP bytes differ"


def run_info(r, key):
    reply = cmd(r, "AI.INFO", key)
    return dict(zip(reply[0::2], reply[1::2]))


def assert_no_run_info(r, key):
    with pytest.raises(redis.ResponseError) as e:
        cmd(r, "AI.INFO", key)
    assert str(e.value) == NO_RUN_INFO


def f32(r, key):
    meta = tensor_reply(r, key)
    assert meta[1] == b"FLOAT", meta
    return np.frombuffer(meta[5], np.float32).reshape(meta[3])


def bgrewriteaof(r, timeout=30):
    before = r.info("persistence")["aof_rewrites"]
    r.bgrewriteaof()
    wait_aof_rewrite(r, before, timeout)


def bgsave(r, timeout=30):
    before = r.info("persistence")["rdb_saves"]
    assert r.bgsave()
    wait_bgsave(r, before, timeout)


def wait_blocked(r, names, timeout=20):
    wait_for(lambda: set(names) <= blocked_names(r), timeout, what=f"{sorted(names)} to be blocked")


def quiet_used_memory(r, clients=1):
    """used_memory with only `clients` connections open, nothing pending lazy free, empty slowlog."""
    wait_for(lambda: r.info("clients")["connected_clients"] == clients, 10, what="other clients to go")
    wait_for(lambda: r.info("memory")["lazyfree_pending_objects"] == 0, 10, what="lazy free")
    r.slowlog_reset()
    return r.info("memory")["used_memory"]


def calibrate_slow(r, script_key, input_key, seconds):
    """Loop count that makes the `slow` entry point run about `seconds` on this machine."""
    n = 1_000_000
    t0 = time.monotonic()
    ok(cmd(r, "AI.SCRIPTEXECUTE", script_key, "slow", "INPUTS", 1, input_key, "ARGS", 1, n,
           "OUTPUTS", 1, "__calibrate"))
    elapsed = max(time.monotonic() - t0, 0.005)
    r.delete("__calibrate")
    return max(int(n * seconds / elapsed), 100_000)


def tflite_add_blob():
    return tf_models.tflite_add_model()


# --------------------------------------------------------------------------------------------------
# 1. kill -9 with appendfsync always


def store_everything(r, prefix, seed):
    """One write of every kind; returns nothing: the caller snapshots the keyspace."""
    for key, args in tensor_cases(prefix, seed).items():
        ok(cmd(r, "AI.TENSORSET", key, *args))
    p = prefix
    ok(cmd(r, "AI.MODELSTORE", f"{p}:torch", "TORCH", "CPU", "TAG", f"tag {p}", "BLOB", models.torch_add_model()))
    ok(cmd(r, "AI.MODELSTORE", f"{p}:torch2", "TORCH", "cpu", "BATCHSIZE", 4, "MINBATCHSIZE", 2,
           "MINBATCHTIMEOUT", 7, "BLOB", models.torch_two_outputs_model()))
    ok(cmd(r, "AI.MODELSTORE", f"{p}:onnx", "ONNX", "CPU", "BLOB", models.onnx_add_model()))
    ok(cmd(r, "AI.MODELSTORE", f"{p}:tf", "TF", "CPU", "TAG", "graph", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c",
           "BLOB", tf_models.tf_mul_graph()))
    ok(cmd(r, "AI.MODELSTORE", f"{p}:tflite", "TFLITE", "CPU", "BLOB", tflite_add_blob()))
    # a model blob sent in several chunks
    blob = models.torch_add_model()
    ok(cmd(r, "AI.MODELSTORE", f"{p}:chunked", "TORCH", "CPU", "BLOB", blob[:1000], blob[1000:5000], blob[5000:]))
    ok(cmd(r, "AI.SCRIPTSTORE", f"{p}:script", "CPU", "TAG", "s", "ENTRY_POINTS", len(ENTRY_POINTS),
           *ENTRY_POINTS, "SOURCE", SCRIPT))
    ok(cmd(r, "AI.SCRIPTSET", f"{p}:legacy", "CPU", "SOURCE", LEGACY_SCRIPT))

    x = np.arange(4, dtype=np.float32).reshape(2, 2) + seed
    ok(cmd(r, "AI.TENSORSET", f"{p}:x", "FLOAT", 2, 2, "BLOB", x.tobytes()))
    ok(cmd(r, "AI.TENSORSET", f"{p}:xs", "STRING", 2, "VALUES", "s1", f"s{seed}"))
    run = [
        ["AI.MODELEXECUTE", f"{p}:torch", "INPUTS", 2, f"{p}:x", f"{p}:x", "OUTPUTS", 1, f"{p}:out:torch"],
        ["AI.MODELEXECUTE", f"{p}:torch2", "INPUTS", 2, f"{p}:x", f"{p}:x", "OUTPUTS", 2,
         f"{p}:out:torch2a", f"{p}:out:torch2b"],
        ["AI.MODELEXECUTE", f"{p}:onnx", "INPUTS", 2, f"{p}:x", f"{p}:x", "OUTPUTS", 1, f"{p}:out:onnx"],
        ["AI.MODELEXECUTE", f"{p}:tf", "INPUTS", 2, f"{p}:x", f"{p}:x", "OUTPUTS", 1, f"{p}:out:tf"],
        ["AI.MODELEXECUTE", f"{p}:tflite", "INPUTS", 2, f"{p}:x", f"{p}:x", "OUTPUTS", 1, f"{p}:out:tflite"],
        ["AI.MODELRUN", f"{p}:chunked", "INPUTS", f"{p}:x", f"{p}:x", "OUTPUTS", f"{p}:out:modelrun"],
        ["AI.SCRIPTEXECUTE", f"{p}:script", "twice", "INPUTS", 1, f"{p}:x", "OUTPUTS", 2,
         f"{p}:out:s2", f"{p}:out:s3"],
        ["AI.SCRIPTRUN", f"{p}:legacy", "mul2", "INPUTS", f"{p}:x", f"{p}:x", "OUTPUTS", f"{p}:out:legacy"],
        # the script writes plain keys through redis.execute (propagated as they run)
        ["AI.SCRIPTEXECUTE", f"{p}:script", "add_and_set", "KEYS", 2, f"{p}:str", f"{p}:cnt", "INPUTS", 2,
         f"{p}:x", f"{p}:x", "ARGS", 1, f"v{seed}", "OUTPUTS", 1, f"{p}:out:set"],
    ]
    for c in run:
        ok(cmd(r, *c))
    reply = cmd(r, "AI.DAGEXECUTE", "LOAD", 1, f"{p}:x", "PERSIST", 3, f"{p}:dag:sum", f"{p}:dag:s", f"{p}:dag:str",
                "|>", "AI.TENSORSET", "y", "FLOAT", 2, 2, "VALUES", 10, 20, 30, 40,
                "|>", "AI.TENSORSET", f"{p}:dag:str", "STRING", 1, "VALUES", "persisted",
                "|>", "AI.MODELEXECUTE", f"{p}:onnx", "INPUTS", 2, f"{p}:x", "y", "OUTPUTS", 1, "t",
                "|>", "AI.MODELEXECUTE", f"{p}:torch", "INPUTS", 2, "t", "y", "OUTPUTS", 1, f"{p}:dag:sum",
                "|>", "AI.SCRIPTEXECUTE", f"{p}:script", "add2", "INPUTS", 2, "t", f"{p}:dag:sum",
                "OUTPUTS", 1, f"{p}:dag:s")
    assert reply == [b"OK"] * 5, reply
    reply = cmd(r, "AI.DAGRUN", "PERSIST", 1, f"{p}:dagrun", "|>", "AI.TENSORSET", "z", "INT64", 2, "VALUES", 1, 2,
                "|>", "AI.SCRIPTRUN", f"{p}:legacy", "mul2", "INPUTS", "z", "z", "OUTPUTS", f"{p}:dagrun")
    assert reply == [b"OK", b"OK"], reply
    # the values are what the models compute
    np.testing.assert_array_equal(f32(r, f"{p}:out:torch"), x + x)
    np.testing.assert_array_equal(f32(r, f"{p}:out:torch2b"), x * x)
    np.testing.assert_array_equal(f32(r, f"{p}:out:tf"), x * x)
    np.testing.assert_array_equal(f32(r, f"{p}:out:tflite"), x + x)
    np.testing.assert_array_equal(f32(r, f"{p}:out:s3"), x * 3)
    y = np.array([[10, 20], [30, 40]], np.float32)
    np.testing.assert_array_equal(f32(r, f"{p}:dag:s"), 2 * (x + y) + y)
    assert cmd(r, "AI.TENSORGET", f"{p}:dagrun", "VALUES") == [1, 4]
    assert r.get(f"{p}:str") == f"v{seed}".encode() and r.get(f"{p}:cnt") == b"1"


def check_models_run(r, model_keys, script_key):
    """The restored models and scripts are not only readable, they run."""
    ok(cmd(r, "AI.TENSORSET", "__in", "FLOAT", 2, 2, "VALUES", 1, 2, 3, 4))
    for model in model_keys:
        ok(cmd(r, "AI.MODELEXECUTE", model, "INPUTS", 2, "__in", "__in", "OUTPUTS", 1, "__out"))
        expected = [b"1", b"4", b"9", b"16"] if model.endswith(":tf") else [b"2", b"4", b"6", b"8"]
        assert cmd(r, "AI.TENSORGET", "__out", "VALUES") == expected, model
    ok(cmd(r, "AI.SCRIPTEXECUTE", script_key, "add2", "INPUTS", 2, "__in", "__in", "OUTPUTS", 1, "__out"))
    assert cmd(r, "AI.TENSORGET", "__out", "VALUES") == [b"2", b"4", b"6", b"8"]
    r.delete("__in", "__out")


@pytest.mark.timeout(150)
@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_kill_9_with_appendfsync_always_keeps_every_acknowledged_write(preamble):
    config = {"appendonly": "yes", "appendfsync": "always", "aof-use-rdb-preamble": preamble}
    with running_server(config) as s:
        r = s.client()
        wait_startup_aof(r)
        store_everything(r, "A", 1)
        # the base AOF is written by the module (rdb_save with the preamble, aof_rewrite without)...
        bgrewriteaof(r)
        # ...and everything below only exists in the incremental AOF
        store_everything(r, "B", 2)
        ok(cmd(r, "AI.MODELDEL", "A:torch"))           # stored before the rewrite
        ok(cmd(r, "AI.MODELDEL", "B:onnx"))            # stored after it
        ok(cmd(r, "AI.SCRIPTDEL", "A:legacy"))
        ok(cmd(r, "AI.SCRIPTDEL", "B:script"))
        assert r.unlink("A:INT8:blob", "B:big") == 2
        assert r.delete("A:STRING:blob") == 1
        # overwrites: a tensor by a tensor, a model by a model of another backend, a script by a script
        ok(cmd(r, "AI.TENSORSET", "A:FLOAT:blob", "DOUBLE", 2, "VALUES", 1.5, 2.5))
        ok(cmd(r, "AI.MODELSTORE", "A:tflite", "ONNX", "CPU", "TAG", "replaced", "BLOB", models.onnx_add_model()))
        ok(cmd(r, "AI.SCRIPTSTORE", "B:legacy", "CPU", "ENTRY_POINTS", 1, "add2", "SOURCE", SCRIPT))
        # a MODELEXECUTE output overwriting an input-sized key after the rewrite
        ok(cmd(r, "AI.MODELEXECUTE", "B:torch", "INPUTS", 2, "A:x", "B:x", "OUTPUTS", 1, "A:out:torch"))
        deleted = ["A:torch", "B:onnx", "A:legacy", "B:script", "A:INT8:blob", "B:big", "A:STRING:blob"]
        before = snapshot(r)
        assert not set(k.encode() for k in deleted) & set(before)
        assert len(before) > 100

        s.kill()
        s.start()
        r = s.client()
        assert_same_snapshot(snapshot(r), before)
        for key in deleted:
            assert not r.exists(key), key
        for key in ("A:torch", "B:onnx", "A:legacy", "B:script"):
            assert_no_run_info(r, key)
        meta = cmd(r, "AI.MODELGET", "A:tflite", "META")
        assert meta[1] == b"ONNX" and meta[5] == b"replaced"
        # every restored model and script has a fresh statistics record and runs
        for key in ("A:tf", "B:torch", "B:torch2", "A:script", "B:legacy"):
            assert run_info(r, key)[b"calls"] == 0, key
        check_models_run(r, ["B:torch", "A:onnx", "A:tf", "B:tf", "B:tflite", "A:tflite", "B:chunked"], "A:script")
        ok(cmd(r, "AI.SCRIPTEXECUTE", "B:legacy", "add2", "INPUTS", 2, "A:x", "A:x", "OUTPUTS", 1, "__o"))
        # and the AOF keeps working after the restart: one more write, one more kill
        ok(cmd(r, "AI.TENSORSET", "after", "BOOL", 3, "VALUES", 1, 0, 1))
        again = snapshot(r)
        s.kill()
        s.start()
        assert_same_snapshot(snapshot(s.client()), again)


def _writer(s, kind, stop, log):
    """Writes until the server goes away; `log` receives what was acknowledged.

    log["acked"]: key -> expected TENSORGET META BLOB reply; log["deleted"]: keys whose DEL was
    acknowledged; log["inflight"]: key -> expected reply of the write in flight (maybe applied);
    log["counter"]: (last acknowledged value, value in flight) of the key overwritten again and again.
    """
    c = s.client()
    rng = np.random.default_rng(len(kind))
    kinds = [name for name, _ in NUMERIC] + ["STRING"]
    i = 0
    try:
        while not stop.is_set():
            i += 1
            if kind == "tensorset":
                dtype = kinds[i % len(kinds)]
                key = f"w:t:{i}"
                if dtype == "STRING":
                    words = [f"w{i}".encode(), b"", b"x" * (i % 17)]
                    args, expected = ["STRING", 3, "BLOB", string_blob(words)], \
                        [b"dtype", b"STRING", b"shape", [3], b"blob", string_blob(words)]
                else:
                    a = random_array(rng, dtype, (2, int(rng.integers(1, 64))))
                    args = [dtype, *a.shape, "BLOB", a.tobytes()]
                    expected = [b"dtype", dtype.encode(), b"shape", list(a.shape), b"blob", a.tobytes()]
                log["inflight"] = {key: expected}
                ok(c.execute_command("AI.TENSORSET", key, *args))
                log["acked"][key] = expected
                if i % 4 == 0:  # delete an older key
                    old = f"w:t:{i - 3}"
                    log["inflight"] = {old: log["acked"].pop(old)}   # deleted or not, if the reply is lost
                    assert c.delete(old) == 1
                    log["deleted"].add(old)
                    log["inflight"] = {}
                counter = np.array([i], np.int64)
                log["counter"] = (log["counter"][0], i)
                ok(c.execute_command("AI.TENSORSET", "w:counter", "INT64", 1, "BLOB", counter.tobytes()))
                log["counter"] = (i, None)
            elif kind == "modelexecute":
                a = np.full((2, 3), i, np.float32)
                src, key = f"w:m:in:{i}", f"w:m:out:{i}"
                expected_in = [b"dtype", b"FLOAT", b"shape", [2, 3], b"blob", a.tobytes()]
                log["inflight"] = {src: expected_in}
                ok(c.execute_command("AI.TENSORSET", src, "FLOAT", 2, 3, "BLOB", a.tobytes()))
                log["acked"][src] = expected_in
                expected = [b"dtype", b"FLOAT", b"shape", [2, 3], b"blob", (a + a).tobytes()]
                log["inflight"] = {key: expected}
                ok(c.execute_command("AI.MODELEXECUTE", "w:torch", "INPUTS", 2, src, src, "OUTPUTS", 1, key))
                log["acked"][key] = expected
            elif kind == "dag":
                key1, key2 = f"w:d:{i}:sum", f"w:d:{i}:str"
                v = np.array([i, i + 1], np.float32)
                e1 = [b"dtype", b"FLOAT", b"shape", [2], b"blob", (v * 2 + v * 3).tobytes()]
                e2 = [b"dtype", b"STRING", b"shape", [1], b"blob", f"dag{i}".encode() + b"\0"]
                log["inflight"] = {key1: e1, key2: e2}
                reply = c.execute_command(
                    "AI.DAGEXECUTE", "PERSIST", 2, key1, key2,
                    "|>", "AI.TENSORSET", "v", "FLOAT", 2, "VALUES", i, i + 1,
                    "|>", "AI.TENSORSET", key2, "STRING", 1, "VALUES", f"dag{i}",
                    "|>", "AI.SCRIPTEXECUTE", "w:script", "twice", "INPUTS", 1, "v", "OUTPUTS", 2, "d", "t",
                    "|>", "AI.MODELEXECUTE", "w:torch", "INPUTS", 2, "d", "t", "OUTPUTS", 1, key1)
                assert reply == [b"OK"] * 4, reply
                log["acked"][key1], log["acked"][key2] = e1, e2
            elif kind == "scriptexecute":
                src, key, skey = "w:s:in", f"w:s:out:{i}", f"w:s:str:{i}"
                a = np.array([i, -i], np.float32)
                expected = [b"dtype", b"FLOAT", b"shape", [2], b"blob", (a * 2).tobytes()]
                log["inflight"] = {src: None}  # overwritten every time: not checked
                ok(c.execute_command("AI.TENSORSET", src, "FLOAT", 2, "BLOB", a.tobytes()))
                # the script SETs skey and INCRs w:s:cnt through redis.execute
                log["inflight"] = {key: expected, skey: ("string", f"v{i}".encode())}
                log["counter"] = (log["counter"][0] or 0, (log["counter"][0] or 0) + 1)
                ok(c.execute_command("AI.SCRIPTEXECUTE", "w:script", "add_and_set", "KEYS", 2, skey, "w:s:cnt",
                                     "INPUTS", 2, src, src, "ARGS", 1, f"v{i}", "OUTPUTS", 1, key))
                log["acked"][key], log["acked"][skey] = expected, ("string", f"v{i}".encode())
                log["counter"] = (log["counter"][1], None)
            log["inflight"] = {}
            log["n"] = i
    except (redis.ConnectionError, redis.TimeoutError, ConnectionError):
        if not stop.is_set():
            log["error"] = "connection lost before the kill"
    except Exception as e:  # noqa: BLE001 - reported by the test
        log["error"] = repr(e)
    finally:
        c.connection_pool.disconnect()


@pytest.mark.timeout(120)
def test_kill_9_mid_stream_keeps_every_acknowledged_write():
    config = {"appendonly": "yes", "appendfsync": "always", "aof-use-rdb-preamble": "yes"}
    with running_server(config) as s:
        r = s.client()
        wait_startup_aof(r)
        ok(cmd(r, "AI.MODELSTORE", "w:torch", "TORCH", "CPU", "BLOB", models.torch_add_model()))
        ok(cmd(r, "AI.SCRIPTSTORE", "w:script", "CPU", "ENTRY_POINTS", len(ENTRY_POINTS), *ENTRY_POINTS,
               "SOURCE", SCRIPT))
        kinds = ["tensorset", "modelexecute", "dag", "scriptexecute"]
        stop = threading.Event()
        logs = [{"acked": {}, "deleted": set(), "inflight": {}, "counter": (None, None), "n": 0} for _ in kinds]
        threads = [threading.Thread(target=_writer, args=(s, k, stop, log), daemon=True)
                   for k, log in zip(kinds, logs)]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: all(log["n"] >= 20 for log in logs) or any("error" in log for log in logs),
                     60, what="every writer to get going")
            bgrewriteaof(r)          # a rewrite in the middle of the stream
            n_before = [log["n"] for log in logs]
            wait_for(lambda: all(log["n"] >= n + 20 for log, n in zip(logs, n_before)) or
                     any("error" in log for log in logs), 60, what="writes after the rewrite")
        finally:
            stop.set()
            s.kill()                 # mid-stream: the writers are all waiting for a reply
        for t in threads:
            t.join(30)
            assert not t.is_alive()
        for kind, log in zip(kinds, logs):
            assert "error" not in log, (kind, log.get("error"))

        s.start()
        r = s.client()
        present = set(r.keys("w:*"))
        def value(key, expected):
            if isinstance(expected, tuple):
                return ("string", r.get(key))
            return tensor_reply(r, key)

        for kind, log in zip(kinds, logs):
            for key, expected in log["acked"].items():
                assert value(key, expected) == expected, (kind, key)
            for key in log["deleted"]:
                assert key.encode() not in present, (kind, key)
            for key, expected in log["inflight"].items():
                # a write in flight at the kill is either there entirely or not at all
                if expected is not None and key.encode() in present:
                    assert value(key, expected) == expected, (kind, key)
        known = {b"w:torch", b"w:script", b"w:counter", b"w:s:in", b"w:s:cnt"}
        for log in logs:
            known |= {k.encode() for k in log["acked"]} | {k.encode() for k in log["inflight"]}
        assert present <= known, sorted(present - known)[:10]
        last, inflight = logs[0]["counter"]
        counter = int(np.frombuffer(tensor_reply(r, "w:counter")[5], np.int64)[0])
        assert counter == last or (inflight is not None and counter == inflight), (counter, last, inflight)
        # INCR through the script's redis.execute: once per acknowledged call, maybe once more in flight
        last, inflight = logs[3]["counter"]
        counter = int(r.get("w:s:cnt"))
        assert counter == last or (inflight is not None and counter == inflight), (counter, last, inflight)
        # the models still run after the crash
        ok(cmd(r, "AI.MODELEXECUTE", "w:torch", "INPUTS", 2, "w:m:in:1", "w:m:in:1", "OUTPUTS", 1, "check"))
        assert cmd(r, "AI.TENSORGET", "check", "VALUES") == [b"2"] * 6


# --------------------------------------------------------------------------------------------------
# 2. BGSAVE again and again while clients run models


MLP_WIDTH = 256


def _runner(s, kind, stop, failures, counts):
    """Runs until stopped; every output key always receives the same value (a function of its name),
    so that any snapshot can be checked."""
    c = s.client()
    i = 0
    try:
        while not stop.is_set():
            i += 1
            j = i % 16
            if kind == "mlp":
                ok(c.execute_command("AI.MODELEXECUTE", "mlp", "INPUTS", 1, "mlp:x", "OUTPUTS", 1, f"out:mlp:{j % 4}"))
            elif kind == "torch":
                ok(c.execute_command("AI.TENSORSET", f"in:torch:{j}", "FLOAT", 2, "VALUES", j, -j))
                ok(c.execute_command("AI.MODELEXECUTE", "torch", "INPUTS", 2, f"in:torch:{j}", f"in:torch:{j}",
                                     "OUTPUTS", 1, f"out:torch:{j}"))
            elif kind == "dag":
                reply = c.execute_command(
                    "AI.DAGEXECUTE", "LOAD", 1, "fixed:x", "PERSIST", 1, f"out:dag:{j}",
                    "|>", "AI.TENSORSET", "k", "FLOAT", 4, 2, "VALUES", *([j] * 8),
                    "|>", "AI.MODELEXECUTE", "onnx", "INPUTS", 2, "fixed:x", "k", "OUTPUTS", 1, "t",
                    "|>", "AI.SCRIPTEXECUTE", "script", "add2", "INPUTS", 2, "t", "t", "OUTPUTS", 1, f"out:dag:{j}")
                assert reply == [b"OK"] * 3, reply
            elif kind == "script":
                ok(c.execute_command("AI.SCRIPTEXECUTE", "script", "twice", "INPUTS", 1, "fixed:x",
                                     "OUTPUTS", 2, "out:s:2", "out:s:3"))
            elif kind == "ro":
                reply = c.execute_command("AI.DAGEXECUTE_RO", "LOAD", 1, "fixed:x",
                                          "|>", "AI.MODELEXECUTE", "torch", "INPUTS", 2, "fixed:x", "fixed:x",
                                          "OUTPUTS", 1, "y", "|>", "AI.TENSORGET", "y", "VALUES")
                assert reply == [b"OK", [b"%d" % (2 * v) for v in range(8)]], reply
            counts[kind] = i
    except Exception as e:  # noqa: BLE001 - any failure is a test failure
        failures.append((kind, repr(e)))
    finally:
        c.connection_pool.disconnect()


def check_runner_outputs(r, static):
    """Static keys exactly as stored; every output key present holds the value its name implies."""
    after = snapshot(r)
    for key, entry in static.items():
        assert key in after, key
        assert after[key]["get"] == entry["get"] and after[key]["dump"] == entry["dump"], key
    x = np.arange(8, dtype=np.float32).reshape(4, 2)
    mlp_x = np.frombuffer(static[b"mlp:x"]["get"][5], np.float32).reshape(8, MLP_WIDTH)
    mlp_y = models.torch_mlp_reference(mlp_x, MLP_WIDTH)
    outputs = 0
    for key in after:
        name = key.decode()
        if key in static:
            continue
        outputs += 1
        if name.startswith("in:torch:") or name.startswith("out:torch:"):
            j = int(name.rsplit(":", 1)[1])
            factor = 1 if name.startswith("in:") else 2
            np.testing.assert_array_equal(f32(r, name), np.array([j, -j], np.float32) * factor, err_msg=name)
        elif name.startswith("out:dag:"):
            j = int(name.rsplit(":", 1)[1])
            np.testing.assert_array_equal(f32(r, name), 2 * (x + j), err_msg=name)
        elif name in ("out:s:2", "out:s:3"):
            np.testing.assert_array_equal(f32(r, name), int(name[-1]) * x, err_msg=name)
        elif name.startswith("out:mlp:"):
            np.testing.assert_allclose(f32(r, name), mlp_y, rtol=1e-4, atol=1e-4, err_msg=name)
        else:
            raise AssertionError(f"unexpected key {name}")
    return outputs


@pytest.mark.timeout(150)
def test_repeated_bgsave_while_clients_run_models_loads_in_a_fresh_server(tmp_path):
    """test_models_fork_safety covers BGSAVE/BGREWRITEAOF with one model and a restart from the AOF;
    here: several backends, scripts and DAGs writing outputs during five forks, and a snapshot taken
    under load as well as the final one are loaded by a fresh server in another directory."""
    with running_server(module_args=("DEBUG_COMMAND", "yes", "THREADS_PER_QUEUE", 2)) as s:
        r = s.client()
        ok(cmd(r, "AI.MODELSTORE", "mlp", "TORCH", "CPU", "TAG", "busy", "BLOB", models.torch_mlp_model(MLP_WIDTH)))
        ok(cmd(r, "AI.MODELSTORE", "torch", "TORCH", "CPU", "BLOB", models.torch_add_model()))
        ok(cmd(r, "AI.MODELSTORE", "onnx", "ONNX", "CPU", "BLOB", models.onnx_add_model()))
        ok(cmd(r, "AI.SCRIPTSTORE", "script", "CPU", "ENTRY_POINTS", len(ENTRY_POINTS), *ENTRY_POINTS,
               "SOURCE", SCRIPT))
        mlp_x = np.random.default_rng(1).standard_normal((8, MLP_WIDTH)).astype(np.float32)
        ok(cmd(r, "AI.TENSORSET", "mlp:x", "FLOAT", 8, MLP_WIDTH, "BLOB", mlp_x.tobytes()))
        ok(cmd(r, "AI.TENSORSET", "fixed:x", "FLOAT", 4, 2, "VALUES", *range(8)))
        for key, args in tensor_cases("static", 3).items():
            ok(cmd(r, "AI.TENSORSET", key, *args))
        static = snapshot(r)

        kinds = ["mlp", "torch", "dag", "script", "ro", "mlp"]
        stop, failures, counts = threading.Event(), [], {k: 0 for k in kinds}
        per_thread = [{} for _ in kinds]
        threads = [threading.Thread(target=_runner, args=(s, k, stop, failures, c), daemon=True)
                   for k, c in zip(kinds, per_thread)]
        for t in threads:
            t.start()
        try:
            for i in range(5):
                before = [dict(c) for c in per_thread]
                # every client gets work done between two snapshots: nothing is stuck behind a fork
                wait_for(lambda: failures or all(c.get(k, 0) > b.get(k, 0)
                                                 for k, c, b in zip(kinds, per_thread, before)),
                         30, what="every client to make progress")
                assert not failures, failures
                bgsave(r)
                shutil.copy(s.dir / "dump.rdb", tmp_path / f"snap{i}.rdb")
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        assert not any(t.is_alive() for t in threads), "a client is stuck"
        assert not failures, failures
        assert r.info("persistence")["rdb_saves"] == 5
        mlp_runs = sum(c.get("mlp", 0) for c in per_thread)
        assert run_info(r, "mlp")[b"calls"] == mlp_runs and run_info(r, "mlp")[b"errors"] == 0
        bgsave(r)
        final = snapshot(r)
        shutil.copy(s.dir / "dump.rdb", tmp_path / "final.rdb")

    for name in ("snap2.rdb", "final.rdb"):
        d = tmp_path / name.replace(".rdb", "")
        d.mkdir()
        shutil.copy(tmp_path / name, d / "dump.rdb")
        with running_server(dir=d) as fresh:
            fr = fresh.client()
            assert fr.info("persistence")["rdb_last_load_keys_loaded"] == fr.dbsize()
            outputs = check_runner_outputs(fr, static)
            assert outputs > 0, "the snapshot holds no output of the running clients"
            if name == "final.rdb":
                assert_same_snapshot(snapshot(fr), final)
            assert cmd(fr, "AI.MODELGET", "mlp", "META")[5] == b"busy"
            ok(cmd(fr, "AI.MODELEXECUTE", "mlp", "INPUTS", 1, "mlp:x", "OUTPUTS", 1, "check"))
            np.testing.assert_allclose(f32(fr, "check"), models.torch_mlp_reference(mlp_x, MLP_WIDTH),
                                       rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------------------------------
# 3. Clients leaving while their run is queued or running


def _stats(r, keys):
    return {k: run_info(r, k) for k in keys}


def _delta(after, before, field):
    return {k: after[k][field] - before[k][field] for k in after}


@pytest.mark.timeout(150)
def test_clients_leaving_mid_run_leave_no_blocked_client_and_no_leak():
    with running_server() as s:   # one worker per queue: the gate script holds the CPU queue
        r = s.client()
        ok(cmd(r, "AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", models.torch_add_model()))
        ok(cmd(r, "AI.MODELSTORE", "o", "ONNX", "CPU", "BLOB", models.onnx_add_model()))
        ok(cmd(r, "AI.MODELSTORE", "mlp", "TORCH", "CPU", "BLOB", models.torch_mlp_model(MLP_WIDTH)))
        ok(cmd(r, "AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", len(ENTRY_POINTS), *ENTRY_POINTS, "SOURCE", SCRIPT))
        ok(cmd(r, "AI.SCRIPTSTORE", "s1", "CPU:1", "ENTRY_POINTS", len(ENTRY_POINTS), *ENTRY_POINTS,
               "SOURCE", SCRIPT))
        ok(cmd(r, "AI.TENSORSET", "a", "FLOAT", 2, 2, "VALUES", 1, 2, 3, 4))
        big = np.random.default_rng(2).standard_normal((1024, MLP_WIDTH)).astype(np.float32)   # 1 MiB
        ok(cmd(r, "AI.TENSORSET", "big", "FLOAT", *big.shape, "BLOB", big.tobytes()))
        pq = np.ones((65536, 2), np.float32)                                                  # 512 KiB
        ok(cmd(r, "AI.TENSORSET", "p", "FLOAT", *pq.shape, "BLOB", pq.tobytes()))
        store_gate(r)
        keys = ["m", "o", "mlp", "s", "s1"]

        def storm(k):
            g = f"gone:{k}"
            work = {   # name -> (command, the runs it adds to each model/script)
                "m": (["AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, f"{g}:m"], {"m": 1}),
                "mlp": (["AI.MODELEXECUTE", "mlp", "INPUTS", 1, "big", "OUTPUTS", 1, f"{g}:mlp"], {"mlp": 1}),
                "onnx": (["AI.MODELEXECUTE", "o", "INPUTS", 2, "p", "p", "OUTPUTS", 1, f"{g}:o"], {"o": 1}),
                "script": (["AI.SCRIPTEXECUTE", "s", "twice", "INPUTS", 1, "big", "OUTPUTS", 2, f"{g}:s2", f"{g}:s3"],
                           {"s": 1}),
                "modelrun": (["AI.MODELRUN", "m", "INPUTS", "a", "a", "OUTPUTS", f"{g}:run"], {"m": 1}),
                "dag": (["AI.DAGEXECUTE", "LOAD", 1, "a", "PERSIST", 1, f"{g}:dag",
                         "|>", "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "t",
                         "|>", "AI.SCRIPTEXECUTE", "s", "add2", "INPUTS", 2, "t", "a", "OUTPUTS", 1, f"{g}:dag"],
                        {"m": 1, "s": 1}),
                # two queues: CPU:1 runs at once, its second step waits for CPU behind the gate script
                "twodev": (["AI.DAGEXECUTE", "LOAD", 1, "a", "PERSIST", 1, f"{g}:two",
                            "|>", "AI.SCRIPTEXECUTE", "s1", "slow", "INPUTS", 1, "a", "ARGS", 1, 100_000,
                            "OUTPUTS", 1, "u",
                            "|>", "AI.MODELEXECUTE", "m", "INPUTS", 2, "u", "a", "OUTPUTS", 1, f"{g}:two"],
                           {"s1": 1, "m": 1}),
                # a 1 MiB reply nobody reads
                "ro": (["AI.DAGEXECUTE_RO", "LOAD", 1, "big", "|>", "AI.MODELEXECUTE", "mlp", "INPUTS", 1, "big",
                        "OUTPUTS", 1, "y", "|>", "AI.TENSORGET", "y", "BLOB"], {"mlp": 1}),
            }
            before = _stats(r, keys)
            conns = []
            held = hold_worker(s)
            try:
                for name, (command, _) in work.items():
                    c = Raw(s.port, name=f"{name}{k}")
                    conns.append(c)
                    c.send(*command)
                # pipelined: the second command waits behind the blocked first one and is dropped
                pipe = Raw(s.port, name=f"pipe{k}")
                conns.append(pipe)
                pipe.sock.sendall(encode(["AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, f"{g}:p1"]) +
                                  encode(["AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, f"{g}:p2"]))
                # killed by the server (CLIENT KILL) rather than by its own socket
                killed = Raw(s.port, name=f"killed{k}")
                conns.append(killed)
                killed.send("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, f"{g}:killed")
                # half a command, then gone
                half = socket.create_connection(("127.0.0.1", s.port))
                half.sendall(encode(["AI.TENSORSET", f"{g}:half", "FLOAT", 4, "BLOB", b"\0" * 16])[:-9])
                half.close()
                wait_blocked(r, [f"{n}{k}" for n in [*work, "pipe", "killed"]])
                ids = {c["name"]: c["id"] for c in r.client_list()}
                # the module gives Redis no timeout callback: CLIENT UNBLOCK cannot end these runs
                assert cmd(r, "CLIENT", "UNBLOCK", ids[f"m{k}"], "ERROR") == 0
                assert cmd(r, "CLIENT", "UNBLOCK", ids[f"dag{k}"]) == 0
                assert cmd(r, "CLIENT", "KILL", "ID", ids[f"killed{k}"]) == 1
                assert _stats(r, ["s"])["s"][b"calls"] == before["s"][b"calls"]
            finally:
                for c in conns:
                    c.close()
                assert open_gate(s, held) == [b"OK"]
            wait_for(lambda: blocked_clients(r) == 0, 30, what="no blocked client")
            expected = {key: 0 for key in keys}
            expected["m"] += 2   # the first pipelined command, the killed client
            for _, adds in work.values():
                for key, n in adds.items():
                    expected[key] += n
            # the abandoned runs still execute and are counted (docs/BEHAVIOUR.md §2.4)
            wait_for(lambda: _delta(_stats(r, keys), before, b"calls") == expected, 60,
                     what=f"the abandoned runs to be counted: {expected}")
            after = _stats(r, keys)
            assert _delta(after, before, b"errors") == {key: 0 for key in keys}
            assert all(after[key][b"duration"] > before[key][b"duration"] for key in keys)
            assert after["m"][b"samples"] - before["m"][b"samples"] == 2 * expected["m"]
            assert after["mlp"][b"samples"] - before["mlp"][b"samples"] == 1024 * expected["mlp"]
            assert after["s"][b"samples"] == -1
            # the main thread kept serving; outputs of abandoned runs: upstream writes none; if any is
            # written it must at least be right
            assert r.ping() and s.alive()
            assert not r.exists(f"{g}:p2", f"{g}:half")
            for key in r.keys(f"{g}:*"):
                assert r.type(key) == b"AI_TENSOR" and tensor_reply(r, key)[1] == b"FLOAT", key
            written = sorted(r.keys(f"{g}:*"))
            if written:
                r.delete(*written)
            return written

        storm(0)              # warm-up: lazily created structures, allocator pools
        base = quiet_used_memory(r)
        written = storm(1) + storm(2)
        used = quiet_used_memory(r)
        assert r.info("clients")["blocked_clients"] == 0
        assert used - base < 256 * 1024, f"used_memory grew by {used - base} bytes over two rounds"
        # still serving normally
        ok(cmd(r, "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "c"))
        assert cmd(r, "AI.TENSORGET", "c", "VALUES") == [b"2", b"4", b"6", b"8"]
        reply = cmd(r, "AI.DAGEXECUTE", "LOAD", 1, "a", "|>", "AI.SCRIPTEXECUTE", "s1", "add2", "INPUTS", 2,
                    "a", "a", "OUTPUTS", 1, "t", "|>", "AI.MODELEXECUTE", "m", "INPUTS", 2, "t", "a", "OUTPUTS", 1, "u",
                    "|>", "AI.TENSORGET", "u", "VALUES")
        assert reply == [b"OK", b"OK", [b"3", b"6", b"9", b"12"]], reply
        assert not written, f"outputs written for clients that were gone (upstream writes none): {written}"


# --------------------------------------------------------------------------------------------------
# 4. UNLINK / DEL / FLUSHALL ASYNC of what queued runs hold


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", ["unlink", "del", "flushall_async"])
def test_deleting_keys_that_queued_runs_hold(how):
    with running_server() as s:
        r = s.client()
        a = np.random.default_rng(3).standard_normal((512, 512)).astype(np.float32)     # 1 MiB each
        b = np.random.default_rng(4).standard_normal((512, 512)).astype(np.float32)
        p = np.random.default_rng(5).standard_normal((131072, 2)).astype(np.float32)

        def load():
            ok(cmd(r, "AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", models.torch_add_model()))
            ok(cmd(r, "AI.MODELSTORE", "o", "ONNX", "CPU", "BLOB", models.onnx_add_model()))
            ok(cmd(r, "AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", len(ENTRY_POINTS), *ENTRY_POINTS,
                   "SOURCE", SCRIPT))
            for key, v in (("a", a), ("b", b), ("p", p)):
                c = s.client()     # own connection, closed: its query buffer is not measured
                ok(cmd(c, "AI.TENSORSET", key, "FLOAT", *v.shape, "BLOB", v.tobytes()))
                c.connection_pool.disconnect()
            store_gate(r)

        def cycle(k):
            load()
            work = {
                "m": ["AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "out:m"],
                "o": ["AI.MODELEXECUTE", "o", "INPUTS", 2, "p", "p", "OUTPUTS", 1, "out:o"],
                "s": ["AI.SCRIPTEXECUTE", "s", "add2", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "out:s"],
                "dag": ["AI.DAGEXECUTE", "LOAD", 2, "a", "b", "PERSIST", 1, "out:dag",
                        "|>", "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "t",
                        "|>", "AI.SCRIPTEXECUTE", "s", "add2", "INPUTS", 2, "t", "a", "OUTPUTS", 1, "out:dag"],
                "ro": ["AI.DAGEXECUTE_RO", "LOAD", 1, "p", "|>", "AI.MODELEXECUTE", "o", "INPUTS", 2, "p", "p",
                       "OUTPUTS", 1, "t", "|>", "AI.TENSORGET", "t", "META"],
                "m2": ["AI.MODELEXECUTE", "m", "INPUTS", 2, "b", "b", "OUTPUTS", 1, "out:m2"],
            }
            conns = {}
            held = hold_worker(s)
            try:
                for name, command in work.items():
                    conns[name] = Raw(s.port, name=f"{name}{k}")
                    conns[name].send(*command)
                wait_blocked(r, [f"{n}{k}" for n in work])
                if how == "unlink":
                    assert r.unlink("m", "o", "s", "a", "b", "p") == 6
                elif how == "del":
                    assert r.delete("m", "o", "s", "a", "b", "p") == 6
                else:
                    assert r.flushall(asynchronous=True)   # the gate too: the held script fails
                assert not r.exists("m", "o", "s", "a", "b", "p")
                # the queued runs use what they captured (docs/BEHAVIOUR.md §2.1)
                held_reply = open_gate(s, held)[0]
                replies = {name: c.read() for name, c in conns.items()}
            finally:
                for c in conns.values():
                    c.close()
            # flushed, the gate script fails unless it only looked again once the gate was back
            assert held_reply == b"OK" or (how == "flushall_async" and isinstance(held_reply, redis.ResponseError))
            r.delete("gate", "hold", "held")
            assert replies["ro"] == ["OK", [b"dtype", b"FLOAT", b"shape", [131072, 2]]], replies["ro"]
            assert replies["dag"] == ["OK", "OK"], replies["dag"]
            assert all(replies[n] == "OK" for n in ("m", "o", "s", "m2")), replies
            np.testing.assert_array_equal(f32(r, "out:m"), a + b)
            np.testing.assert_array_equal(f32(r, "out:m2"), b + b)
            np.testing.assert_array_equal(f32(r, "out:s"), a + b)
            np.testing.assert_array_equal(f32(r, "out:o"), p + p)
            np.testing.assert_array_equal(f32(r, "out:dag"), (a + b) + a)
            assert sorted(r.keys()) == [b"out:dag", b"out:m", b"out:m2", b"out:o", b"out:s"]
            # once the runs let go of the deleted values, their statistics records go too (§11)
            for key in ("m", "o", "s"):
                wait_for(lambda: _no_run_info(r, key), 10, what=f"the run info of {key} to go")
            assert r.flushall()
            assert s.alive() and r.ping()

        cycle(0)              # warm-up
        base = quiet_used_memory(r)
        for k in (1, 2):
            cycle(k)
        used = quiet_used_memory(r)
        assert used - base < 256 * 1024, f"used_memory grew by {used - base} bytes over two cycles ({how})"
        assert r.info("memory")["lazyfree_pending_objects"] == 0
        if how == "flushall_async":
            assert r.info("memory")["lazyfreed_objects"] >= 3 * 6


@pytest.mark.timeout(120)
def test_flush_async_frees_idle_models_and_scripts_while_other_runs_go_on():
    """Values nobody holds are freed by Redis's lazy-free thread (FLUSHALL/FLUSHDB ASYNC), outside
    the main thread and the workers, while clients keep running another model."""
    with running_server(module_args=("DEBUG_COMMAND", "yes", "THREADS_PER_QUEUE", 2)) as s:
        r = s.client()
        r.config_set("lazyfree-lazy-user-flush", "no")
        graph, tflite = tf_models.tf_mul_graph(), tflite_add_blob()
        stop, failures, counts = threading.Event(), [], [{} for _ in range(3)]

        def fill(db):
            c = s.client(db=db)
            for i in range(8):
                ok(cmd(c, "AI.MODELSTORE", f"t{i}", "TORCH", "CPU", "BLOB", models.torch_add_model()))
                ok(cmd(c, "AI.MODELSTORE", f"o{i}", "ONNX", "CPU", "BLOB", models.onnx_add_model()))
                ok(cmd(c, "AI.MODELSTORE", f"tf{i}", "TF", "CPU", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c",
                       "BLOB", graph))
                ok(cmd(c, "AI.MODELSTORE", f"tfl{i}", "TFLITE", "CPU", "BLOB", tflite))
                ok(cmd(c, "AI.SCRIPTSTORE", f"s{i}", "CPU", "ENTRY_POINTS", len(ENTRY_POINTS), *ENTRY_POINTS,
                       "SOURCE", SCRIPT))
                ok(cmd(c, "AI.TENSORSET", f"x{i}", "FLOAT", 2, 2, "VALUES", 1, 2, 3, 4))
                ok(cmd(c, "AI.TENSORSET", f"str{i}", "STRING", 2, "VALUES", "a", "b"))
                ok(cmd(c, "AI.MODELEXECUTE", f"tf{i}", "INPUTS", 2, f"x{i}", f"x{i}", "OUTPUTS", 1, f"y{i}"))
            c.connection_pool.disconnect()

        def check_gone(db):
            c = s.client(db=db)
            assert c.dbsize() == 0
            for i in range(8):
                for key in (f"t{i}", f"o{i}", f"tf{i}", f"tfl{i}", f"s{i}"):
                    wait_for(lambda: _no_run_info(c, key), 10, what=f"the run info of {key} to go")
            c.connection_pool.disconnect()

        # the clients run a model kept in db 9, away from the flushes of db 0
        keep = s.client(db=9)
        ok(cmd(keep, "AI.MODELSTORE", "mlp", "TORCH", "CPU", "BLOB", models.torch_mlp_model(MLP_WIDTH)))
        ok(cmd(keep, "AI.TENSORSET", "mlp:x", "FLOAT", 8, MLP_WIDTH, "BLOB", np.ones((8, MLP_WIDTH), np.float32).tobytes()))

        def runner(count):
            c = s.client(db=9)
            try:
                while not stop.is_set():
                    try:
                        ok(cmd(c, "AI.MODELEXECUTE", "mlp", "INPUTS", 1, "mlp:x", "OUTPUTS", 1, "y"))
                        count["n"] = count.get("n", 0) + 1
                    except redis.ResponseError as e:
                        # between a FLUSHALL and the MODELSTORE/TENSORSET that follow it
                        if str(e) not in ("model key is empty", "tensor key is empty or in a different shard"):
                            raise
            except Exception as e:  # noqa: BLE001
                failures.append(repr(e))
            finally:
                c.connection_pool.disconnect()

        fill(0)
        assert r.flushdb(asynchronous=True)
        check_gone(0)
        keep.connection_pool.disconnect()  # its buffers after a big MODELSTORE are not what is measured
        base = quiet_used_memory(r)
        threads = [threading.Thread(target=runner, args=(c,), daemon=True) for c in counts]
        for t in threads:
            t.start()
        try:
            for flush in ("flushall", "flushdb", "flushall", "flushdb"):
                fill(0)
                lazyfreed = r.info("memory")["lazyfreed_objects"]
                if flush == "flushall":
                    # FLUSHALL also empties db 9: store the clients' model again right away
                    assert r.flushall(asynchronous=True)
                    ok(cmd(keep, "AI.MODELSTORE", "mlp", "TORCH", "CPU", "BLOB", models.torch_mlp_model(MLP_WIDTH)))
                    ok(cmd(keep, "AI.TENSORSET", "mlp:x", "FLOAT", 8, MLP_WIDTH, "BLOB",
                           np.ones((8, MLP_WIDTH), np.float32).tobytes()))
                else:
                    assert r.flushdb(asynchronous=True)
                wait_for(lambda: r.info("memory")["lazyfree_pending_objects"] == 0, 20, what="lazy free")
                assert r.info("memory")["lazyfreed_objects"] > lazyfreed
                check_gone(0)
                assert s.alive() and r.ping()
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        assert not failures, failures
        assert all(c.get("n", 0) > 0 for c in counts)
        keep.delete("y")
        keep.connection_pool.disconnect()
        used = quiet_used_memory(r)
        assert used - base < 256 * 1024, f"used_memory grew by {used - base} bytes over four flushes"


def _no_run_info(r, key):
    try:
        cmd(r, "AI.INFO", key)
    except redis.ResponseError as e:
        assert str(e) == NO_RUN_INFO
        return True
    return False


# --------------------------------------------------------------------------------------------------
# 5. maxmemory with noeviction


COMMAND_FLAGS = {   # docs/COMMANDS.md §1: (write, readonly, denyoom)
    "ai.tensorset": (True, False, True), "ai.tensorget": (False, True, False),
    "ai.modelstore": (True, False, True), "ai.modelset": (True, False, True),
    "ai.modelget": (False, True, False), "ai.modeldel": (True, False, False),
    "ai.modelexecute": (True, False, True), "ai.modelrun": (True, False, True),
    "ai._modelscan": (False, True, False), "ai.scriptstore": (True, False, True),
    "ai.scriptset": (True, False, True), "ai.scriptget": (False, True, False),
    "ai.scriptdel": (True, False, False), "ai.scriptexecute": (True, False, True),
    "ai.scriptrun": (True, False, True), "ai._scriptscan": (False, True, False),
    "ai.info": (False, True, False), "ai.config": (True, False, False),
    "ai.dagexecute": (True, False, True), "ai.dagexecute_ro": (False, True, False),
    "ai.dagrun": (True, False, True), "ai.dagrun_ro": (False, True, False),
}


def test_every_ai_command_has_the_write_readonly_denyoom_flags_of_the_spec(server):
    r = server.client()
    replies = r.execute_command("COMMAND", "INFO", *COMMAND_FLAGS)
    assert all(replies), replies
    for name, (write, readonly, denyoom) in COMMAND_FLAGS.items():
        flags = set(replies[name]["flags"])
        assert ("write" in flags, "readonly" in flags, "denyoom" in flags) == (write, readonly, denyoom), \
            (name, flags)


def _raw(port, *args):
    c = Raw(port, timeout=30)
    try:
        return c.call(*args)
    finally:
        c.close()


@pytest.mark.timeout(120)
def test_maxmemory_refuses_every_deny_oom_ai_command_and_keeps_serving():
    with running_server({"maxmemory-policy": "noeviction"}) as s:
        r = s.client()
        ok(cmd(r, "AI.MODELSTORE", "m", "TORCH", "CPU", "TAG", "t", "BLOB", models.torch_add_model()))
        ok(cmd(r, "AI.MODELSTORE", "spare", "TORCH", "CPU", "BLOB", models.torch_add_model()))
        ok(cmd(r, "AI.MODELSTORE", "o", "ONNX", "CPU", "BLOB", models.onnx_add_model()))
        ok(cmd(r, "AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", len(ENTRY_POINTS), *ENTRY_POINTS, "SOURCE", SCRIPT))
        ok(cmd(r, "AI.SCRIPTSET", "ls", "CPU", "SOURCE", LEGACY_SCRIPT))
        ok(cmd(r, "AI.SCRIPTSET", "spare_s", "CPU", "SOURCE", LEGACY_SCRIPT))
        ok(cmd(r, "AI.TENSORSET", "a", "FLOAT", 2, 2, "VALUES", 1, 2, 3, 4))
        ok(cmd(r, "AI.TENSORSET", "str", "STRING", 2, "VALUES", "x", "yz"))
        ok(cmd(r, "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "out:m"))
        ok(cmd(r, "AI.MODELEXECUTE", "o", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "out:o"))

        # fill up to maxmemory with acknowledged TENSORSETs until Redis refuses one
        used = quiet_used_memory(r)
        assert r.config_set("maxmemory", used + 4 * 1024 * 1024)
        chunk = np.arange(65536, dtype=np.float32)                 # 256 KiB
        filled = []
        for i in range(64):
            reply = _raw(s.port, "AI.TENSORSET", f"fill:{i}", "FLOAT", chunk.size, "BLOB", (chunk + i).tobytes())
            if reply != "OK":
                assert reply == ("error", OOM), reply
                break
            filled.append(i)
        assert 4 <= len(filled) < 64, filled
        assert not r.exists(f"fill:{len(filled)}")
        # the refusal above came with a 256 KiB query buffer that is gone now: stay clearly over the limit
        assert r.config_set("maxmemory", quiet_used_memory(r) - 512 * 1024)
        keys = ["m", "o", "s", "ls"]
        before, stats = snapshot(r), _stats(r, keys)
        try:
            # in an order that also works when replayed once maxmemory is raised (below)
            denied = [
                ["AI.TENSORSET", "new", "STRING", 1],
                ["AI.TENSORSET", "new", "FLOAT", 1, "VALUES", 1],
                ["AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "new"],
                ["AI.MODELEXECUTE", "o", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "out:m"],   # an existing output
                ["AI.MODELRUN", "m", "INPUTS", "a", "a", "OUTPUTS", "new"],
                ["AI.SCRIPTEXECUTE", "s", "add2", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "new"],
                ["AI.SCRIPTRUN", "ls", "mul2", "INPUTS", "a", "a", "OUTPUTS", "new"],
                ["AI.DAGEXECUTE", "LOAD", 1, "a", "PERSIST", 1, "new",
                 "|>", "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "new"],
                ["AI.DAGEXECUTE", "LOAD", 1, "a", "|>", "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a",
                 "OUTPUTS", 1, "t", "|>", "AI.TENSORGET", "t", "VALUES"],                # deny-oom even without PERSIST
                ["AI.DAGRUN", "PERSIST", 1, "new", "|>", "AI.TENSORSET", "new", "FLOAT", 1, "VALUES", 1],
                ["AI.TENSORSET", "a", "FLOAT", 2, 2, "VALUES", 5, 6, 7, 8],             # an overwrite
                ["AI.MODELSTORE", "newmodel", "TORCH", "CPU", "BLOB", models.torch_add_model()],
                ["AI.MODELSET", "newmodel2", "ONNX", "CPU", "BLOB", models.onnx_add_model()],
                ["AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", models.onnx_add_model()],  # an overwrite
                ["AI.SCRIPTSTORE", "newscript", "CPU", "ENTRY_POINTS", 1, "add2", "SOURCE", SCRIPT],
                ["AI.SCRIPTSET", "s", "CPU", "SOURCE", LEGACY_SCRIPT],                  # an overwrite
            ]
            for command in denied:
                assert _raw(s.port, *command) == ("error", OOM), command[:2]
            with pytest.raises(redis.exceptions.OutOfMemoryError):
                cmd(r, "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "new")
            # from Lua, and queued in MULTI, the flags are honoured as well
            reply = _raw(s.port, "EVAL", "return redis.call('AI.TENSORSET', KEYS[1], 'FLOAT', 1, 'VALUES', 1)",
                         1, "new")
            assert reply[0] == "error" and reply[1].startswith(OOM), reply
            c = Raw(s.port)
            try:
                assert c.call("MULTI") == "OK"
                assert c.call("AI.TENSORSET", "new", "FLOAT", 1, "VALUES", 1) == ("error", OOM)
                assert c.call("EXEC")[0] == "error"
            finally:
                c.close()

            # reads keep working, the read-only DAGs run models
            assert cmd(r, "AI.TENSORGET", "a", "VALUES") == [b"1", b"2", b"3", b"4"]
            assert cmd(r, "AI.TENSORGET", "str", "VALUES") == [b"x", b"yz"]
            assert cmd(r, "AI.MODELGET", "m", "META")[5] == b"t"
            assert cmd(r, "AI.MODELGET", "m", "BLOB") == models.torch_add_model()
            assert cmd(r, "AI.SCRIPTGET", "s", "SOURCE") == SCRIPT.encode()
            assert cmd(r, "AI.DAGEXECUTE_RO", "LOAD", 1, "a", "|>", "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a",
                       "OUTPUTS", 1, "t", "|>", "AI.TENSORGET", "t", "VALUES") == [b"OK", [b"2", b"4", b"6", b"8"]]
            assert cmd(r, "AI.DAGRUN_RO", "LOAD", 1, "a", "|>", "AI.MODELRUN", "o", "INPUTS", "a", "a",
                       "OUTPUTS", "t", "|>", "AI.TENSORGET", "t", "VALUES") == [b"OK", [b"2", b"4", b"6", b"8"]]
            assert isinstance(cmd(r, "AI._MODELSCAN"), list)
            assert run_info(r, "m")[b"calls"] == stats["m"][b"calls"] + 1
            assert f32(r, f"fill:{filled[-1]}")[0] == filled[-1]

            # nothing was changed by the refused commands
            assert_same_snapshot(snapshot(r), before)
            after = _stats(r, keys)
            assert _delta(after, stats, b"calls") == {"m": 1, "o": 1, "s": 0, "ls": 0}
            assert _delta(after, stats, b"errors") == {"m": 0, "o": 0, "s": 0, "ls": 0}

            # write commands that are not deny-oom (they free memory) still go through
            ok(cmd(r, "AI.MODELDEL", "spare"))
            ok(cmd(r, "AI.SCRIPTDEL", "spare_s"))
            assert r.delete("fill:0") == 1
            assert s.alive() and r.ping()
        finally:
            assert r.config_set("maxmemory", 0)

        # writes work again
        for command in denied:
            reply = cmd(r, *command)
            assert reply == b"OK" or (isinstance(reply, list) and not any(
                isinstance(x, redis.ResponseError) for x in reply)), (command[:2], reply)
        assert cmd(r, "AI.MODELGET", "m", "META")[1] == b"ONNX"
        assert cmd(r, "AI.TENSORGET", "new", "VALUES") == [b"1"]
        assert cmd(r, "AI.SCRIPTGET", "s", "SOURCE") == LEGACY_SCRIPT.encode()
        assert r.exists("newmodel", "newmodel2", "newscript") == 3
        ok(cmd(r, "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "after"))
        assert cmd(r, "AI.TENSORGET", "after", "VALUES") == [b"10", b"12", b"14", b"16"]
        for i in filled[1:]:
            assert f32(r, f"fill:{i}")[1] == 1 + i


@pytest.mark.timeout(60)
def test_runs_queued_before_maxmemory_is_reached_still_complete():
    """Redis checks maxmemory when a command arrives; a run accepted before still writes its outputs."""
    with running_server({"maxmemory-policy": "noeviction"}) as s:
        r = s.client()
        ok(cmd(r, "AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", models.torch_add_model()))
        ok(cmd(r, "AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", len(ENTRY_POINTS), *ENTRY_POINTS, "SOURCE", SCRIPT))
        ok(cmd(r, "AI.TENSORSET", "a", "FLOAT", 2, "VALUES", 1, 2))
        store_gate(r)
        held = hold_worker(s)
        conns = [Raw(s.port, name=n) for n in ("run", "dag")]
        try:
            conns[0].send("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "o1")
            conns[1].send("AI.DAGEXECUTE", "PERSIST", 1, "o2", "|>", "AI.TENSORSET", "x", "FLOAT", 1, "VALUES", 5,
                          "|>", "AI.MODELEXECUTE", "m", "INPUTS", 2, "x", "x", "OUTPUTS", 1, "o2")
            wait_blocked(r, ["run", "dag"])
            assert r.config_set("maxmemory", r.info("memory")["used_memory"] // 2)
            assert _raw(s.port, "AI.TENSORSET", "refused", "FLOAT", 1) == ("error", OOM)
            # opened the only way a write-refusing server allows: the gate goes, the held script fails
            assert r.delete("gate") == 1
            held[0].join(60)
            assert isinstance(held[1]["value"], redis.ResponseError), held[1]
            assert [c.read() for c in conns] == ["OK", ["OK", "OK"]]
        finally:
            for c in conns:
                c.close()
            r.config_set("maxmemory", 0)
        assert cmd(r, "AI.TENSORGET", "o1", "VALUES") == [b"2", b"4"]
        assert cmd(r, "AI.TENSORGET", "o2", "VALUES") == [b"10"]
        assert not r.exists("refused")


@pytest.mark.timeout(60)
def test_clients_leaving_and_keys_deleted_while_a_batch_is_filling():
    """Requests waiting for a batch to fill (docs/BEHAVIOUR.md §4): some clients go, later the model and
    the inputs are deleted; the batch still runs, the clients left get their own rows, the gone ones
    are run and counted, nothing stays blocked."""
    with running_server() as s:
        r = s.client()
        for i in range(8):
            ok(cmd(r, "AI.TENSORSET", f"x{i}", "FLOAT", 1, 2, "VALUES", i, 10 * i))

        # 1. MINBATCHTIMEOUT 0: the batch waits until it is full; two of three waiting clients go
        ok(cmd(r, "AI.MODELSTORE", "bm", "TORCH", "CPU", "BATCHSIZE", 4, "MINBATCHSIZE", 4,
               "BLOB", models.torch_add_model()))
        conns = [Raw(s.port, name=f"b{i}") for i in range(4)]
        try:
            for i in range(3):
                conns[i].send("AI.MODELEXECUTE", "bm", "INPUTS", 2, f"x{i}", f"x{i}", "OUTPUTS", 1, f"y{i}")
            wait_blocked(r, ["b0", "b1", "b2"])
            time.sleep(0.2)
            assert {"b0", "b1", "b2"} <= blocked_names(r), "the batch ran before it was full"
            conns[0].close()
            conns[2].close()
            wait_for(lambda: r.info("clients")["connected_clients"] == 3, 10, what="the clients to go")
            assert run_info(r, "bm")[b"calls"] == 0
            conns[3].send("AI.MODELEXECUTE", "bm", "INPUTS", 2, "x3", "x3", "OUTPUTS", 1, "y3")
            assert conns[1].read() == "OK"
            assert conns[3].read() == "OK"
        finally:
            for c in conns:
                c.close()
        assert cmd(r, "AI.TENSORGET", "y1", "VALUES") == [b"2", b"20"]
        assert cmd(r, "AI.TENSORGET", "y3", "VALUES") == [b"6", b"60"]
        wait_for(lambda: run_info(r, "bm")[b"calls"] == 4, 10, what="the batch to be counted")
        assert run_info(r, "bm")[b"samples"] == 4 and run_info(r, "bm")[b"errors"] == 0

        # 2. MINBATCHTIMEOUT: three wait, the model and their inputs are deleted, one client goes
        ok(cmd(r, "AI.MODELSTORE", "bt", "TORCH", "CPU", "BATCHSIZE", 8, "MINBATCHSIZE", 8,
               "MINBATCHTIMEOUT", 1500, "BLOB", models.torch_add_model()))
        conns = [Raw(s.port, name=f"t{i}") for i in range(3)]
        try:
            for i, c in enumerate(conns):
                c.send("AI.MODELEXECUTE", "bt", "INPUTS", 2, f"x{4 + i}", f"x{4 + i}", "OUTPUTS", 1, f"z{i}")
            wait_blocked(r, ["t0", "t1", "t2"])
            assert r.unlink("bt", "x4", "x5", "x6") == 4
            conns[1].close()
            assert {"t0", "t2"} <= blocked_names(r), "the batch ran before the keys were deleted"
            assert conns[0].read() == "OK"
            assert conns[2].read() == "OK"
        finally:
            for c in conns:
                c.close()
        assert cmd(r, "AI.TENSORGET", "z0", "VALUES") == [b"8", b"80"]
        assert cmd(r, "AI.TENSORGET", "z2", "VALUES") == [b"12", b"120"]
        # the deleted model is freed once the batch lets go of it, with its statistics record
        wait_for(lambda: _no_run_info(r, "bt"), 10, what="the run info of bt to go")
        wait_for(lambda: blocked_clients(r) == 0, 10, what="no blocked client")
        assert r.ping() and s.alive()


HOLDS_ITS_WORKER = """
def hold(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("INCR", keys[1])
    while str(redis.execute("EXISTS", keys[0])) == "0":
        x = 0
        for i in range(20000):
            x = x + i % 3
    return tensors[0]
"""


@pytest.mark.timeout(90)
def test_shutdown_save_while_runs_are_queued_and_running():
    """Two scripts hold both workers until a key that nobody sets exists, four DAGs queue behind
    them: none can finish before SHUTDOWN SAVE, whatever the machine's load. The blocked clients
    are dropped unanswered and the saved data is what was there before."""
    with running_server(module_args=("DEBUG_COMMAND", "yes", "THREADS_PER_QUEUE", 2)) as s:
        r = s.client()
        ok(cmd(r, "AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", models.torch_add_model()))
        ok(cmd(r, "AI.SCRIPTSTORE", "h", "CPU", "ENTRY_POINTS", 1, "hold", "SOURCE", HOLDS_ITS_WORKER))
        ok(cmd(r, "AI.TENSORSET", "a", "FLOAT", 2, "VALUES", 1, 2))
        conns = [Raw(s.port, name=f"c{i}") for i in range(6)]
        try:
            for i, c in enumerate(conns[:2]):
                c.send("AI.SCRIPTEXECUTE", "h", "hold", "KEYS", 2, "never_set", "holding",
                       "INPUTS", 1, "a", "OUTPUTS", 1, f"o{i}")
            wait_for(lambda: r.get("holding") == b"2", what="both workers to be held")
            for i, c in enumerate(conns[2:], 2):
                c.send("AI.DAGEXECUTE", "LOAD", 1, "a", "PERSIST", 1, f"o{i}",
                       "|>", "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, f"o{i}")
            wait_blocked(r, [f"c{i}" for i in range(6)])
            before = snapshot(r)
            with pytest.raises(redis.ConnectionError):
                r.execute_command("SHUTDOWN", "SAVE")
            s.proc.wait(timeout=60)
            assert s.proc.returncode == 0, s.log()[-3000:]
            for c in conns:      # the blocked clients are dropped, not answered
                with pytest.raises((AssertionError, ConnectionError)):
                    c.read()
        finally:
            for c in conns:
                c.close()
        log = s.log()
        assert "DB saved on disk" in log and "crashed by signal" not in log
        s.start()
        r = s.client()
        assert_same_snapshot(snapshot(r), before)
        ok(cmd(r, "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "c"))
        assert cmd(r, "AI.TENSORGET", "c", "VALUES") == [b"2", b"4"]


WAITS_FOR_REDIS = """
def wait_for_go(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("SET", "started", "1")
    while str(redis.execute("GET", keys[0])) != "go":  # polls: scripts may not call DEBUG SLEEP
        pass
    return tensors[0]
"""


def test_shutdown_while_a_script_waits_on_redis_leaves_cleanly():
    """A script that calls Redis cannot finish while Redis runs its shutdown (it needs Redis's
    lock): after a bounded wait the module exits cleanly (status 0, no crash report), the data
    saved before it."""
    with running_server(module_args=("DEBUG_COMMAND", "yes")) as s:
        r = s.client()
        ok(cmd(r, "AI.SCRIPTSTORE", "w", "CPU", "ENTRY_POINTS", 1, "wait_for_go", "SOURCE", WAITS_FOR_REDIS))
        ok(cmd(r, "AI.TENSORSET", "a", "FLOAT", 2, "VALUES", 1, 2))
        conn = Raw(s.port, name="waiter")
        try:
            conn.send("AI.SCRIPTEXECUTE", "w", "wait_for_go", "KEYS", 1, "flag", "INPUTS", 1, "a", "OUTPUTS", 1, "o")
            wait_for(lambda: r.exists("started"), what="the script to start")
            t0 = time.monotonic()
            with pytest.raises(redis.ConnectionError):
                r.execute_command("SHUTDOWN", "SAVE")
            s.proc.wait(timeout=30)
            elapsed = time.monotonic() - t0
        finally:
            conn.close()
        log = s.log()
        assert s.proc.returncode == 0, log[-3000:]
        assert "crashed by signal" not in log
        assert "A run is still in progress after 5000 ms: exiting without waiting for it" in log
        assert 4.5 < elapsed < 20, elapsed
        s.start()
        r = s.client()
        assert cmd(r, "AI.TENSORGET", "a", "VALUES") == [b"1", b"2"]
        assert r.get("started") == b"1" and not r.exists("o")


def test_shutdown_lets_runs_in_hand_finish_then_exits():
    """Workers finish the run they hold (the log says so) and take nothing new."""
    with running_server(module_args=("DEBUG_COMMAND", "yes")) as s:
        r = s.client()
        ok(cmd(r, "AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", len(ENTRY_POINTS), *ENTRY_POINTS, "SOURCE", SCRIPT))
        ok(cmd(r, "AI.TENSORSET", "a", "FLOAT", 2, "VALUES", 1, 2))
        n_slow = calibrate_slow(r, "s", "a", 0.5)
        conns = [Raw(s.port, name=f"c{i}") for i in range(3)]
        try:
            for i, c in enumerate(conns):
                c.send("AI.SCRIPTEXECUTE", "s", "slow", "INPUTS", 1, "a", "ARGS", 1, n_slow, "OUTPUTS", 1, f"o{i}")
            wait_blocked(r, [f"c{i}" for i in range(3)])
            with pytest.raises(redis.ConnectionError):
                r.execute_command("SHUTDOWN", "NOSAVE")
            s.proc.wait(timeout=30)
        finally:
            for c in conns:
                c.close()
        log = s.log()
        assert s.proc.returncode == 0, log[-3000:]
        assert "Clearing resources on shutdown" in log
        assert "still in progress" not in log and "crashed by signal" not in log
        s.start()  # and starts again on the same directory
        assert s.client().ping()
