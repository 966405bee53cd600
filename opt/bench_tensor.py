"""Tensor commands vs plain Redis strings: throughput and memory, side by side.

What it measures, against ONE redis-server (7.x) with install/redisai.so loaded (free loopback
port, temp dir, no persistence; always stopped at the end):

* Throughput, with redis-benchmark (50 clients, random keys over 1000, 4096-byte payload), at
  pipeline depth 1 and 16:
    - write: ``SET key:<n> <4096 bytes>``  vs  ``AI.TENSORSET tkey:<n> FLOAT 1024 BLOB <same bytes>``
    - read:  ``GET key:<n>``               vs  ``AI.TENSORGET tkey:<n> BLOB``
      (all 1000 keys of both kinds are written first, so every read hits).
  Each pair gets the same request count, calibrated so one run lasts about 3 s. Every
  measurement is repeated 3 times, interleaved (plain, module, plain, module, ...), and the
  median requests/sec is reported.
* Memory: ``MEMORY USAGE key SAMPLES 0`` of one 4096-byte string and one 1024-element FLOAT
  tensor, and the growth of INFO ``used_memory`` when 1000 of each are stored.

Targets (module / plain): throughput >= 0.90, memory <= 1.10. Missing a target is reported as
MISS in the table; the script still exits 0 (it is a measurement, not a test).

Run from the repository root:

    .venv/bin/python opt/bench_tensor.py                 # full run, about 2 minutes
    .venv/bin/python opt/bench_tensor.py --quick         # fewer requests, about 30 s
    .venv/bin/python opt/bench_tensor.py --json out.json # also write the raw numbers
"""
import argparse
import csv
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from redis_server import RedisServer  # noqa: E402

CLIENTS = 50
KEYSPACE = 1000
PIPELINES = (1, 16)
REPEATS = 3
PAYLOAD = "a" * 4096  # any 4096 bytes are a valid blob for 1024 FLOATs; printable for argv
ELEMENTS = len(PAYLOAD) // 4
THROUGHPUT_TARGET = 0.90  # module ops/s / plain ops/s must be >= this
MEMORY_TARGET = 1.10  # module bytes / plain bytes must be <= this

# (operation, plain Redis command, module command); __rand_int__ is expanded by redis-benchmark
# to a 12-digit number in [0, KEYSPACE).
PAIRS = (
    ("write 4 KB", ["SET", "key:__rand_int__", PAYLOAD],
     ["AI.TENSORSET", "tkey:__rand_int__", "FLOAT", str(ELEMENTS), "BLOB", PAYLOAD]),
    ("read 4 KB", ["GET", "key:__rand_int__"],
     ["AI.TENSORGET", "tkey:__rand_int__", "BLOB"]),
)


def key_name(template, i):
    """The key redis-benchmark produces from `template` for random number i."""
    return template.replace("__rand_int__", f"{i:012d}")


# ----------------------------------------------------------------------------- machine

