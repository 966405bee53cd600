"""Throughput of unbatched model runs as THREADS_PER_QUEUE grows: does a worker thread add a core?

Per THREADS_PER_QUEUE value (default 1, 2, 4, 8 up to the number of cores; --threads), one
redis-server with the module (INTRA_OP_PARALLELISM 1) runs, one after the other:

* tiny MLP 30->18->27->40->2 (Linear+ReLU, seed 0, torch.jit.script), input FLOAT 1x30, TORCH;
* mid MLP 3x1024 (bench_models.py's), input FLOAT 1x1024, TORCH;
* the tiny MLP as an ONNX graph (same weights, built with onnx.helper), ONNX;
* both TORCH models on GPU:0 too when torch.cuda.is_available().

Each is driven by closed-loop raw-RESP clients (default 64 connections over 4 processes), every
connection running AI.MODELEXECUTE m INPUTS 1 x:{i} OUTPUTS 1 y:{i} on its own input key, set
once before. Reported per configuration: calls/s, ratio to the 1-thread run, server CPU use in
cores (/proc/<pid>/stat utime+stime over the measured window) and the GIL held per run in us
(INFO ai_workers: ai_<backend>_gil_held_us / ai_<backend>_runs over the window; "n/a" when the
build has no such counters). Targets: ratio >= 0.8 x threads for TORCH (a worker must not wait
on the others), >= 1.0 for every other backend (more threads never cost throughput). Outputs
are checked against the in-process model once per configuration.

A measurement, not a test: a MISS leaves the exit status 0; it is 1 only if the server failed.
Clients share the cores with the server: on a 2-core machine 4 and 8 threads only show that
nothing breaks.

    .venv/bin/python opt/bench_scaling.py                 # about 1 minute per thread count
    .venv/bin/python opt/bench_scaling.py --quick         # about 15 s per thread count
    .venv/bin/python opt/bench_scaling.py --threads 1,2,4,8 --json out.json
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

from bench_models import (benchmark_run, check_output, fetch_tensor, machine_info, mlp_input, mlp_model_bytes,
                          module_call, module_server, progress, reference, resp, run_load, verdict)
from bench_common import ServerProbe, gil_text, table, tiny_input, tiny_mlp_bytes, tiny_mlp_onnx_bytes

TORCH_TARGET = 0.8  # x threads


def workloads():
    """(name, backend, device, model blob, input, expected output)."""
    import torch
    tiny, mlp = tiny_mlp_bytes(), mlp_model_bytes()
    x_tiny, x_mlp = tiny_input(), mlp_input()
    y_tiny, y_mlp = reference(tiny, x_tiny), reference(mlp, x_mlp)
    found = [("tiny MLP", "TORCH", "CPU", tiny, x_tiny, y_tiny),
             ("MLP 3x1024", "TORCH", "CPU", mlp, x_mlp, y_mlp),
             ("tiny MLP", "ONNX", "CPU", tiny_mlp_onnx_bytes(), x_tiny, y_tiny)]
    if torch.cuda.is_available():
        found += [("tiny MLP", "TORCH", "GPU:0", tiny, x_tiny, y_tiny),
                  ("MLP 3x1024", "TORCH", "GPU:0", mlp, x_mlp, y_mlp)]
    return found


def run_workload(server, probe, k, work, clients, client_procs, windows):
    name, backend, device, blob, x, expected = work
    client = server.client()
    key = f"m{k}"
    module_call(client, "AI.MODELSTORE", key, backend, device, "BLOB", blob)
    pipe = client.pipeline(transaction=False)
    for i in range(clients):
        pipe.execute_command("AI.TENSORSET", f"{key}:x:{i}", "FLOAT", *x.shape, "BLOB", x.tobytes())
    pipe.execute()
    conns = [(server.port, resp("AI.MODELEXECUTE", key, "INPUTS", 1, f"{key}:x:{i}", "OUTPUTS", 1,
                                f"{key}:y:{i}"), "resp", 1, 0.0, f"{name} {backend} {device} client {i}")
             for i in range(clients)]
    result = run_load({"run": (conns, client_procs)}, windows["warmup"], windows["load"],
                      mark=probe.mark)["run"]
    for i in (0, clients - 1):
        check_output(f"{name} {backend} {device} client {i}",
                     fetch_tensor(client, f"{key}:y:{i}", expected.shape), expected)
    module_call(client, "AI.MODELDEL", key)
    return {**result, **probe.window(backend)}


def bench_threads(threads, works, args, windows):
    with module_server({"threads_per_queue": threads, "torch_threads": 1}) as server:
        probe = ServerProbe(server)
        results = []
        for k, work in enumerate(works):
            progress(f"THREADS_PER_QUEUE {threads}: {work[0]} {work[1]} {work[2]}, {args.clients} clients")
            results.append(run_workload(server, probe, k, work, args.clients, args.client_procs, windows))
    return results


def report_rows(works, by_threads):
    base_threads = min(by_threads)
    rows = []
    for k, (name, backend, device, *_) in enumerate(works):
        base = by_threads[base_threads][k]["throughput"]
        for threads, results in by_threads.items():
            r = results[k]
            ratio = r["throughput"] / base
            goal = TORCH_TARGET * threads / base_threads if backend == "TORCH" else 1.0
            rows.append([name, backend, device, threads, f"{r['throughput']:,.0f}", f"{ratio:.2f}x",
                         f">= {goal:.1f}x", f"{r['server_cores']:.2f}", gil_text(r["gil_us_per_run"]),
                         f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}", verdict(ratio >= goal)])
    return rows


def parse_args():
    nproc = len(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--threads", default=",".join(str(t) for t in (1, 2, 4, 8) if t == 1 or t <= nproc),
                        help="THREADS_PER_QUEUE values, comma-separated (default 1,2,4,8 up to nproc)")
    parser.add_argument("--clients", type=int, default=64, help="closed-loop connections per run")
    parser.add_argument("--client-procs", type=int, default=4, help="load-generating processes per run")
    parser.add_argument("--quick", action="store_true", help="shorter windows")
    parser.add_argument("--json", metavar="PATH", help="also write the raw numbers to PATH")
    return parser.parse_args()


def main():
    args = parse_args()
    threads = sorted({int(t) for t in args.threads.split(",")})
    windows = {"warmup": 0.3, "load": 1.5} if args.quick else {"warmup": 1.0, "load": 4.0}
    machine = machine_info()
    started = time.monotonic()
    by_threads = {}
    with benchmark_run("bench-scaling-") as outcome:
        works = workloads()
        for t in threads:
            by_threads[t] = bench_threads(t, works, args, windows)
    rows = report_rows(works, by_threads) if by_threads else []
    print(table(["workload", "backend", "device", "THREADS_PER_QUEUE", "calls/s",
                 f"vs {min(threads)} thread(s)", "target", "server cores", "GIL us/run", "p50 / p99 ms",
                 "result"], rows))
    load = ", ".join(f"{x:.2f}" for x in machine["loadavg_at_start"])
    print(f"\n- nproc {machine['nproc']}, {machine['cpu_model']}, load average at start {load}; "
          f"{machine['redis_server']}; torch {machine['torch']}; module at git {machine['git']}, built "
          f"{machine['module_built']}; INTRA_OP_PARALLELISM 1; {args.clients} clients over "
          f"{args.client_procs} processes, warm-up {windows['warmup']} s, window {windows['load']} s; "
          f"wall time {time.monotonic() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "windows": windows, "args": vars(args),
                                               "results": by_threads, "rows": rows},
                                              indent=2, default=str) + "\n")
    return outcome["status"]


if __name__ == "__main__":
    sys.exit(main())
