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


@pytest.mark.parametrize("shape", [(7, 24, 35, 67, 15, 4, 36, 24), (2 ** 62, 4), (1024, 1024, 1024)])
def test_huge_zero_filled_tensor_is_refused_not_allocated(r, server, shape):
    """A shape typo must not OOM-kill the server: no-data tensors are capped at 512 MiB."""
    r.execute_command("AI.TENSORSET", "t", "INT8", 1)
    with pytest.raises(redis.ResponseError, match="^tensor is too large to allocate$"):
        r.execute_command("AI.TENSORSET", "t", "FLOAT", *shape)
    assert r.execute_command("AI.TENSORGET", "t", "META") == [b"dtype", b"INT8", b"shape", [1]]
    assert server.alive()


def test_zero_filled_tensor_up_to_the_cap_is_allocated(r):
    r.execute_command("AI.TENSORSET", "t", "UINT8", 64, 1024, 1024)
    assert r.execute_command("AI.TENSORGET", "t", "META") == [b"dtype", b"UINT8", b"shape", [64, 1024, 1024]]
    r.delete("t")
