"""Model blobs and script sources come from untrusted clients: storing (or RESTOREing) them must
never run arbitrary Python. Upstream RedisAI hands them to the C/C++ libraries (libtorch's
TorchScript importer, ONNX Runtime, TensorFlow, TFLite), none of which unpickles with Python;
a re-implementation built on the Python frameworks must not open that door (pickle, torch.load,
numpy allow_pickle, eval/exec of client text).

Every malicious payload here would create a marker file if Python unpickled/evaluated it; the
first tests prove that (in a separate interpreter), the others send the payloads to a real server
and check the marker never appears, the command fails (or yields a harmless model) and the server
lives on.
"""
import io
import os
import pickle
import re
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
import redis

from dump_payloads import MODEL_MODULE_ID, SCRIPT_MODULE_ID, STR, UINT, module_payload
from models import onnx_add_model, torch_add_model
from redis_server import ROOT

PYTHON = sys.executable
MODULE_SOURCE = ROOT / "redisai_module"


# ==================================================================================================
# Payloads. `marker` is an absolute path; each payload, once unpickled / evaluated by Python,
# creates that file.


def _str(b):
    return b"X" + len(b).to_bytes(4, "little") + b  # BINUNICODE


def pickle_global_system(marker):
    """Protocol 2: GLOBAL 'posix system', argument tuple, REDUCE."""
    return b"\x80\x02cposix\nsystem\n" + _str(f"touch {marker}".encode()) + b"\x85R."


def pickle_global_exec(marker):
    """GLOBAL 'builtins exec' on a Python statement."""
    return b"\x80\x02cbuiltins\nexec\n" + _str(f"open({str(marker)!r}, 'w').close()".encode()) + b"\x85R."


def pickle_protocol0_os_system(marker):
    """The classic text-protocol exploit: c os / system ( S'...' t R."""
    return f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()


class _Evil:
    """An object whose unpickling calls os.system (pickled with STACK_GLOBAL at protocol >= 4)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def pickle_stack_global(marker):
    return pickle.dumps(_Evil(marker), protocol=4)


def torch_save_legacy(marker):
    """torch.save's pre-1.6 format: a bare pickle stream (magic number, protocol, object, ...)."""
    import torch
    buf = io.BytesIO()
    torch.save(_Evil(marker), buf, _use_new_zipfile_serialization=False)
    return buf.getvalue()


def torch_save_zip(marker):
    """torch.save's zip format: archive/data.pkl holds the malicious pickle."""
    import torch
    buf = io.BytesIO()
    torch.save({"weights": _Evil(marker)}, buf)
    return buf.getvalue()


def _replace_in_archive(blob, suffix, content):
    """A copy of a zip archive with the member ending in `suffix` replaced."""
    src = zipfile.ZipFile(io.BytesIO(blob))
    out = io.BytesIO()
    hit = False
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith(suffix):
                data, hit = content, True
            dst.writestr(info.filename, data)
    assert hit, f"no member ending in {suffix}"
    return out.getvalue()


def torchscript_data_pkl(marker):
    """A genuine torch.jit.save archive whose data.pkl is a malicious pickle."""
    return _replace_in_archive(torch_add_model(), "/data.pkl", pickle_global_system(marker))


def torchscript_data_pkl_exec(marker):
    return _replace_in_archive(torch_add_model(), "/data.pkl", pickle_global_exec(marker))


def torchscript_constants_pkl(marker):
    return _replace_in_archive(torch_add_model(), "/constants.pkl", pickle_global_system(marker))


def torchscript_code(marker):
    """The archive's code/ holds TorchScript source: make it Python that would shell out."""
    src = zipfile.ZipFile(io.BytesIO(torch_add_model()))
    [code] = [n for n in src.namelist() if re.search(r"/code/.*\.py$", n)]
    text = src.read(code).decode()
    evil = text.replace("return torch.add(a, b)",
                        f"__import__('os').system('touch {marker}')\n    return torch.add(a, b)")
    assert evil != text
    return _replace_in_archive(torch_add_model(), code[len("archive"):], evil.encode())


# name -> (builder, how Python would trigger it in the sanity check)
PAYLOADS = {
    "pickle_global_system": (pickle_global_system, "pickle"),
    "pickle_global_exec": (pickle_global_exec, "pickle"),
    "pickle_protocol0": (pickle_protocol0_os_system, "pickle"),
    "pickle_stack_global": (pickle_stack_global, "pickle"),
    "torch_save_legacy": (torch_save_legacy, "torch.load"),
    "torch_save_zip": (torch_save_zip, "torch.load"),
    "torchscript_data_pkl": (torchscript_data_pkl, "archive:/data.pkl"),
    "torchscript_data_pkl_exec": (torchscript_data_pkl_exec, "archive:/data.pkl"),
    "torchscript_constants_pkl": (torchscript_constants_pkl, "archive:/constants.pkl"),
    "torchscript_code": (torchscript_code, "archive-code"),
}

