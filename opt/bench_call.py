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

    .venv/bin/python opt/bench_call.py            # about 15 s
    .venv/bin/python opt/bench_call.py --quick    # about 8 s
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from bench_models import (benchmark_run, check_output, fetch_tensor, load_torchscript, machine_info,
                          module_call, module_server, progress, reference, resp, run_load, verdict)
from bench_common import ServerProbe, gil_text, table, tiny_input, tiny_mlp_bytes

ADDED_TARGET_US = 15.0


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


def measure(server, blob, x, windows):
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
    return out


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
    parser.add_argument("--json", metavar="PATH", help="also write the raw numbers to PATH")
    return parser.parse_args()


def main():
    args = parse_args()
    windows = {"warmup": 0.3, "load": 1.5} if args.quick else {"warmup": 1.0, "load": 3.0}
    machine = machine_info()
    blob, x = tiny_mlp_bytes(), tiny_input()
    with benchmark_run("bench-call-") as outcome:
        with module_server({"threads_per_queue": 1, "torch_threads": 1}) as server:
            results = measure(server, blob, x, windows)
    if outcome["status"]:
        return outcome["status"]
    progress("(iv) in-process")
    results["inprocess"] = inprocess(blob, x, windows["load"])
    rows = report_rows(results)
    print(table(["what", "p50 us", "p99 us", "calls", "target", "result"], rows))
    load = ", ".join(f"{v:.2f}" for v in machine["loadavg_at_start"])
    print(f"\n- nproc {machine['nproc']}, {machine['cpu_model']}, load average at start {load}; "
          f"{machine['redis_server']}; torch {machine['torch']}; module at git {machine['git']}, built "
          f"{machine['module_built']}; THREADS_PER_QUEUE 1, INTRA_OP_PARALLELISM 1; 1 raw RESP client, "
          f"warm-up {windows['warmup']} s, window {windows['load']} s per row")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "windows": windows, "results": results,
                                               "rows": rows}, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
