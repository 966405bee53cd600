"""Tensors survive every persistence path Redis has, and bad persisted data never crashes the server.

docs/PERSISTENCE.md: RDB (BGSAVE, SAVE, DEBUG RELOAD), AOF (plain and rewritten without RDB preamble, so the
module's aof_rewrite callback runs), DUMP/RESTORE (byte-exact against the upstream RedisAI payloads in
testdata/redisai_rdb), and malformed DUMP payloads (truncated, or forged with a valid CRC64).
"""

import numpy as np
import pytest
import redis

from dump_payloads import (EOF, SINT, STR, TENSOR_MODULE_ID, UINT, crc64, module_payload, rdb_len,
                           with_trailer)
from dump_payloads import tensor_v0_body as v0_body, tensor_v4_body as v4_body
from helpers import (RDB_MAGIC, aof_files, needs_shared, parse_resp_commands, replicas_acked, server_rdb_version,
                     shared_bytes, shared_cases)
from redis_server import running_server, wait_aof_rewrite, wait_bgsave, wait_for, wait_startup_aof

MODULE_VERSION = 10207
BAD_FORMAT = "Bad data format"
BAD_CHECKSUM = "DUMP payload version or checksum are wrong"


# --------------------------------------------------------------------------------------------------
# The data set: every dtype, scalars, vectors, multi-dim, zero-filled, VALUES- and BLOB-set, STRING.

NUMERIC = [("FLOAT", np.float32), ("DOUBLE", np.float64), ("INT8", np.int8), ("INT16", np.int16),
           ("INT32", np.int32), ("INT64", np.int64), ("UINT8", np.uint8), ("UINT16", np.uint16),
           ("BOOL", np.uint8)]


class Case:
    def __init__(self, key, args, dtype, shape, blob, values=None):
        self.key = key if isinstance(key, bytes) else key.encode()
        self.args = args            # arguments after the key
        self.dtype = dtype
        self.shape = list(shape)
        self.blob = blob
        self.values = values        # expected VALUES reply where we know it exactly

    def command(self):
        return ["AI.TENSORSET", self.key, *self.args]

    def expected_full(self):
        return [b"dtype", self.dtype.encode(), b"shape", self.shape, b"blob", self.blob]


def _random_array(rng, np_dtype, shape, name):
    n = int(np.prod(shape)) if shape else 1
    if name == "BOOL":
        a = rng.integers(0, 2, n).astype(np.uint8)
    elif np.issubdtype(np_dtype, np.floating):
        a = rng.standard_normal(n).astype(np_dtype) * 1000
        specials = np.array([np.nan, np.inf, -np.inf, -0.0, np.finfo(np_dtype).max,
                             np.finfo(np_dtype).tiny], dtype=np_dtype)
        if n > 1:
            k = min(n, len(specials))
            a[:k] = specials[:k]
    else:
        info = np.iinfo(np_dtype)
        a = rng.integers(info.min, info.max, n, dtype=np_dtype, endpoint=True)
        if n >= 2:
            a[0], a[1] = info.min, info.max
    return a.reshape(shape)


def dataset():
    rng = np.random.default_rng(20240607)
    cases = []
    for name, np_dtype in NUMERIC:
        for label, shape in (("scalar", ()), ("vec", (7,)), ("md", (2, 3, 4))):
            a = _random_array(rng, np_dtype, shape, name)
            blob = a.tobytes()
            cases.append(Case(f"{name}:{label}", [name, *shape, "BLOB", blob], name, shape, blob))
        # zero-filled (no data), 3-d
        esize = np.dtype(np_dtype).itemsize
        cases.append(Case(f"{name}:zeros", [name, 3, 1, 5], name, (3, 1, 5), b"\0" * (15 * esize)))
        # VALUES (signed types: negative values too, docs/COMMANDS.md §2)
        vals = [0, 1] if name == "BOOL" else [1, 0, 3] if name.startswith("UINT") else [1, -128, 3]
        arr = np.array(vals, dtype=np_dtype)
        cases.append(Case(f"{name}:values", [name, len(vals), "VALUES", *vals], name, (len(vals),),
                          arr.tobytes()))
    # larger tensors: random (does not LZF-compress) and constant (compresses)
    big = rng.standard_normal(256 * 64).astype(np.float32)
    cases.append(Case("FLOAT:big_random", ["FLOAT", 256, 64, "BLOB", big.tobytes()], "FLOAT", (256, 64),
                      big.tobytes()))
    cases.append(Case("INT64:big_const", ["INT64", 100, 100, "BLOB", b"\x07" * 80000], "INT64",
                      (100, 100), b"\x07" * 80000))
    cases.append(Case("FLOAT:values_frac", ["FLOAT", 2, 2, "VALUES", "1.5", "-2", "0.25", "1e10"], "FLOAT",
                      (2, 2), np.array([1.5, -2, 0.25, 1e10], np.float32).tobytes(),
                      [b"1.5", b"-2", b"0.25", b"10000000000"]))
    # STRING tensors
    cases.append(Case("STRING:values", ["STRING", 3, "VALUES", "hello", "w\xf6rld".encode(), "x"], "STRING",
                      (3,), b"hello\0w\xc3\xb6rld\0x\0", [b"hello", b"w\xc3\xb6rld", b"x"]))
    cases.append(Case("STRING:scalar", ["STRING", "VALUES", "abc"], "STRING", (), b"abc\0", [b"abc"]))
    cases.append(Case("STRING:md_blob", ["STRING", 2, 2, "BLOB", b"a\0\0bcd\0e\0"], "STRING", (2, 2),
                      b"a\0\0bcd\0e\0", [b"a", b"", b"bcd", b"e"]))
    cases.append(Case("STRING:empty", ["STRING", 3], "STRING", (3,), b"\0\0\0", [b"", b"", b""]))
    words = [f"item-{i}-{'z' * (i % 13)}".encode() for i in range(500)]
    cases.append(Case("STRING:big", ["STRING", 20, 25, "BLOB", b"".join(w + b"\0" for w in words)], "STRING",
                      (20, 25), b"".join(w + b"\0" for w in words), words))
    # zero-size tensors (a 0 in the shape: what a model finding nothing outputs)
    cases.append(Case("FLOAT:zero_size", ["FLOAT", 0, 5, "BLOB", b""], "FLOAT", (0, 5), b"", []))
    cases.append(Case("INT64:zero_size_values", ["INT64", 3, 0, "VALUES"], "INT64", (3, 0), b"", []))
    cases.append(Case("STRING:zero_size", ["STRING", 0], "STRING", (0,), b"", []))
    # binary-unsafe key name (AOF escaping), and a key that is also a hash tag
    cases.append(Case(b"bin\x00key \r\n*$3", ["INT32", 2, "VALUES", 5, 6], "INT32", (2,),
                      np.array([5, 6], np.int32).tobytes(), [5, 6]))
    cases.append(Case("{tag}:x", ["UINT8", 4, "BLOB", b"\xff\x00\x80\x7f"], "UINT8", (4,),
                      b"\xff\x00\x80\x7f", [255, 0, 128, 127]))
    return cases


