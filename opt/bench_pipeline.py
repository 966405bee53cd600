"""A standing pipeline (AI.PIPELINECREATE, docs/COMMANDS.md §7.6) against the same work done by a
client: XREADGROUP, AI.DAGEXECUTE, XADD of the results, XACK.

The fraud-sized model of bench_fraud.py (cat(ref 1x256, tx 1x30) -> 64 -> 2, seed 0), stored with
BATCHSIZE 32. Each input entry carries `ref` (1 KiB) and `tx` (120 B) as raw FLOAT bytes; each
output entry carries `entry_id` and `scores` (8 B). Both ways read up to 32 entries at a time and
run them as one batch, one batch in flight:

* pipeline: AI.PIPELINECREATE p INPUT in:m GROUP g SCHEMA 2 ref FLOAT 2 1 256 tx FLOAT 2 1 30
      OUTPUT out:m 1 scores DEADLETTER dl:m BATCH 32 |> AI.MODELEXECUTE fraud INPUTS 2 ref tx OUTPUTS 1 scores
* client (one process): XREADGROUP GROUP g c COUNT 32 BLOCK 100 STREAMS in:c >, then AI.DAGEXECUTE
  (TENSORSET of the batch's ref and tx, MODELEXECUTE, TENSORGET scores BLOB), then one round trip
  of XADD per entry and XACK.

Two phases per way, against one redis-server with the module (THREADS_PER_QUEUE 1,
INTRA_OP_PARALLELISM 1):
1. burst: a producer XADDs N entries as fast as it can (pipelined, 64 per round trip); entries/s
   through the pipeline = N / (first XADD to last output entry read). The producer alone (into a
   stream nobody reads) is shown too: no way can go faster than it.
2. paced: the producer XADDs one entry at a time at a fixed rate; end-to-end latency p50/p99 per
   entry, from the producer's send to a reader's XREAD of its output entry (one monotonic clock,
   separate processes).
Outputs are checked against the model run in this process; every entry must be answered once,
none dead-lettered, none left pending. Exit status 1 only if the server failed.

    .venv/bin/python opt/bench_pipeline.py            # about 1 minute
    .venv/bin/python opt/bench_pipeline.py --quick    # about 20 s
"""
import argparse
import multiprocessing as mp
import sys
import time

import numpy as np

from bench_fraud import REF_SIZE, TX_SIZE, fraud_model_bytes
from bench_models import (ServerFailure, benchmark_run, load_torchscript, machine_info, module_call, module_server,
                          progress)
from bench_common import table

BATCH = 32
CHUNK = 64
SETTINGS = {"threads_per_queue": 1, "torch_threads": 1}
SCHEMA = ["SCHEMA", 2, "ref", "FLOAT", 2, 1, REF_SIZE, "tx", "FLOAT", 2, 1, TX_SIZE]


def payloads(n, seed=0):
    rng = np.random.default_rng(seed)
    refs = rng.standard_normal((n, REF_SIZE), dtype=np.float32)
    txs = rng.standard_normal((n, TX_SIZE), dtype=np.float32)
    return refs, txs


def connect(port):
    import redis
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=120)


def produce(port, stream, n, rate, sent):
    """XADD n entries: as fast as it can (rate 0, CHUNK per round trip) or one at a time at
    `rate` per second. Fills sent[id] = monotonic ns of the send."""
    r = connect(port)
    refs, txs = payloads(n)
    fields = [{"ref": refs[i].tobytes(), "tx": txs[i].tobytes()} for i in range(n)]
    start = time.monotonic_ns()
    out = {}
    if rate == 0:
        for at in range(0, n, CHUNK):
            pipe = r.pipeline(transaction=False)
            for f in fields[at:at + CHUNK]:
                pipe.xadd(stream, f)
            t = time.monotonic_ns()
            for i in pipe.execute():
                out[i] = t
    else:
        for k, f in enumerate(fields):
            due = start + int(k * 1e9 / rate)
            while time.monotonic_ns() < due:
                time.sleep(max(0.0, (due - time.monotonic_ns()) / 1e9))
            out[r.xadd(stream, f)] = time.monotonic_ns()
    sent.update(out)


