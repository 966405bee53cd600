"""Fraud detection: a model that joins a stored reference profile with the incoming transaction.

A TorchScript model (seed 0) takes a FLOAT 1x256 reference tensor (1 KiB) and a FLOAT 1x30
transaction (120 B) and gives FLOAT 1x2 scores. 10,000 references are stored beforehand under
ref:{i}. Each inference is ONE round trip:

  AI.DAGEXECUTE LOAD 1 ref:{id} |> AI.TENSORSET tx FLOAT 1 30 BLOB <120 B>
      |> AI.MODELEXECUTE fraud INPUTS 2 ref:{id} tx OUTPUTS 1 out |> AI.TENSORGET out BLOB

with random ids and transactions (each connection cycles through its own pre-encoded random
requests), closed loop at 1, 16 and 64 clients, the model stored unbatched and with BATCHSIZE 32.
In the same run, for comparison:

* plain Redis doing the data movement alone: GET of a 1 KiB string + SET of 120 B, pipelined in
  one round trip, 1 and 16 clients (the floor of any server-side join on this machine);
* the model in FastAPI + uvicorn and in Triton (PyTriton, when its venv exists), 16 clients, with
  the same thread budget as the module. They hold the 10,000 references in their own memory and
  get the id and the transaction (the best case for them: no feature store to call); unbatched,
  and for Triton also with the dynamic batcher (max batch 32).

Targets (for the 2-core standard machine): DAG p50 at 1 client <= 0.10 ms; unbatched >= 20,000
inferences/s at 16 clients; BATCHSIZE 32 >= 45,000/s at 64 clients. Outputs are checked against
the in-process model once per configuration. A MISS leaves the exit status 0; it is 1 only if the
module's server failed.

A separate file rather than a part of bench_models.py: it has its own model, data and flow; it
reuses bench_models.py's load clients, servers, FastAPI/Triton serving and report helpers.

    .venv/bin/python opt/bench_fraud.py            # about 1.5 minutes
    .venv/bin/python opt/bench_fraud.py --quick    # about 40 s
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from bench_models import (benchmark_run, check_output, child_main, http_post, load_torchscript, machine_info,
                          module_call, module_server, progress, reference, resp, run_load, run_triton,
                          serve_fastapi_app, serving_arguments, start_child, stop_child, torchscript_bytes,
                          triton_infer, triton_request, triton_server, verdict, wait_http)
from bench_common import table

REFS = 10_000
REF_SIZE = 256
TX_SIZE = 30
VARIANTS = 64            # pre-encoded random requests per connection
MAX_BATCH = 32
MODULE_CLIENTS = (1, 16, 64)
PEER_CLIENTS = 16
P50_TARGET_MS = 0.10
UNBATCHED_TARGET = 20_000   # inferences/s at 16 clients
BATCHED_TARGET = 45_000     # inferences/s at 64 clients
MODELS = {"unbatched": ("fraud", []), "BATCHSIZE 32": ("fraud:b32", ["BATCHSIZE", MAX_BATCH])}
TRITON_MODELS = {"unbatched": "fraud_nobatch", "dynamic batcher, max 32": "fraud_dyn"}


def fraud_model_bytes():
    """cat(ref, tx) -> Linear(286, 64) -> ReLU -> Linear(64, 2) -> softmax."""
    import torch

    class Fraud(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = torch.nn.Linear(REF_SIZE + TX_SIZE, 64)
            self.out = torch.nn.Linear(64, 2)

        def forward(self, ref: torch.Tensor, tx: torch.Tensor) -> torch.Tensor:
            h = torch.relu(self.hidden(torch.cat([ref, tx], dim=1)))
            return torch.softmax(self.out(h), dim=1)

    torch.manual_seed(0)
    return torchscript_bytes(Fraud().eval())


def references():
    """The 10,000 reference profiles: the same in this process and in the serving children."""
    return np.random.default_rng(3).standard_normal((REFS, REF_SIZE), dtype=np.float32)


def random_requests(seed, n):
    """n (id, transaction) pairs."""
    rng = np.random.default_rng(seed)
    return [(int(rng.integers(REFS)), rng.standard_normal((1, TX_SIZE), dtype=np.float32)) for _ in range(n)]


def random_conns(port, clients, encode, proto, label, replies=1):
    """Closed-loop conns, each cycling through its own random requests, encode(i, ref_id, tx)."""
    return [(port, tuple(encode(i, ref_id, tx) for ref_id, tx in random_requests(i, VARIANTS)), proto, replies,
             0.0, f"{label} client {i}") for i in range(clients)]


def dag_args(model_key, ref_id, tx):
    return ("AI.DAGEXECUTE", "LOAD", 1, f"ref:{ref_id}", "|>", "AI.TENSORSET", "tx", "FLOAT", 1, TX_SIZE,
            "BLOB", tx.tobytes(), "|>", "AI.MODELEXECUTE", model_key, "INPUTS", 2, f"ref:{ref_id}", "tx",
            "OUTPUTS", 1, "out", "|>", "AI.TENSORGET", "out", "BLOB")


def store_data(client, blob, refs):
    for key, extra in MODELS.values():
        module_call(client, "AI.MODELSTORE", key, "TORCH", "CPU", *extra, "BLOB", blob)
    pipe = client.pipeline(transaction=False)
    for i, ref in enumerate(refs):
        pipe.execute_command("AI.TENSORSET", f"ref:{i}", "FLOAT", 1, REF_SIZE, "BLOB", ref.tobytes())
        pipe.set(f"sref:{i}", ref.tobytes())
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()


def check_module(client, model_key, blob, refs):
    """One DAG with redis-py against the in-process model."""
    (ref_id, tx), = random_requests(99, 1)
    reply = module_call(client, *dag_args(model_key, ref_id, tx))
    got = np.frombuffer(reply[-1], dtype=np.float32).reshape(1, 2)
    check_output(f"DAG on {model_key}", got, reference(blob, refs[ref_id:ref_id + 1], tx))


def module_runs(server, blob, refs, settings, windows):
    client = server.client()
    store_data(client, blob, refs)
    results = {}
    for label, (key, _) in MODELS.items():
        check_module(client, key, blob, refs)
        for clients in MODULE_CLIENTS:
            progress(f"module DAG, {label}, {clients} client(s)")
            conns = random_conns(server.port, clients, lambda i, r, tx: resp(*dag_args(key, r, tx)), "resp",
                                 f"DAG {key}")
            results[(label, clients)] = run_load({"c": (conns, settings["client_procs"])}, windows["warmup"],
                                                 windows["load"])["c"]
    for clients in (1, PEER_CLIENTS):
        progress(f"plain Redis GET 1 KiB + SET 120 B, {clients} client(s)")
        conns = random_conns(server.port, clients,
                             lambda i, r, tx: resp("GET", f"sref:{r}") + resp("SET", f"tx:{i}", tx.tobytes()),
                             "resp", "GET+SET", replies=2)
        results[("plain Redis", clients)] = run_load({"c": (conns, settings["client_procs"])}, windows["warmup"],
                                                     windows["load"])["c"]
    return results


def fraud_request_body(ref_id, tx):
    return np.int32(ref_id).tobytes() + tx.tobytes()


def serve_fastapi(model_path, port, torch_threads, concurrency):
    """Child process: POST /infer, int32 id + 30 float32 in, 2 float32 out."""
    import torch
    torch.set_num_threads(torch_threads)
    model = load_torchscript(Path(model_path).read_bytes())
    refs = torch.from_numpy(references())

    def run(body):
        ref_id = int(np.frombuffer(body[:4], dtype=np.int32)[0])
        tx = torch.frombuffer(bytearray(body[4:]), dtype=torch.float32).reshape(1, TX_SIZE)
        with torch.inference_mode():
            return model(refs[ref_id:ref_id + 1], tx).numpy().tobytes()

    serve_fastapi_app(run, port, concurrency)


def bench_fastapi(model_path, settings, windows):
    import httpx
    from redis_server import free_port
    port = free_port()
    proc = start_child(sys.executable, ["--serve-fastapi", model_path, str(port), str(settings["torch_threads"]),
                                        str(settings["threads_per_queue"])], script=__file__)
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc, 60, "FastAPI server")
        (ref_id, tx), = random_requests(99, 1)
        reply = httpx.post(f"http://127.0.0.1:{port}/infer", content=fraud_request_body(ref_id, tx), timeout=30)
        reply.raise_for_status()
        blob = Path(model_path).read_bytes()
        check_output("FastAPI fraud", np.frombuffer(reply.content, dtype=np.float32).reshape(1, 2),
                     reference(blob, references()[ref_id:ref_id + 1], tx))
        progress(f"FastAPI + uvicorn, {PEER_CLIENTS} clients")
        conns = random_conns(port, PEER_CLIENTS, lambda i, r, tx: http_post("/infer", fraud_request_body(r, tx)),
                             "http", "FastAPI")
        return {"unbatched": run_load({"c": (conns, settings["client_procs"])}, windows["warmup"],
                                      windows["load"])["c"]}
    finally:
        stop_child(proc)


def serve_triton(model_path, http_port, grpc_port, metrics_port, torch_threads, instances, workspace):
    """Child process (PyTriton venv): inputs id INT32 and tx FP32, output y, unbatched and batched."""
    import torch
    from pytriton.decorators import batch
    from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor

    torch.set_num_threads(torch_threads)
    model = load_torchscript(Path(model_path).read_bytes())
    refs = torch.from_numpy(references())

    def make_infer():
        @batch
        def infer(ref_id, tx):
            with torch.inference_mode():
                return {"y": model(refs[torch.from_numpy(ref_id[:, 0]).long()], torch.from_numpy(tx)).numpy()}
        return infer

    def bind(triton):
        for name, batching, lead in ((TRITON_MODELS["unbatched"], False, (-1,)),
                                     (TRITON_MODELS["dynamic batcher, max 32"], True, ())):
            config = (ModelConfig(batching=True, max_batch_size=MAX_BATCH, batcher=DynamicBatcher())
                      if batching else ModelConfig(batching=False))
            triton.bind(model_name=name, infer_func=[make_infer() for _ in range(instances)],
                        inputs=[Tensor(name="ref_id", dtype=np.int32, shape=(*lead, 1)),
                                Tensor(name="tx", dtype=np.float32, shape=(*lead, TX_SIZE))],
                        outputs=[Tensor(name="y", dtype=np.float32, shape=(*lead, 2))],
                        config=config, strict=True)

    run_triton(http_port, grpc_port, metrics_port, workspace, bind)


def triton_inputs(ref_id, tx):
    return {"ref_id": np.array([[ref_id]], dtype=np.int32), "tx": tx}


def bench_triton(model_path, settings, windows):
    blob = Path(model_path).read_bytes()
    (ref_id, tx), = random_requests(99, 1)
    expected = reference(blob, references()[ref_id:ref_id + 1], tx).reshape(-1)
    results = {}
    with triton_server(model_path, settings, script=__file__) as port:
        for label, name in TRITON_MODELS.items():
            check_output(f"Triton {name}", triton_infer(port, name, triton_inputs(ref_id, tx)), expected)
            progress(f"Triton {name}, {PEER_CLIENTS} clients")
            conns = random_conns(port, PEER_CLIENTS, lambda i, r, tx: triton_request(name, triton_inputs(r, tx)),
                                 "http", f"Triton {name}")
            results[label] = run_load({"c": (conns, settings["client_procs"])}, windows["warmup"],
                                      windows["load"])["c"]
    return results


def peer(bench, model_path, settings, windows):
    """A peer's results, or the reason it is unavailable (its failure never stops the run)."""
    try:
        return bench(model_path, settings, windows)
    except (RuntimeError, ImportError) as e:  # ServerFailure too: the peer's, not the module's
        return f"unavailable: {e}"


