"""A three-step inference pipeline as one AI.DAGEXECUTE versus the same steps as separate commands.

The classic image-classification flow: a script turns a uint8 HWC image into a normalised NCHW
float batch, a small CNN (generated here: 2 conv layers, fixed weights, seed 0) gives 10
logits, a second script takes the argmax. Each client sends its own 32x32x3 image and reads
back the class, closed loop, 1 and 16 clients, against one redis-server with the module
(THREADS_PER_QUEUE 1, INTRA_OP_PARALLELISM 1: one core for the workers, one for Redis's main
thread and the clients on the 2-core standard machine).

* DAG: one round trip, nothing written to the keyspace:
  AI.DAGEXECUTE ROUTING img:{i} |> AI.TENSORSET img UINT8 32 32 3 BLOB ...
      |> AI.SCRIPTEXECUTE pre pre_process INPUTS 1 img OUTPUTS 1 x
      |> AI.MODELEXECUTE cnn INPUTS 1 x OUTPUTS 1 logits
      |> AI.SCRIPTEXECUTE post post_process INPUTS 1 logits OUTPUTS 1 cls
      |> AI.TENSORGET cls VALUES
* Separate commands, keys in between: TENSORSET img:{i}, SCRIPTEXECUTE -> x:{i},
  MODELEXECUTE -> logits:{i}, SCRIPTEXECUTE -> cls:{i}, TENSORGET cls:{i}, and a DEL of the
  four keys so that nothing is left either: six round trips, each sent when the previous reply
  is in (what a client library does call by call). Shown for information: the same six
  commands pipelined in one round trip.

Where the time goes: the server's CPU time per pipeline in each mode, and the three steps run
in this process on one thread (the work no server avoids). With every core busy (16 clients on
2 cores), the ratio is bounded by what a DAG saves per pipeline against that fixed work.

Target: DAG throughput >= 1.5x the separate commands', at 1 and at 16 clients; every run ends
with an empty keyspace apart from the stored model and scripts (checked). Replies are checked
against the same pipeline run in this process. A MISS is reported, the exit status stays 0;
it is 1 only if the server failed (error reply, hang, crash).

    .venv/bin/python opt/bench_dag.py            # about 40 s
    .venv/bin/python opt/bench_dag.py --quick    # about 15 s
    .venv/bin/python opt/bench_dag.py --json out.json  # also write the raw numbers
"""
import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench_common import ServerProbe
from bench_models import (ServerFailure, machine_info, markdown_table, module_call, progress, resp,
                          row, run_load, snapshot_module, start_module_server, verdict)

CLIENTS = (1, 16)
TARGET = 1.5
SIZE = 32
SCRIPT = """
def pre_process(tensors: List[Tensor], keys: List[str], args: List[str]):
    image = tensors[0].float() / 255.0
    return image.permute(2, 0, 1).unsqueeze(0)

def post_process(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0].argmax(dim=1)
"""


def cnn_bytes():
    import torch

    class SmallCNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(3, 16, 3, padding=1)
            self.conv2 = torch.nn.Conv2d(16, 32, 3, padding=1)
            self.fc = torch.nn.Linear(32, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = torch.nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
            x = torch.relu(self.conv2(x))
            return self.fc(torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1))

    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(SmallCNN().eval()), buf)
    return buf.getvalue()


def images(n):
    return [np.random.default_rng(i).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for i in range(n)]


def expected_classes(blob, imgs):
    """The pipeline run in this process, for checking the replies."""
    import torch
    cu = torch.jit.CompilationUnit(SCRIPT)
    model = torch.jit.load(io.BytesIO(blob))
    out = []
    with torch.inference_mode():
        for img in imgs:
            x = cu.pre_process([torch.from_numpy(img)], [], [])
            out.append(int(cu.post_process([model(x)], [], [])[0]))
    return out


