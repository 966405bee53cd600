"""The PyPI client redisai-py (1.3.0) works unchanged against the module for tensorset/tensorget.

What the client sends (redisai/command_builder.py):
  numpy array  -> AI.TENSORSET key <TYPE> *shape BLOB <tobytes()>  (strings: "s1\\0s2\\0")
  list/tuple   -> AI.TENSORSET key <TYPE> *shape VALUES *values    (shape defaults to (len,))
  tensorget    -> AI.TENSORGET key META BLOB | META VALUES | META
"""
import warnings

import numpy as np
import pytest
import redis

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # redisai/__init__.py imports pkg_resources
    from redisai import Client

NUMERIC_DTYPES = {
    "float32": ("FLOAT", np.array([[1.5, -2.25, 3.0], [0.1, 1e30, -0.0]], dtype=np.float32)),
    "float64": ("DOUBLE", np.array([[1.5, -2.25, 3.0], [0.1, 1e300, 1 / 3]], dtype=np.float64)),
    "int8": ("INT8", np.array([[-128, -1, 0], [1, 64, 127]], dtype=np.int8)),
    "int16": ("INT16", np.array([[-32768, -1, 0], [1, 300, 32767]], dtype=np.int16)),
    "int32": ("INT32", np.array([[-2 ** 31, -1, 0], [1, 70000, 2 ** 31 - 1]], dtype=np.int32)),
    "int64": ("INT64", np.array([[-2 ** 63, -1, 0], [1, 2 ** 40, 2 ** 63 - 1]], dtype=np.int64)),
    "uint8": ("UINT8", np.array([[0, 1, 2], [127, 128, 255]], dtype=np.uint8)),
    "uint16": ("UINT16", np.array([[0, 1, 2], [255, 40000, 65535]], dtype=np.uint16)),
    "bool": ("BOOL", np.array([[True, False, True], [False, False, True]], dtype=np.bool_)),
}


@pytest.fixture
def con(server, r):  # r: the database is flushed
    client = Client(host="127.0.0.1", port=server.port)
    yield client
    client.close()


def assert_same_array(got, want):
    assert isinstance(got, np.ndarray)
    assert got.dtype == want.dtype
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("np_dtype", list(NUMERIC_DTYPES))
def test_numpy_round_trip(con, np_dtype):
    type_name, arr = NUMERIC_DTYPES[np_dtype]
    assert con.tensorset("x", arr) == "OK"
    got = con.tensorget("x")
    assert_same_array(got, arr)
    assert got.tobytes() == arr.tobytes()  # bit-exact, -0.0 included


@pytest.mark.parametrize("np_dtype", list(NUMERIC_DTYPES))
def test_numpy_tensor_is_stored_with_the_right_type_and_shape(con, r, np_dtype):
    type_name, arr = NUMERIC_DTYPES[np_dtype]
    con.tensorset("x", arr)
    assert r.execute_command("AI.TENSORGET", "x", "META") == [b"dtype", type_name.encode(),
                                                              b"shape", [2, 3]]
    assert con.tensorget("x", meta_only=True) == {"dtype": type_name, "shape": [2, 3]}


@pytest.mark.parametrize("np_dtype", list(NUMERIC_DTYPES))
def test_as_numpy_false_returns_python_values(con, np_dtype):
    type_name, arr = NUMERIC_DTYPES[np_dtype]
    con.tensorset("x", arr)
    got = con.tensorget("x", as_numpy=False)
    assert set(got) == {"dtype", "shape", "values"}
    assert got["dtype"] == type_name and got["shape"] == [2, 3]
    if type_name in ("FLOAT", "DOUBLE"):
        assert all(type(v) is float for v in got["values"])
        assert got["values"] == [float(v) for v in arr.flat]
    else:
        assert all(type(v) is int for v in got["values"])
        assert got["values"] == [int(v) for v in arr.flat]


def test_numpy_string_array_round_trip(con, r):
    arr = np.array([["a", "bc", ""], ["déf", "x y", "zz"]])
    assert con.tensorset("s", arr) == "OK"
    assert r.execute_command("AI.TENSORGET", "s", "META", "BLOB") == [
        b"dtype", b"STRING", b"shape", [2, 3], b"blob", "a\0bc\0\0déf\0x y\0zz\0".encode()]
    assert_same_array(con.tensorget("s"), arr)