_TRIGGER = r"""
import io, os, pickle, re, sys, zipfile
how, path = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
if how == "pickle":
    try:
        pickle.loads(data)
    except Exception:
        pass
elif how == "torch.load":
    import torch
    try:
        torch.load(io.BytesIO(data), weights_only=False)
    except Exception:
        pass
elif how.startswith("archive:"):
    z = zipfile.ZipFile(io.BytesIO(data))
    [name] = [n for n in z.namelist() if n.endswith(how[len("archive:"):])]
    try:
        pickle.loads(z.read(name))
    except Exception:
        pass
elif how == "archive-code":
    z = zipfile.ZipFile(io.BytesIO(data))
    [name] = [n for n in z.namelist() if re.search(r"/code/.*\.py$", n)]
    source = z.read(name).decode()
    stmt = re.search(r"^\s*(__import__.*)$", source, re.M).group(1)
    exec(stmt)
"""


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_payload_really_is_malicious_for_python(tmp_path, name):
    """Sanity: the payload, handed to Python's pickle / torch.load / exec, creates its marker. So
    the server tests below would see the marker if the module did the same."""
    build, how = PAYLOADS[name]
    marker = tmp_path / "PWNED"
    blob = tmp_path / "payload.bin"
    blob.write_bytes(build(marker))
    subprocess.run([PYTHON, "-c", _TRIGGER, how, str(blob)], cwd=tmp_path, check=True, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert marker.exists()


def test_rebuilt_archive_is_still_a_valid_torchscript_archive(r):
    """Sanity for the archive surgery: replacing a member by itself keeps a loadable model, so the
    malicious variants really reach the TorchScript importer."""
    blob = torch_add_model()
    same = _replace_in_archive(blob, "/data.pkl", zipfile.ZipFile(io.BytesIO(blob)).read("archive/data.pkl"))
    assert same != blob  # really rebuilt
    assert r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", same) == b"OK"
    _check_add_model(r, "m")


# ==================================================================================================
# Helpers


@pytest.fixture
def marker(tmp_path, server):
    """A path the payloads would create; checked after each test, along with the server."""
    path = tmp_path / "PWNED"
    yield path
    time.sleep(0.05)
    assert not path.exists(), "the server ran code from a client payload"
    assert server.alive(), "redis-server died:\n" + server.log()
    assert server.client().ping()


def _check_add_model(r, key):
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, "VALUES", 1, 2)
    r.execute_command("AI.TENSORSET", "b", "FLOAT", 2, "VALUES", 3, 4)
    assert r.execute_command("AI.MODELEXECUTE", key, "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == b"OK"
    assert r.execute_command("AI.TENSORGET", "c", "VALUES") == [b"4", b"6"]


def _modelstore(r, backend, blob, chunks=1, command="AI.MODELSTORE"):
    names = ()
    if backend == "TF":  # TF needs its input/output node names (AI.MODELSET has no counts)
        names = ("INPUTS", 1, "a", "OUTPUTS", 1, "c") if command == "AI.MODELSTORE" else ("INPUTS", "a", "OUTPUTS", "c")
    size = -(-len(blob) // chunks)
    parts = [blob[i:i + size] for i in range(0, len(blob), size)] or [b""]
    return r.execute_command(command, "m", backend, "CPU", *names, "BLOB", *parts)


# ==================================================================================================
# Model blobs


@pytest.mark.parametrize("backend", ["TORCH", "ONNX", "TF", "TFLITE"])
@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_malicious_model_blob_is_refused(r, marker, backend, name):
    blob = PAYLOADS[name][0](marker)
    with pytest.raises(redis.ResponseError):
        _modelstore(r, backend, blob)
    assert r.exists("m") == 0


@pytest.mark.parametrize("name", ["pickle_global_system", "torch_save_zip", "torchscript_data_pkl"])
def test_malicious_blob_in_chunks_is_refused(r, marker, name):
    with pytest.raises(redis.ResponseError):
        _modelstore(r, "TORCH", PAYLOADS[name][0](marker), chunks=3)


@pytest.mark.parametrize("name", ["pickle_global_system", "torch_save_legacy", "torchscript_data_pkl"])
def test_malicious_blob_through_deprecated_modelset_is_refused(r, marker, name):
    with pytest.raises(redis.ResponseError):
        _modelstore(r, "TORCH", PAYLOADS[name][0](marker), command="AI.MODELSET")


def test_malicious_blob_does_not_replace_an_existing_model(r, marker):
    assert _modelstore(r, "TORCH", torch_add_model()) == b"OK"
    with pytest.raises(redis.ResponseError):
        _modelstore(r, "TORCH", torchscript_data_pkl(marker))
    _check_add_model(r, "m")


def test_archive_with_a_malicious_debug_pickle_is_harmless(r, marker):
    """The TorchScript importer does not read code/*.debug_pkl: the model loads and works, and the
    pickle in it is never executed."""
    blob = _replace_in_archive(torch_add_model(), ".debug_pkl", pickle_global_system(marker))
    try:
        _modelstore(r, "TORCH", blob)
    except redis.ResponseError:
        return  # refusing it is fine too
    _check_add_model(r, "m")


def test_onnx_model_with_a_pickled_initializer_runs_no_python(r, marker):
    """An ONNX model is protobuf; a tensor initializer holding pickle bytes is just data."""
    from onnx import TensorProto, helper
    payload = pickle_global_system(marker)
    raw = np.frombuffer(payload + b"\0" * (-len(payload) % 4), np.uint8)
    init = helper.make_tensor("k", TensorProto.UINT8, [raw.size], raw.tobytes(), raw=True)
    graph = helper.make_graph(
        [helper.make_node("Concat", ["x", "k"], ["y"], axis=0)], "g",
        [helper.make_tensor_value_info("x", TensorProto.UINT8, [1])],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, [raw.size + 1])], initializer=[init])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    assert _modelstore(r, "ONNX", model.SerializeToString()) == b"OK"
    r.execute_command("AI.TENSORSET", "x", "UINT8", 1, "VALUES", 7)
    assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 1, "x", "OUTPUTS", 1, "y") == b"OK"
    assert r.execute_command("AI.TENSORGET", "y", "BLOB") == b"\x07" + raw.tobytes()