def in_process_us(blob, img, repeat=300):
    """The three steps run in this process, one thread: the work no server can avoid, per pipeline."""
    import torch
    torch.set_num_threads(1)
    cu = torch.jit.CompilationUnit(SCRIPT)
    model = torch.jit.load(io.BytesIO(blob))
    image = torch.from_numpy(img)
    with torch.inference_mode():
        for _ in range(repeat // 10):  # warm-up: the profiling executor specialises first
            cu.post_process([model(cu.pre_process([image], [], []))], [], [])
        started = time.perf_counter()
        for _ in range(repeat):
            cu.post_process([model(cu.pre_process([image], [], []))], [], [])
    return (time.perf_counter() - started) / repeat * 1e6


def dag_request(i, img):
    return resp("AI.DAGEXECUTE", "ROUTING", f"img:{{{i}}}",
                "|>", "AI.TENSORSET", "img", "UINT8", SIZE, SIZE, 3, "BLOB", img.tobytes(),
                "|>", "AI.SCRIPTEXECUTE", "pre", "pre_process", "INPUTS", 1, "img", "OUTPUTS", 1, "x",
                "|>", "AI.MODELEXECUTE", "cnn", "INPUTS", 1, "x", "OUTPUTS", 1, "logits",
                "|>", "AI.SCRIPTEXECUTE", "post", "post_process", "INPUTS", 1, "logits", "OUTPUTS", 1, "cls",
                "|>", "AI.TENSORGET", "cls", "VALUES")


def separate_steps(i, img):
    keys = [f"{name}:{{{i}}}" for name in ("img", "x", "logits", "cls")]
    return [(resp("AI.TENSORSET", keys[0], "UINT8", SIZE, SIZE, 3, "BLOB", img.tobytes()), 1),
            (resp("AI.SCRIPTEXECUTE", "pre", "pre_process", "INPUTS", 1, keys[0], "OUTPUTS", 1, keys[1]), 1),
            (resp("AI.MODELEXECUTE", "cnn", "INPUTS", 1, keys[1], "OUTPUTS", 1, keys[2]), 1),
            (resp("AI.SCRIPTEXECUTE", "post", "post_process", "INPUTS", 1, keys[2], "OUTPUTS", 1, keys[3]), 1),
            (resp("AI.TENSORGET", keys[3], "VALUES"), 1),
            (resp("DEL", *keys), 1)]


def conns(port, imgs, kind):
    out = []
    for i, img in enumerate(imgs):
        if kind == "dag":
            out.append((port, dag_request(i, img), "resp", 1, 0.0, f"DAG client {i}"))
        elif kind == "separate":
            out.append((port, separate_steps(i, img), "resp", 0, 0.0, f"separate client {i}"))
        else:  # the six commands pipelined in one round trip
            out.append((port, b"".join(step for step, _ in separate_steps(i, img)), "resp", 6, 0.0,
                        f"pipelined client {i}"))
    return out


def check_replies(client, imgs, expected):
    """One DAG and one separate pipeline per image, compared with the in-process classes."""
    for i, img in enumerate(imgs):
        got = module_call(client, "AI.DAGEXECUTE", "ROUTING", f"img:{{{i}}}",
                          "|>", "AI.TENSORSET", "img", "UINT8", SIZE, SIZE, 3, "BLOB", img.tobytes(),
                          "|>", "AI.SCRIPTEXECUTE", "pre", "pre_process", "INPUTS", 1, "img", "OUTPUTS", 1, "x",
                          "|>", "AI.MODELEXECUTE", "cnn", "INPUTS", 1, "x", "OUTPUTS", 1, "logits",
                          "|>", "AI.SCRIPTEXECUTE", "post", "post_process", "INPUTS", 1, "logits",
                          "OUTPUTS", 1, "cls", "|>", "AI.TENSORGET", "cls", "VALUES")
        if got[-1] != [expected[i]]:
            raise ServerFailure(f"DAG for image {i} answered {got[-1]}, expected [{expected[i]}]")


def keyspace_clean(client):
    left = sorted(k.decode() for k in module_call(client, "KEYS", "*"))
    if left != ["cnn", "post", "pre"]:
        raise ServerFailure(f"keys left after the run: {left[:10]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter windows")
    parser.add_argument("--threads-per-queue", type=int, default=1)
    parser.add_argument("--json", metavar="PATH", help="also write the raw numbers to PATH")
    args = parser.parse_args()
    windows = {"warmup": 0.3, "load": 1.5} if args.quick else {"warmup": 1.0, "load": 4.0}
    settings = {"threads_per_queue": args.threads_per_queue, "torch_threads": 1, "client_procs": 2}
    started = time.monotonic()
    machine = machine_info()
    rows, status, results = [], 0, {}
    with tempfile.TemporaryDirectory(prefix="bench-dag-") as tmp:
        snapshot_module(tmp)
        server = start_module_server(settings)
        try:
            client = server.client()
            probe = ServerProbe(server)
            blob = cnn_bytes()
            module_call(client, "AI.MODELSTORE", "cnn", "TORCH", "CPU", "BLOB", blob)
            module_call(client, "AI.SCRIPTSTORE", "pre", "CPU", "ENTRY_POINTS", 1, "pre_process", "SOURCE", SCRIPT)
            module_call(client, "AI.SCRIPTSTORE", "post", "CPU", "ENTRY_POINTS", 1, "post_process", "SOURCE", SCRIPT)
            imgs = images(max(CLIENTS))
            check_replies(client, imgs[:4], expected_classes(blob, imgs[:4]))
            for n in CLIENTS:
                result = {}
                for kind in ("dag", "separate", "pipelined"):
                    progress(f"{kind}, {n} client(s)")
                    procs = 1 if n == 1 else settings["client_procs"]
                    result[kind] = run_load({kind: (conns(server.port, imgs[:n], kind), procs)},
                                            windows["warmup"], windows["load"], mark=probe.mark)[kind]
                    result[kind]["server_us_per_pipeline"] = (probe.window("TORCH")["server_cores"] * 1e6
                                                              / result[kind]["throughput"])
                    keyspace_clean(client)
                results[n] = result
                ratio = result["dag"]["throughput"] / result["separate"]["throughput"]
                rows.append(row(f"pipeline, {n} client(s)", "throughput, pipelines/s (alt: separate commands)",
                                f"{result['dag']['throughput']:,.0f}", f"{result['separate']['throughput']:,.0f}",
                                f"{ratio:.2f}x", f">= {TARGET}x", verdict(ratio >= TARGET)))
                rows.append(row(f"pipeline, {n} client(s)", "latency p50 / p99, ms",
                                f"{result['dag']['p50_ms']:.2f} / {result['dag']['p99_ms']:.2f}",
                                f"{result['separate']['p50_ms']:.2f} / {result['separate']['p99_ms']:.2f}"))
                pipelined = result["pipelined"]["throughput"]
                rows.append(row(f"pipeline, {n} client(s)",
                                "throughput, pipelines/s (alt: the six commands pipelined in one round trip)",
                                f"{result['dag']['throughput']:,.0f}", f"{pipelined:,.0f}",
                                f"{result['dag']['throughput'] / pipelined:.2f}x"))
                rows.append(row(f"pipeline, {n} client(s)",
                                "server CPU per pipeline, us (alt: separate commands)",
                                f"{result['dag']['server_us_per_pipeline']:,.0f}",
                                f"{result['separate']['server_us_per_pipeline']:,.0f}"))
            compute = in_process_us(blob, imgs[0])
            results["in_process_us"] = compute
            rows.append(row("the three steps in this process", "time per pipeline, us (one thread)",
                            f"{compute:,.0f}", "—"))
        except ServerFailure as e:
            status = 1
            print(f"\nMODULE FAILURE: {e}", file=sys.stderr)
        finally:
            server.cleanup()
    if rows:
        print(markdown_table(rows))
        print()
        print(f"- nproc: {machine['nproc']}; CPU: {machine['cpu_model']}; load average at start: {machine['loadavg_at_start']}")
        print("- module: THREADS_PER_QUEUE 1, INTRA_OP_PARALLELISM 1; clients: closed loop, "
              f"warm-up {windows['warmup']} s, measured window {windows['load']} s")
        print(f"- wall time: {time.monotonic() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "settings": settings, "windows": windows,
                                               "results": results}, indent=2, default=str))
    return status


if __name__ == "__main__":
    sys.exit(main())
