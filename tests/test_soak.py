"""Soak: many client threads send a mix of AI commands to one real redis-server for a while.

* tensors of every dtype set, read back and deleted; TORCH/ONNX model runs; script runs; DAGs with
  LOAD/PERSIST and read-only DAGs; models and scripts stored, run and deleted again and again (also a
  model key deleted and re-stored under the feet of the clients running it); clients that leave
  mid-run, pipeline and leave, or send half a command;
* every reply is checked; the only errors allowed are the ones the workload provokes on purpose;
* after a warm-up, RSS (/proc/<pid>/status VmRSS) and used_memory stay flat, and once the workload
  stops and FLUSHALL runs, used_memory is back at the baseline taken the same way after the warm-up.

test_short_soak (about 15 s) always runs. test_soak runs only with RAI_SOAK=1, for RAI_SOAK_SECONDS
(default 180) seconds.
"""
import os
import random
import socket
import statistics
import threading
import time

import numpy as np
import pytest
import redis

import models
from redis_server import running_server, wait_for
from resp import encode

SOAK = os.environ.get("RAI_SOAK") == "1"
SOAK_SECONDS = float(os.environ.get("RAI_SOAK_SECONDS", "180"))

SCRIPT = """
def add2(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] + tensors[1]

def twice(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] * 2, tensors[0] * 3
"""
ENTRY_POINTS = ["add2", "twice"]

DTYPES = [("FLOAT", np.float32), ("DOUBLE", np.float64), ("INT8", np.int8), ("INT16", np.int16),
          ("INT32", np.int32), ("INT64", np.int64), ("UINT8", np.uint8), ("UINT16", np.uint16),
          ("BOOL", np.uint8), ("STRING", None)]
MLP_WIDTH = 128

# Errors the workload provokes on purpose: runs of the model key "flip", which a churn thread deletes
# and stores again all the time.
EXPECTED_FLIP_ERRORS = ("model key is empty",)

# --------------------------------------------------------------------------------------------------
# Measurements


def vm_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def quiet_used_memory(r):
    wait_for(lambda: r.info("clients")["connected_clients"] == 1, 20, what="the clients to go")
    wait_for(lambda: r.info("memory")["lazyfree_pending_objects"] == 0, 20, what="lazy free")
    r.slowlog_reset()
    return r.info("memory")["used_memory"]


# --------------------------------------------------------------------------------------------------
# The workload


def setup_static(r):
    assert r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", models.torch_add_model()) == b"OK"
    assert r.execute_command("AI.MODELSTORE", "o", "ONNX", "CPU", "BLOB", models.onnx_add_model()) == b"OK"
    assert r.execute_command("AI.MODELSTORE", "mlp", "TORCH", "CPU", "BLOB", models.torch_mlp_model(MLP_WIDTH)) == b"OK"
    assert r.execute_command("AI.MODELSTORE", "flip", "TORCH", "CPU", "BLOB", models.torch_add_model()) == b"OK"
    assert r.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", len(ENTRY_POINTS), *ENTRY_POINTS,
                             "SOURCE", SCRIPT) == b"OK"
    x = np.random.default_rng(0).standard_normal((64, MLP_WIDTH)).astype(np.float32)
    assert r.execute_command("AI.TENSORSET", "mlp:x", "FLOAT", *x.shape, "BLOB", x.tobytes()) == b"OK"


