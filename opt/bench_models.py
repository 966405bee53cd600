"""Serving TorchScript models from the module vs in-process, FastAPI and Triton (PyTriton).

What it measures, each part bounded in time, against servers on free loopback ports that are
always stopped at the end (redis-server with install/redisai.so, never port 6379):

1. Tiny model, ``forward(a, b) = a + b`` on 2x2 FLOAT.
   * Per-call time at 1 client: AI.TENSORSET a, AI.TENSORSET b, AI.MODELEXECUTE, AI.TENSORGET
     pipelined in ONE round trip with a redis-py ``pipeline(transaction=False)``, against the
     same TorchScript model called in this process in a Python loop (``torch.from_numpy`` ->
     model -> ``.numpy()``). The difference is the module's per-call overhead.
     Target: overhead <= 50 us. Also shown, for information: the same round trip sent by the
     light raw-socket client below (no redis-py encoding/parsing on the client side).
   * Throughput (calls/s) at 50 clients.
2. Mid-size model: 3-layer MLP (Linear/ReLU, 1024 wide, fixed weights, seed 0, torch.jit.script),
   input batch 1. 32 concurrent clients, each TENSORSET + MODELEXECUTE + TENSORGET in one round
   trip: throughput, p50/p99 latency, without auto-batching and with it (BATCHSIZE 32 with a few
   MINBATCHSIZE/MINBATCHTIMEOUT settings; the best is reported and named).
   Target: auto-batched throughput >= 2x unbatched.
3. The same MLP in a FastAPI app on uvicorn (uvloop + httptools, one process), POST raw float32
   bytes, reply raw bytes; 32 keep-alive clients. The app runs the model on at most
   THREADS_PER_QUEUE threads at once (anyio CapacityLimiter), with the same torch thread count as
   the module: the same thread budget. Target: module >= 3x FastAPI throughput (graded for the
   unbatched and for the auto-batched module).
3b. The same MLP behind Triton via nvidia-pytriton (Python backend, THREADS_PER_QUEUE instances,
   the same torch thread count), KServe v2 HTTP with binary tensor data, 32 keep-alive clients:
   without batching and with the dynamic batcher (max_batch_size 32, a couple of queue delays;
   best reported). Target: module auto-batched throughput >= Triton dynamic-batched throughput,
   at a p99 no worse. PyTriton pins numpy<2, so it lives in its own venv (default
   build/venv-triton, see requirements/bench.txt); without it this part reports "unavailable".
4. PING p99 latency (us) from one extra client (one PING every 2 ms) while the 32 MLP clients
   keep the workers busy (unbatched model). Target: <= 1 ms.

Thread budget (the same for every server): THREADS_PER_QUEUE 1 and 1 torch intra-op thread by
default (module: INTRA_OP_PARALLELISM; in-process loop, FastAPI, Triton: torch.set_num_threads,
and at most THREADS_PER_QUEUE model calls at once). On the 2-core standard machine that leaves
the other core to redis-server's main thread (uvicorn's loop, tritonserver) and the clients; 2
torch threads oversubscribe the cores and measured worse. --threads-per-queue / --torch-threads
change it.

Load clients: multiprocessing (no client-side GIL contention), each process multiplexing its
share of the connections with a selector; every client has its own connection and its own keys
and runs closed-loop (next request when the reply is in). Requests are pre-encoded (RESP or
HTTP/1.1) and replies parsed minimally, to keep client CPU low: on a 2-core machine clients and
servers share the cores. Every load run has a warm-up, then a measured window; replies are
checked (error replies stop the run with the exact command), outputs compared with the
in-process model once per configuration. One server at a time; the module's model runs and the
PING round trip of the same raw client are reported too, to show where the time goes.

Reading the numbers: every module number includes a loopback round trip; the raw-client PING
row of part 1 is that floor on this machine (on an idle VM it includes waking idle vCPUs, which
makes it larger than on a busy one). Background load on a 2-core machine moves everything: the
load average at start is printed; run it on a quiet machine.

Missing a target is reported as MISS; the script still exits 0 (a measurement, not a test).
It exits 1 only if a server failed (error reply, hang, crash), printing the repro.

Run from the repository root:

    .venv/bin/python opt/bench_models.py                  # full run, about 1.5 minutes
    .venv/bin/python opt/bench_models.py --quick          # shorter windows, about 40 s
    .venv/bin/python opt/bench_models.py --json out.json  # also write the raw numbers
"""
import argparse
import contextlib
import io
import itertools
import json
import multiprocessing
import os
import platform
import queue
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

HOST = "127.0.0.1"
TINY_CLIENTS = 50
MLP_CLIENTS = 32
WIDTH = 1024
MAX_BATCH = 32
# (label, MODELSTORE batching arguments); the best of the batched ones is reported.
BATCH_SETTINGS = (
    ("BATCHSIZE 32", ["BATCHSIZE", 32]),
    ("BATCHSIZE 32 MINBATCHSIZE 8 MINBATCHTIMEOUT 2", ["BATCHSIZE", 32, "MINBATCHSIZE", 8,
                                                       "MINBATCHTIMEOUT", 2]),
    ("BATCHSIZE 32 MINBATCHSIZE 16 MINBATCHTIMEOUT 5", ["BATCHSIZE", 32, "MINBATCHSIZE", 16,
                                                        "MINBATCHTIMEOUT", 5]),
)
TRITON_DELAYS_US = (0, 1000)  # dynamic batcher max_queue_delay_microseconds tried
PING_INTERVAL_S = 0.002

OVERHEAD_TARGET_US = 50.0
BATCHING_TARGET = 2.0     # auto-batched / unbatched throughput
FASTAPI_TARGET = 3.0      # module / FastAPI throughput
TRITON_TARGET = 1.0       # module auto-batched / Triton dynamic-batched throughput
PING_TARGET_US = 1000.0

DEFAULT_TRITON_PYTHON = ROOT / "build" / "venv-triton" / "bin" / "python"


class ServerFailure(RuntimeError):
    """A server answered an error, hung or died: the benchmark stops and prints the repro."""


# ----------------------------------------------------------------------------- machine

def machine_info():
    """nproc, CPU model, redis-server/torch versions, module build, load average."""
    import torch
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    redis_version = subprocess.run(["redis-server", "--version"], capture_output=True,
                                   text=True).stdout.strip()
    commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip()
    so = ROOT / "install" / "redisai.so"
    built = (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(so.stat().st_mtime))
             if so.exists() else "missing")
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "redis_server": redis_version,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git": commit,
        "module_built": built,
        "loadavg_at_start": os.getloadavg(),
    }