def read_outputs(port, stream, n, received):
    """XREAD the output stream until n entries came: received[entry_id] = (monotonic ns, scores)."""
    r = connect(port)
    last = "0-0"
    out = {}
    while len(out) < n:
        got = r.xread({stream: last}, count=1000, block=30000)
        if not got:
            raise ServerFailure(f"no output entry for 30 s ({len(out)} of {n} read)")
        t = time.monotonic_ns()
        for eid, f in got[0][1]:
            out[f[b"entry_id"]] = (t, f[b"scores"])
            last = eid
    received.update(out)


def client_worker(port, stop):
    """The same work from a client: read a batch, one AI.DAGEXECUTE, write and acknowledge."""
    import redis
    r = connect(port)
    while not stop.is_set():
        try:
            got = r.xreadgroup("g", "c", {"in:c": ">"}, count=BATCH, block=100)
        except redis.ResponseError:
            got = None  # the streams are being reset between phases (UNBLOCKED, NOGROUP)
        if not got:
            continue
        entries = got[0][1]
        ids = [eid for eid, _ in entries]
        ref = b"".join(f[b"ref"] for _, f in entries)
        tx = b"".join(f[b"tx"] for _, f in entries)
        n = len(entries)
        reply = r.execute_command(
            "AI.DAGEXECUTE", "ROUTING", "in:c", "|>", "AI.TENSORSET", "ref", "FLOAT", n, REF_SIZE, "BLOB", ref,
            "|>", "AI.TENSORSET", "tx", "FLOAT", n, TX_SIZE, "BLOB", tx,
            "|>", "AI.MODELEXECUTE", "fraud", "INPUTS", 2, "ref", "tx", "OUTPUTS", 1, "scores",
            "|>", "AI.TENSORGET", "scores", "BLOB")
        scores = reply[-1]
        share = len(scores) // n
        pipe = r.pipeline(transaction=False)
        for k, eid in enumerate(ids):
            pipe.xadd("out:c", {"entry_id": eid, "scores": scores[k * share:(k + 1) * share]})
        pipe.xack("in:c", "g", *ids)
        pipe.execute()


def run_phase(port, way, n, rate):
    """Entries/s (first send to last output read) and latencies (ms) of n entries."""
    stream_in, stream_out = ("in:m", "out:m") if way == "pipeline" else ("in:c", "out:c")
    with mp.Manager() as manager:
        sent, received = manager.dict(), manager.dict()
        reader = mp.Process(target=read_outputs, args=(port, stream_out, n, received))
        reader.start()
        t0 = time.monotonic_ns()
        producer = mp.Process(target=produce, args=(port, stream_in, n, rate, sent))
        producer.start()
        producer.join()
        reader.join(timeout=600)
        if reader.exitcode != 0:
            raise ServerFailure(f"{way}: the output reader failed (exit {reader.exitcode})")
        sent, received = dict(sent), dict(received)
    last = max(t for t, _ in received.values())
    latencies = np.array([(received[i][0] - sent[i]) / 1e6 for i in sent])
    return {"entries_per_s": n / ((last - t0) / 1e9), "p50_ms": float(np.percentile(latencies, 50)),
            "p99_ms": float(np.percentile(latencies, 99)), "received": received, "sent_ids": sorted(sent)}


def expected_scores(model, n, first=20):
    """The in-process model's scores of the first entries the producer sends."""
    import torch
    refs, txs = payloads(n)
    with torch.no_grad():
        return model(torch.from_numpy(refs[:first]), torch.from_numpy(txs[:first])).numpy()


