"""The module loads, answers, and starts fast."""
import time

from redis_server import RedisServer


def test_module_is_listed_as_ai_1_2_7(r):
    modules = {m[b"name"]: m[b"ver"] for m in r.module_list()}
    assert modules[b"ai"] == 10207


def test_tensor_roundtrip(r):
    assert r.execute_command("AI.TENSORSET", "t", "FLOAT", 2, "VALUES", 1, 2) == b"OK"
    assert r.execute_command("AI.TENSORGET", "t", "VALUES") == [b"1", b"2"]


def test_server_with_module_starts_well_under_a_second():
    started = time.monotonic()
    with RedisServer() as s:
        elapsed = time.monotonic() - started
        assert s.client().ping()
    assert elapsed < 1.0, f"server with module took {elapsed:.2f}s to start"


def test_no_backend_is_imported_at_load(r):
    # numpy/torch are imported only when something needs them: AI._DEBUG can tell.
    info = r.execute_command("AI._DEBUG", "PYTHON_MODULES")
    loaded = {m.decode() for m in info}
    assert "torch" not in loaded and "numpy" not in loaded