# ----------------------------------------------------------------------------- models

def torchscript_bytes(module):
    import torch
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(module), buf)
    return buf.getvalue()


def tiny_model_bytes():
    """forward(a, b) -> a + b."""
    import torch

    class Add(torch.nn.Module):
        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return a + b

    return torchscript_bytes(Add())


def mlp_model_bytes(width=WIDTH):
    """3 x Linear(width, width) with ReLU between, weights from seed 0: [batch, width] -> same."""
    import torch

    class MLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.l0 = torch.nn.Linear(width, width)
            self.l1 = torch.nn.Linear(width, width)
            self.l2 = torch.nn.Linear(width, width)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = torch.relu(self.l0(x))
            x = torch.relu(self.l1(x))
            return self.l2(x)

    torch.manual_seed(0)
    mlp = MLP()
    mlp.eval()
    return torchscript_bytes(mlp)


def load_torchscript(blob):
    import torch
    model = torch.jit.load(io.BytesIO(blob), map_location="cpu")
    model.eval()
    return model


def mlp_input():
    return np.random.default_rng(1).standard_normal((1, WIDTH), dtype=np.float32)


def reference(blob, *inputs):
    import torch
    model = load_torchscript(blob)
    with torch.inference_mode():
        return model(*[torch.from_numpy(np.ascontiguousarray(x)) for x in inputs]).numpy()


def check_output(what, got, expected):
    if got.shape != expected.shape:
        raise ServerFailure(f"{what}: wrong output shape {got.shape}, expected {expected.shape}")
    if not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
        raise ServerFailure(f"{what}: wrong output values, max abs diff {np.max(np.abs(got - expected))}")


# ----------------------------------------------------------------------------- wire formats

def resp(*args):
    """One command encoded as a RESP array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, int):
            arg = str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


def resp_replies_end(buf, count):
    """End offset of `count` complete top-level RESP replies in buf, or -1 if incomplete.
    An error reply raises ServerFailure with its text."""
    pos = 0
    for _ in range(count):
        pos = resp_reply_end(buf, pos)
        if pos < 0:
            return -1
    return pos


def resp_reply_end(buf, pos):
    eol = buf.find(b"\r\n", pos)
    if eol < 0:
        return -1
    kind = buf[pos:pos + 1]
    if kind in (b"+", b":"):
        return eol + 2
    if kind == b"-":
        raise ServerFailure(bytes(buf[pos + 1:eol]).decode(errors="replace"))
    if kind == b"$":
        n = int(buf[pos + 1:eol])
        end = eol + 2 + (n + 2 if n >= 0 else 0)
        return end if len(buf) >= end else -1
    if kind == b"*":
        n = int(buf[pos + 1:eol])
        pos = eol + 2
        for _ in range(max(n, 0)):
            pos = resp_reply_end(buf, pos)
            if pos < 0:
                return -1
        return pos
    raise ServerFailure(f"unexpected RESP reply: {bytes(buf[pos:pos + 40])!r}")


def http_post(path, body, headers=()):
    """A keep-alive HTTP/1.1 POST, pre-encoded."""
    head = [f"POST {path} HTTP/1.1", f"Host: {HOST}", "Connection: keep-alive",
            "Content-Type: application/octet-stream", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def http_reply_end(buf, _count=1):
    """End offset of one complete HTTP response (Content-Length framed) in buf, or -1.
    A non-200 status raises ServerFailure."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return -1
    head = bytes(buf[:head_end]).decode("latin-1")
    status = head.split("\r\n", 1)[0]
    length = None
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length is None:
        raise ServerFailure(f"HTTP reply without Content-Length: {status}")
    end = head_end + 4 + length
    if len(buf) < end:
        return -1
    if status.split(" ")[1] != "200":
        raise ServerFailure(f"{status}: {bytes(buf[head_end + 4:end])[:300]!r}")
    return end


PARSERS = {"resp": resp_replies_end, "http": http_reply_end}


# ----------------------------------------------------------------------------- load clients

def client_process(group, conns, go, start_at, warmup, duration, results):
    """Drive `conns` closed-loop, multiplexed with a selector. A conn is (port, request bytes,
    protocol, replies per request, pause after each reply in s, label); the request may also be
    a list of (bytes, replies) steps, each sent when the previous one is answered (separate round
    trips), or a tuple of such requests sent in turn (e.g. the same command on other keys, so
    that a closed loop still reads random keys without encoding in the loop). Reports the latencies of the requests completed inside the measured window
    [start+warmup, +duration], from the first step sent to the last reply."""
    report = {"group": group, "latencies": [], "errors": []}
    sel = selectors.DefaultSelector()
    state = []
    try:
        for port, request, proto, nreplies, pace, label in conns:
            sock = socket.create_connection((HOST, port), timeout=30)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            rounds = itertools.cycle([r if isinstance(r, list) else [(r, nreplies)]
                                      for r in (request if isinstance(request, tuple) else (request,))])
            c = {"sock": sock, "rounds": rounds, "steps": None, "step": 0, "parse": PARSERS[proto],
                 "pace": pace, "label": label, "buf": bytearray(), "sent": None, "due": None}
            sel.register(sock, selectors.EVENT_READ, c)
            state.append(c)
    except OSError as e:
        report["errors"].append(f"connect: {e}")
    results.put(("ready", group))
    go.wait(120)
    t0 = start_at.value
    measure_from, measure_to = t0 + warmup, t0 + warmup + duration
    for c in state:
        c["due"] = t0
    try:
        closed_loop(state, sel, measure_from, measure_to, report)
    except OSError as e:  # includes socket timeouts: a server that stopped reading or answering
        report["errors"].append(f"socket error: {e!r}")
    for c in state:
        c["sock"].close()
    results.put(("done", report))


