"""The module loads, answers, and starts fast."""
import re
import signal
import sys

import pytest

from redis_server import RedisServer


def test_module_is_listed_as_ai_1_2_7(r):
    modules = {m[b"name"]: m[b"ver"] for m in r.module_list()}
    assert modules[b"ai"] == 10207


def test_tensor_roundtrip(r):
    assert r.execute_command("AI.TENSORSET", "t", "FLOAT", 2, "VALUES", 1, 2) == b"OK"
    assert r.execute_command("AI.TENSORGET", "t", "VALUES") == [b"1", b"2"]


def test_no_backend_is_imported_at_load(r):
    # Backends and numpy are imported only when something needs them (the server starts in a
    # moment, whatever is installed): AI._DEBUG can tell.
    info = r.execute_command("AI._DEBUG", "PYTHON_MODULES")
    loaded = {m.decode() for m in info}
    assert not loaded & {"torch", "numpy", "onnxruntime", "tensorflow", "ai_edge_litert"}, loaded


def test_python_venv_argument_selects_the_interpreter(server):
    venv = sys.prefix  # the environment running the tests is the one the module was built with
    with RedisServer(module_args=("PYTHON_VENV", venv)) as s:
        assert s.client().execute_command("AI.TENSORSET", "t", "INT8", 1) == b"OK"


def test_missing_venv_fails_the_load_cleanly():
    s = RedisServer(module_args=("PYTHON_VENV", "/nonexistent/venv"))
    try:
        with pytest.raises(RuntimeError):
            s.start(timeout=10)
        assert "no Python interpreter at /nonexistent/venv/bin/python" in s.log()
    finally:
        s.cleanup()


@pytest.mark.parametrize("sig,logline", [(signal.SIGTERM, "Received SIGTERM"),
                                         (signal.SIGINT, "Received SIGINT")])
def test_redis_keeps_its_own_signal_handlers(sig, logline):
    """The embedded interpreter installs no signal handlers: Redis still shuts down cleanly."""
    s = RedisServer()
    try:
        s.start()
        s.client().execute_command("AI._DEBUG", "PYTHON_BUSY", "ON")  # Python is running, until the end
        s.proc.send_signal(sig)
        assert s.proc.wait(timeout=10) == 0
        assert logline in s.log() and re.search(r"(Redis|Valkey) is now ready to exit", s.log())
    finally:
        s.cleanup()


def test_odd_number_of_module_arguments_fails_the_load():
    s = RedisServer(module_args=("DEBUG_COMMAND",))
    try:
        with pytest.raises(RuntimeError):
            s.start(timeout=10)
        assert "Please provide arguments as KEY VAL pairs" in s.log()
    finally:
        s.cleanup()