def _py_func_graph(op, token):
    """a (float placeholder) -> c = <op>(a): TensorFlow's Python-callback ops. The token names a
    callback registered in the process that runs the graph."""
    from tensorflow.core.framework import graph_pb2, types_pb2
    g = graph_pb2.GraphDef()
    a = g.node.add(name="a", op="Placeholder")
    a.attr["dtype"].type = types_pb2.DT_FLOAT
    node = g.node.add(name="c", op=op, input=["a"])
    node.attr["token"].s = token.encode()
    node.attr["Tin"].list.type.append(types_pb2.DT_FLOAT)
    node.attr["Tout"].list.type.append(types_pb2.DT_FLOAT)
    return g.SerializeToString()


PY_FUNC_OPS = ["PyFunc", "PyFuncStateless", "EagerPyFunc"]


@pytest.mark.parametrize("op", PY_FUNC_OPS)
@pytest.mark.parametrize("token", ["pyfunc_0", "pyfunc_1", "__import__('os').system('touch {marker}')"])
def test_tf_graph_with_a_py_func_node_runs_no_client_code(r, marker, op, token):
    """The token is a lookup key, never code: whatever the token, nothing of the client's runs."""
    try:
        _modelstore(r, "TF", _py_func_graph(op, token.format(marker=marker)))
    except redis.ResponseError:
        return
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 1, "VALUES", 1)
    with pytest.raises(redis.ResponseError):
        r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 1, "a", "OUTPUTS", 1, "c")


@pytest.mark.parametrize("op", PY_FUNC_OPS)
def test_tf_graph_with_python_callback_ops_is_refused_at_store_time(r, op):
    """libtensorflow (upstream's runtime) has no such ops; TensorFlow's Python runtime does."""
    with pytest.raises(redis.ResponseError) as e:
        _modelstore(r, "TF", _py_func_graph(op, "pyfunc_0"))
    assert str(e.value) == f"Op type not registered '{op}' in binary"
    assert not r.exists("m")


# ==================================================================================================
# Script sources (TorchScript, compiled by the TorchScript compiler, never by Python)


def _entry(body, marker, pickle_path=""):
    body = body.format(marker=marker, pickle=pickle_path)
    return ("def f(tensors: List[Tensor], keys: List[str], args: List[str]):\n"
            + "".join(f"    {line}\n" for line in body.splitlines())
            + "    return tensors[0]\n")