def closed_loop(state, sel, measure_from, measure_to, report):
    """Send each connection's request when due, parse replies, record latencies; until the window
    is over and every request sent has its reply, or an error."""
    latencies = report["latencies"]
    pending = 0
    last_progress = time.monotonic()
    while not report["errors"]:
        now = time.monotonic()
        if now < measure_to:
            for c in state:
                if c["due"] is not None and now >= c["due"]:
                    c["step"] = 0
                    c["steps"] = next(c["rounds"])
                    c["sock"].sendall(c["steps"][0][0])
                    c["sent"] = time.monotonic()
                    c["due"] = None
                    pending += 1
        elif pending == 0:
            break
        if pending and now - last_progress > 15:
            stuck = [c["label"] for c in state if c["sent"] is not None]
            report["errors"].append(f"no reply for 15 s on {len(stuck)} connection(s) "
                                    f"({', '.join(stuck[:3])})")
            break
        dues = [c["due"] for c in state if c["due"] is not None]
        timeout = min(dues) - now if dues and now < measure_to else 0.05
        for key, _ in sel.select(timeout=min(max(timeout, 0.0), 0.05)):
            c = key.data
            data = c["sock"].recv(1 << 20)
            if not data:
                report["errors"].append(f"{c['label']}: connection closed by the server")
                break
            c["buf"] += data
            try:
                end = c["parse"](c["buf"], c["steps"][c["step"]][1])
            except ServerFailure as e:
                report["errors"].append(f"{c['label']}: {e}")
                break
            if end < 0:
                continue
            if c["step"] + 1 < len(c["steps"]) and len(c["buf"]) == end:
                c["buf"].clear()
                c["step"] += 1
                c["sock"].sendall(c["steps"][c["step"]][0])
                continue
            done = time.monotonic()
            last_progress = done
            if measure_from <= done <= measure_to:  # completions inside the window
                latencies.append(done - c["sent"])
            if len(c["buf"]) != end:
                report["errors"].append(f"{c['label']}: {len(c['buf']) - end} unexpected bytes "
                                        "after the reply")
                break
            c["buf"].clear()
            c["sent"] = None
            c["due"] = done + c["pace"]
            pending -= 1


def run_load(groups, warmup, duration, mark=None):
    """Run all groups at once, {name: (conns, processes)}; returns {name: summary}. `mark()`, if
    given, is called when the measured window opens and when it closes (server-side counters)."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    go = ctx.Event()
    start_at = ctx.Value("d", 0.0)
    procs = []
    for name, (conns, nprocs) in groups.items():
        nprocs = max(1, min(nprocs, len(conns)))
        for k in range(nprocs):
            p = ctx.Process(target=client_process, daemon=True,
                            args=(name, conns[k::nprocs], go, start_at, warmup, duration, results))
            p.start()
            procs.append(p)
    reports = []
    try:
        for _ in procs:
            results.get(timeout=120)  # ("ready", group)
        start_at.value = time.monotonic() + 0.05
        go.set()
        if mark:
            for edge in (start_at.value + warmup, start_at.value + warmup + duration):
                time.sleep(max(0.0, edge - time.monotonic()))
                mark()
        for _ in procs:
            reports.append(results.get(timeout=warmup + duration + 60)[1])
    except queue.Empty:
        raise ServerFailure(f"load clients of {', '.join(groups)} did not report in time (hang?)") from None
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
                p.join()
    errors = [e for r in reports for e in r["errors"]]
    if errors:
        raise ServerFailure("; ".join(errors[:5]))
    return {name: summarize([x for r in reports if r["group"] == name for x in r["latencies"]], duration)
            for name in groups}


def summarize(latencies, duration):
    lat = np.asarray(latencies, dtype=np.float64)
    if lat.size == 0:
        raise ServerFailure("no request completed inside the measured window")
    return {"calls": int(lat.size), "throughput": lat.size / duration,
            "p50_ms": float(np.percentile(lat, 50) * 1e3), "p99_ms": float(np.percentile(lat, 99) * 1e3),
            "mean_us": float(lat.mean() * 1e6)}


def progress(message):
    print(f"  {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- module server

def snapshot_module(tmp):
    """A private copy of install/redisai.so: a rebuild during the run cannot touch the loaded one."""
    import redis_server
    import shutil
    copy = Path(tmp) / "redisai.so"
    shutil.copy2(redis_server.MODULE, copy)
    redis_server.MODULE = copy


def start_module_server(settings):
    from redis_server import RedisServer
    server = RedisServer(module_args=("THREADS_PER_QUEUE", settings["threads_per_queue"],
                                      "INTRA_OP_PARALLELISM", settings["torch_threads"]))
    server.start()
    progress(f"redis-server with the module on {HOST}:{server.port}")
    return server


@contextlib.contextmanager
def module_server(settings):
    """A started module server, stopped at the end; a crash during the block is a ServerFailure,
    and a ServerFailure shows the server's log tail."""
    server = start_module_server(settings)
    try:
        yield server
        if not server.alive():
            raise ServerFailure("redis-server died during the run")
    except ServerFailure:
        print(f"redis-server log tail:\n{server.log()[-3000:]}", file=sys.stderr)
        raise
    finally:
        server.cleanup()