CASES = dataset()


def load(r, cases=CASES):
    pipe = r.pipeline(transaction=False)
    for c in cases:
        pipe.execute_command(*c.command())
    assert pipe.execute() == [b"OK"] * len(cases)


def snapshot_values(r, cases=CASES):
    pipe = r.pipeline(transaction=False)
    for c in cases:
        pipe.execute_command("AI.TENSORGET", c.key, "VALUES")
    return pipe.execute()


def verify(r, cases=CASES, values=None, suffix=b""):
    """Exact META + BLOB of every case (and VALUES where known / captured before)."""
    pipe = r.pipeline(transaction=False)
    for c in cases:
        pipe.execute_command("AI.TENSORGET", c.key + suffix)
        pipe.execute_command("AI.TENSORGET", c.key + suffix, "VALUES")
    replies = pipe.execute()
    for i, c in enumerate(cases):
        full, vals = replies[2 * i], replies[2 * i + 1]
        assert full == c.expected_full(), c.key
        if c.values is not None:
            assert vals == c.values, c.key
        if values is not None:
            assert vals == values[i], c.key  # NaN is "nan" on both sides
    assert r.dbsize() >= len(cases)


def test_dataset_is_what_we_think(r):
    load(r)
    verify(r)
    assert r.dbsize() == len(CASES)


# --------------------------------------------------------------------------------------------------
# RDB


def test_bgsave_and_restart_keeps_every_tensor():
    with running_server() as s:
        r = s.client()
        load(r)
        values = snapshot_values(r)
        before = r.info("persistence")["rdb_saves"]
        assert r.bgsave()
        wait_bgsave(r, before)
        s.restart()
        r = s.client()
        assert r.info("persistence")["rdb_last_load_keys_loaded"] == len(CASES)
        assert r.dbsize() == len(CASES)
        verify(r, values=values)


def test_save_and_restart_keeps_every_tensor():
    with running_server() as s:
        r = s.client()
        load(r)
        values = snapshot_values(r)
        assert r.save()
        s.restart()
        r = s.client()
        assert r.dbsize() == len(CASES)
        verify(r, values=values)
        # and once more through SHUTDOWN SAVE, after a change
        r.execute_command("AI.TENSORSET", "FLOAT:scalar", "FLOAT", "VALUES", 42)
        s.restart(save=True)
        r = s.client()
        assert r.execute_command("AI.TENSORGET", "FLOAT:scalar", "VALUES") == [b"42"]
        verify(r, [c for c in CASES if c.key != b"FLOAT:scalar"])


def test_debug_reload_keeps_every_tensor(r):
    load(r)
    values = snapshot_values(r)
    assert r.execute_command("DEBUG", "RELOAD") == b"OK"
    assert r.dbsize() == len(CASES)
    verify(r, values=values)
    assert r.execute_command("DEBUG", "RELOAD") == b"OK"  # twice: what we wrote we read back
    verify(r, values=values)


# --------------------------------------------------------------------------------------------------
# AOF


def expected_rewrite(c):
    dims = [str(d).encode() for d in c.shape]
    return [b"AI.TENSORSET", c.key, c.dtype.encode(), *dims, b"BLOB", c.blob]


def test_aof_rewrite_without_rdb_preamble_uses_the_module_callback():
    with running_server({"appendonly": "yes", "aof-use-rdb-preamble": "no"}) as s:
        r = s.client()
        wait_startup_aof(r)
        load(r)
        values = snapshot_values(r)
        before = r.info("persistence")["aof_rewrites"]
        assert r.bgrewriteaof()
        wait_aof_rewrite(r, before)

        files = aof_files(s)
        base = files["b"]
        assert base.name.endswith(".base.aof")
        content = base.read_bytes()
        assert b"AI.TENSORSET" in content and b"BLOB" in content
        commands = parse_resp_commands(content)
        assert commands[0] == [b"SELECT", b"0"]
        emitted = sorted(commands[1:], key=lambda c: c[1])
        assert emitted == sorted((expected_rewrite(c) for c in CASES), key=lambda c: c[1])
        assert files["i"].read_bytes() == b""  # nothing written since: the restart reads the base only

        s.restart()
        r = s.client()
        assert r.dbsize() == len(CASES)
        verify(r, values=values)


def test_aof_rewrite_with_rdb_preamble_roundtrip():
    with running_server({"appendonly": "yes", "aof-use-rdb-preamble": "yes"}) as s:
        r = s.client()
        wait_startup_aof(r)
        load(r)
        values = snapshot_values(r)
        before = r.info("persistence")["aof_rewrites"]
        assert r.bgrewriteaof()
        wait_aof_rewrite(r, before)
        assert aof_files(s)["b"].read_bytes().startswith(RDB_MAGIC)
        s.restart()
        r = s.client()
        verify(r, values=values)