class Workload:
    """Worker threads, each on its own connection, until stop() is called."""

    KINDS = ["tensors", "models", "scripts", "dags", "churn", "leavers", "flip"]

    def __init__(self, server, threads_per_kind=2):
        self.server = server
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.ops = {k: 0 for k in self.KINDS}
        self.expected_errors = 0
        self.failures = []
        self.threads = [threading.Thread(target=self._run, args=(kind, f"{kind}{i}"), daemon=True)
                        for kind in self.KINDS for i in range(threads_per_kind)]

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(60)
        stuck = [t.name for t in self.threads if t.is_alive()]
        assert not stuck, f"client threads stuck: {stuck}"

    def _run(self, kind, tid):
        c = self.server.client()
        rng = random.Random(tid)
        step = getattr(self, "_" + kind)
        i = 0
        try:
            while not self.stop_event.is_set():
                i += 1
                step(c, rng, tid, i)
                with self.lock:
                    self.ops[kind] += 1
        except Exception as e:  # noqa: BLE001 - every unexpected error is a failure
            self.failures.append((tid, i, repr(e)))
        finally:
            c.connection_pool.disconnect()

    # one step of each kind ----------------------------------------------------------------------

    def _tensors(self, c, rng, tid, i):
        name, dt = DTYPES[i % len(DTYPES)]
        key = f"d:t:{tid}:{i % 16}"
        shape = [rng.randint(1, 8), rng.randint(1, 8)]
        if dt is None:
            words = [f"{tid}-{i}-{j}".encode() * rng.randint(0, 3) for j in range(shape[0] * shape[1])]
            blob = b"".join(w + b"\0" for w in words)
        else:
            n = shape[0] * shape[1]
            if name == "BOOL":
                a = np.array([rng.randint(0, 1) for _ in range(n)], np.uint8)
            else:
                a = np.frombuffer(bytes(rng.getrandbits(8) for _ in range(n * np.dtype(dt).itemsize)), dt)
            blob = a.tobytes()
        if i % 3 == 0 and dt is not None and name not in ("FLOAT", "DOUBLE"):
            values = [rng.randint(0, 1) for _ in range(shape[0] * shape[1])]
            assert c.execute_command("AI.TENSORSET", key, name, *shape, "VALUES", *values) == b"OK"
            blob = np.array(values, dt).tobytes()
        else:
            assert c.execute_command("AI.TENSORSET", key, name, *shape, "BLOB", blob) == b"OK"
        reply = c.execute_command("AI.TENSORGET", key, "META", "BLOB")
        assert reply == [b"dtype", name.encode(), b"shape", shape, b"blob", blob], (key, reply)
        if i % 5 == 0:
            assert c.unlink(key) == 1
        elif i % 7 == 0:
            assert c.delete(key) == 1

    def _models(self, c, rng, tid, i):
        a = np.array([[rng.random(), i], [len(tid), -i]], np.float32)
        src, out = f"d:m:{tid}:in", f"d:m:{tid}:out{i % 4}"
        assert c.execute_command("AI.TENSORSET", src, "FLOAT", 2, 2, "BLOB", a.tobytes()) == b"OK"
        model = "m" if i % 2 else "o"
        assert c.execute_command("AI.MODELEXECUTE", model, "INPUTS", 2, src, src, "OUTPUTS", 1, out) == b"OK"
        got = np.frombuffer(c.execute_command("AI.TENSORGET", out, "BLOB"), np.float32)
        np.testing.assert_array_equal(got, (a + a).reshape(-1))
        if i % 10 == 0:
            assert c.execute_command("AI.MODELEXECUTE", "mlp", "INPUTS", 1, "mlp:x", "OUTPUTS", 1,
                                     f"d:m:{tid}:mlp") == b"OK"
            assert c.execute_command("AI.TENSORGET", f"d:m:{tid}:mlp", "META") == \
                [b"dtype", b"FLOAT", b"shape", [64, MLP_WIDTH]]

    def _scripts(self, c, rng, tid, i):
        src = f"d:s:{tid}:in"
        assert c.execute_command("AI.TENSORSET", src, "FLOAT", 3, "VALUES", i, 1, -i) == b"OK"
        assert c.execute_command("AI.SCRIPTEXECUTE", "s", "twice", "INPUTS", 1, src,
                                 "OUTPUTS", 2, f"d:s:{tid}:2", f"d:s:{tid}:3") == b"OK"
        assert c.execute_command("AI.TENSORGET", f"d:s:{tid}:3", "VALUES") == [b"%d" % (3 * i), b"3", b"%d" % (-3 * i)]
        assert c.execute_command("AI.SCRIPTEXECUTE", "s", "add2", "INPUTS", 2, src, f"d:s:{tid}:2",
                                 "OUTPUTS", 1, f"d:s:{tid}:sum") == b"OK"
        assert c.execute_command("AI.TENSORGET", f"d:s:{tid}:sum", "VALUES") == [b"%d" % (3 * i), b"3", b"%d" % (-3 * i)]

    def _dags(self, c, rng, tid, i):
        src, out = f"d:g:{tid}:in", f"d:g:{tid}:out{i % 4}"
        assert c.execute_command("AI.TENSORSET", src, "FLOAT", 2, 2, "VALUES", i, 1, 2, 3) == b"OK"
        if i % 2:
            reply = c.execute_command(
                "AI.DAGEXECUTE", "LOAD", 1, src, "PERSIST", 1, out,
                "|>", "AI.TENSORSET", "k", "FLOAT", 2, 2, "VALUES", 1, 1, 1, 1,
                "|>", "AI.MODELEXECUTE", "o", "INPUTS", 2, src, "k", "OUTPUTS", 1, "t",
                "|>", "AI.SCRIPTEXECUTE", "s", "add2", "INPUTS", 2, "t", "k", "OUTPUTS", 1, out,
                "|>", "AI.TENSORGET", out, "VALUES")
            assert reply == [b"OK", b"OK", b"OK", [b"%d" % (i + 2), b"3", b"4", b"5"]], reply
            assert c.execute_command("AI.TENSORGET", out, "VALUES") == [b"%d" % (i + 2), b"3", b"4", b"5"]
        else:
            reply = c.execute_command(
                "AI.DAGEXECUTE_RO", "LOAD", 1, src,
                "|>", "AI.MODELEXECUTE", "m", "INPUTS", 2, src, src, "OUTPUTS", 1, "t",
                "|>", "AI.TENSORGET", "t", "VALUES")
            assert reply == [b"OK", [b"%d" % (2 * i), b"2", b"4", b"6"]], reply

    def _churn(self, c, rng, tid, i):
        mkey, skey = f"d:c:{tid}:model", f"d:c:{tid}:script"
        backend, blob = ("TORCH", models.torch_add_model()) if i % 2 else ("ONNX", models.onnx_add_model())
        assert c.execute_command("AI.MODELSTORE", mkey, backend, "CPU", "TAG", f"v{i}", "BLOB", blob) == b"OK"
        assert c.execute_command("AI.SCRIPTSTORE", skey, "CPU", "ENTRY_POINTS", 1, "add2", "SOURCE", SCRIPT) == b"OK"
        src = f"d:c:{tid}:in"
        assert c.execute_command("AI.TENSORSET", src, "FLOAT", 1, 2, "VALUES", i, 2) == b"OK"
        reply = c.execute_command("AI.DAGEXECUTE", "LOAD", 1, src,
                                  "|>", "AI.MODELEXECUTE", mkey, "INPUTS", 2, src, src, "OUTPUTS", 1, "t",
                                  "|>", "AI.SCRIPTEXECUTE", skey, "add2", "INPUTS", 2, "t", src, "OUTPUTS", 1, "u",
                                  "|>", "AI.TENSORGET", "u", "VALUES")
        assert reply == [b"OK", b"OK", [b"%d" % (3 * i), b"6"]], reply
        assert c.execute_command("AI.MODELGET", mkey, "META")[5] == f"v{i}".encode()
        if i % 3 == 0:   # deleted through the AI commands, or by DEL/UNLINK
            assert c.execute_command("AI.MODELDEL", mkey) == b"OK"
            assert c.execute_command("AI.SCRIPTDEL", skey) == b"OK"
        else:
            assert (c.unlink if i % 3 == 1 else c.delete)(mkey, skey) == 2
        for key in (mkey, skey):   # the statistics go with the value (UNLINK may free it a bit later)
            deadline = time.monotonic() + 10
            while True:
                try:
                    c.execute_command("AI.INFO", key)
                except redis.ResponseError as e:
                    assert str(e) == "cannot find run info for key", e
                    break
                assert time.monotonic() < deadline, f"AI.INFO {key} still answers after the delete"
                time.sleep(0.01)

    def _leavers(self, c, rng, tid, i):
        """Raw sockets that leave before the reply, pipeline and leave, or send half a command."""
        src = f"d:l:{tid}:in"
        assert c.execute_command("AI.TENSORSET", src, "FLOAT", 2, 2, "VALUES", 1, 2, 3, 4) == b"OK"
        commands = [
            ["AI.MODELEXECUTE", "mlp", "INPUTS", 1, "mlp:x", "OUTPUTS", 1, f"d:l:{tid}:gone"],
            ["AI.MODELEXECUTE", "m", "INPUTS", 2, src, src, "OUTPUTS", 1, f"d:l:{tid}:gone"],
            ["AI.DAGEXECUTE", "LOAD", 1, src, "PERSIST", 1, f"d:l:{tid}:gone",
             "|>", "AI.SCRIPTEXECUTE", "s", "add2", "INPUTS", 2, src, src, "OUTPUTS", 1, f"d:l:{tid}:gone"],
            ["AI.DAGEXECUTE_RO", "LOAD", 1, "mlp:x", "|>", "AI.MODELEXECUTE", "mlp", "INPUTS", 1, "mlp:x",
             "OUTPUTS", 1, "y", "|>", "AI.TENSORGET", "y", "BLOB"],
        ]
        payload = b"".join(encode(cmd) for cmd in rng.sample(commands, rng.randint(1, 3)))
        how = i % 3
        if how == 2:   # half a command
            payload = payload[:rng.randint(1, len(payload) - 1)]
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as sock:
            sock.sendall(payload)
            if how == 1:   # wait for the first reply, leave with the others unread
                sock.recv(1)
            elif rng.random() < 0.5:
                time.sleep(rng.random() * 0.01)

    def _flip(self, c, rng, tid, i):
        """One thread deletes and stores `flip` again and again, the other runs it: "model key is
        empty" is the only error allowed, and a run either fails that way or is right."""
        if tid.endswith("0"):
            if i % 2:
                assert c.execute_command("AI.MODELDEL", "flip") == b"OK"
            else:
                assert c.execute_command("AI.MODELSTORE", "flip", "TORCH", "CPU", "BLOB",
                                         models.torch_add_model()) == b"OK"
            time.sleep(0.002)
            return
        src = f"d:f:{tid}:in"
        assert c.execute_command("AI.TENSORSET", src, "FLOAT", 2, "VALUES", i, 1) == b"OK"
        try:
            assert c.execute_command("AI.MODELEXECUTE", "flip", "INPUTS", 2, src, src, "OUTPUTS", 1,
                                     f"d:f:{tid}:out") == b"OK"
        except redis.ResponseError as e:
            assert str(e) in EXPECTED_FLIP_ERRORS, e
            with self.lock:
                self.expected_errors += 1
            return
        assert c.execute_command("AI.TENSORGET", f"d:f:{tid}:out", "VALUES") == [b"%d" % (2 * i), b"2"]


