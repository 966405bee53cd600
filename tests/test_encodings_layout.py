"""Every encoding the module decodes, written from its documented byte layout and RESTOREd.

docs/PERSISTENCE.md §2 gives the DUMP framing, §3 the layouts of encoding 4 (what the module
writes) and §5 the older ones it still reads: tensor 0-3 and 4, model 0, 1 and 2-4, script 0, 1-2
and 3-4. Each payload here is built field by field from those tables (dump_payloads writes the
fields), RESTOREd into a real server, checked through the commands' replies, run where it can be,
and DUMPed back in the encoding-4 layout. Nothing here reads RedisAI's own payloads, so the
decoders are exercised on any clone.
"""
import struct

import numpy as np
import pytest
import redis

from dump_payloads import (MODEL_MODULE_ID, SCRIPT_MODULE_ID, STR, TENSOR_MODULE_ID, UINT, crc64, model_body,
                           module_payload, parse_dump, script_body, tensor_v0_body, tensor_v4_body)
from helpers import server_rdb_version
from models import ENTRY_POINTS_SCRIPT, LEGACY_SCRIPT, sklearn_linear_onnx, sklearn_linear_predict, torch_add_model
from tf_models import tf_mul_graph

BAD_FORMAT = "Bad data format"
AB = struct.pack("<4f", 2, 3, 2, 3)  # FLOAT [2,2] [[2,3],[2,3]]
INT32_12 = struct.pack("<2i", 1, 2)


def assert_dumps_as_v4(r, key, module_id, body):
    """DUMP writes encoding 4 with these values (compared decoded: Redis may LZF-compress strings)."""
    assert parse_dump(r.dump(key)) == parse_dump(module_payload(module_id | 4, body))


# --------------------------------------------------------------------------------------------------
# The framing, spelled out once (§2)


def test_framing_of_a_v4_tensor_byte_by_byte(r):
    """INT32 [2,1] = [1,2] in encoding 4, every byte written by hand."""
    payload = bytes([
        0x07,                                                  # RDB_TYPE_MODULE_2
        0x81, 0x00, 0x8F, 0xD3, 0x10, 0xD4, 0x8E, 0x44, 0x04,  # 64-bit length: AI_TENSOR id | encver 4
        0x02, 0x00,                                            # UINT dtype code 0 (signed int)
        0x02, 0x20,                                            # UINT dtype bits 32
        0x02, 0x02,                                            # ndims 2 (SaveSigned: UINT opcode)
        0x02, 0x02, 0x02, 0x01,                                # dims 2, 1
        0x05, 0x08, 1, 0, 0, 0, 2, 0, 0, 0,                    # STRING: 8 bytes of data
        0x00,                                                  # EOF opcode
        0x0A, 0x00,                                            # RDB version 10, little-endian
    ])
    payload += crc64(payload).to_bytes(8, "little")            # CRC-64/Jones, little-endian
    assert payload == module_payload(TENSOR_MODULE_ID | 4, tensor_v4_body(0, 32, [2, 1], INT32_12))
    assert r.restore("t", 0, payload) == b"OK"
    assert r.execute_command("AI.TENSORGET", "t", "META", "VALUES") == [
        b"dtype", b"INT32", b"shape", [2, 1], b"values", [1, 2]]
    # the same bytes back, framed with the RDB version this server writes (Redis 7.0: 10, as here)
    assert r.dump("t") == module_payload(TENSOR_MODULE_ID | 4, tensor_v4_body(0, 32, [2, 1], INT32_12),
                                         server_rdb_version(r))


def test_a_newer_encoding_is_refused(r):
    for module_id, body in ((TENSOR_MODULE_ID, tensor_v4_body(0, 32, [1], bytes(4))),
                            (MODEL_MODULE_ID, model_body(4, "TORCH", b"CPU", b"", (0, 0, 0), [], [],
                                                         [torch_add_model()])),
                            (SCRIPT_MODULE_ID, script_body(4, b"CPU", b"", ENTRY_POINTS_SCRIPT.encode(),
                                                           [b"bar"]))):
        with pytest.raises(redis.ResponseError, match=BAD_FORMAT):
            r.restore("k", 0, module_payload(module_id | 5, body))
    assert r.dbsize() == 0


# --------------------------------------------------------------------------------------------------
# Tensors (§3.1, §5.1)

SIGNED, UNSIGNED, BOOLS = [[1, -2, 3], [4, 5, -6]], [[1, 2, 3], [4, 5, 255]], [[1, 0, 1], [0, 1, 1]]
# name: (DLPack code, bits, numpy type, values) for every type the old layouts can hold
NUMERIC = {"FLOAT": (2, 32, np.float32, SIGNED), "DOUBLE": (2, 64, np.float64, SIGNED),
           "INT8": (0, 8, np.int8, SIGNED), "INT16": (0, 16, np.int16, SIGNED), "INT32": (0, 32, np.int32, SIGNED),
           "INT64": (0, 64, np.int64, SIGNED), "UINT8": (1, 8, np.uint8, UNSIGNED),
           "UINT16": (1, 16, np.uint16, UNSIGNED), "BOOL": (6, 8, np.bool_, BOOLS)}


