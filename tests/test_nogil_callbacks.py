"""The module type callbacks never touch Python (EMBEDDING.md, fork safety).

rdb_save and aof_rewrite run in BGSAVE's forked child: if one of them took the GIL while a
worker thread of the parent held it, the child would hang forever. free also runs in Redis's
lazy-free thread. So every callback, and everything it calls, must be plain C. This test reads
the C that Cython generated and follows the calls from each callback.
"""
import re
from pathlib import Path

import pytest

GENERATED_C = Path(__file__).resolve().parent.parent / "build" / "cython" / "redisai_module" / "redisai_core.c"

# A callback is `cdef public` in redisai_module/types/: RAI_<Thing>Type_<Callback>.
CALLBACK_DEF = re.compile(r"^[A-Za-z_][\w \*]*?\b(RAI_\w+Type_\w+)\(([^)]*)\)\s*\{", re.M)
CYTHON_FUNC_CALL = re.compile(r"\b(__pyx_f_\w+)\s*\(")
PYTHON_CALL = re.compile(r"\b(_?Py\w*|__Pyx_\w+)\s*\(")
# Cython bookkeeping macros that expand to nothing in a build without refnanny.
HARMLESS = {"__Pyx_RefNannySetupContext", "__Pyx_RefNannyFinishContext", "__Pyx_RefNannyDeclarations"}
# The one sanctioned way into Python: rdb_load of a model (a script) must load it into its backend
# (compile it). rdb_load runs only on the main thread (RDB load, RESTORE, replica sync), never in
# a forked child.
GIL_GATEWAYS = {"RAI_ModelType_RdbLoad": "runnable_load",
                "RAI_ScriptType_RdbLoad": "runnable_load"}


def function_body(source, open_brace):
    depth = 0
    for i in range(open_brace, len(source)):
        if source[i] == "{":
            depth += 1
        elif source[i] == "}":
            depth -= 1
            if depth == 0:
                return source[open_brace:i + 1]
    raise AssertionError("unbalanced braces in generated C")


def strip_comments(code):
    code = re.sub(r"/\*.*?\*/", "", code, flags=re.S)
    return re.sub(r'"(\\.|[^"\\])*"', '""', code)  # strings may mention Py names


@pytest.fixture(scope="module")
def generated():
    if not GENERATED_C.exists():
        pytest.fail(f"{GENERATED_C} is missing: build the module first")
    return GENERATED_C.read_text()


def definitions(source):
    """name -> body of every function defined in the generated C (callbacks and __pyx_f_)."""
    found = {}
    for m in CALLBACK_DEF.finditer(source):
        found[m.group(1)] = strip_comments(function_body(source, m.end() - 1))
    for m in re.finditer(r"^static [\w \*]*?\b(__pyx_f_\w+)\(([^;{]*)\)\s*\{", source, re.M):
        found[m.group(1)] = strip_comments(function_body(source, m.end() - 1))
    return found


def reachable(name, defs, stop_at=None):
    seen, todo = set(), [name]
    while todo:
        fn = todo.pop()
        if fn in seen or fn not in defs or (stop_at and fn.endswith("_" + stop_at)):
            continue
        seen.add(fn)
        todo.extend(CYTHON_FUNC_CALL.findall(defs[fn]))
    return seen


def test_every_type_callback_is_found(generated):
    callbacks = {m.group(1) for m in CALLBACK_DEF.finditer(generated)}
    expected = {f"RAI_TensorType_{cb}" for cb in
                ("RdbLoad", "RdbSave", "AofRewrite", "MemUsage", "Free", "Copy")}
    expected |= {f"RAI_{kind}Type_{cb}" for kind in ("Model", "Script")
                 for cb in ("RdbLoad", "RdbSave", "AofRewrite", "MemUsage", "Free")}
    assert expected <= callbacks


@pytest.mark.parametrize("loader,gateway", sorted(GIL_GATEWAYS.items()))
def test_only_rdb_loads_enter_python_and_only_through_their_gateway(generated, loader, gateway):
    """Without the gateway exemption the loader does reach Python (the scan sees it), and no
    other callback reaches that gateway."""
    defs = definitions(generated)
    assert any(fn.endswith("_" + gateway) for fn in reachable(loader, defs))
    assert not any(fn.endswith("_" + gateway)
                   for cb in defs if re.fullmatch(r"RAI_\w+Type_\w+", cb) and GIL_GATEWAYS.get(cb) != gateway
                   for fn in reachable(cb, defs))


def test_type_callbacks_call_no_python(generated):
    defs = definitions(generated)
    callbacks = sorted(n for n in defs if re.fullmatch(r"RAI_\w+Type_\w+", n))
    assert callbacks
    offenders = {}
    for cb in callbacks:
        for fn in reachable(cb, defs, stop_at=GIL_GATEWAYS.get(cb)):
            calls = set(PYTHON_CALL.findall(defs[fn])) - HARMLESS
            if calls:
                offenders[f"{cb} -> {fn}"] = sorted(calls)
    assert not offenders, f"type callbacks reach Python calls: {offenders}"


def test_the_check_catches_a_python_call():
    """The scanner itself must be able to fail: a body that takes the GIL is flagged."""
    body = strip_comments("{ PyGILState_STATE s = PyGILState_Ensure(); /* Py_DECREF( */ }")
    assert PYTHON_CALL.findall(body) == ["PyGILState_Ensure"]