def drain(r):
    """Wait for the work of the clients that left to finish: the statistics stop moving and a run
    queued now comes back."""
    sentinels = 0

    def stats():   # calls of every static model and script, less the sentinel runs
        calls = [r.execute_command("AI.INFO", k)[15] for k in ("m", "o", "mlp", "s")]
        calls[2] -= sentinels
        return calls
    previous = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert r.execute_command("AI.MODELEXECUTE", "mlp", "INPUTS", 1, "mlp:x", "OUTPUTS", 1, "__drain") == b"OK"
        sentinels += 1
        now = stats()
        if now == previous:
            r.delete("__drain")
            return
        previous = now
        time.sleep(0.3)
    raise AssertionError("the server never went idle")


def sample(server, stop, samples):
    c = server.client()
    try:
        while not stop.wait(1.0):
            info = c.info("memory")
            samples.append((time.monotonic(), vm_rss(server.proc.pid), info["used_memory"],
                            c.info("clients")["blocked_clients"]))
    finally:
        c.connection_pool.disconnect()


def soak(seconds, warmup, threads_per_kind):
    """Returns the report of one soak; asserts everything that must hold at the end of any soak."""
    with running_server(module_args=("DEBUG_COMMAND", "yes", "THREADS_PER_QUEUE", 2)) as s:
        r = s.client()
        setup_static(r)

        # warm-up: backends, queues, allocator pools, torch thread pools
        w = Workload(s, threads_per_kind)
        w.start()
        time.sleep(warmup)
        w.stop()
        assert not w.failures, w.failures[:5]
        drain(r)
        assert r.flushall()
        base_flushed = quiet_used_memory(r)
        setup_static(r)
        base_static = quiet_used_memory(r)
        base_rss = vm_rss(s.proc.pid)

        w = Workload(s, threads_per_kind)
        stop_sampling, samples = threading.Event(), []
        sampler = threading.Thread(target=sample, args=(s, stop_sampling, samples), daemon=True)
        w.start()
        sampler.start()
        try:
            time.sleep(seconds)
        finally:
            stop_sampling.set()
            w.stop()
            sampler.join(10)
        assert not w.failures, w.failures[:5]
        assert s.alive(), s.log()[-3000:]
        assert all(n > 0 for n in w.ops.values()), w.ops

        drain(r)
        wait_for(lambda: r.info("clients")["blocked_clients"] == 0, 30, what="no blocked client")
        # nothing left behind in the keyspace but what the workload keeps on purpose
        leftover = {k for k in r.keys() if not k.startswith(b"d:")}
        assert leftover <= {b"m", b"o", b"mlp", b"flip", b"s", b"mlp:x"}, leftover
        stats = {k: dict(zip(*[iter(r.execute_command("AI.INFO", k))] * 2)) for k in ("m", "o", "mlp", "s")}
        assert all(v[b"errors"] == 0 and v[b"calls"] > 0 for v in stats.values()), stats
        for key in r.keys("d:c:*"):
            assert r.type(key) == b"AI_TENSOR", key   # every churned model/script was deleted

        r.delete(*r.keys("d:*"))
        if r.exists("flip") == 0:   # the same model as before the measured phase
            assert r.execute_command("AI.MODELSTORE", "flip", "TORCH", "CPU", "BLOB", models.torch_add_model()) == b"OK"
        after_static = quiet_used_memory(r)
        assert r.flushall()
        after_flushed = quiet_used_memory(r)
        report = {
            "ops": dict(w.ops), "expected_errors": w.expected_errors, "samples": samples,
            "base_flushed": base_flushed, "after_flushed": after_flushed,
            "base_static": base_static, "after_static": after_static,
            "base_rss": base_rss, "after_rss": vm_rss(s.proc.pid),
        }
        # memory back at the baseline (tolerance: a few allocator pages, Redis's own stats)
        assert after_flushed - base_flushed < 256 * 1024, report
        assert after_static - base_static < 256 * 1024, report
        assert r.ping() and s.alive()
        return report


