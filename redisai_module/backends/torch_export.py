"""torch.export archives (torch.export.save) as TORCH models, read without unpickling anything.

torch.export.load unpickles archive entries (torch's load with weights_only off, and pickle's
loads), which runs code from the blob. Here the archive is read by hand: the program is JSON
(models/model.json), plain weights and constants are raw bytes described by JSON configs. Anything
pickled that the program would need (a weight or constant saved with pickle, a custom or opaque
object, a legacy weights file, AOTInductor code) refuses the archive; the sample inputs, which
torch.export.save always pickles, are never read. The JSON is checked before torch's deserializer
sees it: every node calls an ATen operator or one of a few `_operator` functions (a target string
is otherwise resolved by attribute lookup on torch, which reaches torch.load), node metadata is
dropped, and every symbolic expression (which sympy parses with eval) is plain arithmetic over
shape symbols. The program is then traced into TorchScript on the model's device, so it runs on
the native path like any TorchScript model, without the GIL.
"""
import io
import json
import re
import zipfile

from redisai_module import errors
from redisai_module.backends.common import BackendError

ALLOWED_PREFIXES = ("models/model.json", "data/weights/", "data/constants/", "data/sample_inputs/",
                    "archive_format", "archive_version", "byteorder", ".data/")
OPERATOR_FUNCTIONS = {"getitem", "add", "sub", "mul", "floordiv", "truediv", "mod", "neg", "pow",
                      "eq", "ne", "lt", "le", "gt", "ge", "and_", "or_"}
ATEN_TARGET = re.compile(r"torch\.ops\.aten\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+")
# Symbolic sizes come as sympy's srepr ("Mul(Integer(3), Symbol('s77', positive=True, ...))"),
# which the deserializer hands to sympy.sympify, that is to eval: only these names, numbers,
# arithmetic and quoted shape-symbol names may appear.
SYMPY_NAMES = {
    "Symbol", "Integer", "Rational", "Float", "Add", "Mul", "Pow", "Max", "Min", "FloorDiv", "CeilDiv",
    "CleanDiv", "Mod", "PythonMod", "IntTrueDiv", "FloatTrueDiv", "ToFloat", "TruncToInt", "TruncToFloat",
    "Abs", "PowByNatural", "FloorToInt", "CeilToInt", "RoundToInt", "Eq", "Ne", "Lt", "Le", "Gt", "Ge",
    "StrictLessThan", "LessThan", "StrictGreaterThan", "GreaterThan", "Equality", "Unequality", "And", "Or",
    "Not", "True", "False", "oo", "Infinity", "NegativeInfinity",
    # Symbol's assumptions
    "positive", "negative", "nonnegative", "nonpositive", "integer", "real", "finite", "even", "odd",
    "nonzero", "zero", "rational", "extended_real", "extended_positive", "extended_nonnegative",
}
EXPRESSION = re.compile(r"[A-Za-z0-9_+\-*/%()., <>=!]*")
QUOTED_SYMBOL = re.compile(r"'[a-z]+[0-9]+'")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SYMBOL = re.compile(r"[a-z]+[0-9]+")


def refuse(reason):
    raise BackendError(errors.TORCH_EXPORT_REFUSED % reason)


def is_export_archive(blob):
    """A zip whose top folder holds `archive_format` = pt2 (TorchScript archives hold none)."""
    if not zipfile.is_zipfile(io.BytesIO(blob)):
        return False
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        names = [n for n in z.namelist() if n.count("/") == 1 and n.endswith("/archive_format")]
        return len(names) == 1 and z.read(names[0]).strip() == b"pt2"


def read_entries(blob):
    """name (below the top folder) -> bytes, the archive's layout checked."""
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        entries = {}
        for info in z.infolist():
            if info.is_dir():
                continue
            name = info.filename.split("/", 1)[1] if "/" in info.filename else info.filename
            if not name.startswith(ALLOWED_PREFIXES):
                refuse(f"unsupported entry {name} (one exported program, weights and constants only)")
            if name.startswith("data/sample_inputs/"):
                continue  # pickled by torch.export.save: never read
            entries[name] = z.read(info)
    if "models/model.json" not in entries:
        refuse("no models/model.json")
    return entries


def check_payloads(config, kind):
    for fqn, payload in config.get("config", {}).items():
        if payload.get("use_pickle"):
            refuse(f"{kind} {fqn} is pickled")
        if not payload.get("path_name", "").startswith(("weight_", "tensor_")):
            refuse(f"{kind} {fqn} is not a plain tensor ({payload.get('path_name')})")


def check_expression(text):
    bare = QUOTED_SYMBOL.sub("", text)
    if not EXPRESSION.fullmatch(bare) or "__" in bare:
        refuse(f"symbolic expression {text!r}")
    for name in NAME.findall(bare):
        if name not in SYMPY_NAMES and not SYMBOL.fullmatch(name):
            refuse(f"symbolic expression {text!r}")