SCRIPT_BODIES = {
    "dunder_import": "__import__('os').system('touch {marker}')",
    "torch_os_system": "torch.os.system('touch {marker}')",
    "torch_os_popen": "torch.os.popen('touch {marker}')",
    "getattr_torch_os": "getattr(torch, 'os').system('touch {marker}')",
    "torch_sys_modules": "torch.sys.modules['os'].system('touch {marker}')",
    "eval": "eval(\"__import__('os').system('touch {marker}')\")",
    "exec": "exec(\"open('{marker}', 'w').close()\")",
    "open": "open('{marker}', 'w').close()",
    "torch_load": "torch.load('{pickle}')",
    "torch_load_weights_only_false": "torch.load('{pickle}', weights_only=False)",
    "torch_serialization_pickle": "torch.serialization.pickle.loads('{pickle}')",
    "numpy_load": "torch.from_numpy(torch.numpy.load('{pickle}', allow_pickle=True))",
    "subprocess": "torch.subprocess.run(['touch', '{marker}'])",
    "torch_hub": "torch.hub.load('{pickle}', 'x', source='local')",
}


def _whole_sources(marker, pickle_path):
    return {
        "import_statement": f"import os\n{_entry(f'os.system({chr(39)}touch {marker}{chr(39)})', marker)}",
        "module_level_call": f"__import__('os').system('touch {marker}')\n{_entry('x = 1', marker)}",
        "default_argument": (
            "def f(tensors: List[Tensor], keys: List[str], args: List[str], "
            f"x: int = __import__('os').system('touch {marker}')):\n    return tensors[0]\n"),
        "class_init": (
            "class Evil:\n    def __init__(self):\n"
            f"        __import__('os').system('touch {marker}')\n\n"
            + _entry("e = Evil()", marker)),
        "string_annotation": (
            f"def f(tensors: List[Tensor], keys: List[str], args: \"__import__('os').system('touch {marker}')\"):\n"
            "    return tensors[0]\n"),
    }


@pytest.fixture
def pickle_file(tmp_path):
    """A malicious pickle on the server's disk, for sources that try to load a file."""
    path = tmp_path / "evil.pkl"
    path.write_bytes(torch_save_zip(tmp_path / "PWNED"))
    return path


def _store_and_run_script(r, source, entry_points=("f",), legacy=False):
    """Store the source; if that works, run it. Returns True if some step was refused."""
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 1, "VALUES", 1)
    try:
        if legacy:
            r.execute_command("AI.SCRIPTSET", "s", "CPU", "SOURCE", source)
        else:
            r.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", len(entry_points), *entry_points,
                              "SOURCE", source)
    except redis.ResponseError:
        return True
    try:
        if legacy:
            r.execute_command("AI.SCRIPTRUN", "s", "f", "INPUTS", "x", "OUTPUTS", "y")
        else:
            r.execute_command("AI.SCRIPTEXECUTE", "s", "f", "INPUTS", 1, "x", "OUTPUTS", 1, "y")
    except redis.ResponseError:
        return True
    return False


@pytest.mark.parametrize("legacy", [False, True], ids=["SCRIPTSTORE", "SCRIPTSET"])
@pytest.mark.parametrize("name", sorted(SCRIPT_BODIES))
def test_python_in_a_script_body_is_refused(r, marker, pickle_file, name, legacy):
    source = _entry(SCRIPT_BODIES[name], marker, pickle_file)
    assert _store_and_run_script(r, source, legacy=legacy), "a python-only construct was accepted"


@pytest.mark.parametrize("name", ["import_statement", "module_level_call", "default_argument", "class_init",
                                  "string_annotation"])
def test_python_in_a_script_source_is_refused(r, marker, pickle_file, name):
    source = _whole_sources(marker, pickle_file)[name]
    assert _store_and_run_script(r, source), "a python-only construct was accepted"


def test_script_control_a_harmless_script_runs(r, marker):
    """Control for the script tests: the same shape of source without the payload works."""
    assert not _store_and_run_script(r, _entry("x = 1", marker))
    assert r.execute_command("AI.TENSORGET", "y", "VALUES") == [b"1"]


# ==================================================================================================
# RESTORE: DUMP payloads whose model blob / script source is malicious (docs/PERSISTENCE.md §2-§3)


def model_dump(backend_code, blob, inputs=(b"a", b"b"), outputs=(b"",)):
    body = UINT(backend_code) + STR(b"CPU\0") + STR(b"") + UINT(0) + UINT(0) + UINT(0)
    body += UINT(len(inputs)) + b"".join(STR(i + b"\0") for i in inputs)
    body += UINT(len(outputs)) + b"".join(STR(o + b"\0") for o in outputs)
    body += UINT(len(blob)) + UINT(1) + STR(blob)
    return module_payload(MODEL_MODULE_ID | 4, body)