def test_numpy_string_array_as_values(con):
    con.tensorset("s", np.array(["one", "two"]))
    assert con.tensorget("s", as_numpy=False) == {"dtype": "STRING", "shape": [2],
                                                  "values": ["one", "two"]}
    assert con.tensorget("s", meta_only=True) == {"dtype": "STRING", "shape": [2]}


def test_numpy_0d_array_is_a_scalar(con, r):
    arr = np.array(2.5, dtype=np.float32)
    assert con.tensorset("x", arr) == "OK"
    assert r.execute_command("AI.TENSORGET", "x", "META") == [b"dtype", b"FLOAT", b"shape", []]
    assert_same_array(con.tensorget("x"), arr)
    assert con.tensorget("x", as_numpy=False) == {"dtype": "FLOAT", "shape": [], "values": [2.5]}


def test_numpy_3d_array(con):
    arr = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    con.tensorset("x", arr)
    assert_same_array(con.tensorget("x"), arr)
    assert con.tensorget("x", as_numpy=False)["values"] == list(range(24))


def test_numpy_non_contiguous_array(con):
    arr = np.arange(12, dtype=np.int16).reshape(3, 4).T  # tobytes() gives C order
    con.tensorset("x", arr)
    assert_same_array(con.tensorget("x"), np.ascontiguousarray(arr))


def test_returned_array_is_read_only_view_of_the_reply(con):
    con.tensorset("x", np.array([1, 2], dtype=np.int64))
    got = con.tensorget("x")
    assert not got.flags.writeable


@pytest.mark.parametrize("dtype,type_name,values,back", [
    ("float", "FLOAT", [1.5, -2, 3], [1.5, -2.0, 3.0]),
    ("float32", "FLOAT", [0.5, 4], [0.5, 4.0]),
    ("double", "DOUBLE", [0.1, 1e300], [0.1, 1e300]),
    ("float64", "DOUBLE", [-0.25], [-0.25]),
    ("int8", "INT8", [0, 127], [0, 127]),
    ("int16", "INT16", [1, 32767], [1, 32767]),
    ("int32", "INT32", [5, 2147483647], [5, 2147483647]),
    ("int64", "INT64", [7, 9223372036854775807], [7, 9223372036854775807]),
    ("uint8", "UINT8", [0, 255], [0, 255]),
    ("uint16", "UINT16", [9, 65535], [9, 65535]),
    ("bool", "BOOL", [1, 0, 1], [1, 0, 1]),
])
def test_python_list_with_dtype(con, dtype, type_name, values, back):
    assert con.tensorset("x", values, dtype=dtype) == "OK"
    assert con.tensorget("x", as_numpy=False) == {"dtype": type_name, "shape": [len(values)],
                                                  "values": back}


def test_python_list_to_numpy(con):
    con.tensorset("x", [1, 2, 3, 4], shape=(2, 2), dtype="int16")
    assert_same_array(con.tensorget("x"), np.array([[1, 2], [3, 4]], dtype=np.int16))


def test_python_tuple_with_shape(con):
    assert con.tensorset("x", (1.0, 2.0, 3.0, 4.0, 5.0, 6.0), shape=(3, 2), dtype="float") == "OK"
    assert con.tensorget("x", as_numpy=False) == {"dtype": "FLOAT", "shape": [3, 2],
                                                  "values": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}
    assert_same_array(con.tensorget("x"),
                      np.array([[1, 2], [3, 4], [5, 6]], dtype=np.float32))


def test_python_scalar_with_empty_shape(con):
    assert con.tensorset("x", [42], shape=(), dtype="int64") == "OK"
    assert con.tensorget("x", meta_only=True) == {"dtype": "INT64", "shape": []}
    assert con.tensorget("x", as_numpy=False)["values"] == [42]
    assert_same_array(con.tensorget("x"), np.array(42, dtype=np.int64))


def test_python_string_list(con):
    assert con.tensorset("s", ["a", "bb", "ccc"], dtype="str") == "OK"
    assert con.tensorget("s", as_numpy=False) == {"dtype": "STRING", "shape": [3],
                                                  "values": ["a", "bb", "ccc"]}
    assert_same_array(con.tensorget("s"), np.array(["a", "bb", "ccc"]))


