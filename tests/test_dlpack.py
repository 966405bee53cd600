"""Stored tensors exchange zero-copy with numpy and torch through DLPack.

AI._DEBUG DLPACK <src> <dst> <framework> runs inside redis-server: it views <src> in the
framework through __dlpack__, stores 2*src into <dst> (copied back through DLPack), and replies
[zero_copy, read_only] as the framework saw them.
"""
import numpy as np
import pytest

NUMERIC = [("FLOAT", np.float32), ("DOUBLE", np.float64), ("INT8", np.int8), ("INT16", np.int16),
           ("INT32", np.int32), ("INT64", np.int64), ("UINT8", np.uint8)]


def blob_of(r, key):
    return r.execute_command("AI.TENSORGET", key, "META", "BLOB")


@pytest.mark.parametrize("framework", ["NUMPY", "TORCH"])
@pytest.mark.parametrize("dtype,nptype", NUMERIC)
def test_framework_sees_tensor_memory_without_copy(r, framework, dtype, nptype):
    src = np.arange(6, dtype=nptype).reshape(2, 3)
    r.execute_command("AI.TENSORSET", "src", dtype, 2, 3, "BLOB", src.tobytes())
    zero_copy, read_only = r.execute_command("AI._DEBUG", "DLPACK", "src", "dst", framework)
    assert zero_copy == 1
    if framework == "NUMPY":
        assert read_only == 1, "numpy must see stored tensors as read-only"
    meta = blob_of(r, "dst")
    assert meta[3] == [2, 3]
    # Both frameworks keep the dtype for x * 2 on these types.
    assert np.array_equal(np.frombuffer(meta[5], dtype=nptype).reshape(2, 3), src * 2)
    # The source is untouched.
    assert blob_of(r, "src")[5] == src.tobytes()


def test_scalar_tensor_exchanges(r):
    r.execute_command("AI.TENSORSET", "s", "DOUBLE", "VALUES", 1.5)
    assert r.execute_command("AI._DEBUG", "DLPACK", "s", "d", "TORCH")[0] == 1
    assert r.execute_command("AI.TENSORGET", "d", "META", "VALUES") == [
        b"dtype", b"DOUBLE", b"shape", [], b"values", [b"3"]]


def test_string_tensors_are_not_exported(r):
    r.execute_command("AI.TENSORSET", "s", "STRING", 1, "VALUES", "a")
    with pytest.raises(Exception, match="STRING tensors have no DLPack representation"):
        r.execute_command("AI._DEBUG", "DLPACK", "s", "d", "NUMPY")
    assert not r.exists("d")


def test_exported_tensor_outlives_its_key(r):
    """The view holds a reference: deleting the key while a framework holds it is safe, and
    memory returns once both are gone (checked by the server staying healthy)."""
    r.execute_command("AI.TENSORSET", "src", "FLOAT", 1024)
    for _ in range(50):
        r.execute_command("AI._DEBUG", "DLPACK", "src", "dst", "NUMPY")
        r.execute_command("AI.TENSORSET", "src", "FLOAT", 1024, "VALUES", *([1] * 1024))
    assert r.execute_command("AI.TENSORGET", "dst", "VALUES")[:2] == [b"2", b"2"]
