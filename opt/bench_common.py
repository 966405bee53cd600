"""What the GIL-free run path benchmarks share (bench_scaling.py, bench_call.py, bench_fraud.py):
the tiny MLP in TorchScript and ONNX, and a probe of the server's CPU time and GIL counters.
The load clients, servers and report helpers come from bench_models.py."""
import io
import os
import time
from pathlib import Path

import numpy as np

TINY_SIZES = (30, 18, 27, 40, 2)
# INFO section the GIL-free build adds: ai_<backend>_runs and ai_<backend>_gil_held_us, cumulative.
WORKERS_SECTION = "ai_workers"
GIL_FIELDS = {"TORCH": "torch", "TORCHSCRIPT": "script", "ONNX": "onnx", "TF": "tf", "TFLITE": "tflite"}


def tiny_mlp():
    """Linear+ReLU 30 -> 18 -> 27 -> 40 -> 2 (no ReLU after the last), weights from seed 0."""
    import torch
    torch.manual_seed(0)
    layers = []
    for n_in, n_out in zip(TINY_SIZES, TINY_SIZES[1:]):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1]).eval()


def tiny_mlp_bytes():
    import torch
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(tiny_mlp()), buf)
    return buf.getvalue()


def tiny_mlp_onnx_bytes():
    """The same weights as an ONNX graph (Gemm/Relu), built with onnx.helper: no exporter needed."""
    from onnx import TensorProto, helper, numpy_helper
    from models import _onnx_bytes
    linears = [m for m in tiny_mlp() if hasattr(m, "weight")]
    nodes, weights, name = [], [], "x"
    for k, linear in enumerate(linears):
        weights += [numpy_helper.from_array(linear.weight.detach().numpy(), f"w{k}"),
                    numpy_helper.from_array(linear.bias.detach().numpy(), f"b{k}")]
        out = "y" if k == len(linears) - 1 else f"h{k}"
        nodes.append(helper.make_node("Gemm", [name, f"w{k}", f"b{k}"], [out], transB=1))
        if out != "y":
            nodes.append(helper.make_node("Relu", [out], [f"r{k}"]))
            name = f"r{k}"
    graph = helper.make_graph(nodes, "tiny_mlp",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", TINY_SIZES[0]])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", TINY_SIZES[-1]])],
                              initializer=weights)
    return _onnx_bytes(graph)


def tiny_input():
    return np.random.default_rng(2).standard_normal((1, TINY_SIZES[0]), dtype=np.float32)


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ServerProbe:
    """Samples a server's CPU time and INFO ai_workers counters; mark() is run_load's window hook."""

    def __init__(self, server):
        self.server, self.client, self.marks = server, server.client(), []

    def mark(self):
        self.marks.append((time.monotonic(), cpu_seconds(self.server.proc.pid),
                           self.client.info(WORKERS_SECTION)))

    def window(self, backend):
        """Cores used over the last window; runs of `backend` and the GIL it held, in us, in
        all and per run (None if the module has no such counters, per run also if it ran nothing)."""
        (t0, cpu0, info0), (t1, cpu1, info1) = self.marks[-2:]
        b = GIL_FIELDS[backend]
        runs = info1.get(f"ai_{b}_runs", 0) - info0.get(f"ai_{b}_runs", 0)
        gil = info1.get(f"ai_{b}_gil_held_us")
        held = gil - info0[f"ai_{b}_gil_held_us"] if gil is not None else None
        per_run = held / runs if held is not None and runs else None
        return {"server_cores": (cpu1 - cpu0) / (t1 - t0), "runs": runs, "gil_held_us": held,
                "gil_us_per_run": per_run}


def gil_text(per_run):
    return "n/a" if per_run is None else f"{per_run:.1f}"


def table(header, rows):
    """A markdown table of string-able cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in r) + " |" for r in rows]
    return "\n".join(lines)