def test_plain_aof_replays_the_commands_verbatim():
    with running_server({"appendonly": "yes", "aof-use-rdb-preamble": "no"}) as s:
        r = s.client()
        wait_startup_aof(r)
        load(r)
        values = snapshot_values(r)
        s.restart()
        r = s.client()
        assert r.dbsize() == len(CASES)
        verify(r, values=values)
        commands = [c for c in parse_resp_commands(aof_files(s)["i"].read_bytes()) if c[0] != b"SELECT"]
        sent = [[a if isinstance(a, bytes) else str(a).encode() for a in c.command()] for c in CASES]
        assert [[c[0].upper(), *c[1:]] for c in commands] == [[x[0].upper(), *x[1:]] for x in sent]


def test_aof_appendfsync_always_survives_kill_9():
    with running_server({"appendonly": "yes", "appendfsync": "always"}) as s:
        r = s.client()
        wait_startup_aof(r)
        load(r)
        values = snapshot_values(r)
        s.kill()
        s.start()
        r = s.client()
        verify(r, values=values)


# --------------------------------------------------------------------------------------------------
# DUMP payloads of tensors (framing and CRC-64/Jones in dump_payloads)


def tensor_payload(encver, body, rdb_version=10, eof=True):
    return module_payload(TENSOR_MODULE_ID | encver, body, rdb_version, eof)


INT32_12 = np.array([1, 2], np.int32).tobytes()


def check_dump_framing(d, rdb_version):
    assert d[0] == 7
    assert d[1] == 0x81 and int.from_bytes(d[2:10], "big") == TENSOR_MODULE_ID | 4
    assert d[-11] == 0  # EOF opcode
    assert d[-10:-8] == rdb_version.to_bytes(2, "little")  # the server's own
    assert int.from_bytes(d[-8:], "little") == crc64(d[:-8])


# RedisAI's tensor samples (testdata/redisai_rdb), written by our builder: the next test checks they
# are byte-identical to the files, so the tests below run on a clone without ../shared too.
def _int32_sample(encver):
    return tensor_payload(encver, (v4_body if encver == 4 else v0_body)(0, 32, [2, 1], INT32_12), 9)


SAMPLES = {"v0_tensor.bin": _int32_sample(0), "v1_tensor.bin": _int32_sample(1),
           "v2_tensor.bin": _int32_sample(1),  # RedisAI's "v2" sample is an encoding-1 payload
           "v3_tensor.bin": _int32_sample(3), "v4_tensor.bin": _int32_sample(4),
           "v4_string_tensor.bin": tensor_payload(4, v4_body(7, 8, [2], b"str_val1\0str_val2\0", [0, 9]), 9)}


def test_crc64():
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA


@needs_shared
def test_builder_reproduces_the_upstream_samples():
    for f, payload in SAMPLES.items():
        data = shared_bytes(f)
        assert int.from_bytes(data[-8:], "little") == crc64(data[:-8]), f
        assert payload == data, f


# --------------------------------------------------------------------------------------------------
# DUMP / RESTORE


def test_dump_restore_roundtrip_every_tensor(r):
    load(r)
    values = snapshot_values(r)
    dumps = {c.key: r.dump(c.key) for c in CASES}
    for d in dumps.values():
        check_dump_framing(d, server_rdb_version(r))
    pipe = r.pipeline(transaction=False)
    for c in CASES:
        pipe.restore(c.key + b":copy", 0, dumps[c.key])
    assert pipe.execute() == [b"OK"] * len(CASES)
    verify(r, values=values, suffix=b":copy")
    # the restored value dumps to the same bytes
    for c in CASES:
        assert r.dump(c.key + b":copy") == dumps[c.key]
    # REPLACE over an existing tensor and over a string
    r.set("plain", "x")
    assert r.restore("plain", 0, dumps[b"STRING:values"], replace=True) == b"OK"
    assert r.execute_command("AI.TENSORGET", "plain", "VALUES") == [b"hello", b"w\xc3\xb6rld", b"x"]
    with pytest.raises(redis.ResponseError, match="BUSYKEY"):
        r.restore("plain", 0, dumps[b"INT8:vec"])
    # into a different server
    with running_server() as other:
        o = other.client()
        for c in CASES:
            assert o.restore(c.key, 0, dumps[c.key]) == b"OK"
        verify(o, values=values)


def test_dump_of_a_known_tensor_is_byte_exact(r):
    v = server_rdb_version(r)
    r.execute_command("AI.TENSORSET", "t", "INT32", 2, 1, "VALUES", 1, 2)
    assert r.dump("t") == tensor_payload(4, v4_body(0, 32, [2, 1], INT32_12), v)
    r.execute_command("AI.TENSORSET", "s", "STRING", 2, "VALUES", "str_val1", "str_val2")
    assert r.dump("s") == tensor_payload(4, v4_body(7, 8, [2], b"str_val1\0str_val2\0", [0, 9]), v)
    r.execute_command("AI.TENSORSET", "scalar", "DOUBLE", "VALUES", 2)
    assert r.dump("scalar") == tensor_payload(4, v4_body(2, 64, [], np.array([2.0]).tobytes()), v)


# --------------------------------------------------------------------------------------------------
# The upstream RedisAI payloads


def _expected(reply):
    if isinstance(reply, str):
        return reply.encode()
    if isinstance(reply, list):
        return [_expected(x) for x in reply]
    return reply


TENSOR_ENTRIES = shared_cases(lambda e: e["module_type_name"] == "AI_TENSOR")


@needs_shared
def test_all_shared_tensor_payloads_are_covered():
    assert sorted(e.values[0]["file"] for e in TENSOR_ENTRIES) == sorted(SAMPLES)