def target_of(label, clients, r):
    if label == "unbatched" and clients == 1:
        return f"p50 <= {P50_TARGET_MS:.2f} ms", verdict(r["p50_ms"] <= P50_TARGET_MS)
    if label == "unbatched" and clients == PEER_CLIENTS:
        return f">= {UNBATCHED_TARGET:,}/s", verdict(r["throughput"] >= UNBATCHED_TARGET)
    if label == "BATCHSIZE 32" and clients == 64:
        return f">= {BATCHED_TARGET:,}/s", verdict(r["throughput"] >= BATCHED_TARGET)
    return "—", "info"


def report_rows(module, peers):
    def cells(server, label, clients, r, target="—", result="info"):
        return [server, label, clients, f"{r['throughput']:,.0f}", f"{r['p50_ms']:.3f}", f"{r['p99_ms']:.3f}",
                target, result]

    rows = []
    for (label, clients), r in module.items():
        if label == "plain Redis":
            rows.append(cells("plain Redis", "GET 1 KiB + SET 120 B, 1 round trip", clients, r))
        else:
            rows.append(cells("module", f"AI.DAGEXECUTE, {label}", clients, r, *target_of(label, clients, r)))
    for server, results in peers.items():
        if isinstance(results, str):
            rows.append([server, results, PEER_CLIENTS, "—", "—", "—", "—", "unavailable"])
            continue
        for label, r in results.items():
            rows.append(cells(server, label, PEER_CLIENTS, r))
    return rows


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    serving_arguments(parser)
    return parser.parse_args()


