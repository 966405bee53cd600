"""AI.TENSORSET (docs/COMMANDS.md §2, §3): every type, every input form, every error in spec order.

Error texts are compared as redis-py shows them: a leading "ERR " is stripped, anything else
(WRONGTYPE ...) is kept whole.
"""
import struct

import numpy as np
import pytest
import redis

from helpers import valkey_version

E_WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
E_DTYPE = "invalid data type"
E_SHAPE = "invalid or negative value found in tensor shape"
E_BLOB_ARGS = "a single binary string should come after the BLOB argument in 'AI.TENSORSET' command"
E_VALUES_COUNT = "wrong number of values was given in 'AI.TENSORSET' command"
E_BLOB_LEN = "data length does not match tensor shape and type"
E_BOOL = "BOOL tensor elements must be 0 or 1"
E_STRING_BLOB = "Number of string elements in data blob does not match tensor length"
E_VALUE = "invalid value"
E_NUL = "C-string value contains null character"

# type name -> numpy dtype of its BLOB layout (little-endian host order)
NUMERIC = {
    "FLOAT": np.dtype("<f4"),
    "DOUBLE": np.dtype("<f8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "BOOL": np.dtype("?"),
}
ALL_TYPES = [*NUMERIC, "STRING"]


def arity_error(r, sent="AI.TENSORSET"):
    """E.ARITY as RedisModule_WrongArity words it on this server: Redis < 7 quotes argv[0] as sent,
    Redis >= 7 quotes the registered (lower-case) command name whatever the client's spelling."""
    major = int(r.info("server")["redis_version"].split(".")[0])
    return f"wrong number of arguments for '{sent if major < 7 else 'ai.tensorset'}' command"


def tset(r, *args):
    return r.execute_command("AI.TENSORSET", *args)


def tget(r, *args):
    return r.execute_command("AI.TENSORGET", *args)


def error_of(r, *args, command="AI.TENSORSET"):
    with pytest.raises(redis.ResponseError) as exc:
        r.execute_command(command, *args)
    return str(exc.value)


def sample_values(type_name, n):
    """n in-range VALUES for a type, as the ints/floats the server should hand back."""
    if type_name in ("FLOAT", "DOUBLE"):
        return [x * 0.5 - 1 for x in range(n)]  # exactly representable in float32
    if type_name == "BOOL":
        return [i % 2 for i in range(n)]
    return [(i * 7) % 100 for i in range(n)]


def expected_value_replies(type_name, values):
    if type_name in ("FLOAT", "DOUBLE"):
        # Redis 7.0 formats doubles with %.17g: for these exactly representable values that is
        # the shortest form too.
        return [("%.17g" % v).encode() for v in values]
    return [int(v) for v in values]


# --------------------------------------------------------------------------------------------
# Success paths
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("type_name", list(NUMERIC))
def test_values_store_each_numeric_type(r, type_name):
    values = sample_values(type_name, 6)
    assert tset(r, "t", type_name, 2, 3, "VALUES", *values) == b"OK"
    blob = np.array(values, dtype=NUMERIC[type_name]).tobytes()
    assert tget(r, "t") == [b"dtype", type_name.encode(), b"shape", [2, 3], b"blob", blob]
    assert tget(r, "t", "VALUES") == expected_value_replies(type_name, values)


@pytest.mark.parametrize("type_name", list(NUMERIC))
def test_blob_stores_each_numeric_type_byte_for_byte(r, type_name):
    values = sample_values(type_name, 6)
    blob = np.array(values, dtype=NUMERIC[type_name]).reshape(3, 2).tobytes()
    assert tset(r, "t", type_name, 3, 2, "BLOB", blob) == b"OK"
    assert tget(r, "t") == [b"dtype", type_name.encode(), b"shape", [3, 2], b"blob", blob]
    assert tget(r, "t", "VALUES") == expected_value_replies(type_name, values)


def test_values_store_string_type(r):
    assert tset(r, "t", "STRING", 3, "VALUES", "a", "bc", "def") == b"OK"
    assert tget(r, "t") == [b"dtype", b"STRING", b"shape", [3], b"blob", b"a\x00bc\x00def\x00"]
    assert tget(r, "t", "VALUES") == [b"a", b"bc", b"def"]


def test_blob_stores_string_type(r):
    blob = b"str_val1\x00str_val2\x00"
    assert tset(r, "t", "STRING", 1, 2, "BLOB", blob) == b"OK"
    assert tget(r, "t") == [b"dtype", b"STRING", b"shape", [1, 2], b"blob", blob]
    assert tget(r, "t", "VALUES") == [b"str_val1", b"str_val2"]


def test_string_blob_may_hold_empty_elements(r):
    assert tset(r, "t", "STRING", 3, "BLOB", b"\x00x\x00\x00") == b"OK"
    assert tget(r, "t", "VALUES") == [b"", b"x", b""]
    assert tget(r, "t", "BLOB") == b"\x00x\x00\x00"


def test_string_values_may_hold_any_non_nul_bytes(r):
    raw = bytes(range(1, 256))
    assert tset(r, "t", "STRING", 2, "VALUES", raw, "é ü") == b"OK"
    assert tget(r, "t", "VALUES") == [raw, "é ü".encode()]
    assert tget(r, "t", "BLOB") == raw + b"\x00" + "é ü".encode() + b"\x00"


def test_string_value_with_one_trailing_nul_is_the_same_as_without(r):
    assert tset(r, "t", "STRING", 2, "VALUES", b"x\x00", b"yz") == b"OK"
    assert tget(r, "t", "BLOB") == b"x\x00yz\x00"
    assert tget(r, "t", "VALUES") == [b"x", b"yz"]


def test_upstream_docs_example_blob(r):
    assert tset(r, "t", "FLOAT", 2, 2, "VALUES", 1, 2, 3, 4) == b"OK"
    assert tget(r, "t", "BLOB") == b"\x00\x00\x80?\x00\x00\x00@\x00\x00@@\x00\x00\x80@"


def test_negative_signed_values_can_be_stored_through_blob(r):
    blob = np.array([-1, -128, 127], dtype="<i1").tobytes()
    assert tset(r, "t", "INT8", 3, "BLOB", blob) == b"OK"
    assert tget(r, "t", "VALUES") == [-1, -128, 127]
    blob = np.array([-(2 ** 63), -5], dtype="<i8").tobytes()
    assert tset(r, "t", "INT64", 2, "BLOB", blob) == b"OK"
    assert tget(r, "t", "VALUES") == [-(2 ** 63), -5]


@pytest.mark.parametrize("type_name,bottom,top", [
    ("INT8", -128, 127), ("INT16", -32768, 32767), ("INT32", -2147483648, 2147483647),
    ("INT64", -9223372036854775808, 9223372036854775807)])
def test_signed_values_accept_the_whole_range_negatives_included(r, type_name, bottom, top):
    """docs/COMMANDS.md §2: a deliberate difference from RedisAI 1.2, which refused every negative value."""
    values = [bottom, -1, 0, 1, top]
    assert tset(r, "t", type_name, 5, "VALUES", *values) == b"OK"
    assert tget(r, "t", "VALUES") == values
    assert tget(r, "t", "BLOB") == np.array(values, dtype=NUMERIC[type_name]).tobytes()


def test_upstream_negative_int8_example_is_accepted(r):
    assert tset(r, "z", "INT8", 2, "VALUES", -1, -128) == b"OK"
    assert tget(r, "z", "META", "VALUES") == [b"dtype", b"INT8", b"shape", [2], b"values", [-1, -128]]


@pytest.mark.parametrize("type_name", ["FLOAT", "DOUBLE"])
def test_float_values_accept_negatives(r, type_name):
    assert tset(r, "t", type_name, 2, "VALUES", "-1.5", "-0") == b"OK"
    assert tget(r, "t", "BLOB") == np.array([-1.5, -0.0], dtype=NUMERIC[type_name]).tobytes()


@pytest.mark.parametrize("type_name,top", [
    ("INT8", 127), ("INT16", 32767), ("INT32", 2147483647), ("INT64", 9223372036854775807),
    ("UINT8", 255), ("UINT16", 65535), ("BOOL", 1),
])
def test_integer_values_accept_zero_and_the_type_maximum(r, type_name, top):
    assert tset(r, "t", type_name, 2, "VALUES", 0, top) == b"OK"
    assert tget(r, "t", "VALUES") == [0, top]
    assert tget(r, "t", "BLOB") == np.array([0, top], dtype=NUMERIC[type_name]).tobytes()


def test_int64_max_round_trips(r):
    assert tset(r, "t", "INT64", 1, "VALUES", "9223372036854775807") == b"OK"
    assert tget(r, "t", "VALUES") == [9223372036854775807]
    assert tget(r, "t", "BLOB") == struct.pack("<q", 9223372036854775807)


@pytest.mark.parametrize("spelling,type_name", [
    ("float", "FLOAT"), ("Float", "FLOAT"), ("dOuBlE", "DOUBLE"), ("int8", "INT8"),
    ("Int16", "INT16"), ("iNT32", "INT32"), ("int64", "INT64"), ("uint8", "UINT8"),
    ("UInt16", "UINT16"), ("bool", "BOOL"), ("Bool", "BOOL"), ("string", "STRING"),
    ("String", "STRING"),
])
def test_type_names_are_case_insensitive_and_reported_upper_case(r, spelling, type_name):
    assert tset(r, "t", spelling, 2) == b"OK"
    assert tget(r, "t", "META") == [b"dtype", type_name.encode(), b"shape", [2]]


@pytest.mark.parametrize("keyword", ["values", "Values", "vALUES"])
def test_values_keyword_is_case_insensitive(r, keyword):
    assert tset(r, "t", "INT32", 2, keyword, 5, 6) == b"OK"
    assert tget(r, "t", "VALUES") == [5, 6]


@pytest.mark.parametrize("keyword", ["blob", "Blob", "bLOB"])
def test_blob_keyword_is_case_insensitive(r, keyword):
    assert tset(r, "t", "UINT16", 2, keyword, b"\x01\x00\x02\x01") == b"OK"
    assert tget(r, "t", "VALUES") == [1, 258]


@pytest.mark.parametrize("type_name", list(NUMERIC))
def test_scalar_from_values_has_empty_shape(r, type_name):
    assert tset(r, "t", type_name, "VALUES", 1) == b"OK"
    assert tget(r, "t", "META") == [b"dtype", type_name.encode(), b"shape", []]
    assert tget(r, "t", "VALUES") == expected_value_replies(type_name, [1])
    assert tget(r, "t", "BLOB") == np.array([1], dtype=NUMERIC[type_name]).tobytes()


def test_scalar_from_blob_has_empty_shape(r):
    assert tset(r, "t", "INT64", "BLOB", struct.pack("<q", 42)) == b"OK"
    assert tget(r, "t") == [b"dtype", b"INT64", b"shape", [], b"blob", struct.pack("<q", 42)]


def test_scalar_string(r):
    assert tset(r, "t", "STRING", "VALUES", "only") == b"OK"
    assert tget(r, "t") == [b"dtype", b"STRING", b"shape", [], b"blob", b"only\x00"]
    assert tset(r, "u", "STRING", "BLOB", b"\x00") == b"OK"
    assert tget(r, "u", "VALUES") == [b""]


def test_scalar_float_blob(r):
    assert tset(r, "t", "FLOAT", "BLOB", struct.pack("<f", 3.5)) == b"OK"
    assert tget(r, "t", "META", "VALUES") == [b"dtype", b"FLOAT", b"shape", [], b"values", [b"3.5"]]


@pytest.mark.parametrize("type_name", list(NUMERIC))
def test_no_data_gives_a_zero_filled_tensor(r, type_name):
    assert tset(r, "t", type_name, 2, 3) == b"OK"
    size = NUMERIC[type_name].itemsize
    assert tget(r, "t") == [b"dtype", type_name.encode(), b"shape", [2, 3], b"blob", b"\x00" * 6 * size]
    zero = b"0" if type_name in ("FLOAT", "DOUBLE") else 0
    assert tget(r, "t", "VALUES") == [zero] * 6


def test_no_data_string_tensor_holds_empty_strings(r):
    assert tset(r, "t", "STRING", 2, 2) == b"OK"
    assert tget(r, "t") == [b"dtype", b"STRING", b"shape", [2, 2], b"blob", b"\x00" * 4]
    assert tget(r, "t", "VALUES") == [b""] * 4


def test_large_zero_filled_tensor(r):
    assert tset(r, "t", "FLOAT", 1000, 1000) == b"OK"
    blob = tget(r, "t", "BLOB")
    assert len(blob) == 4_000_000 and blob.count(b"\x00") == 4_000_000


def test_many_dimensions(r):
    dims = [1, 2, 1, 3, 1, 1, 2]
    assert tset(r, "t", "UINT8", *dims, "VALUES", *range(12)) == b"OK"
    assert tget(r, "t", "META") == [b"dtype", b"UINT8", b"shape", dims]
    assert tget(r, "t", "VALUES") == list(range(12))


def test_overwrite_replaces_type_shape_and_data(r):
    assert tset(r, "t", "FLOAT", 2, "VALUES", 1, 2) == b"OK"
    assert tset(r, "t", "INT8", 3, "VALUES", 4, 5, 6) == b"OK"
    assert tget(r, "t") == [b"dtype", b"INT8", b"shape", [3], b"blob", b"\x04\x05\x06"]
    assert tset(r, "t", "STRING", 1, "VALUES", "s") == b"OK"
    assert tget(r, "t") == [b"dtype", b"STRING", b"shape", [1], b"blob", b"s\x00"]
    assert r.dbsize() == 1


def test_overwrite_with_no_data_zero_fills(r):
    assert tset(r, "t", "INT16", 2, "VALUES", 7, 8) == b"OK"
    assert tset(r, "t", "INT16", 2) == b"OK"
    assert tget(r, "t", "VALUES") == [0, 0]


def test_first_blob_or_values_token_ends_the_shape(r):
    # Everything after the first BLOB/VALUES is data, even keywords.
    assert tset(r, "t", "STRING", 2, "VALUES", "BLOB", "VALUES") == b"OK"
    assert tget(r, "t", "VALUES") == [b"BLOB", b"VALUES"]
    assert tset(r, "u", "INT16", 3, "BLOB", "VALUES") == b"OK"
    assert tget(r, "u", "BLOB") == b"VALUES"


def test_binary_key_names_work(r):
    key = b"k\x00\xff"
    assert tset(r, key, "INT8", 1, "VALUES", 3) == b"OK"
    assert tget(r, key, "VALUES") == [3]


@pytest.mark.parametrize("token,expected", [
    ("inf", b"inf"), ("-inf", b"-inf"), ("INF", b"inf"), ("infinity", b"inf"),
])
@pytest.mark.parametrize("type_name", ["FLOAT", "DOUBLE"])
def test_float_values_accept_infinity(r, type_name, token, expected):
    assert tset(r, "t", type_name, 1, "VALUES", token) == b"OK"
    assert tget(r, "t", "VALUES") == [expected]


@pytest.mark.parametrize("type_name", ["FLOAT", "DOUBLE"])
def test_float_values_accept_exponent_syntax_and_hex_where_the_server_reads_it(r, type_name):
    """VALUES go through the server's own string-to-double (RedisModule_StringToDouble): strtod on
    Redis and Valkey 8, which reads hex as RedisAI did; Valkey 9's own parser refuses hex, and the
    module follows the server (docs/COMMANDS.md §2)."""
    assert tset(r, "t", type_name, 2, "VALUES", "2.5e1", "-0.125") == b"OK"
    assert tget(r, "t", "VALUES") == [b"25", b"-0.125"]
    if (valkey_version(r) or (0,)) < (9,):
        assert tset(r, "t", type_name, 1, "VALUES", "0x10") == b"OK"
        assert tget(r, "t", "VALUES") == [b"16"]
    else:
        assert error_of(r, "t", type_name, 1, "VALUES", "0x10") == "invalid value"


def test_float_overflow_is_stored_as_infinity(r):
    assert tset(r, "t", "FLOAT", 2, "VALUES", "1e39", "-1e39") == b"OK"
    assert tget(r, "t", "VALUES") == [b"inf", b"-inf"]
    assert tget(r, "t", "BLOB") == struct.pack("<2f", float("inf"), float("-inf"))


def test_double_keeps_values_beyond_float_range(r):
    assert tset(r, "t", "DOUBLE", 1, "VALUES", "1e39") == b"OK"
    assert tget(r, "t", "BLOB") == struct.pack("<d", 1e39)
    assert float(tget(r, "t", "VALUES")[0]) == 1e39


def test_float_values_are_rounded_to_float32(r):
    assert tset(r, "t", "FLOAT", 1, "VALUES", "0.1") == b"OK"
    assert tget(r, "t", "BLOB") == struct.pack("<f", 0.1)
    assert tget(r, "t", "VALUES") == [b"0.10000000149011612"]


def test_bool_blob_last_byte_is_checked_too(r):
    # §3 check 8: upstream skips the last byte. We check every byte (README, decisions): no
    # valid BOOL blob has anything but 0 or 1 there, so only broken input sees the difference.
    for shape, blob in (((2,), b"\x01\x02"), ((), b"\x07")):
        with pytest.raises(redis.ResponseError) as e:
            tset(r, "t", "BOOL", *shape, "BLOB", blob)
        assert str(e.value) == "BOOL tensor elements must be 0 or 1"
        assert not r.exists("t")


def test_bool_blob_of_zeros_and_ones(r):
    assert tset(r, "t", "BOOL", 4, "BLOB", b"\x00\x01\x01\x00") == b"OK"
    assert tget(r, "t", "VALUES") == [0, 1, 1, 0]


def test_tensorset_in_lower_case_command_name(r):
    assert r.execute_command("ai.tensorset", "t", "INT8", 1, "VALUES", 9) == b"OK"
    assert tget(r, "t", "VALUES") == [9]


# --------------------------------------------------------------------------------------------
# Errors, in the order of §3's table. Each is checked against a missing key (stays missing) and
# against an existing tensor (keeps its value).
# --------------------------------------------------------------------------------------------

PRIOR_BLOB = np.array([7, -9], dtype="<i2").tobytes()
PRIOR_REPLY = [b"dtype", b"INT16", b"shape", [2], b"blob", PRIOR_BLOB]


@pytest.fixture(params=["missing", "tensor"])
def prior(request, r):
    """The state of key "k" before a failing TENSORSET; .check() asserts it is unchanged."""

    class Prior:
        kind = request.param

        def check(self):
            if self.kind == "missing":
                assert r.exists("k") == 0
            else:
                assert tget(r, "k") == PRIOR_REPLY
            assert r.dbsize() == (0 if self.kind == "missing" else 1)

    if request.param == "tensor":
        assert tset(r, "k", "INT16", 2, "BLOB", PRIOR_BLOB) == b"OK"
    return Prior()


def assert_fails(r, prior, args, message):
    assert error_of(r, "k", *args) == message
    prior.check()


# 1. arity

def test_arity_without_any_argument(r):
    assert error_of(r) == arity_error(r)


def test_arity_with_key_only(r, prior):
    assert_fails(r, prior, [], arity_error(r))


def test_arity_with_key_and_type_only(r, prior):
    # A scalar needs data: "AI.TENSORSET k INT32" has argc 3 < 4.
    assert_fails(r, prior, ["INT32"], arity_error(r))


def test_arity_message_for_a_lower_case_command(r):
    assert error_of(r, "k", "FLOAT", command="ai.tensorset") == \
        "wrong number of arguments for 'ai.tensorset' command"


def test_arity_message_for_a_mixed_case_command(r):
    assert error_of(r, "k", command="Ai.TensorSet") == arity_error(r, "Ai.TensorSet")


def test_arity_is_checked_before_the_key_type(r):
    r.set("s", "x")
    assert error_of(r, "s", "FLOAT") == arity_error(r)
    assert r.get("s") == b"x"


# 2. WRONGTYPE

@pytest.mark.parametrize("args", [
    ["FLOAT", 2, "VALUES", 1, 2],
    ["INT32", 2, "garbage"],           # garbage shape: WRONGTYPE still wins
    ["INT128", 1],                     # bad type: WRONGTYPE still wins
    ["FLOAT", 0],
    ["FLOAT", 2, "BLOB"],
    ["FLOAT", 2, "VALUES", 1],
])
def test_wrongtype_on_a_string_key_comes_first(r, args):
    r.set("s", "value")
    assert error_of(r, "s", *args) == E_WRONGTYPE
    assert r.get("s") == b"value"


def test_wrongtype_on_list_and_hash_keys(r):
    r.rpush("l", "a")
    r.hset("h", "f", "v")
    assert error_of(r, "l", "FLOAT", 1) == E_WRONGTYPE
    assert error_of(r, "h", "FLOAT", 1) == E_WRONGTYPE
    assert r.lrange("l", 0, -1) == [b"a"]
    assert r.hgetall("h") == {b"f": b"v"}


# 3. data type

@pytest.mark.parametrize("type_name", [
    "INT128", "UINT32", "UINT64", "FLOAT16", "INT08", "INT", "UINT", "INT4", "INT 8", "FLOAT32",
    "FLOAT64", "BFLOAT16", "STR", "BOOLEAN", "", "int16x", "8",
])
def test_invalid_data_type(r, prior, type_name):
    assert_fails(r, prior, [type_name, 1], E_DTYPE)


def test_invalid_data_type_is_checked_before_the_shape(r, prior):
    assert_fails(r, prior, ["INT128", 0, "BLOB"], E_DTYPE)


# 4. shape

@pytest.mark.parametrize("dim", [
    "-0", "-1", "01", "+1", "1.0", "1e0", "abc", "", " 1", "1 ", "0x1", "9223372036854775808",
    "-9223372036854775809",
])
def test_bad_shape_token(r, prior, dim):
    assert_fails(r, prior, ["FLOAT", dim], E_SHAPE)


def test_bad_shape_token_after_good_ones(r, prior):
    assert_fails(r, prior, ["FLOAT", 2, 3, -1, "VALUES", 1], E_SHAPE)


def test_unknown_keyword_is_a_bad_shape_token(r, prior):
    assert_fails(r, prior, ["FLOAT", 2, "DATA", 1, 2], E_SHAPE)


def test_shape_is_checked_before_the_blob_argument_count(r, prior):
    assert_fails(r, prior, ["FLOAT", -1, "BLOB"], E_SHAPE)


def test_shape_is_checked_before_the_values_count(r, prior):
    assert_fails(r, prior, ["FLOAT", -2, "VALUES", 1], E_SHAPE)


# 5. BLOB argument count

@pytest.mark.parametrize("args", [
    ["FLOAT", 2, "BLOB"],
    ["FLOAT", 2, "BLOB", b"\x00" * 8, b"\x00" * 8],
    ["FLOAT", "BLOB"],
    ["STRING", 1, "BLOB", b"a\x00", b"b\x00"],
    ["INT8", 1, "BLOB", b"\x01", b"\x01", b"\x01"],
])
def test_blob_needs_exactly_one_argument(r, prior, args):
    assert_fails(r, prior, args, E_BLOB_ARGS)


# 6. VALUES count

@pytest.mark.parametrize("args", [
    ["FLOAT", 2, "VALUES", 1],
    ["FLOAT", 2, "VALUES", 1, 2, 3],
    ["FLOAT", 2, "VALUES"],
    ["FLOAT", "VALUES"],
    ["FLOAT", "VALUES", 1, 2],
    ["INT8", 2, 2, "VALUES", 1, 2, 3],
    ["STRING", 2, "VALUES", "a"],
])
def test_values_count_must_match_the_shape(r, prior, args):
    assert_fails(r, prior, args, E_VALUES_COUNT)


def test_values_count_is_checked_before_parsing_values(r, prior):
    assert_fails(r, prior, ["INT8", 2, "VALUES", "x"], E_VALUES_COUNT)


def test_values_count_is_checked_before_nul_in_string_values(r, prior):
    assert_fails(r, prior, ["STRING", 2, "VALUES", b"a\x00b"], E_VALUES_COUNT)


# 7. BLOB length

@pytest.mark.parametrize("type_name", list(NUMERIC))
@pytest.mark.parametrize("delta", [-1, 1])
def test_blob_length_must_match_shape_and_type(r, prior, type_name, delta):
    size = 2 * 3 * NUMERIC[type_name].itemsize
    assert_fails(r, prior, [type_name, 2, 3, "BLOB", b"\x00" * (size + delta)], E_BLOB_LEN)


@pytest.mark.parametrize("type_name", list(NUMERIC))
def test_empty_blob_is_a_length_mismatch(r, prior, type_name):
    assert_fails(r, prior, [type_name, 1, "BLOB", b""], E_BLOB_LEN)


def test_blob_sized_for_another_type_is_a_length_mismatch(r, prior):
    assert_fails(r, prior, ["FLOAT", 2, "BLOB", b"\x00" * 16], E_BLOB_LEN)


def test_scalar_blob_length(r, prior):
    assert_fails(r, prior, ["INT64", "BLOB", b"\x00" * 4], E_BLOB_LEN)


def test_blob_length_is_checked_before_bool_bytes(r, prior):
    assert_fails(r, prior, ["BOOL", 2, "BLOB", b"\x02\x02\x02"], E_BLOB_LEN)


# 8. BOOL BLOB bytes

@pytest.mark.parametrize("blob", [b"\x02\x00", b"\x00\x02\x01", b"\xff\x00\x00", b"\x01\x01\x10\x00"])
def test_bool_blob_bytes_must_be_0_or_1(r, prior, blob):
    assert_fails(r, prior, ["BOOL", len(blob), "BLOB", blob], E_BOOL)


# 9. STRING BLOB element count

@pytest.mark.parametrize("dims,blob", [
    ([2], b"a\x00"),
    ([2], b"a\x00b\x00c\x00"),
    ([2], b"a\x00b"),                 # last byte must be NUL
    ([1], b"abc"),
    ([1], b""),
    ([2, 2], b"a\x00b\x00c\x00"),
    ([], b"a\x00b\x00"),
    ([3], b"\x00\x00"),
])
def test_string_blob_element_count_must_match(r, prior, dims, blob):
    assert_fails(r, prior, ["STRING", *dims, "BLOB", blob], E_STRING_BLOB)


# 10. numeric VALUES

BAD_VALUES = {
    "FLOAT": ["nan", "NaN", "-nan", "abc", "", " 1", "1 ", "1,5", "1e999", "-1e999", "1.5x"],
    "DOUBLE": ["nan", "NAN", "abc", "", " 1", "1e999", "-1e999", "0x"],
    "INT8": ["128", "-129", "-0", "-", "1.0", "+1", "01", "abc", "", " 1", "1e1", "9223372036854775808"],
    "INT16": ["32768", "-32769", "1.5", "+5", "007", "x"],
    "INT32": ["2147483648", "-2147483649", "1.0", "+1", "00"],
    "INT64": ["-9223372036854775809", "9223372036854775808", "1.0", "+1", "01", "18446744073709551615"],
    "UINT8": ["256", "-1", "1.0", "+1", "01", "", "0x1"],
    "UINT16": ["65536", "-1", "1.0", "+1", "01"],
    "BOOL": ["2", "-1", "true", "1.0", "01", "+1"],
}
BAD_VALUE_CASES = [(t, v) for t, vs in BAD_VALUES.items() for v in vs]


@pytest.mark.parametrize("type_name,bad", BAD_VALUE_CASES)
def test_unparsable_or_out_of_range_value(r, prior, type_name, bad):
    assert_fails(r, prior, [type_name, 2, "VALUES", 1, bad], E_VALUE)


@pytest.mark.parametrize("type_name", ["UINT8", "UINT16", "BOOL"])
def test_negative_values_are_rejected_for_unsigned_types(r, prior, type_name):
    assert_fails(r, prior, [type_name, 1, "VALUES", -1], E_VALUE)


def test_float_nan_rejected_in_scalar(r, prior):
    assert_fails(r, prior, ["FLOAT", "VALUES", "nan"], E_VALUE)


# 11. STRING VALUES

@pytest.mark.parametrize("value", [b"a\x00b", b"\x00a", b"\x00", b"ab\x00\x00", b"a\x00b\x00", b""])
def test_string_value_with_a_nul_before_its_end_or_empty_is_rejected(r, prior, value):
    assert_fails(r, prior, ["STRING", 2, "VALUES", "ok", value], E_NUL)


def test_empty_string_value_in_scalar_is_rejected(r, prior):
    assert_fails(r, prior, ["STRING", "VALUES", ""], E_NUL)


def test_errors_do_not_replace_a_tensor_of_another_type(r):
    assert tset(r, "k", "STRING", 1, "VALUES", "keep") == b"OK"
    assert error_of(r, "k", "FLOAT", 2, "VALUES", 1) == E_VALUES_COUNT
    assert error_of(r, "k", "INT8", 1, "VALUES", 300) == E_VALUE
    assert tget(r, "k") == [b"dtype", b"STRING", b"shape", [1], b"blob", b"keep\x00"]