@pytest.mark.parametrize("entry", TENSOR_ENTRIES)
def test_upstream_payload_restores_with_expected_replies(r, entry):
    payload = shared_bytes(entry["file"])
    assert len(payload) == entry["byte_len"]
    assert payload[10 - 8:10] == bytes.fromhex(entry["module_id_hex"])
    r.execute_command("AI.TENSORSET", "bystander", "INT8", 1, "VALUES", 7)
    if entry["flushall_before_restore"]:
        r.flushall()
    assert r.restore(entry["key"], 0, payload, replace=True) == b"OK"
    exp = entry["expected_after_restore"]
    assert r.execute_command(*exp["command"]) == _expected(exp["reply"])
    for follow in entry["follow_up"]:
        assert r.execute_command(*follow["command"]) == _expected(follow["reply"])
    # RESTORE ... REPLACE again over the restored key
    assert r.restore(entry["key"], 0, payload, replace=True) == b"OK"
    assert r.execute_command(*exp["command"]) == _expected(exp["reply"])
    # re-saved as encoding 4 and read back
    dumped = r.dump(entry["key"])
    check_dump_framing(dumped, server_rdb_version(r))
    assert r.execute_command("DEBUG", "RELOAD") == b"OK"
    assert r.execute_command(*exp["command"]) == _expected(exp["reply"])
    for follow in entry["follow_up"]:
        assert r.execute_command(*follow["command"]) == _expected(follow["reply"])


@pytest.mark.parametrize("file", ["v4_tensor.bin", "v4_string_tensor.bin"])
def test_v4_payload_dumps_back_byte_for_byte(r, file):
    payload = SAMPLES[file]
    assert r.restore("t", 0, payload, replace=True) == b"OK"
    dumped = r.dump("t")
    assert dumped[:-10] == payload[:-10]
    assert payload[-10:-8] == b"\x09\x00" and dumped[-10:-8] == server_rdb_version(r).to_bytes(2, "little")
    assert int.from_bytes(dumped[-8:], "little") == crc64(dumped[:-8])


def test_old_encodings_are_rewritten_as_v4(r):
    payload = SAMPLES["v0_tensor.bin"]
    assert r.restore("old", 0, payload) == b"OK"
    assert r.dump("old") == tensor_payload(4, v4_body(0, 32, [2, 1], INT32_12), server_rdb_version(r))


# --------------------------------------------------------------------------------------------------
# Malformed payloads


SENTINELS = [Case("sentinel:f", ["FLOAT", 2, "VALUES", 1, 2], "FLOAT", (2,),
                  np.array([1, 2], np.float32).tobytes(), [b"1", b"2"]),
             Case("sentinel:s", ["STRING", 2, "VALUES", "a", "b"], "STRING", (2,), b"a\0b\0", [b"a", b"b"])]


def _restore_error(r, key, payload, replace=True):
    try:
        reply = r.restore(key, 0, payload, replace=replace)
    except redis.ResponseError as e:
        return str(e)
    return f"accepted: {reply!r}"


def assert_alive_and_intact(s, r):
    assert s.alive(), s.log()
    assert r.ping()
    verify(r, SENTINELS)


@pytest.mark.parametrize("file", ["v4_tensor.bin", "v4_string_tensor.bin", "v0_tensor.bin"])
def test_truncated_payloads_are_rejected_by_checksum(server, r, file):
    load(r, SENTINELS)
    payload = SAMPLES[file]
    pipe = r.pipeline(transaction=False)
    for n in range(len(payload)):
        pipe.restore("sentinel:f", 0, payload[:n], replace=True)
    replies = pipe.execute(raise_on_error=False)
    for n, reply in enumerate(replies):
        assert isinstance(reply, redis.ResponseError) and str(reply) == BAD_CHECKSUM, (n, reply)
    # one flipped byte anywhere is caught too
    for i in range(len(payload)):
        bad = bytearray(payload)
        bad[i] ^= 0x01
        assert _restore_error(r, "sentinel:s", bytes(bad)) == BAD_CHECKSUM, i
    assert_alive_and_intact(server, r)


# A reference decoder for the checks below. RESTORE hands the module the WHOLE argument, trailer
# included, and does not require it to be consumed, so a value cut short may legitimately be completed
# by the EOF/version/CRC bytes (e.g. the last data bytes of a blob). The oracle decides, from the bytes
# Redis actually sees, whether a correct loader must accept the payload, and what it must contain.

class _Short(Exception):
    pass


class _Bad(Exception):
    pass


SUPPORTED_DTYPES = {(2, 32): "FLOAT", (2, 64): "DOUBLE", (0, 8): "INT8", (0, 16): "INT16", (0, 32): "INT32",
                    (0, 64): "INT64", (1, 8): "UINT8", (1, 16): "UINT16", (6, 8): "BOOL", (7, 8): "STRING"}


class _Reader:
    def __init__(self, data, pos=0):
        self.data, self.pos = data, pos

    def take(self, n):
        if self.pos + n > len(self.data):
            raise _Short()
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def length(self):
        """rdbLoadLenByRef; returns (value, is_encoded)."""
        b = self.take(1)[0]
        kind = b >> 6
        if kind == 0:
            return b & 0x3F, False
        if kind == 1:
            return ((b & 0x3F) << 8) | self.take(1)[0], False
        if kind == 3:
            return b & 0x3F, True
        if b == 0x80:
            return int.from_bytes(self.take(4), "big"), False
        if b == 0x81:
            return int.from_bytes(self.take(8), "big"), False
        raise _Bad("unknown length encoding")

    def opcode(self, expected):
        if self.length()[0] != expected:
            raise _Bad("opcode")

    def uint(self):
        self.opcode(2)
        return self.length()[0]

    def sint(self):
        v = self.uint()
        return v - (1 << 64) if v >= 1 << 63 else v

    def string(self):
        self.opcode(5)
        n, encoded = self.length()
        if not encoded:
            return self.take(n)
        if n in (0, 1, 2):
            size = 1 << n
            return str(int.from_bytes(self.take(size), "little", signed=True)).encode()
        if n == 3:
            raise NotImplementedError("LZF")  # never produced by the payloads below
        raise _Bad("string encoding")


