"""AI.TENSORGET (docs/COMMANDS.md §2, §4): every format combination, exact reply shapes, errors.

Redis here is 7.0 (RESP2 doubles formatted with %.17g); the float values used are exactly
representable so their text is the same on later versions too.
"""
import socket
import struct

import numpy as np
import pytest
import redis



def arity_error(r, sent="AI.TENSORGET"):
    """E.ARITY as RedisModule_WrongArity words it on this server: Redis < 7 quotes argv[0] as sent,
    Redis >= 7 quotes the registered (lower-case) command name whatever the client's spelling."""
    major = int(r.info("server")["redis_version"].split(".")[0])
    return f"wrong number of arguments for '{sent if major < 7 else 'ai.tensorget'}' command"

E_EMPTY = "tensor key is empty or in a different shard"
E_WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
E_FORMAT = "unsupported data format"
E_BOTH = "both BLOB and VALUES specified"

T_BLOB = b"\x00\x00\x80?\x00\x00\x00@\x00\x00@@\x00\x00\x80@"  # FLOAT 2 2 VALUES 1 2 3 4
T_META = [b"dtype", b"FLOAT", b"shape", [2, 2]]
T_VALUES = [b"1", b"2", b"3", b"4"]
T_FULL = [*T_META, b"blob", T_BLOB]
T_META_VALUES = [*T_META, b"values", T_VALUES]


def tset(r, *args):
    return r.execute_command("AI.TENSORSET", *args)


def tget(r, *args):
    return r.execute_command("AI.TENSORGET", *args)


def error_of(r, *args, command="AI.TENSORGET"):
    with pytest.raises(redis.ResponseError) as exc:
        r.execute_command(command, *args)
    return str(exc.value)


@pytest.fixture
def t(r):
    assert tset(r, "t", "FLOAT", 2, 2, "VALUES", 1, 2, 3, 4) == b"OK"
    return "t"


# --------------------------------------------------------------------------------------------
# Format combinations
# --------------------------------------------------------------------------------------------

FORMATS = [
    ([], T_FULL),
    (["META"], T_META),
    (["BLOB"], T_BLOB),
    (["VALUES"], T_VALUES),
    (["META", "BLOB"], T_FULL),
    (["BLOB", "META"], T_FULL),
    (["META", "VALUES"], T_META_VALUES),
    (["VALUES", "META"], T_META_VALUES),
    (["META", "META"], T_META),
    (["BLOB", "BLOB"], T_BLOB),
    (["VALUES", "VALUES"], T_VALUES),
    (["meta"], T_META),
    (["blob"], T_BLOB),
    (["values"], T_VALUES),
    (["Meta", "bLoB"], T_FULL),
    (["vAlUeS", "mEtA"], T_META_VALUES),
]


@pytest.mark.parametrize("formats,reply", FORMATS, ids=["-".join(f) or "none" for f, _ in FORMATS])
def test_format_combination(r, t, formats, reply):
    assert tget(r, t, *formats) == reply


def test_no_format_is_a_six_element_array(r, t):
    reply = tget(r, t)
    assert isinstance(reply, list) and len(reply) == 6


def test_meta_is_a_four_element_array(r, t):
    reply = tget(r, t, "META")
    assert isinstance(reply, list) and len(reply) == 4


def test_meta_values_is_a_six_element_array(r, t):
    reply = tget(r, t, "META", "VALUES")
    assert isinstance(reply, list) and len(reply) == 6 and isinstance(reply[5], list)


def test_blob_alone_is_a_bare_bulk_string(r, t):
    reply = tget(r, t, "BLOB")
    assert isinstance(reply, bytes) and reply == T_BLOB


def test_values_is_flat_whatever_the_number_of_dimensions(r):
    assert tset(r, "t", "INT32", 2, 1, 3, "VALUES", *range(6)) == b"OK"
    assert tget(r, "t", "VALUES") == [0, 1, 2, 3, 4, 5]
    assert tget(r, "t", "META", "VALUES") == [b"dtype", b"INT32", b"shape", [2, 1, 3],
                                              b"values", [0, 1, 2, 3, 4, 5]]


def test_shape_elements_are_integers(r):
    assert tset(r, "t", "UINT8", 3, 1, 2) == b"OK"
    shape = tget(r, "t", "META")[3]
    assert shape == [3, 1, 2] and all(type(d) is int for d in shape)


# --------------------------------------------------------------------------------------------
# Element replies per type
# --------------------------------------------------------------------------------------------

INT_TYPES = {
    "INT8": ("<i1", [0, 1, 127]),
    "INT16": ("<i2", [0, 300, 32767]),
    "INT32": ("<i4", [0, 70000, 2147483647]),
    "INT64": ("<i8", [0, 5000000000, 9223372036854775807]),
    "UINT8": ("<u1", [0, 200, 255]),
    "UINT16": ("<u2", [0, 40000, 65535]),
    "BOOL": ("?", [0, 1, 1]),
}