def script_dump(source, entry_points=(b"f",)):
    body = STR(b"CPU\0") + STR(b"") + STR(source.encode() + b"\0") + UINT(len(entry_points))
    body += b"".join(STR(e + b"\0") for e in entry_points)
    return module_payload(SCRIPT_MODULE_ID | 4, body)


def test_restore_builder_control_genuine_model_and_script(r):
    """The payload builder is right: genuine contents restore and work, so the malicious variants
    below really reach the model/script loaders."""
    assert r.restore("m", 0, model_dump(2, torch_add_model())) == b"OK"
    _check_add_model(r, "m")
    assert r.restore("o", 0, model_dump(3, onnx_add_model(), (b"a", b"b"), (b"c",))) == b"OK"
    assert r.restore("s", 0, script_dump(_entry("x = 1", "unused"))) == b"OK"
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 1, "VALUES", 5)
    r.execute_command("AI.SCRIPTEXECUTE", "s", "f", "INPUTS", 1, "x", "OUTPUTS", 1, "y")
    assert r.execute_command("AI.TENSORGET", "y", "VALUES") == [b"5"]


@pytest.mark.parametrize("backend_code", [2, 3, 0, 1], ids=["TORCH", "ONNX", "TF", "TFLITE"])
@pytest.mark.parametrize("name", ["pickle_global_system", "pickle_stack_global", "torch_save_legacy",
                                  "torch_save_zip", "torchscript_data_pkl", "torchscript_constants_pkl",
                                  "torchscript_code"])
def test_restore_of_a_malicious_model_blob_is_refused(r, marker, backend_code, name):
    payload = model_dump(backend_code, PAYLOADS[name][0](marker))
    with pytest.raises(redis.ResponseError):
        r.restore("m", 0, payload)
    assert r.exists("m") == 0


@pytest.mark.parametrize("name", ["dunder_import", "torch_os_system", "eval", "torch_load", "open"])
def test_restore_of_a_malicious_script_is_refused(r, marker, pickle_file, name):
    payload = script_dump(_entry(SCRIPT_BODIES[name], marker, pickle_file))
    with pytest.raises(redis.ResponseError):
        r.restore("s", 0, payload)
    assert r.exists("s") == 0


# ==================================================================================================
# Static check of the module's own source


RISKY = [
    (r"\bimport\s+(c?pickle|dill|cloudpickle|joblib|marshal|shelve)\b|\bfrom\s+(c?pickle|dill|joblib)\b",
     "a pickle-family module is imported"),
    (r"\bpickle\.", "pickle is used"),
    (r"\btorch\.load\s*\(|\.load\(\s*[^)]*weights_only\s*=\s*False", "torch.load (unpickles its input)"),
    (r"allow_pickle\s*=\s*True", "numpy allow_pickle=True"),
    (r"\b(np|numpy)\.load\s*\(", "numpy.load"),
    (r"\bmarshal\.loads?\b", "marshal"),
    (r"\b_load_for_lite_interpreter\b|\btorch\.package\b", "torch loaders that unpickle"),
]


def test_module_source_has_no_unpickling_of_client_data():
    hits = []
    for path in sorted(MODULE_SOURCE.rglob("*")):
        if path.suffix not in (".pyx", ".pxi", ".pxd", ".py", ".in") or not path.is_file():
            continue
        for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            code = line.split("#", 1)[0]
            for pattern, what in RISKY:
                if re.search(pattern, code):
                    hits.append(f"{path.relative_to(ROOT)}:{lineno}: {what}: {line.strip()}")
    assert not hits, "\n".join(hits)


def test_exec_and_eval_in_module_source_use_no_client_text():
    """exec/eval in the module may only run fixed text (no f-strings or variables)."""
    hits = []
    for path in sorted(MODULE_SOURCE.rglob("*")):
        if path.suffix not in (".pyx", ".pxi", ".py", ".in") or not path.is_file():
            continue
        for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            code = line.split("#", 1)[0]
            m = re.search(r"(?<![\w.])(exec|eval)\s*\(\s*(.*)", code)
            if not m:
                continue
            arg = m.group(2)
            literal = re.match(r"""^("[^"{}]*"|'[^'{}]*'|[A-Z_][A-Z0-9_]*)\s*[,)]""", arg)
            if not literal:
                hits.append(f"{path.relative_to(ROOT)}:{lineno}: {line.strip()}")
    assert not hits, "\n".join(hits)