def _shape_length(shape):
    n = 1
    for d in shape:
        if d < 0:
            raise _Bad("dim")
        n *= d
    if n >= 1 << 64:
        raise _Bad("overflow")
    return n


def oracle(payload):
    """(dtype, shape, blob) a correct loader must produce from this RESTORE payload, or None."""
    rd = _Reader(payload)
    try:
        if rd.take(1) != b"\x07":
            raise _Bad("type")
        mid = rd.length()[0]
        encver = mid & 0x3FF
        if mid >> 10 != TENSOR_MODULE_ID >> 10 or encver > 4:
            raise _Bad("module")
        if encver == 4:
            code, bits, ndim = rd.uint(), rd.uint(), rd.sint()
            if (code, bits) not in SUPPORTED_DTYPES or not 0 <= ndim <= 64:
                raise _Bad("dtype/ndim")
            shape = [rd.sint() for _ in range(ndim)]
        else:
            device, _, bits, code, lanes, ndim = (rd.uint() for _ in range(6))
            if device != 1 or lanes != 1 or (code, bits) not in SUPPORTED_DTYPES or code == 7 or ndim > 64:
                raise _Bad("v0 header")
            shape = [rd.uint() for _ in range(ndim)]
            if any(d >= 1 << 63 for d in shape):
                raise _Bad("dim")
            for _ in range(ndim + 1):
                rd.uint()  # strides, byte offset
        length = _shape_length(shape)
        blob = rd.string()
        if code == 7:
            if length > len(blob) or (length == 0) != (blob == b"") or blob[-1:] not in (b"", b"\0"):
                raise _Bad("string blob")
            offsets = [rd.uint() for _ in range(length)]
            if offsets[:1] not in ([], [0]) or any(
                    b <= a or b >= len(blob) or blob[b - 1] != 0 for a, b in zip(offsets, offsets[1:])):
                raise _Bad("offset")
            blob = b"".join(blob[o:blob.index(b"\0", o) + 1] for o in offsets)  # cut at the first NUL
        elif len(blob) != length * bits // 8:
            raise _Bad("data length")
        elif code == 6:
            blob = bytes(min(b, 1) for b in blob)  # BOOL: any byte but 0 is true
        if rd.length()[0] != 0:
            raise _Bad("EOF marker")
        return SUPPORTED_DTYPES[code, bits], shape, blob
    except (_Short, _Bad):
        return None


def test_oracle_agrees_with_the_samples():
    for f in ("v0_tensor.bin", "v1_tensor.bin", "v3_tensor.bin", "v4_tensor.bin"):
        assert oracle(SAMPLES[f]) == ("INT32", [2, 1], INT32_12), f
    assert oracle(SAMPLES["v4_string_tensor.bin"]) == ("STRING", [2], b"str_val1\0str_val2\0")
    assert oracle(tensor_payload(5, v4_body(0, 32, [2, 1], INT32_12))) is None
    assert oracle(tensor_payload(4, v4_body(0, 32, [2, 1], INT32_12[:7]))) is None


@pytest.mark.parametrize("payload_file", ["v4_tensor.bin", "v4_string_tensor.bin", "v0_tensor.bin"])
def test_truncated_bodies_with_valid_crc_are_rejected(server, r, payload_file):
    """Cut the module values at every length, then frame them properly (EOF, version, CRC)."""
    load(r, SENTINELS)
    payload = SAMPLES[payload_file]
    head, body = payload[:10], payload[10:-11]
    assert payload[-11] == 0
    rejected = completed_by_trailer = 0
    for n in range(len(body)):
        for eof in (True, False):
            forged = with_trailer(head + body[:n] + (EOF if eof else b""))
            expected = oracle(forged)
            if expected is None:
                rejected += 1
                assert _restore_error(r, "sentinel:f", forged) == BAD_FORMAT, (n, eof)
                assert _restore_error(r, "fresh", forged, replace=False) == BAD_FORMAT, (n, eof)
                assert not r.exists("fresh")
            else:
                # the trailer bytes completed the value: Redis accepts it, and it must hold exactly that
                completed_by_trailer += 1
                dtype, shape, blob = expected
                assert r.restore("fresh", 0, forged) == b"OK", (n, eof)
                assert r.execute_command("AI.TENSORGET", "fresh") == \
                    [b"dtype", dtype.encode(), b"shape", shape, b"blob", blob], (n, eof)
                assert r.delete("fresh") == 1
            assert_alive_and_intact(server, r)
    assert rejected >= 2 * len(body) - 4  # nearly every cut must be refused
    # the untruncated body, reframed, still loads
    assert r.restore("fresh", 0, with_trailer(head + body + EOF)) == b"OK"
    assert_alive_and_intact(server, r)