@pytest.mark.parametrize("type_name", list(INT_TYPES))
def test_integer_types_reply_integers(r, type_name):
    dtype, values = INT_TYPES[type_name]
    assert tset(r, "t", type_name, 3, "VALUES", *values) == b"OK"
    reply = tget(r, "t", "VALUES")
    assert reply == values and all(type(v) is int for v in reply)
    assert tget(r, "t", "META", "VALUES") == [b"dtype", type_name.encode(), b"shape", [3],
                                              b"values", values]
    assert tget(r, "t", "BLOB") == np.array(values, dtype=dtype).tobytes()


@pytest.mark.parametrize("type_name,dtype", [("INT8", "<i1"), ("INT16", "<i2"), ("INT32", "<i4"),
                                             ("INT64", "<i8")])
def test_negative_signed_values_reply_negative_integers(r, type_name, dtype):
    info = np.iinfo(dtype)
    blob = np.array([info.min, -1, info.max], dtype=dtype).tobytes()
    assert tset(r, "t", type_name, 3, "BLOB", blob) == b"OK"
    assert tget(r, "t", "VALUES") == [int(info.min), -1, int(info.max)]


@pytest.mark.parametrize("type_name,fmt", [("FLOAT", "<3f"), ("DOUBLE", "<3d")])
def test_float_types_reply_bulk_strings(r, type_name, fmt):
    assert tset(r, "t", type_name, 3, "VALUES", 2, -0.5, 1.25) == b"OK"
    assert tget(r, "t", "VALUES") == [b"2", b"-0.5", b"1.25"]
    assert tget(r, "t", "META", "VALUES") == [b"dtype", type_name.encode(), b"shape", [3],
                                              b"values", [b"2", b"-0.5", b"1.25"]]
    assert tget(r, "t", "BLOB") == struct.pack(fmt, 2, -0.5, 1.25)


def test_float_reply_is_the_float32_value_widened_to_double(r):
    assert tset(r, "t", "FLOAT", 1, "VALUES", "0.1") == b"OK"
    assert tget(r, "t", "VALUES") == [b"0.10000000149011612"]


def test_double_reply_keeps_full_precision(r):
    assert tset(r, "t", "DOUBLE", 1, "VALUES", "0.1") == b"OK"
    assert float(tget(r, "t", "VALUES")[0]) == 0.1


def test_float_infinities_are_spelled_out(r):
    assert tset(r, "t", "FLOAT", 2, "BLOB", struct.pack("<2f", float("inf"), float("-inf"))) == b"OK"
    assert tget(r, "t", "VALUES") == [b"inf", b"-inf"]


def test_string_values_and_blob(r):
    assert tset(r, "t", "STRING", 3, "BLOB", b"a\x00bc\x00\x00") == b"OK"
    assert tget(r, "t", "VALUES") == [b"a", b"bc", b""]
    assert tget(r, "t", "BLOB") == b"a\x00bc\x00\x00"
    assert tget(r, "t") == [b"dtype", b"STRING", b"shape", [3], b"blob", b"a\x00bc\x00\x00"]
    assert tget(r, "t", "META", "VALUES") == [b"dtype", b"STRING", b"shape", [3],
                                              b"values", [b"a", b"bc", b""]]


def test_string_values_are_binary_safe_bulk_strings(r):
    assert tset(r, "t", "STRING", 2, 1, "VALUES", b"\xff\xfe", "x y") == b"OK"
    assert tget(r, "t", "VALUES") == [b"\xff\xfe", b"x y"]


def test_scalar_replies_an_empty_shape(r):
    assert tset(r, "t", "INT64", "VALUES", 7) == b"OK"
    assert tget(r, "t", "META") == [b"dtype", b"INT64", b"shape", []]
    assert tget(r, "t") == [b"dtype", b"INT64", b"shape", [], b"blob", struct.pack("<q", 7)]
    assert tget(r, "t", "VALUES") == [7]
    assert tget(r, "t", "META", "VALUES") == [b"dtype", b"INT64", b"shape", [], b"values", [7]]


def test_scalar_float_values(r):
    assert tset(r, "t", "DOUBLE", "VALUES", 2.5) == b"OK"
    assert tget(r, "t", "VALUES") == [b"2.5"]


def test_tensorget_in_lower_case_command_name(r, t):
    assert r.execute_command("ai.tensorget", t, "meta") == T_META


def test_tensorget_does_not_change_the_tensor(r, t):
    for formats, _ in FORMATS:
        tget(r, t, *formats)
    assert tget(r, t) == T_FULL


# --------------------------------------------------------------------------------------------
# Errors, in the order of §4's table
# --------------------------------------------------------------------------------------------

def test_arity_without_key(r):
    assert error_of(r) == arity_error(r)


