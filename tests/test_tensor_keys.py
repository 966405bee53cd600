"""Tensor keys behave like any Redis key when they are written over."""
import pytest
import redis


def test_overwriting_a_tensor_drops_its_ttl_like_set_does(r):
    r.execute_command("AI.TENSORSET", "t", "FLOAT", 1, "VALUES", 1)
    r.expire("t", 100)
    r.execute_command("AI.TENSORSET", "t", "FLOAT", 1, "VALUES", 2)
    assert r.ttl("t") == -1
    assert r.execute_command("AI.TENSORGET", "t", "VALUES") == [b"2"]


def test_tensorset_invalidates_watchers(r, server):
    r.execute_command("AI.TENSORSET", "t", "INT8", 1)
    with r.pipeline() as pipe:
        pipe.watch("t")
        server.client().execute_command("AI.TENSORSET", "t", "INT8", 1, "VALUES", 5)
        pipe.multi()
        pipe.set("other", 1)
        with pytest.raises(redis.WatchError):
            pipe.execute()


def test_other_types_can_replace_a_tensor(r):
    r.execute_command("AI.TENSORSET", "t", "FLOAT", 2)
    r.set("t", "now a string")
    assert r.get("t") == b"now a string"
    r.execute_command("AI.TENSORSET", "u", "FLOAT", 2)
    assert r.rename("u", "t")
    assert r.execute_command("AI.TENSORGET", "t", "META") == [b"dtype", b"FLOAT", b"shape", [2]]


def test_type_reports_the_module_type_name(r):
    r.execute_command("AI.TENSORSET", "t", "FLOAT", 2)
    assert r.type("t") == b"AI_TENSOR"