STRING_BLOB = b"str_val1\0str_val2\0"
FORGED = {
    # encoding versions
    "encver_5": (5, v4_body(0, 32, [2, 1], INT32_12)),
    "encver_63": (63, v4_body(0, 32, [2, 1], INT32_12)),
    # ndims
    "ndims_negative": (4, UINT(0) + UINT(32) + UINT(-1) + UINT(2) + UINT(1) + STR(INT32_12)),
    "ndims_min_int64": (4, UINT(0) + UINT(32) + UINT(-(1 << 63)) + STR(INT32_12)),
    "ndims_2^31": (4, UINT(0) + UINT(32) + UINT(1 << 31) + UINT(2) + UINT(1) + STR(INT32_12)),
    "ndims_2^62": (4, UINT(0) + UINT(32) + UINT(1 << 62) + UINT(2) + UINT(1) + STR(INT32_12)),
    "ndims_1e6": (4, UINT(0) + UINT(32) + UINT(10 ** 6) + UINT(2) + UINT(1) + STR(INT32_12)),
    "ndims_more_than_given": (4, UINT(0) + UINT(32) + UINT(3) + UINT(2) + UINT(1) + STR(INT32_12)),
    # dims
    "dim_negative": (4, v4_body(0, 32, [-2, -1], INT32_12)),
    "dim_negative_one": (4, v4_body(0, 32, [2, -1], INT32_12)),
    "dim_min_int64": (4, v4_body(0, 32, [-(1 << 63)], INT32_12)),
    "dims_product_overflows_to_zero": (4, v4_body(0, 32, [1 << 32, 1 << 32], b"")),
    "dims_product_overflows_to_two": (4, v4_body(0, 32, [(1 << 63) + 1, 2], INT32_12)),
    "dim_huge": (4, v4_body(0, 32, [1 << 62], INT32_12)),
    "dims_size_overflow": (4, v4_body(0, 32, [1 << 62, 1], b"")),
    # data length
    "data_short": (4, v4_body(0, 32, [2, 1], INT32_12[:7])),
    "data_long": (4, v4_body(0, 32, [2, 1], INT32_12 + b"\0")),
    "data_empty": (4, v4_body(0, 32, [2, 1], b"")),
    "data_scalar_short": (4, v4_body(2, 64, [], b"\0" * 4)),
    "data_double_as_float": (4, v4_body(2, 64, [2], b"\0" * 8)),
    "data_missing": (4, UINT(0) + UINT(32) + UINT(2) + UINT(2) + UINT(1)),
    "data_as_uint": (4, UINT(0) + UINT(32) + UINT(2) + UINT(2) + UINT(1) + UINT(1)),
    # dtypes
    "dtype_code_3": (4, v4_body(3, 32, [2, 1], INT32_12)),
    "dtype_code_4": (4, v4_body(4, 32, [2, 1], INT32_12)),
    "dtype_code_5": (4, v4_body(5, 32, [2, 1], INT32_12)),
    "dtype_code_8": (4, v4_body(8, 32, [2, 1], INT32_12)),
    "dtype_code_200": (4, v4_body(200, 32, [2, 1], INT32_12)),
    "dtype_code_256": (4, v4_body(256, 32, [2, 1], INT32_12)),
    "dtype_code_2^32": (4, v4_body(1 << 32, 32, [2, 1], INT32_12)),
    "dtype_int_bits_0": (4, v4_body(0, 0, [2, 1], INT32_12)),
    "dtype_int_bits_7": (4, v4_body(0, 7, [2, 1], b"\0\0")),
    "dtype_int_bits_128": (4, v4_body(0, 128, [1], b"\0" * 16)),
    "dtype_int_bits_288": (4, v4_body(0, 32 + 256, [2, 1], INT32_12)),
    "dtype_string_bits_32": (4, v4_body(7, 32, [2], STRING_BLOB, [0, 9])),
    # opcodes
    "signed_opcode_for_code": (4, SINT(0) + UINT(32) + UINT(2) + UINT(2) + UINT(1) + STR(INT32_12)),
    "string_opcode_for_ndims": (4, UINT(0) + UINT(32) + STR(b"2") + UINT(2) + UINT(1) + STR(INT32_12)),
    "float_opcode_for_bits": (4, UINT(0) + rdb_len(3) + b"\x0232" + UINT(2) + UINT(2) + UINT(1)
                              + STR(INT32_12)),
    "extra_value_before_eof": (4, v4_body(0, 32, [2, 1], INT32_12) + UINT(5)),
    "empty_body": (4, b""),
    # STRING
    "string_offset_at_blob_end": (4, v4_body(7, 8, [2], STRING_BLOB, [0, 18])),
    "string_offset_beyond_blob": (4, v4_body(7, 8, [2], STRING_BLOB, [0, 100])),
    "string_offset_max": (4, v4_body(7, 8, [2], STRING_BLOB, [0, (1 << 64) - 1])),
    "string_first_offset_beyond": (4, v4_body(7, 8, [2], STRING_BLOB, [1 << 40, 9])),
    "string_offsets_missing": (4, v4_body(7, 8, [2], STRING_BLOB)),
    "string_one_offset_missing": (4, v4_body(7, 8, [2], STRING_BLOB, [0])),
    "string_blob_shorter_than_length": (4, v4_body(7, 8, [3], b"a\0", [0, 1, 1])),
    "string_empty_blob": (4, v4_body(7, 8, [2], b"", [0, 0])),
    "string_offset_as_string": (4, v4_body(7, 8, [2], STRING_BLOB) + UINT(0) + STR(b"9")),
    "string_shape_overflow": (4, v4_body(7, 8, [1 << 62, 4], STRING_BLOB, [0, 9])),
    # old layouts (encodings 0-3)
    "v0_device_gpu": (0, v0_body(0, 32, [2, 1], INT32_12, device=2)),
    "v0_string_dtype": (0, v0_body(7, 8, [2], STRING_BLOB)),
    "v0_unknown_dtype": (1, v0_body(9, 32, [2, 1], INT32_12)),
    "v0_data_short": (3, v0_body(0, 32, [2, 1], INT32_12[:5])),
    "v0_data_long": (2, v0_body(0, 32, [2, 1], INT32_12 * 2)),
    "v0_ndims_huge": (0, UINT(1) + UINT(0) + UINT(32) + UINT(0) + UINT(1) + UINT(1 << 40) + UINT(2)
                      + UINT(1) + STR(INT32_12)),
    "v0_dim_overflow": (0, v0_body(0, 32, [1 << 63, 2], b"")),
    "v0_truncated_after_ndims": (0, UINT(1) + UINT(0) + UINT(32) + UINT(0) + UINT(1) + UINT(2)),
    "v0_v4_layout": (0, v4_body(0, 32, [2, 1], INT32_12)),
    "v4_v0_layout": (4, v0_body(0, 32, [2, 1], INT32_12)),
}