@pytest.mark.parametrize("formats", [
    ["META", "META", "META"], ["BLOB", "BLOB", "BLOB"], ["VALUES", "VALUES", "VALUES"],
    ["META", "META", "BLOB"], ["META", "VALUES", "META"], ["BLOB", "VALUES", "FOO"],
    ["a", "b", "c"], ["META", "BLOB", "META", "META"],
])
def test_arity_with_more_than_two_format_tokens(r, t, formats):
    assert error_of(r, t, *formats) == arity_error(r)


def test_arity_message_for_a_lower_case_command(r, t):
    assert error_of(r, command="ai.tensorget") == "wrong number of arguments for 'ai.tensorget' command"


def test_arity_message_for_a_mixed_case_command(r, t):
    assert error_of(r, t, "META", "META", "META", command="Ai.TensorGet") == arity_error(r, "Ai.TensorGet")


def test_arity_comes_before_missing_key(r):
    assert error_of(r, "missing", "META", "META", "META") == arity_error(r)


def test_arity_comes_before_wrongtype(r):
    r.set("s", "x")
    assert error_of(r, "s", "META", "META", "META") == arity_error(r)


@pytest.mark.parametrize("formats", [[], ["META"], ["FOO"], ["BLOB", "VALUES"]])
def test_missing_key(r, formats):
    assert error_of(r, "missing", *formats) == E_EMPTY


def test_missing_key_comes_before_wrongtype_and_format_checks(r):
    assert error_of(r, "nope", "FOO", "BAR") == E_EMPTY


@pytest.mark.parametrize("formats", [[], ["META"], ["FOO"], ["BLOB", "VALUES"]])
def test_wrongtype(r, formats):
    r.set("s", "x")
    assert error_of(r, "s", *formats) == E_WRONGTYPE


def test_wrongtype_on_a_list(r):
    r.rpush("l", "a")
    assert error_of(r, "l", "VALUES") == E_WRONGTYPE


@pytest.mark.parametrize("formats", [
    ["FOO"], ["METADATA"], ["BLOBS"], ["VALUE"], [""], ["META", "FOO"], ["FOO", "META"],
    ["BLOB", "FOO"], ["FOO", "BLOB"], ["VALUES", "x"],
])
def test_unsupported_data_format(r, t, formats):
    assert error_of(r, t, *formats) == E_FORMAT


@pytest.mark.parametrize("formats", [
    ["BLOB", "VALUES"], ["VALUES", "BLOB"], ["blob", "values"], ["Values", "bLob"],
])
def test_both_blob_and_values(r, t, formats):
    assert error_of(r, t, *formats) == E_BOTH


# --------------------------------------------------------------------------------------------
# RESP3 (redis-py 4.6 has no protocol=3: speak it on a raw socket)
# --------------------------------------------------------------------------------------------

class Double(bytes):
    """A RESP3 double, kept as the text the server sent."""


def resp_command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def read_resp3(f):
    """A minimal RESP3 reader: bulk -> bytes, simple -> str, double -> Double, int -> int."""
    line = f.readline()
    assert line.endswith(b"\r\n"), f"truncated reply {line!r}"
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        return redis.ResponseError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b",":
        return Double(rest)
    if kind == b"_":
        return None
    if kind in (b"$", b"="):
        data = f.read(int(rest) + 2)
        return data[:-2]
    if kind in (b"*", b"~", b">"):
        return [read_resp3(f) for _ in range(int(rest))]
    if kind == b"%":
        return dict((read_resp3(f), read_resp3(f)) for _ in range(int(rest)))
    raise AssertionError(f"unexpected RESP3 type {line!r}")


def test_resp3_replies(server, r, t):
    assert tset(r, "i", "INT8", 2, "VALUES", 5, 6) == b"OK"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        f = sock.makefile("rb")

        def call(*args):
            sock.sendall(resp_command(*args))
            return read_resp3(f)

        assert isinstance(call("HELLO", "3"), dict)
        values = call("AI.TENSORGET", t, "VALUES")
        assert values == [b"1", b"2", b"3", b"4"] and all(type(v) is Double for v in values)
        meta = call("AI.TENSORGET", t, "META")
        assert meta == [b"dtype", b"FLOAT", b"shape", [2, 2]]
        assert all(type(x) is bytes for x in meta[:3])  # bulk strings, not simple strings
        assert call("AI.TENSORGET", "i", "VALUES") == [5, 6]
        assert call("AI.TENSORGET", t, "BLOB") == T_BLOB
        full = call("AI.TENSORGET", t, "META", "VALUES")
        assert full == [b"dtype", b"FLOAT", b"shape", [2, 2], b"values", [b"1", b"2", b"3", b"4"]]
        assert type(full[5][0]) is Double
        assert call("AI.TENSORSET", "j", "INT8", 1) == "OK"
