"""Models survive every persistence path (docs/PERSISTENCE.md §3.2, §5.2, §6; docs/BEHAVIOUR.md §7).

BGSAVE + restart, SHUTDOWN SAVE, DEBUG RELOAD, AOF rewrite without RDB preamble (the module's
aof_rewrite callback emits AI.MODELSTORE ... TAG .. BATCHSIZE .. MINBATCHSIZE .. MINBATCHTIMEOUT .. BLOB
chunks), the plain AOF (MODELSTORE propagated verbatim), DUMP/RESTORE (byte layout of encoding 4, forged
payloads of every older encoding, malformed payloads), and the upstream RedisAI model payloads.
"""
import pytest
import redis

from dump_payloads import BACKEND_CODES, MODEL_MODULE_ID, STR, UINT, crc64, model_body, module_payload, parse_dump
from helpers import (RDB_MAGIC, aof_files, needs_shared, parse_resp_commands, server_rdb_version, shared_bytes,
                     shared_cases)
from models import (onnx_add_model, sklearn_linear_onnx, sklearn_logreg_onnx, torch_add_model,
                    torch_two_outputs_model)
from redis_server import running_server, wait_aof_rewrite, wait_bgsave, wait_startup_aof

BAD_FORMAT = "Bad data format"


# --------------------------------------------------------------------------------------------------
# The data set


class M:
    """One model key: how it is stored and what META must say about it."""

    def __init__(self, key, backend, device, blob, inputs, outputs, tag=b"", batch=(0, 0, 0), opts=None):
        self.key = key if isinstance(key, bytes) else key.encode()
        self.backend, self.device, self.blob_fn = backend, device, blob
        self.inputs, self.outputs = inputs, outputs
        self.tag = tag if isinstance(tag, bytes) else tag.encode()
        self.batch = batch
        self.opts = opts if opts is not None else self._default_opts()

    def _default_opts(self):
        opts = []
        if self.tag:
            opts += ["TAG", self.tag]
        b, mb, t = self.batch
        if b:
            opts += ["BATCHSIZE", b]
        if mb:
            opts += ["MINBATCHSIZE", mb]
        if t:
            opts += ["MINBATCHTIMEOUT", t]
        return opts

    @property
    def blob(self):
        return self.blob_fn()

    def store(self, r, chunks=None):
        blob = [self.blob] if chunks is None else chunks
        assert r.execute_command("AI.MODELSTORE", self.key, self.backend, self.device, *self.opts,
                                 "BLOB", *blob) == b"OK"

    def meta(self):
        b, mb, t = self.batch
        return [b"backend", self.backend.encode(), b"device", self.device.encode(), b"tag", self.tag,
                b"batchsize", b, b"minbatchsize", mb, b"inputs", [i.encode() for i in self.inputs],
                b"outputs", [o.encode() for o in self.outputs], b"minbatchtimeout", t]

    def full(self):
        return self.meta() + [b"blob", self.blob]


MODELS = [
    M("torch:add", "TORCH", "cpu", torch_add_model, ["a", "b"], [""], "add v1", (4, 2, 1000)),
    M("torch:two", "TORCH", "CPU", torch_two_outputs_model, ["a", "b"], ["", ""]),
    M("torch:bs", "TORCH", "CPU:0", torch_add_model, ["a", "b"], [""], "", (8, 0, 0)),
    M("onnx:add", "ONNX", "CPU", onnx_add_model, ["a", "b"], ["c"], "", (0, 0, 0), ["TAG", ""]),
    M("onnx:linear", "ONNX", "Cpu", sklearn_linear_onnx, ["float_input"], ["variable"], "lin", (2, 1, 0)),
    M("onnx:logreg", "ONNX", "CPU", sklearn_logreg_onnx, ["float_input"], ["output_label", "output_probability"],
      b"bin\x00\xff tag\r\n"),
    M(b"key \x00 with\xffbytes", "TORCH", "CPU", torch_add_model, ["a", "b"], [""], "k", (0, 0, 0)),
]
TENSOR = ["AI.TENSORSET", "tensor", "INT32", 2, 1, "VALUES", 1, 2]


def load(r, models=MODELS):
    for m in models:
        m.store(r)
    assert r.execute_command(*TENSOR) == b"OK"