def main():
    if len(sys.argv) > 1 and sys.argv[1].startswith("--serve-"):
        return child_main(sys.argv[1:], serve_fastapi, serve_triton)
    args = parse_args()
    windows = {"warmup": 0.3, "load": 1.5} if args.quick else {"warmup": 1.0, "load": 4.0}
    settings = {"threads_per_queue": args.threads_per_queue, "torch_threads": args.torch_threads,
                "client_procs": args.client_procs, "triton_python": args.triton_python}
    machine = machine_info()
    started = time.monotonic()
    module, peers = {}, {}
    with benchmark_run("bench-fraud-") as outcome:
        model_path = str(Path(outcome["tmp"]) / "fraud.pt")
        blob = fraud_model_bytes()
        Path(model_path).write_bytes(blob)
        with module_server(settings) as server:
            module = module_runs(server, blob, references(), settings, windows)
        peers = {"FastAPI + uvicorn": peer(bench_fastapi, model_path, settings, windows),
                 "Triton (PyTriton)": peer(bench_triton, model_path, settings, windows)}
    rows = report_rows(module, peers)
    print(table(["server", "form", "clients", "inferences/s", "p50 ms", "p99 ms", "target", "result"], rows))
    load = ", ".join(f"{x:.2f}" for x in machine["loadavg_at_start"])
    print(f"\n- nproc {machine['nproc']}, {machine['cpu_model']}, load average at start {load}; "
          f"{machine['redis_server']}; torch {machine['torch']}; module at git {machine['git']}, built "
          f"{machine['module_built']}; THREADS_PER_QUEUE {args.threads_per_queue}, {args.torch_threads} torch "
          f"thread(s) everywhere, at most {args.threads_per_queue} model call(s) at once in FastAPI/Triton; "
          f"{args.client_procs} client processes, warm-up {windows['warmup']} s, window {windows['load']} s; "
          f"wall time {time.monotonic() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "settings": settings, "windows": windows,
                                               "module": {f"{label}, {n} clients": r
                                                          for (label, n), r in module.items()},
                                               "peers": peers, "rows": rows}, indent=2, default=str) + "\n")
    return outcome["status"]


if __name__ == "__main__":
    sys.exit(main())