@pytest.mark.parametrize("encver", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("name", list(NUMERIC))
def test_numeric_tensor_of_every_encoding(r, encver, name):
    code, bits, np_type, values = NUMERIC[name]
    data = np.array(values, np_type).tobytes()
    layout = tensor_v4_body if encver == 4 else tensor_v0_body
    assert r.restore("t", 0, module_payload(TENSOR_MODULE_ID | encver, layout(code, bits, [2, 3], data))) == b"OK"
    flat = [v for row in values for v in row]
    replies = [str(v).encode() for v in flat] if code == 2 else flat  # floats come as bulk strings
    assert r.execute_command("AI.TENSORGET", "t", "META", "VALUES") == [
        b"dtype", name.encode(), b"shape", [2, 3], b"values", replies]
    assert r.execute_command("AI.TENSORGET", "t", "BLOB") == data
    assert_dumps_as_v4(r, "t", TENSOR_MODULE_ID, tensor_v4_body(code, bits, [2, 3], data))


def test_v4_string_tensor_and_scalar(r):
    blob, offsets = b"str_val1\0\0x\0", [0, 9, 10]
    payload = module_payload(TENSOR_MODULE_ID | 4, tensor_v4_body(7, 8, [3], blob, offsets))
    assert r.restore("s", 0, payload) == b"OK"
    assert r.execute_command("AI.TENSORGET", "s", "META", "VALUES") == [
        b"dtype", b"STRING", b"shape", [3], b"values", [b"str_val1", b"", b"x"]]
    assert_dumps_as_v4(r, "s", TENSOR_MODULE_ID, tensor_v4_body(7, 8, [3], blob, offsets))
    scalar = module_payload(TENSOR_MODULE_ID | 4, tensor_v4_body(2, 64, [], struct.pack("<d", 2.5)))
    assert r.restore("d", 0, scalar) == b"OK"
    assert r.execute_command("AI.TENSORGET", "d", "META", "VALUES") == [
        b"dtype", b"DOUBLE", b"shape", [], b"values", [b"2.5"]]
    assert r.dump("d") == module_payload(TENSOR_MODULE_ID | 4, tensor_v4_body(2, 64, [], struct.pack("<d", 2.5)),
                                         server_rdb_version(r))


def test_old_tensor_layout_ignores_device_id_strides_and_offset(r):
    fields = (UINT(1) + UINT(7)             # device type CPU, device id 7
              + UINT(32) + UINT(0) + UINT(1)  # bits, code (signed int), lanes
              + UINT(2) + UINT(2) + UINT(1)   # ndims, dims
              + UINT(99) + UINT(98)           # strides
              + UINT(5)                       # byte offset
              + STR(INT32_12))
    assert r.restore("t", 0, module_payload(TENSOR_MODULE_ID | 2, fields)) == b"OK"
    assert r.execute_command("AI.TENSORGET", "t", "META", "VALUES") == [
        b"dtype", b"INT32", b"shape", [2, 1], b"values", [1, 2]]


# --------------------------------------------------------------------------------------------------
# Models (§3.2, §5.2)


def _model_meta(backend, tag, batch, inputs, outputs):
    b, mb, t = batch
    return [b"backend", backend.encode(), b"device", b"CPU", b"tag", tag, b"batchsize", b, b"minbatchsize", mb,
            b"inputs", inputs, b"outputs", outputs, b"minbatchtimeout", t]


def _run_ab(r, model):
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, 2, "BLOB", AB)
    r.execute_command("AI.TENSORSET", "b", "FLOAT", 2, 2, "BLOB", AB)
    assert r.execute_command("AI.MODELEXECUTE", model, "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == b"OK"
    return r.execute_command("AI.TENSORGET", "c", "VALUES")


def _restore_model(r, encver, backend, chunks, inputs, outputs, batch=(4, 2, 1000)):
    """RESTOREs the model as "m"; its tag and batching options as they read back."""
    tag = b"tag of v%d" % encver
    body = model_body(encver, backend, b"CPU", tag, batch, inputs, outputs, chunks)
    assert r.restore("m", 0, module_payload(MODEL_MODULE_ID | encver, body)) == b"OK"
    return tag, batch[:2] + (batch[2] if encver >= 2 else 0,)  # encodings 0 and 1: no minbatchtimeout


@pytest.mark.parametrize("encver", [0, 1, 2, 3, 4])
def test_torch_model_of_every_encoding(r, encver):
    blob = torch_add_model()
    tag, batch = _restore_model(r, encver, "TORCH", [blob[:500], blob[500:1000], blob[1000:]], [], [])
    meta = _model_meta("TORCH", tag, batch, [b"a", b"b"], [b""])  # stored names ignored: introspected
    assert r.execute_command("AI.MODELGET", "m", "META") == meta
    assert r.execute_command("AI.MODELGET", "m", "BLOB") == blob
    assert _run_ab(r, "m") == [b"4", b"6", b"4", b"6"]
    assert_dumps_as_v4(r, "m", MODEL_MODULE_ID, model_body(4, "TORCH", b"CPU", tag, batch, [b"a", b"b"], [b""], [blob]))


@pytest.mark.parametrize("encver", [0, 1, 2, 3, 4])
def test_onnx_model_of_every_encoding(r, encver):
    blob = sklearn_linear_onnx()
    # no batching: a [1,4] input alone would wait for a second one
    tag, batch = _restore_model(r, encver, "ONNX", [blob], [b"ignored"], [], (0, 0, 0))
    assert r.execute_command("AI.MODELGET", "m", "META") == _model_meta(
        "ONNX", tag, batch, [b"float_input"], [b"variable"])
    x = [5.1, 3.5, 1.4, 0.2]
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 1, 4, "VALUES", *x)
    assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 1, "x", "OUTPUTS", 1, "y") == b"OK"
    [y] = r.execute_command("AI.TENSORGET", "y", "VALUES")
    assert float(y) == pytest.approx(float(sklearn_linear_predict([x])[0]), rel=1e-5)
    assert_dumps_as_v4(r, "m", MODEL_MODULE_ID, model_body(4, "ONNX", b"CPU", tag, batch, [b"float_input"],
                                                           [b"variable"], [blob]))