def check_program(node):
    """Walk the program's JSON: targets, expressions; metadata dropped."""
    if isinstance(node, dict):
        if "target" in node and "inputs" in node:
            target = node["target"]
            if not (ATEN_TARGET.fullmatch(target) or
                    (target.startswith("_operator.") and target[len("_operator."):] in OPERATOR_FUNCTIONS)):
                refuse(f"operator {target} (only ATen operators)")
            node["metadata"] = {}
        if isinstance(node.get("expr_str"), str):
            check_expression(node["expr_str"])
        for key, value in node.items():
            if key == "range_constraints" and isinstance(value, dict):
                for expr in value:
                    check_expression(expr)
            check_program(value)
    elif isinstance(node, list):
        for value in node:
            check_program(value)


def payload_tensors(torch, entries, config, folder, kind):
    """fqn -> tensor, from the raw bytes the config describes (as torch's loader lays them out)."""
    from torch._export.serde import schema
    from torch._export.serde.serialize import (_dict_to_dataclass, deserialize_scalar_type, deserialize_size,
                                               deserialize_storage_offset, deserialize_stride)
    payloads = _dict_to_dataclass(schema.PayloadConfig, config)
    tensors = {}
    for fqn, meta in payloads.config.items():
        data = entries.get(folder + meta.path_name)
        if data is None or meta.tensor_meta is None:
            refuse(f"{kind} {fqn} has no data")
        dtype = deserialize_scalar_type(meta.tensor_meta.dtype)
        flat = torch.frombuffer(bytearray(data), dtype=dtype) if data else torch.empty(0, dtype=dtype)
        t = torch.as_strided(flat, deserialize_size(meta.tensor_meta.sizes),
                             deserialize_stride(meta.tensor_meta.strides),
                             deserialize_storage_offset(meta.tensor_meta.storage_offset))
        tensors[fqn] = torch.nn.Parameter(t, requires_grad=False) if getattr(meta, "is_param", False) else t
    return tensors


def bound(value):
    """A range's end as an int, None when unbounded (sympy's and torch's infinities)."""
    try:
        return int(value) if value.is_number and value.is_finite is True else None
    except (TypeError, ValueError, AttributeError):
        return None


def sample_inputs(torch, program, device):
    """Tensors shaped as the program's user inputs, symbolic sizes at a value their ranges allow
    (above 1, which export specializes), for the trace."""
    samples = []
    ranges = {str(sym): r for sym, r in program.range_constraints.items()}
    placeholders = [n for n in program.graph.nodes if n.op == "placeholder"]
    for node in placeholders[-len(program.graph_signature.user_inputs):] if program.graph_signature.user_inputs else []:
        val = node.meta.get("val")
        if not isinstance(val, torch.Tensor):
            refuse(f"input {node.name} is not a tensor")
        sizes = []
        for size in val.shape:
            if isinstance(size, int):
                sizes.append(size)
            else:
                r = ranges.get(str(size))
                value = max(bound(r.lower) or 0, 2) if r is not None else 2
                if r is not None and bound(r.upper) is not None:
                    value = min(value, bound(r.upper))
                sizes.append(value)
        samples.append(torch.zeros(sizes, dtype=val.dtype, device=device))
    return tuple(samples)


def load_export_archive(torch, blob, device):
    """The archive's program as a TorchScript module on `device`, or BackendError."""
    from torch._export.serde import schema
    from torch._export.serde.serialize import ExportedProgramDeserializer, _dict_to_dataclass
    entries = read_entries(blob)
    try:
        program_json = json.loads(entries["models/model.json"])
        weights = json.loads(entries.get("data/weights/model_weights_config.json", b'{"config": {}}'))
        constants = json.loads(entries.get("data/constants/model_constants_config.json", b'{"config": {}}'))
    except (ValueError, UnicodeDecodeError) as e:
        refuse(f"bad JSON ({e})")
    program_json["guards_code"] = []  # input checks as Python source, which unlifting would run
    check_payloads(weights, "weight")
    check_payloads(constants, "constant")
    check_program(program_json)
    try:
        state_dict = payload_tensors(torch, entries, weights, "data/weights/", "weight")
        constant_tensors = payload_tensors(torch, entries, constants, "data/constants/", "constant")
        serialized = _dict_to_dataclass(schema.ExportedProgram, program_json)
        program = ExportedProgramDeserializer().deserialize(serialized, state_dict, constant_tensors, b"")
        module = program.module()
        module._forward_pre_hooks.clear()  # export's input checks trace badly; the trace keeps shapes general
        module = module.to(device)
        traced = torch.jit.trace(module, sample_inputs(torch, program, device), check_trace=False, strict=False)
    except BackendError:
        raise
    except Exception as e:  # a malformed program: torch's own words
        refuse(f"{type(e).__name__}: {e}".splitlines()[0])
    return traced
