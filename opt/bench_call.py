"""Where the time of one AI.MODELEXECUTE goes, at 1 client.

Against one redis-server with the module (THREADS_PER_QUEUE 1, INTRA_OP_PARALLELISM 1), one
closed-loop raw-RESP connection (bench_models.py's client: pre-encoded requests, minimal
parsing) measures p50/p99 over many calls of:

  (i)   PING: the bare round trip;
  (ii)  GET of a 120 B string: a plain Redis command with a payload the size of the input;
  (iii) AI.MODELEXECUTE of the tiny MLP 30->18->27->40->2 (TorchScript), input FLOAT 1x30 set once;
  (iv)  the same model in this process, 1 torch thread: torch.from_numpy -> forward -> .numpy(),
        each call timed.

Derived: what MODELEXECUTE adds over a bare round trip, p50(iii) - p50(i), and that minus the
model itself, p50(iv): the module's own cost (queueing to a worker, waking it, the adapter, the
reply). Target: <= 15 us. Also the GIL held per run (INFO ai_workers, "n/a" when the build has no
such counters). A MISS leaves the exit status 0; it is 1 only if the server failed.

GIL held per run, by backend: on the same server, a tiny model per backend -- TORCH (the tiny MLP),
a TORCH script (x * 2 + 1; and the same calling redis.execute('GET', [keys[0]])), ONNX (the tiny
MLP), TF (a * b) and TFLITE (a + b on 2x2), the last two built by tests/tf_models.py in a child
process (skipped, with the reason, where TensorFlow is not importable). Each gets one warm-up call
(its output checked), then --calls closed-loop calls at 1 client: p50, and the runs and GIL-held us
that INFO ai_workers counted over those calls (ai_<kind>_runs, ai_<kind>_gil_held_us deltas).

    .venv/bin/python opt/bench_call.py            # about 50 s
    .venv/bin/python opt/bench_call.py --quick    # about 35 s
"""
import argparse
import concurrent.futures
import json
import multiprocessing
import socket
import sys
import time
from pathlib import Path

import numpy as np

from bench_models import (HOST, ServerFailure, benchmark_run, check_output, fetch_tensor, load_torchscript,
                          machine_info, module_call, module_server, progress, reference, resp,
                          resp_replies_end, run_load, summarize, tiny_inputs, verdict)
from bench_common import ServerProbe, gil_text, table, tiny_input, tiny_mlp_bytes, tiny_mlp_onnx_bytes

ADDED_TARGET_US = 15.0
SCRIPT = """
def scale(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] * 2 + 1

def scale_get(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute('GET', [keys[0]])
    return tensors[0] * 2 + 1
"""