def test_tensor_set_by_the_client_reads_back_with_raw_commands(con, r):
    con.tensorset("x", np.array([[1, 2], [3, 4]], dtype=np.float32))
    assert r.execute_command("AI.TENSORGET", "x", "VALUES") == [b"1", b"2", b"3", b"4"]
    assert r.execute_command("AI.TENSORGET", "x", "BLOB") == \
        b"\x00\x00\x80?\x00\x00\x00@\x00\x00@@\x00\x00\x80@"


def test_tensor_set_with_raw_commands_reads_back_with_the_client(con, r):
    r.execute_command("AI.TENSORSET", "x", "UINT8", 2, 2, "VALUES", 1, 2, 3, 4)
    assert_same_array(con.tensorget("x"), np.array([[1, 2], [3, 4]], dtype=np.uint8))


def test_zero_filled_tensor_reads_as_zeros(con, r):
    r.execute_command("AI.TENSORSET", "x", "DOUBLE", 2, 3)
    assert_same_array(con.tensorget("x"), np.zeros((2, 3), dtype=np.float64))
    r.execute_command("AI.TENSORSET", "s", "STRING", 2)
    assert_same_array(con.tensorget("s"), np.array(["", ""]))


def test_overwrite_through_the_client(con):
    con.tensorset("x", np.array([1, 2, 3], dtype=np.int8))
    con.tensorset("x", np.array([[0.5]], dtype=np.float64))
    assert_same_array(con.tensorget("x"), np.array([[0.5]], dtype=np.float64))


@pytest.mark.parametrize("np_dtype", ["uint32", "uint64"])
def test_types_the_client_knows_but_redisai_does_not_are_rejected_by_the_server(con, r, np_dtype):
    with pytest.raises(redis.ResponseError) as exc:
        con.tensorset("x", np.array([1, 2], dtype=np_dtype))
    assert str(exc.value) == "invalid data type"
    assert r.exists("x") == 0


def test_list_values_out_of_range_are_rejected_by_the_server(con, r):
    with pytest.raises(redis.ResponseError) as exc:
        con.tensorset("x", [1, 300], dtype="uint8")
    assert str(exc.value) == "invalid value"
    assert r.exists("x") == 0


def test_tensorget_of_a_missing_key(con):
    with pytest.raises(redis.ResponseError) as exc:
        con.tensorget("missing")
    assert str(exc.value) == "tensor key is empty or in a different shard"


def test_tensorget_of_a_string_key(con, r):
    r.set("s", "x")
    with pytest.raises(redis.ResponseError) as exc:
        con.tensorget("s")
    assert str(exc.value) == "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_postprocess_disabled_gives_raw_replies(server, r):
    client = Client(host="127.0.0.1", port=server.port, enable_postprocess=False)
    try:
        assert client.tensorset("x", np.array([7, 8], dtype=np.int16)) == b"OK"
        assert client.tensorget("x") == [b"dtype", b"INT16", b"shape", [2], b"blob", b"\x07\x00\x08\x00"]
        assert client.tensorget("x", as_numpy=False) == [b"dtype", b"INT16", b"shape", [2],
                                                         b"values", [7, 8]]
        assert client.tensorget("x", meta_only=True) == [b"dtype", b"INT16", b"shape", [2]]
    finally:
        client.close()


@pytest.mark.parametrize("transaction", [False, True])
def test_pipeline(con, transaction):
    pipe = con.pipeline(transaction=transaction)
    pipe.tensorset("a", np.array([1.0, 2.0], dtype=np.float32))
    pipe.tensorset("b", [3, 4], dtype="int32")
    pipe.tensorget("a")
    pipe.tensorget("b", as_numpy=False)
    pipe.tensorget("a", meta_only=True)
    res = pipe.execute()
    assert res[:2] == [b"OK", b"OK"]
    assert_same_array(res[2], np.array([1.0, 2.0], dtype=np.float32))
    assert res[3] == {"dtype": "INT32", "shape": [2], "values": [3, 4]}
    assert res[4] == {"dtype": "FLOAT", "shape": [2]}


def test_large_numpy_array_round_trip(con):
    arr = np.random.default_rng(1).standard_normal((256, 1024)).astype(np.float32)
    con.tensorset("x", arr)
    assert_same_array(con.tensorget("x"), arr)
