"""Admission by time-to-response (docs/BEHAVIOUR.md §1.1): a burst beyond capacity with mixed
TIMEOUTs, RedisAI 1.2's behaviour (ADMISSION_CONTROL no) against the new one (yes), in one run.

One redis-server with the module (THREADS_PER_QUEUE 1, INTRA_OP_PARALLELISM 1), the 3x1024 MLP of
bench_models.py on TORCH/CPU. Its capacity is measured first (one client, back to back, which
also teaches the module its estimate). Then, for each setting, the same burst: CLIENTS client
threads, each sending `AI.MODELEXECUTE mlp INPUTS 1 x OUTPUTS 1 y{i} TIMEOUT t` at a fixed pace
(together OVERLOAD x capacity), one request outstanding per client, t cycling through TIMEOUTS
by client. A request is on time when it answers OK within its TIMEOUT; the others are answered
late, TIMEDOUT, or refused at once (with admission control).

Reported per setting: the share of requests answered on time, the shares timed out and refused,
and p50 / p99 latency of the OK answers. Target: admission control answers a larger share on
time. The exit status is 1 only if the server failed.

    .venv/bin/python opt/bench_admission.py            # about 40 s
    .venv/bin/python opt/bench_admission.py --quick    # about 20 s
    .venv/bin/python opt/bench_admission.py --json out.json
"""
import argparse
import json
import sys
import threading
import time
from pathlib import Path

import redis

from bench_models import (ServerFailure, benchmark_run, machine_info, markdown_table, mlp_input, mlp_model_bytes, module_call,
                          module_server, progress, row, verdict)

CLIENTS = 24
OVERLOAD = 1.5
TIMEOUTS = (5, 20, 100)  # ms
SETTINGS = {"threads_per_queue": 1, "torch_threads": 1}


def measure_capacity(client, blob_input, n):
    module_call(client, "AI.TENSORSET", "x", "FLOAT", 1, blob_input.shape[1], "BLOB", blob_input.tobytes())
    started = time.perf_counter()
    for _ in range(n):
        module_call(client, "AI.MODELEXECUTE", "mlp", "INPUTS", 1, "x", "OUTPUTS", 1, "y")
    return n / (time.perf_counter() - started)


def burst(port, rate, seconds):
    """Every client's outcomes: (timeout_ms, latency_ms, kind) with kind OK, TIMEDOUT or REFUSED."""
    outcomes, failures = [], []
    interval = CLIENTS / rate
    start_at = time.perf_counter() + 0.2

    def client(i):
        c = redis.Redis(host="127.0.0.1", port=port, socket_timeout=120)
        timeout = TIMEOUTS[i % len(TIMEOUTS)]
        mine = []
        k = 0
        try:
            while True:
                due = start_at + i * interval / CLIENTS + k * interval
                if due > start_at + seconds:
                    break
                time.sleep(max(0.0, due - time.perf_counter()))
                sent = time.perf_counter()
                try:
                    reply = c.execute_command("AI.MODELEXECUTE", "mlp", "INPUTS", 1, "x", "OUTPUTS", 1, f"y{i}",
                                              "TIMEOUT", timeout)
                    kind = reply.decode()
                except redis.ResponseError as e:
                    if "TIMEOUT cannot be met" not in str(e):
                        raise
                    kind = "REFUSED"
                mine.append((timeout, (time.perf_counter() - sent) * 1000, kind))
                k += 1
        except Exception as e:  # a server failure: reported, not swallowed
            failures.append(e)
        finally:
            c.close()
            outcomes.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise ServerFailure(f"a burst client failed: {failures[0]!r}")
    return outcomes


def summary(outcomes):
    n = len(outcomes)
    ok = sorted(lat for _, lat, kind in outcomes if kind == "OK")
    on_time = sum(1 for t, lat, kind in outcomes if kind == "OK" and lat <= t)

    def pct(p):
        return ok[min(len(ok) - 1, int(len(ok) * p / 100))] if ok else float("nan")
    return {"requests": n, "on_time": on_time / n, "timedout": sum(k == "TIMEDOUT" for *_, k in outcomes) / n,
            "refused": sum(k == "REFUSED" for *_, k in outcomes) / n, "p50_ms": pct(50), "p99_ms": pct(99)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter bursts")
    parser.add_argument("--json", metavar="PATH", help="also write the raw numbers to PATH")
    args = parser.parse_args()
    seconds = 3.0 if args.quick else 8.0
    started = time.monotonic()
    machine = machine_info()
    results = {}
    with benchmark_run("bench-admission-") as outcome:
        with module_server(SETTINGS) as server:
            client = server.client()
            module_call(client, "AI.MODELSTORE", "mlp", "TORCH", "CPU", "BLOB", mlp_model_bytes())
            capacity = measure_capacity(client, mlp_input(), 200)
            progress(f"capacity {capacity:,.0f} runs/s; offering {OVERLOAD * capacity:,.0f}/s")
            for mode in ("no", "yes"):
                module_call(client, "AI.CONFIG", "ADMISSION_CONTROL", mode)
                progress(f"burst, ADMISSION_CONTROL {mode}")
                results[mode] = summary(burst(server.port, OVERLOAD * capacity, seconds))
                time.sleep(1.0)  # the queue drains before the next burst
            results["capacity"] = capacity
    if outcome["status"]:
        return outcome["status"]
    old, new = results["no"], results["yes"]
    rows = [row("burst, mixed TIMEOUTs", "answered OK within TIMEOUT (alt: admission off)", f"{new['on_time']:.1%}",
                f"{old['on_time']:.1%}", f"{new['on_time'] / old['on_time']:.2f}x" if old["on_time"] else "—",
                "> 1x", verdict(new["on_time"] > old["on_time"])),
            row("burst, mixed TIMEOUTs", "TIMEDOUT / refused at once", f"{new['timedout']:.1%} / {new['refused']:.1%}",
                f"{old['timedout']:.1%} / {old['refused']:.1%}"),
            row("burst, mixed TIMEOUTs", "OK answers p50 / p99, ms", f"{new['p50_ms']:.1f} / {new['p99_ms']:.1f}",
                f"{old['p50_ms']:.1f} / {old['p99_ms']:.1f}")]
    print(markdown_table(rows))
    print()
    print(f"- nproc: {machine['nproc']}; CPU: {machine['cpu_model']}; load average at start: {machine['loadavg_at_start']}")
    print(f"- module: THREADS_PER_QUEUE 1, INTRA_OP_PARALLELISM 1; MLP 3x1024 capacity {results['capacity']:,.0f} runs/s; "
          f"{CLIENTS} clients offering {OVERLOAD}x that for {seconds:.0f} s each; TIMEOUTs {', '.join(map(str, TIMEOUTS))} ms")
    print(f"- wall time: {time.monotonic() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "settings": SETTINGS, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