def machine_info():
    """nproc, CPU model, redis-server version and load average, for the report."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    version = subprocess.run(["redis-server", "--version"], capture_output=True,
                             text=True).stdout.strip()
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "redis_server": version,
        "platform": platform.platform(),
        "loadavg_at_start": os.getloadavg(),
    }


# ----------------------------------------------------------------------------- throughput

def run_benchmark(port, command, pipeline, requests):
    """One redis-benchmark run of `command`; returns requests/sec parsed from its CSV output."""
    argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(CLIENTS),
            "-P", str(pipeline), "-n", str(requests), "-r", str(KEYSPACE), "--csv", *command]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if result.returncode != 0 or "error" in result.stderr.lower():
        raise RuntimeError(f"redis-benchmark failed for {command[0]}: {result.stderr.strip()}")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    if len(rows) != 1:
        raise RuntimeError(f"unexpected redis-benchmark output for {command[0]}: {result.stdout!r}")
    return float(rows[0]["rps"])


def calibrate_requests(port, command, pipeline, seconds):
    """A request count that makes one run of `command` last about `seconds`."""
    probe = 20_000 * pipeline
    rps = run_benchmark(port, command, pipeline, probe)
    return max(10_000, int(round(rps * seconds, -4)))


def median_pair(port, plain, module, pipeline, requests):
    """Interleaved repeats of plain and module command; the samples of each."""
    samples = {"plain": [], "module": []}
    for _ in range(REPEATS):
        samples["plain"].append(run_benchmark(port, plain, pipeline, requests))
        samples["module"].append(run_benchmark(port, module, pipeline, requests))
    return samples


def check_command(client, command):
    """Run `command` once (key 0) so that a failing command stops the run instead of being timed."""
    client.execute_command(*[key_name(arg, 0) for arg in command])


def populate(client):
    """Every key that the read benchmarks can hit: KEYSPACE strings and KEYSPACE tensors."""
    pipe = client.pipeline(transaction=False)
    for i in range(KEYSPACE):
        pipe.set(key_name("key:__rand_int__", i), PAYLOAD)
        pipe.execute_command("AI.TENSORSET", key_name("tkey:__rand_int__", i), "FLOAT",
                             ELEMENTS, "BLOB", PAYLOAD)
    pipe.execute()


def measure_throughput(server, seconds):
    """Median ops/s of every (operation, pipeline) pair, plain vs module."""
    client = server.client()
    client.flushall()
    populate(client)
    results = []
    for operation, plain, module in PAIRS:
        check_command(client, plain)
        check_command(client, module)
        for pipeline in PIPELINES:
            requests = calibrate_requests(server.port, plain, pipeline, seconds)
            print(f"  {operation}, pipeline {pipeline}: {REPEATS} x {requests} requests each ...",
                  file=sys.stderr, flush=True)
            samples = median_pair(server.port, plain, module, pipeline, requests)
            plain_ops = statistics.median(samples["plain"])
            module_ops = statistics.median(samples["module"])
            results.append({
                "operation": f"{operation} ({plain[0]} vs {module[0]}), -P {pipeline}",
                "kind": "throughput", "pipeline": pipeline, "requests": requests,
                "plain": plain_ops, "module": module_ops, "ratio": module_ops / plain_ops,
                "samples": samples,
            })
    return results


# ----------------------------------------------------------------------------- memory

def used_memory(client):
    return client.info("memory")["used_memory"]


def store_many(client, kind, count):
    """used_memory growth when `count` strings or tensors of 4096 bytes are stored."""
    client.flushall()
    before = used_memory(client)
    pipe = client.pipeline(transaction=False)
    for i in range(count):
        key = f"mem:{kind}:{i:012d}"  # same key length for both kinds
        if kind == "s":
            pipe.set(key, PAYLOAD)
        else:
            pipe.execute_command("AI.TENSORSET", key, "FLOAT", ELEMENTS, "BLOB", PAYLOAD)
    pipe.execute()
    return used_memory(client) - before


def memory_usage_of_one(client):
    """MEMORY USAGE (SAMPLES 0) of one 4096-byte string and one 1024-element FLOAT tensor."""
    client.flushall()
    client.set("mem:s", PAYLOAD)
    client.execute_command("AI.TENSORSET", "mem:t", "FLOAT", ELEMENTS, "BLOB", PAYLOAD)
    plain = client.execute_command("MEMORY", "USAGE", "mem:s", "SAMPLES", 0)
    module = client.execute_command("MEMORY", "USAGE", "mem:t", "SAMPLES", 0)
    return plain, module


def measure_memory(server):
    """Memory rows: one key's MEMORY USAGE, and used_memory growth for KEYSPACE keys."""
    client = server.client()
    plain, module = memory_usage_of_one(client)
    plain_many = store_many(client, "s", KEYSPACE)
    module_many = store_many(client, "t", KEYSPACE)
    client.flushall()
    return [
        {"operation": "MEMORY USAGE, one 4 KB value (bytes)", "kind": "memory",
         "plain": plain, "module": module, "ratio": module / plain},
        {"operation": f"used_memory delta, {KEYSPACE} x 4 KB (bytes)", "kind": "memory",
         "plain": plain_many, "module": module_many, "ratio": module_many / plain_many},
    ]


# ----------------------------------------------------------------------------- report

def verdict(row):
    """(target text, PASS/MISS) for a result row."""
    if row["kind"] == "throughput":
        return f">= {THROUGHPUT_TARGET:.2f}", "PASS" if row["ratio"] >= THROUGHPUT_TARGET else "MISS"
    return f"<= {MEMORY_TARGET:.2f}", "PASS" if row["ratio"] <= MEMORY_TARGET else "MISS"


def markdown_table(rows):
    lines = ["| operation | plain Redis | module | ratio (module/plain) | target | result |",
             "|---|---:|---:|---:|---|---|"]
    for row in rows:
        target, result = verdict(row)
        unit = " ops/s" if row["kind"] == "throughput" else " B"
        lines.append(f"| {row['operation']} | {row['plain']:,.0f}{unit} | {row['module']:,.0f}{unit} "
                     f"| {row['ratio']:.3f} | {target} | {result} |")
    return "\n".join(lines)


def machine_lines(machine):
    load = ", ".join(f"{x:.2f}" for x in machine["loadavg_at_start"])
    return "\n".join([
        f"- nproc: {machine['nproc']}",
        f"- CPU: {machine['cpu_model']}",
        f"- {machine['redis_server']}",
        f"- load average at start: {load}",
        f"- redis-benchmark: -c {CLIENTS} -r {KEYSPACE}, 4096-byte payload, "
        f"median of {REPEATS} interleaved runs",
    ])


def write_json(path, machine, rows):
    for row in rows:
        row["target"], row["result"] = verdict(row)
    Path(path).write_text(json.dumps({"machine": machine, "results": rows}, indent=2) + "\n")


# ----------------------------------------------------------------------------- main

def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer requests per run (about 0.5 s instead of 3 s)")
    parser.add_argument("--json", metavar="PATH", help="also write the raw numbers to PATH")
    return parser.parse_args()


def main():
    args = parse_args()
    seconds = 0.5 if args.quick else 3.0
    machine = machine_info()
    server = RedisServer(module_args=())
    started = time.monotonic()
    try:
        server.start()
        print(f"redis-server with module on 127.0.0.1:{server.port}", file=sys.stderr)
        rows = measure_throughput(server, seconds) + measure_memory(server)
    finally:
        server.cleanup()
    print(markdown_table(rows))
    print()
    print(machine_lines(machine))
    print(f"- wall time: {time.monotonic() - started:.0f} s")
    if args.json:
        write_json(args.json, machine, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