def test_forged_good_payloads_load():
    """Control group: the same builder with sane content is accepted (so rejections mean something)."""
    with running_server() as s:
        r = s.client()
        good = {
            "int32": (4, v4_body(0, 32, [2, 1], INT32_12), [1, 2]),
            "string": (4, v4_body(7, 8, [2], STRING_BLOB, [0, 9]), [b"str_val1", b"str_val2"]),
            "scalar": (4, v4_body(1, 16, [], b"\x01\x01"), [257]),
            "v0": (0, v0_body(1, 8, [3], b"\x01\x02\x03"), [1, 2, 3]),
            "v3_bool": (3, v0_body(6, 8, [2], b"\x01\x00"), [1, 0]),
            "uint_offsets_first_element_empty": (4, v4_body(7, 8, [2], b"\0b\0", [0, 1]), [b"", b"b"]),
        }
        for key, (encver, body, values) in good.items():
            assert oracle(tensor_payload(encver, body)) is not None, key
            assert r.restore(key, 0, tensor_payload(encver, body)) == b"OK", key
            assert r.execute_command("AI.TENSORGET", key, "VALUES") == values, key


# Payloads RedisAI 1.2 and earlier versions of this module accepted on load although no AI.TENSORSET
# could make them (docs/PERSISTENCE.md §7 keeps restored bytes unchecked): after BGREWRITEAOF they
# vanished or read differently, and VALUES and BLOB disagreed. Neither RedisAI nor this module could
# ever write them, so they are refused now.
UNWRITABLE = {
    "string_without_final_nul": v4_body(7, 8, [1], b"abc", [0]),
    "string_last_without_nul": v4_body(7, 8, [2], b"ab\0c", [0, 3]),
    "string_offsets_decreasing": v4_body(7, 8, [2], STRING_BLOB, [9, 0]),
    "string_offset_mid_element": v4_body(7, 8, [2], STRING_BLOB, [0, 4]),
    "string_offset_into_an_element": v4_body(7, 8, [2], b"ab\0c\0", [0, 1]),
    "string_offsets_repeated": v4_body(7, 8, [2], STRING_BLOB, [0, 0]),
    "string_first_offset_not_0": v4_body(7, 8, [1], b"a\0b\0", [2]),
    "string_zero_size_with_data": v4_body(7, 8, [0], b"\0", []),
    "string_zero_size_dim_with_data": v4_body(7, 8, [2, 0], b"a\0b\0", []),
    "float_zero_size_with_data": v4_body(2, 32, [0, 5], b"\0" * 4),
}

# Payloads RedisAI could write that no AI.TENSORSET can re-issue as they are: a STRING output of a TF
# or ONNX model with a NUL inside an element (RedisAI kept it; every reader stopped at that NUL), a
# BOOL byte other than 0 and 1 (RedisAI's TENSORSET skipped the last byte, its LLAPI any). They load
# as what readers saw: the element cut at its first NUL, the byte as 1. name: (payload, BLOB, VALUES)
NORMALISED = {
    "string_inner_nul": (tensor_payload(4, v4_body(7, 8, [2], b"a\0b\0cd\0", [0, 4])), b"a\0cd\0", [b"a", b"cd"]),
    "string_inner_nuls_last": (tensor_payload(4, v4_body(7, 8, [2], b"x\0y\0\0z\0", [0, 2])), b"x\0y\0",
                               [b"x", b"y"]),
    "bool_last_byte_2": (tensor_payload(4, v4_body(6, 8, [2], b"\x01\x02")), b"\x01\x01", [1, 1]),
    "bool_any_byte": (tensor_payload(4, v4_body(6, 8, [3], b"\xff\x00\x07")), b"\x01\x00\x01", [1, 0, 1]),
    "v3_bool": (tensor_payload(3, v0_body(6, 8, [2], b"\x00\x09")), b"\x00\x01", [0, 1]),
}


@pytest.mark.parametrize("name", list(UNWRITABLE))
def test_payloads_no_tensorset_could_make_are_refused_and_logged(server, r, name):
    load(r, SENTINELS)
    payload = tensor_payload(4, UNWRITABLE[name])
    assert oracle(payload) is None
    assert _restore_error(r, "sentinel:s", payload) == BAD_FORMAT
    assert _restore_error(r, "fresh", payload, replace=False) == BAD_FORMAT
    assert not r.exists("fresh")
    assert_alive_and_intact(server, r)
    wait_for(lambda: "Invalid tensor in RDB: bad type, shape or data length" in server.log(), 5,
             what="the refusal in the log")


def test_what_redisai_could_write_loads_as_its_readers_saw_it():
    with running_server() as s:
        r = s.client()
        for name, (payload, blob, values) in NORMALISED.items():
            assert oracle(payload)[2] == blob, name
            assert r.restore(name, 0, payload) == b"OK", name
            assert r.execute_command("AI.TENSORGET", name, "BLOB") == blob, name
            assert r.execute_command("AI.TENSORGET", name, "VALUES") == values, name
        log = s.log()
        assert "STRING tensor in RDB: elements cut at their first NUL" in log
        assert "BOOL tensor in RDB: bytes other than 0 and 1 loaded as 1" in log


def accepted_payloads():
    """name -> payload: every tensor payload a loader must accept (the upstream samples, forged
    good ones, zero-size ones, the normalised ones)."""
    out = dict(SAMPLES)
    out.update({
        "string_empty_elements": tensor_payload(4, v4_body(7, 8, [3], b"\0b\0\0", [0, 1, 3])),
        "zero_size_float": tensor_payload(4, v4_body(2, 32, [0, 5], b"")),
        "zero_size_string": tensor_payload(4, v4_body(7, 8, [4, 0], b"", [])),
        "zero_size_v0": tensor_payload(0, v0_body(0, 64, [0], b"")),
        "int8_negative": tensor_payload(4, v4_body(0, 8, [2], b"\x80\xff")),
    })
    out.update({name: payload for name, (payload, _, _) in NORMALISED.items()})
    return out


def readback(r, key):
    return [r.execute_command("AI.TENSORGET", key, "META", "BLOB"),
            r.execute_command("AI.TENSORGET", key, "VALUES"), r.dump(key)]


