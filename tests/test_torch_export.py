"""torch.export archives as TORCH models (docs/COMMANDS.md §5.1): stored, run natively (traced to
TorchScript) with symbolic batch sizes, persisted; and never unpickled. Each way an archive could
run code from the blob (a pickled weight, constant or custom object, an operator target outside
ATen, a symbolic expression or guard given to eval, an unknown entry) is refused or disarmed, and a
marker file shows the payload never ran."""
import io
import json
import os
import pickle
import warnings
import zipfile

import numpy as np
import pytest
import redis
import torch

from helpers import error_of

REFUSED = "torch.export archive refused: "  # redis-py drops "ERR "


class TwoHeads(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.lin = torch.nn.Linear(3, 2)
        self.register_buffer("shift", torch.full((2,), 0.5))

    def forward(self, x, y):
        return torch.relu(self.lin(x)) + self.shift, y * 2


def export_archive(dynamic=True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shapes = ({0: torch.export.Dim("batch")}, None) if dynamic else None
        program = torch.export.export(TwoHeads(), (torch.randn(4, 3), torch.randn(5)), dynamic_shapes=shapes)
        buf = io.BytesIO()
        torch.export.save(program, buf)
    return buf.getvalue()


def rewrite(blob, edit):
    """The archive with edit(entries) applied: entries maps names below the top folder to bytes."""
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        top = z.namelist()[0].split("/")[0]
        entries = {n.split("/", 1)[1]: z.read(n) for n in z.namelist()}
    edit(entries)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries.items():
            z.writestr(f"{top}/{name}", data)
    return out.getvalue()


def edit_json(name, change):
    def edit(entries):
        doc = json.loads(entries[name])
        change(doc)
        entries[name] = json.dumps(doc).encode()
    return edit


class Marker:
    """A pickle that, if ever unpickled, creates the file `path`."""
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def store(r, blob, key="m"):
    return r.execute_command("AI.MODELSTORE", key, "TORCH", "CPU", "BLOB", blob)


def run(r, x, y, key="m"):
    r.execute_command("AI.TENSORSET", "x", "FLOAT", *x.shape, "BLOB", x.tobytes())
    r.execute_command("AI.TENSORSET", "y", "FLOAT", *y.shape, "BLOB", y.tobytes())
    assert r.execute_command("AI.MODELEXECUTE", key, "INPUTS", 2, "x", "y", "OUTPUTS", 2, "a", "b") == b"OK"
    a = np.frombuffer(r.execute_command("AI.TENSORGET", "a", "BLOB"), dtype=np.float32)
    b = np.frombuffer(r.execute_command("AI.TENSORGET", "b", "BLOB"), dtype=np.float32)
    return a.reshape(len(x), 2), b


@pytest.mark.parametrize("rows", [1, 4, 9])
def test_an_exported_program_runs_as_the_eager_model_for_any_batch(r, rows):
    blob = export_archive()
    assert store(r, blob) == b"OK"
    meta = r.execute_command("AI.MODELGET", "m", "META")
    assert meta[meta.index(b"inputs") + 1] == [b"x", b"y"] and meta[meta.index(b"outputs") + 1] == [b"", b""]
    x = np.random.default_rng(rows).standard_normal((rows, 3)).astype(np.float32)
    y = np.arange(5, dtype=np.float32)
    a, b = run(r, x, y)
    want_a, want_b = (t.detach().numpy() for t in TwoHeads()(torch.from_numpy(x), torch.from_numpy(y)))
    np.testing.assert_allclose(a, want_a, rtol=1e-6)
    assert b.tolist() == want_b.tolist()


def test_a_static_export_and_its_blob_survive_a_reload(r):
    blob = export_archive(dynamic=False)
    assert store(r, blob) == b"OK"
    assert r.execute_command("DEBUG", "RELOAD") == b"OK"
    assert r.execute_command("AI.MODELGET", "m", "BLOB") == blob
    a, _ = run(r, np.ones((4, 3), dtype=np.float32), np.ones(5, dtype=np.float32))
    assert a.shape == (4, 2)


def test_the_sample_inputs_pickle_is_never_read(r, tmp_path):
    marker = tmp_path / "ran"
    blob = rewrite(export_archive(), lambda e: e.__setitem__("data/sample_inputs/model.pt", pickle.dumps(Marker(marker))))
    assert store(r, blob) == b"OK"
    assert not marker.exists()


def test_guards_code_is_dropped_before_torch_sees_it(r, tmp_path):
    """Input guards come as Python source, which unlifting compiles: dropped, the model still loads
    and runs (the traced module keeps its sizes general)."""
    marker = tmp_path / "ran"
    blob = rewrite(export_archive(), edit_json("models/model.json", lambda d: d.__setitem__(
        "guards_code", [f"__import__('os').system('touch {marker}') == 0"])))
    assert store(r, blob) == b"OK"
    run(r, np.ones((2, 3), dtype=np.float32), np.ones(5, dtype=np.float32))
    assert not marker.exists()


def pickled_weight(marker):
    def edit(entries):
        edit_json("data/weights/model_weights_config.json",
                  lambda d: d["config"]["lin.weight"].__setitem__("use_pickle", True))(entries)
        entries["data/weights/weight_0"] = pickle.dumps(Marker(marker))
    return edit


def custom_object_constant(entries):
    doc = json.loads(entries["data/constants/model_constants_config.json"])
    doc["config"]["obj"] = {"path_name": "custom_obj_0", "is_param": False, "use_pickle": False, "tensor_meta": None}
    entries["data/constants/model_constants_config.json"] = json.dumps(doc).encode()


def node_target(target):
    def change(doc):
        doc["graph_module"]["graph"]["nodes"][0]["target"] = target
    return edit_json("models/model.json", change)


def size_expression(text):
    def change(doc):
        doc["graph_module"]["graph"]["tensor_values"]["x"]["sizes"][0]["as_expr"]["expr_str"] = text
    return edit_json("models/model.json", change)


@pytest.mark.parametrize("make_edit,reason", [
    (pickled_weight, "weight lin.weight is pickled"),
    (lambda m: custom_object_constant, "constant obj is not a plain tensor (custom_obj_0)"),
    (lambda m: node_target("torch.load"), "operator torch.load (only ATen operators)"),
    (lambda m: node_target("torch.serialization.pickle.loads"), "operator torch.serialization.pickle.loads"),
    (lambda m: node_target("#custom.extension"), "operator #custom.extension"),
    (lambda m: size_expression(f"__import__('os').system('touch {m}')"), "symbolic expression"),
    (lambda m: size_expression(f"Symbol('s0').func.__globals__"), "symbolic expression"),
    (lambda m: lambda e: e.__setitem__("data/aotinductor/model.so", b"\x7fELF"), "unsupported entry data/aotinductor"),
    (lambda m: lambda e: e.__setitem__("models/model.json", b"{not json"), "bad JSON"),
], ids=["pickled-weight", "custom-object", "torch.load", "pickle.loads", "extension-op", "eval-import",
        "eval-dunder", "aoti", "bad-json"])
def test_archives_that_could_run_code_are_refused_and_change_nothing(r, tmp_path, make_edit, reason):
    marker = tmp_path / "ran"
    blob = rewrite(export_archive(), make_edit(marker))
    err = error_of(r, "AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", blob)
    assert err.startswith(REFUSED + reason), err
    assert r.exists("m") == 0 and not marker.exists()


def test_torchscript_archives_still_load_as_before(r):
    from models import torch_add_model
    assert store(r, torch_add_model()) == b"OK"
    with pytest.raises(redis.ResponseError):
        store(r, b"PK\x03\x04 not really a zip", key="bad")