def summary(report):
    samples = report["samples"]
    return (f"soak: ops {report['ops']}, expected errors {report['expected_errors']}; "
            f"RSS MiB {[x[1] // 2**20 for x in samples]}; used_memory KiB {[x[2] // 1024 for x in samples]}; "
            f"after FLUSHALL {report['base_flushed']} -> {report['after_flushed']} bytes")


def assert_flat(samples, warmup_s, what, index, tolerance):
    t0 = samples[0][0]
    values = [x[index] for x in samples if x[0] - t0 >= warmup_s]
    assert len(values) >= 9, f"too few {what} samples: {len(values)}"
    third = len(values) // 3
    first, last = statistics.median(values[:third]), statistics.median(values[-third:])
    assert last - first <= tolerance(first), \
        f"{what} grew from {first / 2**20:.1f} MiB to {last / 2**20:.1f} MiB: {[v // 2**20 for v in values]}"


@pytest.mark.timeout(240)
def test_short_soak():
    report = soak(seconds=15, warmup=4, threads_per_kind=2)
    print(summary(report))
    # RSS may keep some of what the allocators took; it must not run away
    assert report["after_rss"] - report["base_rss"] < 128 * 2**20, report
    assert sum(report["ops"].values()) > 200, report["ops"]


@pytest.mark.skipif(not SOAK, reason="set RAI_SOAK=1 (and RAI_SOAK_SECONDS) to run the soak")
@pytest.mark.timeout(int(SOAK_SECONDS * 2 + 300))
def test_soak():
    warmup = max(10.0, SOAK_SECONDS * 0.15)
    report = soak(seconds=SOAK_SECONDS, warmup=warmup, threads_per_kind=3)
    samples = report["samples"]
    # the first samples of the measured phase still see the pools grow: skip another 20 %
    settle = SOAK_SECONDS * 0.2
    # used_memory: the live keys of the workload vary by a few hundred KiB at most
    assert_flat(samples, settle, "used_memory", 2, lambda v: 1 * 2**20 + 0.02 * v)
    # RSS: allocator and torch pools move by tens of MiB on their own
    assert_flat(samples, settle, "RSS", 1, lambda v: 48 * 2**20 + 0.05 * v)
    print(summary(report))