def inprocess(blob, x, seconds):
    """p50/p99 (ms, as run_load reports) of single in-process calls, 1 torch thread."""
    import torch
    torch.set_num_threads(1)
    model = load_torchscript(blob)
    times = []
    with torch.inference_mode():
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            model(torch.from_numpy(x)).numpy()
            times.append(time.perf_counter() - t0)
    lat = np.asarray(times[len(times) // 10:])  # the first calls warm up the JIT
    return {"calls": int(lat.size), "p50_ms": float(np.percentile(lat, 50) * 1e3),
            "p99_ms": float(np.percentile(lat, 99) * 1e3)}


def one_client(server, request, label, windows, mark=None):
    conn = (server.port, request, "resp", 1, 0.0, label)
    return run_load({"c": ([conn], 1)}, windows["warmup"], windows["load"], mark=mark)["c"]


def measure(server, blob, x, windows, cases, calls):
    client = server.client()
    module_call(client, "AI.MODELSTORE", "tiny", "TORCH", "CPU", "BLOB", blob)
    module_call(client, "AI.TENSORSET", "x", "FLOAT", *x.shape, "BLOB", x.tobytes())
    client.set("s", b"v" * 120)
    probe = ServerProbe(server)
    out = {}
    progress("(i) PING")
    out["ping"] = one_client(server, resp("PING"), "PING", windows)
    progress("(ii) GET 120 B")
    out["get"] = one_client(server, resp("GET", "s"), "GET", windows)
    progress("(iii) AI.MODELEXECUTE tiny MLP")
    out["execute"] = one_client(server, resp("AI.MODELEXECUTE", "tiny", "INPUTS", 1, "x", "OUTPUTS", 1, "y"),
                                "MODELEXECUTE", windows, mark=probe.mark)
    out["execute"].update(probe.window("TORCH"))
    expected = reference(blob, x)
    check_output("MODELEXECUTE tiny MLP", fetch_tensor(client, "y", expected.shape), expected)
    out["gil_by_backend"] = gil_by_backend(server, cases, calls)
    return out


def tf_payloads():
    """{"TF": tests/tf_models.py's a * b graph, "TFLITE": its a + b model}, bytes or the reason
    it could not be built. Run in a child process: TensorFlow never loads into this one."""
    import tf_models
    out = {}
    for kind, build in (("TF", tf_models.tf_mul_graph), ("TFLITE", tf_models.tflite_add_model)):
        try:
            out[kind] = build()
        except ImportError as e:
            out[kind] = f"tensorflow not importable ({e})"
        except Exception as e:  # a converter that cannot build it here
            out[kind] = f"could not build the model: {type(e).__name__}: {e}"
    return out


def in_child(fn):
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn).result(timeout=600)


def backend_cases(blob, x):
    """([(label, backend, setup commands, run command, expected output)], {label: skip reason}).
    The run command's last argument is its output key; "x" (FLOAT 1x30) and "s" are set by measure()."""
    expected_mlp = reference(blob, x)
    a, b = tiny_inputs()
    tf_blobs = in_child(tf_payloads)
    cases = [
        ("TORCH tiny MLP", "TORCH", [("AI.MODELSTORE", "g:torch", "TORCH", "CPU", "BLOB", blob)],
         ("AI.MODELEXECUTE", "g:torch", "INPUTS", 1, "x", "OUTPUTS", 1, "g:torch:y"), expected_mlp),
        ("TORCH script x * 2 + 1", "TORCHSCRIPT",
         [("AI.SCRIPTSTORE", "g:script", "CPU", "ENTRY_POINTS", 2, "scale", "scale_get", "SOURCE", SCRIPT)],
         ("AI.SCRIPTEXECUTE", "g:script", "scale", "INPUTS", 1, "x", "OUTPUTS", 1, "g:script:y"), x * 2 + 1),
        ("TORCH script x * 2 + 1 with redis.execute GET", "TORCHSCRIPT", [],
         ("AI.SCRIPTEXECUTE", "g:script", "scale_get", "KEYS", 1, "s", "INPUTS", 1, "x", "OUTPUTS", 1,
          "g:script_get:y"), x * 2 + 1),
        ("ONNX tiny MLP", "ONNX", [("AI.MODELSTORE", "g:onnx", "ONNX", "CPU", "BLOB", tiny_mlp_onnx_bytes())],
         ("AI.MODELEXECUTE", "g:onnx", "INPUTS", 1, "x", "OUTPUTS", 1, "g:onnx:y"), expected_mlp),
        ("TF a * b", "TF", [("AI.MODELSTORE", "g:tf", "TF", "CPU", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c",
                             "BLOB", tf_blobs["TF"])],
         ("AI.MODELEXECUTE", "g:tf", "INPUTS", 2, "x", "x", "OUTPUTS", 1, "g:tf:y"), x * x),
        ("TFLITE a + b, 2x2", "TFLITE",
         [("AI.TENSORSET", "g:a", "FLOAT", *a.shape, "BLOB", a.tobytes()),
          ("AI.TENSORSET", "g:b", "FLOAT", *b.shape, "BLOB", b.tobytes()),
          ("AI.MODELSTORE", "g:tflite", "TFLITE", "CPU", "BLOB", tf_blobs["TFLITE"])],
         ("AI.MODELEXECUTE", "g:tflite", "INPUTS", 2, "g:a", "g:b", "OUTPUTS", 1, "g:tflite:y"), a + b),
    ]
    skipped = {label: tf_blobs[backend] for label, backend, *_ in cases
               if isinstance(tf_blobs.get(backend), str)}
    for label, reason in skipped.items():
        progress(f"skipping {label}: {reason}")
    return [c for c in cases if c[0] not in skipped], skipped


def counted_calls(port, request, label, calls):
    """`calls` closed-loop sends of one pre-encoded request on one raw connection: run_load's summary."""
    latencies = []
    buf = bytearray()
    try:
        with socket.create_connection((HOST, port), timeout=30) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            started = time.perf_counter()
            for _ in range(calls):
                t0 = time.perf_counter()
                sock.sendall(request)
                while (end := resp_replies_end(buf, 1)) < 0:
                    data = sock.recv(1 << 20)
                    if not data:
                        raise ServerFailure(f"{label}: connection closed by the server")
                    buf += data
                latencies.append(time.perf_counter() - t0)
                if end != len(buf):
                    raise ServerFailure(f"{label}: {len(buf) - end} unexpected bytes after the reply")
                buf.clear()
    except ServerFailure as e:
        raise ServerFailure(f"{label}: {e}") from None
    except OSError as e:  # includes a timeout: a server that stopped answering
        raise ServerFailure(f"{label}: socket error: {e!r}") from None
    return summarize(latencies, time.perf_counter() - started)


def gil_by_backend(server, cases, calls):
    """Per case: one warm-up call (the first runs may release leftover Python objects; its output
    checked), then `calls` counted calls between two INFO ai_workers samples."""
    client, probe, out = server.client(), ServerProbe(server), {}
    for label, backend, setup, run, expected in cases:
        progress(f"GIL by backend: {label}, {calls} calls")
        for command in setup:
            module_call(client, *command)
        module_call(client, *run)
        check_output(label, fetch_tensor(client, run[-1], expected.shape), expected)
        probe.mark()
        out[label] = counted_calls(server.port, resp(*run), label, calls)
        probe.mark()
        out[label].update(probe.window(backend), backend=backend, command=run[0])
    return out


def gil_rows(gil, skipped, calls):
    """One row a backend; a note where INFO counted other than one run a call."""
    def count(n):
        return "n/a" if n is None else f"{n:,}"
    rows = [[label, r["command"], f"{r['p50_ms'] * 1e3:.1f}", count(r["runs"]), count(r["gil_held_us"]),
             gil_text(r["gil_us_per_run"]),
             "" if r["runs"] == calls else f"{calls:,} calls but {r['runs']:,} runs counted"]
            for label, r in gil.items()]
    return rows + [[label, "—", "—", "—", "—", "—", f"skipped: {reason}"] for label, reason in skipped.items()]


def report_rows(r):
    rows = [[label, f"{r[k]['p50_ms'] * 1e3:.1f}", f"{r[k]['p99_ms'] * 1e3:.1f}", f"{r[k]['calls']:,}", "—",
             "info"]
            for k, label in (("ping", "(i) PING"), ("get", "(ii) GET 120 B string"),
                             ("execute", "(iii) AI.MODELEXECUTE tiny MLP"),
                             ("inprocess", "(iv) same model in-process, 1 thread"))]
    added = (r["execute"]["p50_ms"] - r["ping"]["p50_ms"]) * 1e3
    own = added - r["inprocess"]["p50_ms"] * 1e3
    rows += [["MODELEXECUTE added latency over a bare round trip, p50 (iii) - (i)", f"{added:.1f}", "—", "—",
              "—", "info"],
             ["same minus the in-process model time, p50 (iii) - (i) - (iv)", f"{own:.1f}", "—", "—",
              f"<= {ADDED_TARGET_US:.0f}", verdict(own <= ADDED_TARGET_US)],
             ["GIL held per run, us (INFO ai_workers)", gil_text(r["execute"]["gil_us_per_run"]), "—", "—",
              "—", "info"]]
    return rows


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="shorter windows")
    parser.add_argument("--calls", type=int, metavar="N",
                        help="calls per backend for the GIL rows (default 2000, --quick 300)")
    parser.add_argument("--json", metavar="PATH", help="also write the raw numbers to PATH")
    return parser.parse_args()