@pytest.mark.parametrize("encver", [0, 1, 2, 3, 4])
def test_tf_model_of_every_encoding_keeps_the_stored_names(r, encver):
    """TF takes its input and output names from the payload (the graph does not say which nodes
    are outputs); encoding 0 carries the same fields."""
    tag, batch = _restore_model(r, encver, "TF", [tf_mul_graph()], [b"a", b"b"], [b"mul"])
    assert r.execute_command("AI.MODELGET", "m", "META") == _model_meta("TF", tag, batch, [b"a", b"b"], [b"mul"])
    assert _run_ab(r, "m") == [b"4", b"9", b"4", b"9"]
    assert_dumps_as_v4(r, "m", MODEL_MODULE_ID, model_body(4, "TF", b"CPU", tag, batch, [b"a", b"b"], [b"mul"],
                                                           [tf_mul_graph()]))


def test_tf_model_without_names_restores_and_cannot_run(r):
    """RedisAI's v0 TF sample stored no names: the model restores with none (§4)."""
    tag, batch = _restore_model(r, 0, "TF", [tf_mul_graph()], [], [])
    assert r.execute_command("AI.MODELGET", "m", "META") == _model_meta("TF", tag, batch, [], [])


# --------------------------------------------------------------------------------------------------
# Scripts (§3.3, §5.3)


def _restore_script(r, encver, source, entry_points=()):
    tag = b"tag of v%d" % encver
    body = script_body(encver, b"CPU", tag, source.encode(), entry_points)
    assert r.restore("s", 0, module_payload(SCRIPT_MODULE_ID | encver, body)) == b"OK"
    return tag


def _execute_bar(r):
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, 2, "BLOB", AB)
    r.execute_command("AI.TENSORSET", "b", "FLOAT", 2, 2, "BLOB", AB)
    assert r.execute_command("AI.SCRIPTEXECUTE", "s", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == b"OK"
    return r.execute_command("AI.TENSORGET", "c", "VALUES")


@pytest.mark.parametrize("encver", [0, 1, 2])
def test_script_without_entry_points_of_every_encoding(r, encver):
    """Encodings 0-2 have no entry points: every function takes the legacy calling convention."""
    tag = _restore_script(r, encver, LEGACY_SCRIPT)
    assert r.execute_command("AI.SCRIPTGET", "s") == [
        b"device", b"CPU", b"tag", tag, b"Entry Points", [], b"source", LEGACY_SCRIPT.encode()]
    assert _execute_bar(r) == [b"4", b"6", b"4", b"6"]
    assert_dumps_as_v4(r, "s", SCRIPT_MODULE_ID, script_body(4, b"CPU", tag, LEGACY_SCRIPT.encode()))


@pytest.mark.parametrize("encver", [3, 4])
def test_script_with_entry_points_of_every_encoding(r, encver):
    eps = [b"bar", b"bar_variadic"]
    tag = _restore_script(r, encver, ENTRY_POINTS_SCRIPT, eps)
    assert r.execute_command("AI.SCRIPTGET", "s") == [
        b"device", b"CPU", b"tag", tag, b"Entry Points", eps, b"source", ENTRY_POINTS_SCRIPT.encode()]
    assert _execute_bar(r) == [b"4", b"6", b"4", b"6"]
    assert_dumps_as_v4(r, "s", SCRIPT_MODULE_ID, script_body(4, b"CPU", tag, ENTRY_POINTS_SCRIPT.encode(), eps))