def check(way, result, expected):
    """Each entry answered once, with the in-process model's scores."""
    ids = result["sent_ids"]
    if sorted(result["received"]) != ids:
        raise ServerFailure(f"{way}: the output entries do not answer the input entries one to one")
    for k, eid in enumerate(sorted(ids, key=lambda i: tuple(int(x) for x in i.split(b"-")))[:len(expected)]):
        got = np.frombuffer(result["received"][eid][1], dtype=np.float32)
        if not np.allclose(got, expected[k], atol=1e-5):
            raise ServerFailure(f"{way}: scores of entry {k} differ from the in-process model")


def reset_streams(c):
    c.delete("in:m", "out:m", "dl:m", "in:c", "out:c")
    c.xgroup_create("in:c", "g", id="$", mkstream=True)
    module_call(c, "AI.PIPELINECREATE", "p", "INPUT", "in:m", "GROUP", "g", *SCHEMA, "OUTPUT", "out:m", 1, "scores",
                "DEADLETTER", "dl:m", "BATCH", BATCH, "|>", "AI.MODELEXECUTE", "fraud", "INPUTS", 2, "ref", "tx",
                "OUTPUTS", 1, "scores")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    burst, paced, rate = (3000, 1000, 500) if args.quick else (20000, 4000, 1000)
    blob = fraud_model_bytes()
    model = load_torchscript(blob)
    results = {}
    with benchmark_run("bench_pipeline_") as outcome:
        machine = machine_info()
        with module_server(SETTINGS) as server:
            c = server.client()
            module_call(c, "AI.MODELSTORE", "fraud", "TORCH", "CPU", "BATCHSIZE", BATCH, "BLOB", blob)
            stop = mp.Event()
            worker = mp.Process(target=client_worker, args=(server.port, stop))
            worker.start()
            try:
                reset_streams(c)
                t0 = time.monotonic()
                produce(server.port, "in:none", burst, 0, {})
                results["producer"] = burst / (time.monotonic() - t0)
                c.delete("in:none")
                for way in ("pipeline", "client"):
                    for phase, n, r in (("burst", burst, 0), ("paced", paced, rate)):
                        reset_streams(c)
                        progress(f"{way}, {phase}: {n} entries" + (f" at {r}/s" if r else ""))
                        result = run_phase(server.port, way, n, r)
                        check(way, result, expected_scores(model, n))
                        results[(way, phase)] = result
                info = dict(zip(*[iter(module_call(c, "AI.PIPELINELIST")[0])] * 2))
                if info[b"errors"] != 0 or info[b"pending"] != 0:
                    raise ServerFailure(f"the pipeline dead-lettered {info[b'errors']} or left {info[b'pending']} pending")
            finally:
                stop.set()
                worker.join(timeout=30)
        if outcome["status"] == 0:
            report(machine, results, burst, paced, rate)
    return outcome["status"]


def report(machine, results, burst, paced, rate):
    pipe, client = results[("pipeline", "burst")], results[("client", "burst")]
    rows = [
        ["entries/s, burst of %d" % burst, f"{pipe['entries_per_s']:,.0f}", f"{client['entries_per_s']:,.0f}",
         f"{pipe['entries_per_s'] / client['entries_per_s']:.2f}x"],
    ]
    rows.append(["producer alone, entries/s (the ceiling of the burst figure)", f"{results['producer']:,.0f}", "", ""])
    for what in ("p50_ms", "p99_ms"):
        p, cl = results[("pipeline", "paced")][what], results[("client", "paced")][what]
        rows.append([f"latency {what[:3]} (ms), {paced} entries at {rate}/s", f"{p:.2f}", f"{cl:.2f}",
                     f"{cl / p:.2f}x lower" if p > 0 else "—"])
    print(f"\nmachine: {machine['nproc']} cores, {machine['cpu_model']}; {machine['redis_server']}; "
          f"torch {machine['torch']}; module {machine['git']}")
    print(table(["", "AI.PIPELINECREATE", "client: XREADGROUP + AI.DAGEXECUTE + XADD", "pipeline vs client"], rows))


if __name__ == "__main__":
    sys.exit(main())