def test_accepted_payloads_read_the_same_after_aof_rewrite_on_a_replica_and_after_restore():
    """Differential: RESTORE, then the same value through BGREWRITEAOF and an AOF-only restart, on a
    replica (the RESTORE command stream, then a full sync), and through DUMP/RESTORE again."""
    payloads = accepted_payloads()
    assert len(payloads) >= 14
    with running_server({"appendonly": "yes", "aof-use-rdb-preamble": "no"}) as master, \
            running_server({"replicaof": f"127.0.0.1 {master.port}"}) as replica:
        m, rr = master.client(), replica.client()
        wait_startup_aof(m)
        wait_for(lambda: rr.info("replication").get("master_link_status") == "up", 20, what="the full sync")
        for name, payload in payloads.items():
            assert oracle(payload) is not None, name
            assert m.restore(name, 0, payload) == b"OK", name
        restored = {name: readback(m, name) for name in payloads}
        for name, (full, values, dump) in restored.items():
            assert full[4:] == [b"blob", oracle(payloads[name])[2]], name
            assert m.restore(name + ":again", 0, dump) == b"OK"
            assert readback(m, name + ":again") == [full, values, dump], name
        assert replicas_acked(m)
        assert {name: readback(rr, name) for name in payloads} == restored

        before = m.info("persistence")["aof_rewrites"]
        assert m.bgrewriteaof()
        wait_aof_rewrite(m, before)
        master.restart()
        m = master.client()
        assert {name: readback(m, name) for name in payloads} == restored
        with running_server({"replicaof": f"127.0.0.1 {master.port}"}) as fresh:
            rf = fresh.client()
            wait_for(lambda: rf.info("replication").get("master_link_status") == "up", 20, what="the full sync")
            assert {name: readback(rf, name) for name in payloads} == restored


@pytest.mark.parametrize("name", list(FORGED))
def test_forged_payload_with_valid_crc_is_rejected(server, r, name):
    load(r, SENTINELS)
    encver, body = FORGED[name]
    payload = tensor_payload(encver, body)
    assert int.from_bytes(payload[-8:], "little") == crc64(payload[:-8])
    assert oracle(payload) is None  # the reference decoder refuses it too
    assert _restore_error(r, "sentinel:f", payload) == BAD_FORMAT
    assert _restore_error(r, "sentinel:s", payload) == BAD_FORMAT
    assert _restore_error(r, "fresh", payload, replace=False) == BAD_FORMAT
    assert not r.exists("fresh")
    assert_alive_and_intact(server, r)


def test_forward_incompatible_encoding_is_logged():
    with running_server() as s:
        r = s.client()
        payload = tensor_payload(5, v4_body(0, 32, [2, 1], INT32_12))
        assert _restore_error(r, "t", payload) == BAD_FORMAT
        expected = f"Failed loading tensor, RedisAI version ({MODULE_VERSION}) is not forward compatible."
        wait_for(lambda: expected in s.log(), 5, what="the forward-compatibility message in the log")
        assert r.ping()


def test_short_read_is_logged():
    with running_server() as s:
        r = s.client()
        payload = tensor_payload(4, UINT(0) + UINT(32) + UINT(2) + UINT(2))
        assert _restore_error(r, "t", payload) == BAD_FORMAT
        wait_for(lambda: "Experienced a short read while reading a tensor from RDB" in s.log(), 5,
                 what="the short-read message in the log")


# --------------------------------------------------------------------------------------------------
# Forks while the embedded Python holds the GIL


def python_busy(r, on):
    """AI._DEBUG PYTHON_BUSY ON starts a Python thread spinning with the GIL until OFF, which
    replies how many spinners were still running. A main thread blocked on the GIL would never
    answer in between: the steps a test runs between the two are ordered inside the spin."""
    return r.execute_command("AI._DEBUG", "PYTHON_BUSY", "ON" if on else "OFF")


def test_repeated_bgsave_while_python_holds_the_gil():
    with running_server() as s:
        r = s.client()
        load(r)
        values = snapshot_values(r)
        assert python_busy(r, True) == b"OK"
        for i in range(10):
            before = r.info("persistence")["rdb_saves"]
            assert r.bgsave()
            wait_bgsave(r, before)  # a child stuck on the GIL it forked with never finishes
        assert python_busy(r, False) == 1, "the forks did not all happen while Python was busy"
        assert r.info("persistence")["rdb_saves"] == 10
        s.restart()
        r = s.client()
        assert r.dbsize() == len(CASES)
        verify(r, values=values)


def test_repeated_bgrewriteaof_while_python_holds_the_gil():
    with running_server({"appendonly": "yes", "aof-use-rdb-preamble": "no"}) as s:
        r = s.client()
        wait_startup_aof(r)
        load(r)
        values = snapshot_values(r)
        assert python_busy(r, True) == b"OK"
        for i in range(10):
            before = r.info("persistence")["aof_rewrites"]
            assert r.bgrewriteaof()
            wait_aof_rewrite(r, before)
        assert python_busy(r, False) == 1, "the rewrites did not all happen while Python was busy"
        assert b"AI.TENSORSET" in aof_files(s)["b"].read_bytes()
        s.restart()
        r = s.client()
        assert r.dbsize() == len(CASES)
        verify(r, values=values)


def test_main_thread_answers_while_python_is_busy():
    """What the two tests above rely on: Redis keeps serving, module commands included, while a
    Python thread spins; OFF stops exactly the spinners started, and a bad argument is refused."""
    with running_server() as s:
        r = s.client()
        assert python_busy(r, True) == b"OK"
        assert r.ping()
        assert r.execute_command("AI.TENSORSET", "t", "FLOAT", 1, "VALUES", 1) == b"OK"
        assert python_busy(r, False) == 1
        assert python_busy(r, False) == 0
        with pytest.raises(redis.ResponseError, match="PYTHON_BUSY takes ON or OFF"):
            r.execute_command("AI._DEBUG", "PYTHON_BUSY", 100)