def verify(r, models=MODELS, suffix=b""):
    for m in models:
        assert r.execute_command("AI.MODELGET", m.key + suffix, "META") == m.meta(), m.key
        assert r.execute_command("AI.MODELGET", m.key + suffix, "BLOB") == m.blob, m.key
        assert r.type(m.key + suffix) == b"AI__MODEL"
    assert r.execute_command("AI.TENSORGET", "tensor", "VALUES") == [1, 2]


def test_dataset_is_what_we_think(r):
    load(r)
    verify(r)
    assert r.dbsize() == len(MODELS) + 1


# --------------------------------------------------------------------------------------------------
# RDB


def test_bgsave_and_restart_keeps_every_model():
    with running_server() as s:
        r = s.client()
        load(r)
        before = r.info("persistence")["rdb_saves"]
        assert r.bgsave()
        wait_bgsave(r, before)
        s.restart()
        r = s.client()
        assert r.info("persistence")["rdb_last_load_keys_loaded"] == len(MODELS) + 1
        assert r.dbsize() == len(MODELS) + 1
        verify(r)
        # once more, from what this server wrote after loading
        before = r.info("persistence")["rdb_saves"]
        assert r.bgsave()
        wait_bgsave(r, before)
        s.restart()
        verify(s.client())


def test_shutdown_save_keeps_models_and_their_replacements():
    with running_server() as s:
        r = s.client()
        load(r)
        assert r.save()
        s.restart()
        r = s.client()
        verify(r)
        # replace one model (another backend), delete another, then SHUTDOWN SAVE
        assert r.execute_command("AI.MODELSTORE", "torch:two", "ONNX", "CPU", "TAG", "now onnx",
                                 "BLOB", onnx_add_model()) == b"OK"
        assert r.execute_command("AI.MODELDEL", "torch:bs") == b"OK"
        s.restart(save=True)
        r = s.client()
        assert r.execute_command("AI.MODELGET", "torch:two", "META") == [
            b"backend", b"ONNX", b"device", b"CPU", b"tag", b"now onnx", b"batchsize", 0, b"minbatchsize", 0,
            b"inputs", [b"a", b"b"], b"outputs", [b"c"], b"minbatchtimeout", 0]
        assert not r.exists("torch:bs")
        verify(r, [m for m in MODELS if m.key not in (b"torch:two", b"torch:bs")])


def test_debug_reload_keeps_every_model(r):
    load(r)
    assert r.execute_command("DEBUG", "RELOAD") == b"OK"
    assert r.dbsize() == len(MODELS) + 1
    verify(r)
    assert r.execute_command("DEBUG", "RELOAD") == b"OK"  # twice: what we wrote we read back
    verify(r)