def main():
    args = parse_args()
    windows = {"warmup": 0.3, "load": 1.5} if args.quick else {"warmup": 1.0, "load": 3.0}
    machine = machine_info()
    calls = args.calls or (300 if args.quick else 2000)
    blob, x = tiny_mlp_bytes(), tiny_input()
    progress("building the per-backend models")
    cases, skipped = backend_cases(blob, x)
    with benchmark_run("bench-call-") as outcome:
        with module_server({"threads_per_queue": 1, "torch_threads": 1}) as server:
            results = measure(server, blob, x, windows, cases, calls)
    if outcome["status"]:
        return outcome["status"]
    results["gil_skipped"] = skipped
    progress("(iv) in-process")
    results["inprocess"] = inprocess(blob, x, windows["load"])
    rows = report_rows(results)
    print(table(["what", "p50 us", "p99 us", "calls", "target", "result"], rows))
    gil = gil_rows(results["gil_by_backend"], skipped, calls)
    print(f"\nGIL held per run, by backend: 1 warm-up call, then {calls:,} calls at 1 client each "
          f"(INFO ai_workers deltas over those calls)\n")
    print(table(["model", "command", "p50 us", "runs", "GIL held us", "GIL us per run", "note"], gil))
    load = ", ".join(f"{v:.2f}" for v in machine["loadavg_at_start"])
    print(f"\n- nproc {machine['nproc']}, {machine['cpu_model']}, load average at start {load}; "
          f"{machine['redis_server']}; torch {machine['torch']}; module at git {machine['git']}, built "
          f"{machine['module_built']}; THREADS_PER_QUEUE 1, INTRA_OP_PARALLELISM 1; 1 raw RESP client, "
          f"warm-up {windows['warmup']} s, window {windows['load']} s per row")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "windows": windows, "calls": calls,
                                               "results": results, "rows": rows, "gil_rows": gil},
                                              indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