@contextlib.contextmanager
def benchmark_run(prefix):
    """A temp dir (removed at the end) holding a snapshot of the module. A ServerFailure inside
    is printed with its repro and ends the block with outcome["status"] 1: the exit status."""
    import shutil
    tmp = tempfile.mkdtemp(prefix=prefix)
    outcome = {"tmp": tmp, "status": 0}
    try:
        snapshot_module(tmp)
        yield outcome
    except ServerFailure as e:
        outcome["status"] = 1
        print(f"\nMODULE FAILURE (repro: the command named here, against install/redisai.so): {e}",
              file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def module_call(client, *args):
    try:
        return client.execute_command(*args)
    except Exception as e:  # the exact failing command is the repro
        shown = " ".join(a if isinstance(a, str) else (str(a) if isinstance(a, int) else f"<{len(a)} bytes>")
                         for a in args)
        raise ServerFailure(f"{shown} -> {type(e).__name__}: {e}") from e


def model_info(client, key):
    """AI.INFO as a dict (duration us, samples, calls, errors)."""
    reply = module_call(client, "AI.INFO", key)
    info = {}
    for name, value in zip(reply[::2], reply[1::2]):
        info[name.decode() if isinstance(name, bytes) else name] = (
            value.decode() if isinstance(value, bytes) else value)
    return info


def fetch_tensor(client, key, shape):
    blob = module_call(client, "AI.TENSORGET", key, "BLOB")
    return np.frombuffer(blob, dtype=np.float32).reshape(shape)


# ----------------------------------------------------------------------------- part 1: tiny model

def tiny_inputs():
    return np.arange(4, dtype=np.float32).reshape(2, 2), np.full((2, 2), 0.5, dtype=np.float32)


def timed_loop(call, seconds, chunk):
    """Mean seconds per call of `call()` over about `seconds` (after a short warm-up)."""
    for _ in range(chunk):
        call()
    n = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(chunk):
            call()
        n += chunk
        now = time.perf_counter()
        if now >= deadline:
            return (now - started) / n


def inprocess_tiny(blob, seconds):
    import torch
    model = load_torchscript(blob)
    a, b = tiny_inputs()

    def call():
        return model(torch.from_numpy(a), torch.from_numpy(b)).numpy()

    with torch.inference_mode():
        check_output("in-process tiny", call(), a + b)
        return timed_loop(call, seconds, 200)


def redispy_tiny(client, seconds):
    """AI.TENSORSET x2 + AI.MODELEXECUTE + AI.TENSORGET in one pipelined round trip."""
    a, b = tiny_inputs()
    abytes, bbytes = a.tobytes(), b.tobytes()
    pipe = client.pipeline(transaction=False)

    def call():
        pipe.execute_command("AI.TENSORSET", "tiny:a", "FLOAT", 2, 2, "BLOB", abytes)
        pipe.execute_command("AI.TENSORSET", "tiny:b", "FLOAT", 2, 2, "BLOB", bbytes)
        pipe.execute_command("AI.MODELEXECUTE", "tiny", "INPUTS", 2, "tiny:a", "tiny:b",
                             "OUTPUTS", 1, "tiny:c")
        pipe.execute_command("AI.TENSORGET", "tiny:c", "BLOB")
        return np.frombuffer(pipe.execute()[-1], dtype=np.float32).reshape(2, 2)

    try:
        check_output("module tiny (redis-py)", call(), a + b)
        return timed_loop(call, seconds, 20)
    except ServerFailure:
        raise
    except Exception as e:
        raise ServerFailure("redis-py pipeline TENSORSET/TENSORSET/MODELEXECUTE/TENSORGET on 'tiny': "
                            f"{e}") from e


def tiny_conns(port, clients, execute=True):
    """Per client: TENSORSET a, TENSORSET b, MODELEXECUTE, TENSORGET c in one round trip; without
    `execute`, the same minus MODELEXECUTE (TENSORGET a): what the model run itself adds."""
    a, b = tiny_inputs()
    conns = []
    for i in range(clients):
        request = (resp("AI.TENSORSET", f"tiny:a:{i}", "FLOAT", 2, 2, "BLOB", a.tobytes())
                   + resp("AI.TENSORSET", f"tiny:b:{i}", "FLOAT", 2, 2, "BLOB", b.tobytes()))
        if execute:
            request += (resp("AI.MODELEXECUTE", "tiny", "INPUTS", 2, f"tiny:a:{i}", f"tiny:b:{i}",
                             "OUTPUTS", 1, f"tiny:c:{i}")
                        + resp("AI.TENSORGET", f"tiny:c:{i}", "BLOB"))
        else:
            request += resp("AI.TENSORGET", f"tiny:a:{i}", "BLOB")
        conns.append((port, request, "resp", 4 if execute else 3, 0.0, f"tiny client {i}"))
    return conns


def bench_tiny(server, settings, windows):
    import torch
    torch.set_num_threads(settings["torch_threads"])
    blob = tiny_model_bytes()
    client = server.client()
    module_call(client, "AI.MODELSTORE", "tiny", "TORCH", "CPU", "BLOB", blob)
    progress("part 1: tiny a+b, in-process loop and redis-py pipeline at 1 client")
    inproc = inprocess_tiny(blob, windows["single"])
    redispy = redispy_tiny(client, windows["single"])
    progress("part 1: tiny a+b, raw RESP client at 1 client")
    raw1 = run_load({"tiny": (tiny_conns(server.port, 1), 1)}, windows["warmup"], windows["single"])["tiny"]
    no_exec = run_load({"tiny": (tiny_conns(server.port, 1, execute=False), 1)},
                       windows["warmup"], windows["single"])["tiny"]
    floor = run_load({"ping": ([(server.port, resp("PING"), "resp", 1, 0.0, "PING client")], 1)},
                     windows["warmup"], windows["single"])["ping"]
    progress(f"part 1: tiny a+b, {TINY_CLIENTS} clients")
    many = run_load({"tiny": (tiny_conns(server.port, TINY_CLIENTS), settings["client_procs"])},
                    windows["warmup"], windows["load"])["tiny"]
    a, b = tiny_inputs()
    for i in (0, TINY_CLIENTS - 1):
        check_output(f"module tiny client {i}", fetch_tensor(client, f"tiny:c:{i}", (2, 2)), a + b)
    return {"inprocess_us": inproc * 1e6, "redispy_us": redispy * 1e6, "raw1": raw1,
            "no_exec1": no_exec, "ping1": floor, "many": many,
            "inprocess_calls_per_s": 1.0 / inproc, "info": model_info(client, "tiny")}


# ----------------------------------------------------------------------------- part 2 & 4: MLP

def mlp_conns(port, model_key):
    x = mlp_input()
    conns = []
    for i in range(MLP_CLIENTS):
        request = (resp("AI.TENSORSET", f"mlp:in:{i}", "FLOAT", 1, WIDTH, "BLOB", x.tobytes())
                   + resp("AI.MODELEXECUTE", model_key, "INPUTS", 1, f"mlp:in:{i}",
                          "OUTPUTS", 1, f"mlp:out:{i}")
                   + resp("AI.TENSORGET", f"mlp:out:{i}", "BLOB"))
        conns.append((port, request, "resp", 3, 0.0, f"{model_key} client {i}"))
    return conns


def ping_conn(port):
    return (port, resp("PING"), "resp", 1, PING_INTERVAL_S, "PING probe")


def store_mlp_models(client, blob):
    keys = {"unbatched": "mlp:nobatch"}
    module_call(client, "AI.MODELSTORE", "mlp:nobatch", "TORCH", "CPU", "BLOB", blob)
    for k, (label, extra) in enumerate(BATCH_SETTINGS):
        key = f"mlp:batch{k}"
        module_call(client, "AI.MODELSTORE", key, "TORCH", "CPU", *extra, "BLOB", blob)
        keys[label] = key
    return keys


def run_mlp(server, client, key, expected, settings, windows, extra_groups=None):
    groups = {"mlp": (mlp_conns(server.port, key), settings["client_procs"])}
    groups.update(extra_groups or {})
    result = run_load(groups, windows["warmup"], windows["load"])
    for i in (0, MLP_CLIENTS - 1):
        check_output(f"module {key} client {i}", fetch_tensor(client, f"mlp:out:{i}", (1, WIDTH)), expected)
    return result


def bench_mlp(server, blob, settings, windows):
    client = server.client()
    keys = store_mlp_models(client, blob)
    expected = reference(blob, mlp_input())
    configs = {}
    for label, key in keys.items():
        progress(f"part 2: MLP, {MLP_CLIENTS} clients, {label}")
        configs[label] = run_mlp(server, client, key, expected, settings, windows)["mlp"]
        configs[label]["model_key"] = key
        configs[label]["info"] = model_info(client, key)
    batched = {label: r for label, r in configs.items() if label != "unbatched"}
    best = max(batched, key=lambda label: batched[label]["throughput"])
    progress(f"part 4: PING probe while {MLP_CLIENTS} clients run the unbatched MLP")
    loaded = run_mlp(server, client, keys["unbatched"], expected, settings, windows,
                     {"ping": ([ping_conn(server.port)], 1)})
    return {"configs": configs, "best": best, "ping": loaded["ping"], "ping_load": loaded["mlp"]}


# ----------------------------------------------------------------------------- part 3: FastAPI

def serve_fastapi(model_path, port, torch_threads, concurrency):
    """Child process: the MLP in a FastAPI app on uvicorn; POST /infer raw float32 in and out."""
    import torch

    torch.set_num_threads(torch_threads)
    model = load_torchscript(Path(model_path).read_bytes())

    def run(body):
        x = torch.frombuffer(bytearray(body), dtype=torch.float32).reshape(-1, WIDTH)
        with torch.inference_mode():
            return model(x).numpy().tobytes()

    serve_fastapi_app(run, port, concurrency)


def serve_fastapi_app(run, port, concurrency):
    """POST /infer: raw bytes in, run(body) bytes out, at most `concurrency` runs at once."""
    import anyio
    import uvicorn
    from fastapi import FastAPI, Request, Response

    app = FastAPI()
    limiter = {}

    @app.post("/infer")
    async def infer(request: Request):
        if "limiter" not in limiter:  # created inside the event loop
            limiter["limiter"] = anyio.CapacityLimiter(concurrency)
        out = await anyio.to_thread.run_sync(run, await request.body(), limiter=limiter["limiter"])
        return Response(content=out, media_type="application/octet-stream")

    @app.get("/health")
    async def health():
        return {"ok": True}

    exit_when_parent_goes()
    uvicorn.run(app, host=HOST, port=port, loop="uvloop", http="httptools", log_level="warning",
                access_log=False, timeout_keep_alive=120)


def exit_when_parent_goes():
    """The parent holds our stdin; EOF (it exited or stopped us) means SIGTERM to ourselves."""
    import threading

    def watch():
        while os.read(0, 4096):  # the raw fd: no buffered-reader lock held at shutdown
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()


def start_child(python, argv, env=None, script=__file__):
    """A serving child (`script --serve-...`) in its own session (so it and its helpers are
    stopped as one group)."""
    return subprocess.Popen([str(python), str(Path(script).resolve()), *argv], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env=env)


def stop_child(proc, grace=30):
    """SIGTERM to the child's process group, SIGKILL after `grace` s; returns its output."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        out, _ = proc.communicate(timeout=grace)
    except subprocess.TimeoutExpired:
        out = ""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # helpers of the group (tritonserver, stubs) exiting
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    return out or ""


def wait_http(url, proc, timeout, what):
    import httpx
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}: {proc.stdout.read()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready after {timeout} s")


def bench_fastapi(model_path, settings, windows):
    import httpx
    from redis_server import free_port
    port = free_port()
    proc = start_child(sys.executable, ["--serve-fastapi", model_path, str(port),
                                        str(settings["torch_threads"]), str(settings["threads_per_queue"])])
    try:
        wait_http(f"http://{HOST}:{port}/health", proc, 60, "FastAPI server")
        progress(f"part 3: FastAPI + uvicorn on {HOST}:{port}, {MLP_CLIENTS} clients")
        x = mlp_input()
        reply = httpx.post(f"http://{HOST}:{port}/infer", content=x.tobytes(), timeout=30)
        reply.raise_for_status()
        check_output("FastAPI MLP", np.frombuffer(reply.content, dtype=np.float32).reshape(1, WIDTH),
                     reference(Path(model_path).read_bytes(), x))
        request = http_post("/infer", x.tobytes())
        conns = [(port, request, "http", 1, 0.0, f"FastAPI client {i}") for i in range(MLP_CLIENTS)]
        return run_load({"mlp": (conns, settings["client_procs"])}, windows["warmup"], windows["load"])["mlp"]
    finally:
        stop_child(proc)


# ----------------------------------------------------------------------------- part 3b: Triton

def triton_model_names():
    return ["mlp_nobatch"] + [f"mlp_dyn{d}" for d in TRITON_DELAYS_US]


def serve_triton(model_path, http_port, grpc_port, metrics_port, torch_threads, instances, workspace):
    """Child process (in the PyTriton venv): the MLP bound to Triton, unbatched and dynamic-batched."""
    import torch
    from pytriton.decorators import batch
    from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor

    torch.set_num_threads(torch_threads)
    model = load_torchscript(Path(model_path).read_bytes())

    def make_infer():
        @batch
        def infer(x):
            with torch.inference_mode():
                return {"y": model(torch.from_numpy(x)).numpy()}
        return infer

    def bind(triton):
        triton.bind(model_name="mlp_nobatch", infer_func=[make_infer() for _ in range(instances)],
                    inputs=[Tensor(name="x", dtype=np.float32, shape=(-1, WIDTH))],
                    outputs=[Tensor(name="y", dtype=np.float32, shape=(-1, WIDTH))],
                    config=ModelConfig(batching=False), strict=True)
        for delay in TRITON_DELAYS_US:
            triton.bind(model_name=f"mlp_dyn{delay}", infer_func=[make_infer() for _ in range(instances)],
                        inputs=[Tensor(name="x", dtype=np.float32, shape=(WIDTH,))],
                        outputs=[Tensor(name="y", dtype=np.float32, shape=(WIDTH,))],
                        config=ModelConfig(batching=True, max_batch_size=MAX_BATCH,
                                           batcher=DynamicBatcher(max_queue_delay_microseconds=delay)),
                        strict=True)

    run_triton(http_port, grpc_port, metrics_port, workspace, bind)


def run_triton(http_port, grpc_port, metrics_port, workspace, bind):
    """Child process: Triton with the models `bind(triton)` binds; READY once serving."""
    from pytriton.triton import Triton, TritonConfig

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    exit_when_parent_goes()
    config = TritonConfig(http_address=HOST, http_port=http_port, grpc_address=HOST, grpc_port=grpc_port,
                          metrics_port=metrics_port, allow_metrics=False, log_verbose=0)
    with Triton(config=config, workspace=workspace) as triton:
        bind(triton)
        triton.run()
        print("READY", flush=True)
        while True:
            time.sleep(1)


TRITON_TYPES = {np.dtype(np.float32): "FP32", np.dtype(np.int32): "INT32"}


def triton_body(inputs):
    """KServe v2 infer body with binary tensor data for {name: array}, one output y; and the
    length of its JSON header."""
    header = json.dumps({
        "inputs": [{"name": name, "shape": list(x.shape), "datatype": TRITON_TYPES[x.dtype],
                    "parameters": {"binary_data_size": x.nbytes}} for name, x in inputs.items()],
        "outputs": [{"name": "y", "parameters": {"binary_data": True}}],
    }).encode()
    return header + b"".join(x.tobytes() for x in inputs.values()), len(header)


def triton_request(model_name, inputs):
    """The same as a pre-encoded keep-alive HTTP/1.1 request."""
    body, header_len = triton_body(inputs)
    return http_post(f"/v2/models/{model_name}/infer", body,
                     [f"Inference-Header-Content-Length: {header_len}"])


def triton_infer(port, model_name, inputs):
    """One request with httpx: the flat float32 y tensor of the reply."""
    import httpx
    body, header_len = triton_body(inputs)
    reply = httpx.post(f"http://{HOST}:{port}/v2/models/{model_name}/infer", content=body, timeout=30,
                       headers={"Inference-Header-Content-Length": str(header_len),
                                "Content-Type": "application/octet-stream"})
    if reply.status_code != 200:
        raise RuntimeError(f"Triton {model_name}: HTTP {reply.status_code} {reply.text[:300]}")
    reply_header_len = int(reply.headers["Inference-Header-Content-Length"])
    return np.frombuffer(reply.content[reply_header_len:], dtype=np.float32)


def triton_env(python):
    """PyTriton's Python backend stub links libpython3.X.so; make it find the one matching the venv's
    standard library (a pyenv build may not be the system's)."""
    code = "import sysconfig; print(sysconfig.get_config_var('LIBDIR'))"
    libdir = subprocess.run([str(python), "-c", code], capture_output=True, text=True).stdout.strip()
    env = dict(os.environ)
    if libdir:
        env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (libdir, env.get("LD_LIBRARY_PATH")) if p)
    return env


def triton_unavailable_reason(python):
    if not Path(python).exists():
        return f"no PyTriton venv at {python} (see requirements/bench.txt)"
    probe = subprocess.run([str(python), "-c", "import pytriton, torch, numpy"], capture_output=True,
                           text=True)
    if probe.returncode != 0:
        return f"PyTriton venv cannot import pytriton/torch: {probe.stderr.strip().splitlines()[-1:]}"
    return None


def wait_ready_line(proc, timeout):
    """Wait for the child's READY line; the output read so far (for errors)."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
            break
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.strip() == "READY":
            return True, lines
    return False, lines


@contextlib.contextmanager
def triton_server(model_path, settings, script=__file__):
    """`script --serve-triton` in the PyTriton venv; yields its HTTP port once READY. RuntimeError
    (the caller reports Triton unavailable) if the venv is missing or Triton does not start."""
    import shutil
    from redis_server import free_port
    python = settings["triton_python"]
    reason = triton_unavailable_reason(python)
    if reason:
        raise RuntimeError(reason)
    http_port, grpc_port, metrics_port = free_port(), free_port(), free_port()
    workspace = tempfile.mkdtemp(prefix="bench-pytriton-")
    proc = start_child(python, ["--serve-triton", model_path, str(http_port), str(grpc_port),
                                str(metrics_port), str(settings["torch_threads"]),
                                str(settings["threads_per_queue"]),
                                str(Path(workspace) / "ws")],  # PyTriton creates it itself
                       env=triton_env(python), script=script)
    try:
        progress("starting Triton (PyTriton) ...")
        ready, lines = wait_ready_line(proc, 180)
        if not ready:
            tail = "".join(lines[-15:]).strip().replace("\n", " | ")[-600:]
            raise RuntimeError(f"Triton did not start: {tail or 'no output'}")
        yield http_port
    finally:
        stop_child(proc, grace=40)
        shutil.rmtree(workspace, ignore_errors=True)


def bench_triton(model_path, settings, windows):
    """Results per Triton model name."""
    with triton_server(model_path, settings) as http_port:
        x = mlp_input()
        expected = reference(Path(model_path).read_bytes(), x).reshape(-1)
        results = {}
        for name in triton_model_names():
            check_output(f"Triton {name}", triton_infer(http_port, name, {"x": x}), expected)
            progress(f"part 3b: Triton {name}, {MLP_CLIENTS} clients")
            conns = [(http_port, triton_request(name, {"x": x}), "http", 1, 0.0, f"Triton {name} client {i}")
                     for i in range(MLP_CLIENTS)]
            results[name] = run_load({"mlp": (conns, settings["client_procs"])},
                                     windows["warmup"], windows["load"])["mlp"]
        return results


# ----------------------------------------------------------------------------- report

def row(workload, metric, module, alternative="—", ratio="—", target="—", result="info"):
    return {"workload": workload, "metric": metric, "module": module, "alternative": alternative,
            "ratio": ratio, "target": target, "result": result}


def verdict(ok):
    return "PASS" if ok else "MISS"


def tiny_rows(t):
    w1, w50 = "1. tiny a+b 2x2, 1 client", f"1. tiny a+b 2x2, {TINY_CLIENTS} clients"
    overhead = t["redispy_us"] - t["inprocess_us"]
    raw_overhead = t["raw1"]["mean_us"] - t["inprocess_us"]
    return [
        row(w1, "time per call, us (module: redis-py pipeline, 1 round trip; alt: in-process loop)",
            f"{t['redispy_us']:.1f}", f"{t['inprocess_us']:.1f}",
            f"{t['redispy_us'] / t['inprocess_us']:.1f}x"),
        row(w1, "overhead per call, us (module − in-process)", f"{overhead:.1f}", "—", "—",
            f"<= {OVERHEAD_TARGET_US:.0f}", verdict(overhead <= OVERHEAD_TARGET_US)),
        row(w1, "same with the raw pre-encoded RESP client (no redis-py): time per call (overhead), us",
            f"{t['raw1']['mean_us']:.1f} ({raw_overhead:.1f})", f"{t['inprocess_us']:.1f}",
            f"{t['raw1']['mean_us'] / t['inprocess_us']:.1f}x", f"(overhead <= {OVERHEAD_TARGET_US:.0f})",
            f"info ({verdict(raw_overhead <= OVERHEAD_TARGET_US)})"),
        row(w1, "raw client, round trip with / without MODELEXECUTE (TENSORSET x2 + TENSORGET) / PING "
                "only, p50 us", f"{t['raw1']['p50_ms'] * 1e3:.1f} / {t['no_exec1']['p50_ms'] * 1e3:.1f} / "
                                f"{t['ping1']['p50_ms'] * 1e3:.1f}", "—", "—", "—",
            f"info (MODELEXECUTE adds {(t['raw1']['p50_ms'] - t['no_exec1']['p50_ms']) * 1e3:.1f} us "
            "at p50)"),
        row(w50, "throughput, calls/s (alt: in-process loop, 1 thread)", f"{t['many']['throughput']:,.0f}",
            f"{t['inprocess_calls_per_s']:,.0f}",
            f"{t['many']['throughput'] / t['inprocess_calls_per_s']:.2f}x"),
        row(w50, "latency p50 / p99, ms", f"{t['many']['p50_ms']:.2f} / {t['many']['p99_ms']:.2f}"),
    ]


def mlp_rows(m, fastapi, triton):
    w = f"2. MLP 3x1024, batch 1, {MLP_CLIENTS} clients"
    unb, best = m["configs"]["unbatched"], m["configs"][m["best"]]
    rows = []
    for label, r in m["configs"].items():
        rows.append(row(w, f"{label}: throughput calls/s, p50 / p99 ms", f"{r['throughput']:,.0f}",
                        f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}"))
    ratio = best["throughput"] / unb["throughput"]
    rows.append(row(w, f"auto-batched (best: {m['best']}) vs unbatched throughput",
                    f"{best['throughput']:,.0f}", f"{unb['throughput']:,.0f}", f"{ratio:.2f}x",
                    f">= {BATCHING_TARGET:.1f}x", verdict(ratio >= BATCHING_TARGET)))
    w3 = f"3. same MLP, FastAPI + uvicorn, {MLP_CLIENTS} clients"
    if isinstance(fastapi, str):
        rows.append(row(w3, "throughput", "—", fastapi, "—", f">= {FASTAPI_TARGET:.0f}x",
                        "skipped" if fastapi == "skipped" else "unavailable"))
    else:
        rows.append(row(w3, "FastAPI latency p50 / p99, ms", "—",
                        f"{fastapi['p50_ms']:.2f} / {fastapi['p99_ms']:.2f}"))
        for label, r in (("unbatched", unb), ("auto-batched", best)):
            ratio = r["throughput"] / fastapi["throughput"]
            rows.append(row(w3, f"throughput calls/s, module {label} vs FastAPI", f"{r['throughput']:,.0f}",
                            f"{fastapi['throughput']:,.0f}", f"{ratio:.2f}x", f">= {FASTAPI_TARGET:.0f}x",
                            verdict(ratio >= FASTAPI_TARGET)))
    w3b = f"3b. same MLP, Triton (PyTriton), {MLP_CLIENTS} clients"
    if "unavailable" in triton:
        skipped = triton["unavailable"] == "skipped"
        shown = "skipped" if skipped else f"unavailable: {triton['unavailable']}"
        rows.append(row(w3b, "throughput, p99", "—", shown, "—", ">= 1.0x at p99 no worse",
                        "skipped" if skipped else "unavailable"))
    else:
        t_unb = triton["mlp_nobatch"]
        dyn = {n: r for n, r in triton.items() if n != "mlp_nobatch"}
        t_best = max(dyn, key=lambda n: dyn[n]["throughput"])
        t_dyn = dyn[t_best]
        for name, r in triton.items():
            rows.append(row(w3b, f"Triton {name}: throughput calls/s, p50 / p99 ms", "—",
                            f"{r['throughput']:,.0f}; {r['p50_ms']:.2f} / {r['p99_ms']:.2f}"))
        rows.append(row(w3b, "unbatched throughput, module vs Triton (no batching)",
                        f"{unb['throughput']:,.0f}", f"{t_unb['throughput']:,.0f}",
                        f"{unb['throughput'] / t_unb['throughput']:.2f}x"))
        ratio = best["throughput"] / t_dyn["throughput"]
        delay = t_best.replace("mlp_dyn", "")
        rows.append(row(w3b, f"throughput, module auto-batched vs Triton dynamic batcher (best: "
                             f"max_queue_delay {delay} us)", f"{best['throughput']:,.0f}",
                        f"{t_dyn['throughput']:,.0f}", f"{ratio:.2f}x", f">= {TRITON_TARGET:.1f}x",
                        verdict(ratio >= TRITON_TARGET)))
        rows.append(row(w3b, "p99 latency ms, module auto-batched vs Triton dynamic batcher",
                        f"{best['p99_ms']:.2f}", f"{t_dyn['p99_ms']:.2f}",
                        f"{best['p99_ms'] / t_dyn['p99_ms']:.2f}x", "<= Triton's",
                        verdict(best["p99_ms"] <= t_dyn["p99_ms"])))
    w4 = f"4. PING, 1 extra client, {MLP_CLIENTS} MLP clients busy"
    p = m["ping"]
    rows.append(row(w4, f"PING p50 / p99, us (MLP load meanwhile: "
                        f"{m['ping_load']['throughput']:,.0f} calls/s)",
                    f"{p['p50_ms'] * 1e3:.0f} / {p['p99_ms'] * 1e3:.0f}", "—", "—",
                    f"p99 <= {PING_TARGET_US:.0f}", verdict(p["p99_ms"] * 1e3 <= PING_TARGET_US)))
    return rows


def markdown_table(rows):
    lines = ["| workload | metric | module | alternative | ratio | target | result |",
             "|---|---|---:|---:|---:|---|---|"]
    for r in rows:
        lines.append(f"| {r['workload']} | {r['metric']} | {r['module']} | {r['alternative']} | {r['ratio']} "
                     f"| {r['target']} | {r['result']} |")
    return "\n".join(lines)


def machine_lines(machine, settings, windows, mlp):
    load = ", ".join(f"{x:.2f}" for x in machine["loadavg_at_start"])
    lines = [
        f"- nproc: {machine['nproc']}; CPU: {machine['cpu_model']}; load average at start: {load}",
        f"- {machine['redis_server']}; torch {machine['torch']}; numpy {machine['numpy']}; "
        f"Python {machine['python']}; module at git {machine['git']}, install/redisai.so built "
        f"{machine['module_built']}",
        f"- module: THREADS_PER_QUEUE {settings['threads_per_queue']}, INTRA_OP_PARALLELISM "
        f"{settings['torch_threads']} (torch threads); in-process loop, FastAPI and Triton: "
        f"torch.set_num_threads({settings['torch_threads']}), at most {settings['threads_per_queue']} "
        f"model call(s) at once (FastAPI CapacityLimiter, Triton instances)",
        f"- clients: {settings['client_procs']} client processes per load run, closed loop, one connection "
        f"and its own keys per client; warm-up {windows['warmup']} s, measured window {windows['load']} s "
        f"(1-client runs {windows['single']} s)",
    ]
    if mlp:
        for label, r in mlp["configs"].items():
            info = r["info"]
            calls = int(info.get("calls", 0)) or 1
            per_call = int(info.get("duration", 0)) / calls
            lines.append(f"- AI.INFO {r['model_key']} ({label}): {calls} calls, mean run time "
                         f"{per_call:.0f} us per call (a batch charges each member the whole batch)")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main

def serving_arguments(parser):
    """The options of a benchmark that compares the module with FastAPI and Triton."""
    parser.add_argument("--quick", action="store_true", help="shorter windows")
    parser.add_argument("--json", metavar="PATH", help="also write the raw numbers to PATH")
    parser.add_argument("--threads-per-queue", type=int, default=1,
                        help="module THREADS_PER_QUEUE; also the model-call concurrency of FastAPI/Triton")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch intra-op threads everywhere (module INTRA_OP_PARALLELISM)")
    parser.add_argument("--client-procs", type=int, default=2, help="load-generating processes per run")
    parser.add_argument("--triton-python",
                        default=os.environ.get("BENCH_TRITON_PYTHON", str(DEFAULT_TRITON_PYTHON)),
                        help="python of the PyTriton venv (default build/venv-triton/bin/python)")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    serving_arguments(parser)
    parser.add_argument("--skip", action="append", default=[], choices=["tiny", "mlp", "fastapi", "triton"],
                        help="leave a part out (repeatable)")
    return parser.parse_args()


def child_main(argv, fastapi=None, triton=None):
    """Serving modes, run as children of the benchmark; another benchmark passes its own serving
    functions (the same arguments as serve_fastapi and serve_triton)."""
    if argv[0] == "--serve-fastapi":
        _, model_path, port, torch_threads, concurrency = argv
        (fastapi or serve_fastapi)(model_path, int(port), int(torch_threads), int(concurrency))
    elif argv[0] == "--serve-triton":
        _, model_path, http_port, grpc_port, metrics_port, torch_threads, instances, workspace = argv
        (triton or serve_triton)(model_path, int(http_port), int(grpc_port), int(metrics_port),
                                 int(torch_threads), int(instances), workspace)
    return 0


def module_parts(blob, settings, windows, skip, results):
    """Parts 1, 2 and 4 against one redis-server with the module; stopped at the end."""
    with module_server(settings) as server:
        if "tiny" not in skip:
            results["tiny"] = bench_tiny(server, settings, windows)
        if "mlp" not in skip:
            results["mlp"] = bench_mlp(server, blob, settings, windows)


def alternative_parts(model_path, settings, windows, skip, results):
    """Parts 3 and 3b; a failing alternative is reported as unavailable, never stops the run."""
    results["fastapi"] = "skipped"
    if "fastapi" not in skip:
        try:
            results["fastapi"] = bench_fastapi(model_path, settings, windows)
        except (RuntimeError, ImportError) as e:  # ServerFailure too: FastAPI's, not the module's
            results["fastapi"] = f"unavailable: {e}"
    results["triton"] = {"unavailable": "skipped"}
    if "triton" not in skip:
        try:
            results["triton"] = bench_triton(model_path, settings, windows)
        except RuntimeError as e:  # no venv, did not start, or an HTTP error
            results["triton"] = {"unavailable": str(e)}


def main():
    if len(sys.argv) > 1 and sys.argv[1].startswith("--serve-"):
        return child_main(sys.argv[1:])
    args = parse_args()
    windows = ({"warmup": 0.3, "load": 1.5, "single": 1.0} if args.quick
               else {"warmup": 1.0, "load": 4.0, "single": 2.0})
    settings = {"threads_per_queue": args.threads_per_queue, "torch_threads": args.torch_threads,
                "client_procs": args.client_procs, "triton_python": args.triton_python}
    machine = machine_info()
    started = time.monotonic()
    results = {"machine": machine, "settings": settings, "windows": windows}
    with benchmark_run("bench-models-") as outcome:
        model_path = str(Path(outcome["tmp"]) / "mlp.pt")
        blob = mlp_model_bytes()
        Path(model_path).write_bytes(blob)
        module_parts(blob, settings, windows, args.skip, results)
        if "mlp" not in args.skip:
            alternative_parts(model_path, settings, windows, args.skip, results)
    status = outcome["status"]
    rows = tiny_rows(results["tiny"]) if "tiny" in results else []
    if "mlp" in results and "triton" in results:
        rows += mlp_rows(results["mlp"], results["fastapi"], results["triton"])
    if rows:
        print(markdown_table(rows))
        print()
        print(machine_lines(machine, settings, windows, results.get("mlp")))
        print(f"- wall time: {time.monotonic() - started:.0f} s")
    results["rows"] = rows
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