def test_rdb_written_with_one_chunk_size_loads_with_another():
    data = torch_add_model()
    with running_server(module_args=("DEBUG_COMMAND", "yes", "MODEL_CHUNK_SIZE", 100)) as s:
        r = s.client()
        load(r)
        assert r.execute_command("AI.MODELGET", "torch:add", "BLOB") == \
            [data[i:i + 100] for i in range(0, len(data), 100)] + ([b""] if len(data) % 100 == 0 else [])
        assert r.save()
        s.module_args = ["DEBUG_COMMAND", "yes"]
        s.restart()
        r = s.client()
        verify(r)
        c = next(d for d in range(len(data) // 3, 1, -1) if len(data) % d == 0)
        assert r.save()
        s.module_args = ["DEBUG_COMMAND", "yes", "MODEL_CHUNK_SIZE", str(c)]
        s.restart()
        r = s.client()
        got = r.execute_command("AI.MODELGET", "torch:add", "BLOB")
        assert got == [data[i:i + c] for i in range(0, len(data), c)] + [b""]
        assert r.execute_command("DEBUG", "RELOAD") == b"OK"
        assert r.execute_command("AI.MODELGET", "torch:add", "BLOB") == got
        assert r.execute_command("AI.MODELGET", "torch:add", "META") == MODELS[0].meta()


# --------------------------------------------------------------------------------------------------
# AOF


def chunks_of(data, c):
    n = len(data) // c + 1
    return [data[i * c:(i + 1) * c] for i in range(n - 1)] + [data[(n - 1) * c:]]


def expected_rewrite(m, chunk_size=None):
    b, mb, t = m.batch
    blob = [m.blob] if chunk_size is None else chunks_of(m.blob, chunk_size)
    return [b"AI.MODELSTORE", m.key, m.backend.encode(), m.device.encode(), b"TAG", m.tag,
            b"BATCHSIZE", str(b).encode(), b"MINBATCHSIZE", str(mb).encode(), b"MINBATCHTIMEOUT", str(t).encode(),
            b"BLOB", *blob]


def rewrite_and_check(s, r, chunk_size=None):
    before = r.info("persistence")["aof_rewrites"]
    assert r.bgrewriteaof()
    wait_aof_rewrite(r, before)
    files = aof_files(s)
    content = files["b"].read_bytes()
    assert files["b"].name.endswith(".base.aof")
    assert not content.startswith(RDB_MAGIC)
    assert b"AI.MODELSTORE" in content
    commands = parse_resp_commands(content)
    assert commands[0] == [b"SELECT", b"0"]
    models = sorted((c for c in commands[1:] if c[0] == b"AI.MODELSTORE"), key=lambda c: c[1])
    assert models == sorted((expected_rewrite(m, chunk_size) for m in MODELS), key=lambda c: c[1])
    assert [c for c in commands[1:] if c[0] != b"AI.MODELSTORE"] == [
        [b"AI.TENSORSET", b"tensor", b"INT32", b"2", b"1", b"BLOB", b"\x01\x00\x00\x00\x02\x00\x00\x00"]]
    assert files["i"].read_bytes() == b""  # nothing written since: the restart reads the base only


def test_aof_rewrite_without_rdb_preamble_emits_modelstore():
    with running_server({"appendonly": "yes", "aof-use-rdb-preamble": "no"}) as s:
        r = s.client()
        wait_startup_aof(r)
        load(r)
        rewrite_and_check(s, r)
        s.restart()
        r = s.client()
        assert r.dbsize() == len(MODELS) + 1
        verify(r)


def test_aof_rewrite_chunks_the_blob_with_model_chunk_size():
    data = torch_add_model()
    c = next(d for d in range(len(data) // 3, 1, -1) if len(data) % d == 0)   # exact: trailing empty chunk
    with running_server({"appendonly": "yes", "aof-use-rdb-preamble": "no"},
                        module_args=("DEBUG_COMMAND", "yes", "MODEL_CHUNK_SIZE", c)) as s:
        r = s.client()
        wait_startup_aof(r)
        load(r)
        rewrite_and_check(s, r, chunk_size=c)
        assert expected_rewrite(MODELS[0], c)[-1] == b""
        s.restart()
        r = s.client()
        for m in MODELS:
            assert r.execute_command("AI.MODELGET", m.key, "META") == m.meta()
            expected = m.blob if len(m.blob) < c else chunks_of(m.blob, c)
            assert r.execute_command("AI.MODELGET", m.key, "BLOB") == expected, m.key


def test_aof_rewrite_then_more_commands_then_restart():
    with running_server({"appendonly": "yes", "aof-use-rdb-preamble": "no"}) as s:
        r = s.client()
        wait_startup_aof(r)
        load(r)
        before = r.info("persistence")["aof_rewrites"]
        assert r.bgrewriteaof()
        wait_aof_rewrite(r, before)
        # written after the rewrite: in the incremental file
        assert r.execute_command("AI.MODELDEL", "torch:add") == b"OK"
        assert r.execute_command("AI.MODELSTORE", "late", "ONNX", "CPU", "TAG", "late", "BLOB",
                                 onnx_add_model()) == b"OK"
        s.restart()
        r = s.client()
        assert not r.exists("torch:add")
        assert r.execute_command("AI.MODELGET", "late", "META")[:6] == [b"backend", b"ONNX", b"device", b"CPU",
                                                                       b"tag", b"late"]
        verify(r, MODELS[1:])


def test_aof_rewrite_with_rdb_preamble_roundtrip():
    with running_server({"appendonly": "yes", "aof-use-rdb-preamble": "yes"}) as s:
        r = s.client()
        wait_startup_aof(r)
        load(r)
        before = r.info("persistence")["aof_rewrites"]
        assert r.bgrewriteaof()
        wait_aof_rewrite(r, before)
        assert aof_files(s)["b"].read_bytes().startswith(RDB_MAGIC)
        s.restart()
        verify(s.client())


def test_plain_aof_has_modelstore_verbatim_and_replays_it():
    with running_server({"appendonly": "yes", "aof-use-rdb-preamble": "no"}) as s:
        r = s.client()
        wait_startup_aof(r)
        data = torch_add_model()
        sent = [["ai.modelstore", "m1", "torch", "cpu", "tag", "x", "BLOB", data[:500], data[500:1000], data[1000:]],
                ["AI.MODELSTORE", "m2", "ONNX", "CPU", "BATCHSIZE", "4.0", "BLOB", onnx_add_model()],
                ["AI.MODELDEL", "m2"],
                ["AI.MODELSTORE", "m3", "ONNX", "CPU", "MINBATCHSIZE", 0, "BLOB", onnx_add_model()]]
        for c in sent:
            assert r.execute_command(*c) == b"OK"
        # failed commands are not propagated
        with pytest.raises(redis.ResponseError):
            r.execute_command("AI.MODELSTORE", "bad", "TORCH", "CPU", "BLOB", b"garbage")
        with pytest.raises(redis.ResponseError):
            r.execute_command("AI.MODELDEL", "missing")
        commands = [c for c in parse_resp_commands(aof_files(s)["i"].read_bytes()) if c[0] != b"SELECT"]
        expected = [[a if isinstance(a, bytes) else str(a).encode() for a in c] for c in sent]
        assert [[c[0].upper(), *c[1:]] for c in commands] == [[x[0].upper(), *x[1:]] for x in expected]
        s.restart()
        r = s.client()
        assert r.execute_command("AI.MODELGET", "m1") == [
            b"backend", b"TORCH", b"device", b"cpu", b"tag", b"x", b"batchsize", 0, b"minbatchsize", 0,
            b"inputs", [b"a", b"b"], b"outputs", [b""], b"minbatchtimeout", 0, b"blob", data]
        assert not r.exists("m2") and not r.exists("bad")
        assert r.execute_command("AI.MODELGET", "m3", "BLOB") == onnx_add_model()


# AOF round trips of the upstream test (expectations.json "aof_rewrite_roundtrip")

AOF_CASES = shared_cases(lambda c: c["store"][0] == "AI.MODELSTORE", "aof_rewrite_roundtrip/cases",
                         ids=lambda c: c["store"][5])
FIXTURE_FILES = {"<graph.pb>": "graph.pb", "<pt-minimal.pt>": "pt-minimal.pt",
                 "<linear_iris.onnx>": "linear_iris.onnx"}


def _expected(reply):
    if isinstance(reply, str):
        return reply.encode()
    if isinstance(reply, list):
        return [_expected(x) for x in reply]
    return reply


@pytest.mark.parametrize("case", AOF_CASES)
def test_upstream_aof_rewrite_roundtrip(case):
    args = [shared_bytes("embedded/" + FIXTURE_FILES[a]) if a in FIXTURE_FILES else a for a in case["store"]]
    key = case["store"][1]
    with running_server({"appendonly": "yes", "aof-use-rdb-preamble": "no"}) as s:
        r = s.client()
        wait_startup_aof(r)
        assert r.execute_command(*args) == b"OK"
        before = r.info("persistence")["aof_rewrites"]
        assert r.bgrewriteaof()
        wait_aof_rewrite(r, before)
        s.restart()
        r = s.client()
        got = r.execute_command("AI.MODELGET", key, "META")
        backend, device, tag, b, mb, t, inputs, outputs = _expected(case["meta_after_reload"])
        assert got == [b"backend", backend, b"device", device, b"tag", tag, b"batchsize", b, b"minbatchsize", mb,
                       b"inputs", inputs, b"outputs", outputs, b"minbatchtimeout", t]
        assert r.execute_command("AI.MODELGET", key, "BLOB") == args[-1]


# --------------------------------------------------------------------------------------------------
# DUMP payloads of models (framing, CRC-64/Jones and decoder in dump_payloads)


def model_payload(encver, body, rdb_version=10, eof=True):
    return module_payload(MODEL_MODULE_ID | encver, body, rdb_version, eof)


def decode_v4_model(values):
    it = iter(values)

    def u():
        op, v = next(it)
        assert op == 2, (op, v)
        return v

    def s():
        op, v = next(it)
        assert op == 5, (op, v)
        return v
    out = {"backend": u(), "device": s(), "tag": s(), "batch": (u(), u(), u())}
    out["inputs"] = [s() for _ in range(u())]
    out["outputs"] = [s() for _ in range(u())]
    out["length"] = u()
    out["chunks"] = [s() for _ in range(u())]
    assert next(it, None) is None, "extra values"
    return out


@needs_shared
def test_crc_and_decoder_read_the_upstream_samples():
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    data = shared_bytes("v4_torch_model.bin")
    mid, values = parse_dump(data)
    assert mid == MODEL_MODULE_ID | 4
    m = decode_v4_model(values)
    assert m == {"backend": 2, "device": b"CPU\0", "tag": b"PT_MINIMAL_V4", "batch": (4, 2, 1000),
                 "inputs": [b"a\0", b"b\0"], "outputs": [b"\0"], "length": 1352,
                 "chunks": [shared_bytes("embedded/pt-minimal.pt")]}
    # our builder gives the same values
    assert parse_dump(model_payload(4, model_body(
        4, "TORCH", b"CPU", b"PT_MINIMAL_V4", (4, 2, 1000), [b"a", b"b"], [b""],
        [shared_bytes("embedded/pt-minimal.pt")])))[1] == values


# --------------------------------------------------------------------------------------------------
# DUMP / RESTORE


def expected_v4(m, chunk_size=535822336):
    blob = m.blob
    return {"backend": BACKEND_CODES[m.backend], "device": m.device.encode() + b"\0", "tag": m.tag,
            "batch": m.batch, "inputs": [i.encode() + b"\0" for i in m.inputs],
            "outputs": [o.encode() + b"\0" for o in m.outputs], "length": len(blob),
            "chunks": chunks_of(blob, chunk_size)}


def test_dump_restore_roundtrip_every_model(r):
    load(r)
    dumps = {m.key: r.dump(m.key) for m in MODELS}
    for m in MODELS:
        mid, values = parse_dump(dumps[m.key])
        assert mid == MODEL_MODULE_ID | 4
        assert dumps[m.key][-10:-8] == server_rdb_version(r).to_bytes(2, "little")  # the server's own
        assert decode_v4_model(values) == expected_v4(m), m.key
    pipe = r.pipeline(transaction=False)
    for m in MODELS:
        pipe.restore(m.key + b":copy", 0, dumps[m.key])
    assert pipe.execute() == [b"OK"] * len(MODELS)
    verify(r, suffix=b":copy")
    for m in MODELS:
        assert r.dump(m.key + b":copy") == dumps[m.key]
    # REPLACE over a string and over another model; BUSYKEY without REPLACE
    r.set("plain", "x")
    assert r.restore("plain", 0, dumps[b"onnx:add"], replace=True) == b"OK"
    assert r.execute_command("AI.MODELGET", "plain", "META") == MODELS[3].meta()
    assert r.restore("plain", 0, dumps[b"torch:add"], replace=True) == b"OK"
    assert r.execute_command("AI.MODELGET", "plain", "META") == MODELS[0].meta()
    with pytest.raises(redis.ResponseError, match="BUSYKEY"):
        r.restore("plain", 0, dumps[b"torch:two"])
    # with a TTL
    assert r.restore("ttl", 100000, dumps[b"torch:add"]) == b"OK"
    assert 0 < r.pttl("ttl") <= 100000
    # into a different server
    with running_server() as other:
        o = other.client()
        for m in MODELS:
            assert o.restore(m.key, 0, dumps[m.key]) == b"OK"
        assert o.execute_command(*TENSOR) == b"OK"
        verify(o)


def test_dump_is_byte_exact_without_compression():
    with running_server({"rdbcompression": "no"}) as s:
        r = s.client()
        for m in MODELS:
            m.store(r)
            body = model_body(4, m.backend, m.device.encode(), m.tag, m.batch,
                              [i.encode() for i in m.inputs], [o.encode() for o in m.outputs], [m.blob])
            assert r.dump(m.key) == model_payload(4, body, server_rdb_version(r)), m.key


def test_dump_uses_model_chunk_size():
    data = onnx_add_model()
    c = next(d for d in range(len(data) // 3, 1, -1) if len(data) % d == 0)
    with running_server(module_args=("DEBUG_COMMAND", "yes", "MODEL_CHUNK_SIZE", c)) as s:
        r = s.client()
        m = MODELS[3]
        m.store(r)
        got = decode_v4_model(parse_dump(r.dump(m.key))[1])
        assert got == expected_v4(m, c)
        assert got["chunks"][-1] == b"" and len(got["chunks"]) == len(data) // c + 1


@pytest.mark.parametrize("encver", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("which", ["torch", "onnx"])
def test_forged_payload_of_every_encoding_restores(r, encver, which):
    if which == "torch":
        backend, blob, inputs, outputs = "TORCH", torch_add_model(), [b"a", b"b"], [b""]
    else:
        backend, blob, inputs, outputs = "ONNX", sklearn_linear_onnx(), [b"float_input"], [b"variable"]
    chunks = [blob[:100], blob[100:200], blob[200:], b""]   # several chunks, a trailing empty one
    # stored names are ignored for non-TF backends: give none, they are introspected
    body = model_body(encver, backend, b"cpu", b"forged tag", (6, 3, 77), [], [], chunks)
    assert r.restore("k", 0, model_payload(encver, body, rdb_version=9)) == b"OK"
    timeout = 77 if encver >= 2 else 0
    assert r.execute_command("AI.MODELGET", "k") == [
        b"backend", backend.encode(), b"device", b"cpu", b"tag", b"forged tag", b"batchsize", 6,
        b"minbatchsize", 3, b"inputs", inputs, b"outputs", outputs, b"minbatchtimeout", timeout, b"blob", blob]
    # re-saved in encoding 4 with the introspected names
    got = decode_v4_model(parse_dump(r.dump("k"))[1])
    assert got["inputs"] == [i + b"\0" for i in inputs] and got["outputs"] == [o + b"\0" for o in outputs]
    assert got["chunks"] == [blob] and got["length"] == len(blob)


def _good_body():
    return model_body(4, "TORCH", b"CPU", b"t", (0, 0, 0), [b"a", b"b"], [b""], [torch_add_model()])


BAD_PAYLOADS = {
    "encver 5": lambda: model_payload(5, _good_body()),
    "encver 63": lambda: model_payload(63, _good_body()),
    "corrupt torch blob": lambda: model_payload(4, model_body(4, "TORCH", b"CPU", b"t", (0, 0, 0), [], [],
                                                              [b"not a model"])),
    "corrupt onnx blob": lambda: model_payload(4, model_body(4, "ONNX", b"CPU", b"t", (0, 0, 0), [], [],
                                                             [b"not a model"])),
    "unknown backend 7": lambda: model_payload(4, UINT(7) + _good_body()[len(UINT(2)):]),
    "truncated values": lambda: model_payload(4, _good_body()[:40], eof=False),
    "truncated before chunks": lambda: model_payload(4, model_body(4, "TORCH", b"CPU", b"t", (0, 0, 0), [], [],
                                                                   [])[:-2], eof=False),
    "missing chunk": lambda: model_payload(4, UINT(2) + STR(b"CPU\0") + STR(b"t") + UINT(0) * 3 + UINT(0) + UINT(0)
                                           + UINT(len(torch_add_model())) + UINT(2) + STR(torch_add_model()),
                                           eof=False),
    # a declared total far beyond the chunks: refused without allocating it (with junk-filled
    # memory, allocating first took minutes or got the server OOM-killed; found by fuzzing)
    "declared 1 TiB": lambda: model_payload(4, UINT(2) + STR(b"CPU\0") + STR(b"t") + UINT(0) * 3 + UINT(0)
                                            + UINT(0) + UINT(1 << 40) + UINT(1) + STR(torch_add_model())),
    "declared 16 GiB": lambda: model_payload(4, UINT(2) + STR(b"CPU\0") + STR(b"t") + UINT(0) * 3 + UINT(0)
                                             + UINT(0) + UINT(1 << 34) + UINT(2) + STR(b"ab") + STR(b"cd")),
    "chunks beyond the total": lambda: model_payload(4, UINT(2) + STR(b"CPU\0") + STR(b"t") + UINT(0) * 3
                                                     + UINT(0) + UINT(0) + UINT(10) + UINT(2) + STR(bytes(8))
                                                     + STR(bytes(8))),
    "bad device": lambda: model_payload(4, model_body(4, "TORCH", b"TPU", b"t", (0, 0, 0), [], [],
                                                      [torch_add_model()])),
    "gpu device": lambda: model_payload(4, model_body(4, "ONNX", b"GPU", b"t", (0, 0, 0), [], [],
                                                      [onnx_add_model()])),
}


@pytest.mark.parametrize("name", list(BAD_PAYLOADS))
def test_malformed_payload_fails_cleanly(r, server, name):
    r.execute_command("AI.TENSORSET", "bystander", "INT8", 1, "VALUES", 7)
    payload = BAD_PAYLOADS[name]()
    with pytest.raises(redis.ResponseError) as e:
        r.restore("k", 0, payload)
    assert str(e.value) == BAD_FORMAT
    assert not r.exists("k")
    assert server.alive()
    assert r.ping()
    assert r.execute_command("AI.TENSORGET", "bystander", "VALUES") == [7]
    # and the key can still be used afterwards
    assert r.execute_command("AI.MODELSTORE", "k", "TORCH", "CPU", "BLOB", torch_add_model()) == b"OK"


def test_bad_crc_is_refused_by_redis(r):
    payload = bytearray(model_payload(4, _good_body()))
    payload[-1] ^= 0xFF
    with pytest.raises(redis.ResponseError, match="checksum"):
        r.restore("k", 0, bytes(payload))
    assert not r.exists("k")


# --------------------------------------------------------------------------------------------------
# The upstream RedisAI model payloads


NON_TF = shared_cases(lambda e: e["module_type_name"] == "AI__MODEL" and not e["file"].endswith("_tf_model.bin"))
TF = shared_cases(lambda e: e["module_type_name"] == "AI__MODEL" and e["file"].endswith("_tf_model.bin"))


@needs_shared
def test_all_shared_model_payloads_are_covered():
    assert sorted(e.id for e in NON_TF) == sorted(
        [f"v{i}_{k}_model.bin" for i in range(5) for k in ("torch", "onnx")])
    assert sorted(e.id for e in TF) == [f"v{i}_tf_model.bin" for i in range(5)]


def _check_follow_up(r, entry):
    for follow in entry["follow_up"]:
        reply = r.execute_command(*follow["command"])
        if "reply" in follow:
            assert reply == _expected(follow["reply"]), follow["command"]
        else:  # the ONNX linear_iris value
            assert float(reply[0]) == -0.090524077415466309, reply


def _restore_and_check(r, entry):
    payload = shared_bytes(entry["file"])
    assert len(payload) == entry["byte_len"]
    r.execute_command("AI.TENSORSET", "bystander", "INT8", 1, "VALUES", 7)
    if entry["flushall_before_restore"]:
        r.flushall()
    assert r.restore(entry["key"], 0, payload, replace=True) == b"OK"
    exp = entry["expected_after_restore"]
    assert r.execute_command(*exp["command"]) == _expected(exp["reply"])
    return payload, exp


@pytest.mark.parametrize("entry", NON_TF)
def test_upstream_payload_restores_with_expected_meta(r, entry):
    payload, exp = _restore_and_check(r, entry)
    key = entry["key"]
    blob_file = [v for v in entry["decoded_values_in_order"] if "embedded_file" in v][0]["embedded_file"]
    blob = shared_bytes(blob_file)
    assert r.execute_command("AI.MODELGET", key, "BLOB") == blob
    # RESTORE ... REPLACE again over the restored key
    assert r.restore(key, 0, payload, replace=True) == b"OK"
    assert r.execute_command(*exp["command"]) == _expected(exp["reply"])
    # re-saved as encoding 4 with the same values, and read back
    mid, values = parse_dump(r.dump(key))
    assert mid == MODEL_MODULE_ID | 4
    meta = _expected(exp["reply"])
    assert decode_v4_model(values) == {
        "backend": BACKEND_CODES[meta[1].decode()], "device": meta[3] + b"\0", "tag": meta[5],
        "batch": (meta[7], meta[9], meta[15]), "inputs": [i + b"\0" for i in meta[11]],
        "outputs": [o + b"\0" for o in meta[13]], "length": len(blob), "chunks": [blob]}
    assert r.execute_command("DEBUG", "RELOAD") == b"OK"
    assert r.execute_command(*exp["command"]) == _expected(exp["reply"])
    assert r.execute_command("AI.MODELGET", key, "BLOB") == blob
    _check_follow_up(r, entry)


@pytest.mark.parametrize("entry", TF)
def test_upstream_tf_payload_restores_with_expected_meta(r, entry):
    _restore_and_check(r, entry)
    if entry["follow_up"]:
        _check_follow_up(r, entry)
