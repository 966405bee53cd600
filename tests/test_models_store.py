"""AI.MODELSTORE, AI.MODELGET, AI.MODELDEL (docs/COMMANDS.md §5.1, §5.3, §5.4, §5.8, §5.9).

Every validation step of AI.MODELSTORE in the spec's order with its exact error text (redis-py drops a
leading "ERR "; the raw wire text is checked where the prefix matters), the replies of AI.MODELGET
including blob chunking (MODEL_CHUNK_SIZE given at load time), and AI.MODELDEL.
"""
import io
import struct
import zipfile

import pytest
import redis

from gpu import needs_no_gpu, needs_no_onnx_gpu
from helpers import error_of, shared_bytes
from models import (onnx_add_model, onnx_mul_model, sklearn_linear_onnx, sklearn_logreg_onnx,
                    torch_add_model, torch_two_outputs_model)
from redis_server import RedisServer
from resp import raw
from tf_models import tf_mul_graph, tflite_add_model

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


# --------------------------------------------------------------------------------------------------
# Helpers


def arity_error(r, sent, registered):
    """E.ARITY as RedisModule_WrongArity words it on this server: Redis < 7 quotes argv[0] as sent,
    Redis >= 7 quotes the registered (lower-case) command name whatever the client's spelling."""
    major = int(r.info("server")["redis_version"].split(".")[0])
    return f"wrong number of arguments for '{sent if major < 7 else registered}' command"


def meta(backend, device="CPU", tag=b"", batchsize=0, minbatchsize=0, inputs=(), outputs=(),
         minbatchtimeout=0):
    return [b"backend", backend.encode(), b"device", device if isinstance(device, bytes) else device.encode(),
            b"tag", tag if isinstance(tag, bytes) else tag.encode(), b"batchsize", batchsize,
            b"minbatchsize", minbatchsize, b"inputs", [i.encode() for i in inputs],
            b"outputs", [o.encode() for o in outputs], b"minbatchtimeout", minbatchtimeout]


TORCH_ADD_META = meta("TORCH", inputs=["a", "b"], outputs=[""])


def store_torch(r, key="m", *opts, blob=None):
    return r.execute_command("AI.MODELSTORE", key, "TORCH", "CPU", *opts, "BLOB",
                             torch_add_model() if blob is None else blob)


def graph_pb():
    return tf_mul_graph()  # RedisAI's graph.pb, byte for byte


def broken_torchscript():
    """A TorchScript archive whose code does not compile: libtorch answers with a multi-line message."""
    src = zipfile.ZipFile(io.BytesIO(torch_add_model()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(".py") and b"def forward" in data:
                data = data.replace(b"def forward", b"def forward(((\n  this is not\n  python\n")
            dst.writestr(info, data)
    return out.getvalue()


# --------------------------------------------------------------------------------------------------
# AI.MODELSTORE checks, in the spec's order (§5.1)


@pytest.mark.parametrize("args", [
    ["AI.MODELSTORE"],
    ["AI.MODELSTORE", "m"],
    ["AI.MODELSTORE", "m", "TORCH"],
    ["AI.MODELSTORE", "m", "TORCH", "CPU"],
    ["AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB"],
    ["AI.MODELSTORE", "m", "NOPE", "bad_device", "BLOB"],   # arity before anything else
    ["ai.modelstore", "m", "TORCH", "CPU", "BLOB"],          # argv[0] echoed as sent
    ["Ai.ModelStore", "m", "TORCH", "CPU", "TAG"],
])
def test_1_arity(r, server, args):
    expected = arity_error(r, args[0], "ai.modelstore")
    assert error_of(r, *args) == expected
    assert raw(server.port, *args) == ("error", "ERR " + expected)
    assert not r.exists("m")


@pytest.mark.parametrize("backend", ["NOPE", "TORCHX", "tensorflow", "PYTORCH", "", "TF "])
def test_2_unsupported_backend(r, server, backend):
    args = ["AI.MODELSTORE", "m", backend, "bad_device", "BATCHSIZE", "x", "BLOB", b"x"]
    assert error_of(r, *args) == "unsupported backend"
    assert raw(server.port, *args) == ("error", "ERR unsupported backend")
    assert not r.exists("m")


@pytest.mark.parametrize("backend", ["TORCH", "torch", "Torch", "tOrCh"])
def test_2_backend_names_are_case_insensitive(r, backend):
    assert r.execute_command("AI.MODELSTORE", "m", backend, "CPU", "BLOB", torch_add_model()) == b"OK"
    assert r.execute_command("AI.MODELGET", "m", "META")[:2] == [b"backend", b"TORCH"]


@pytest.mark.parametrize("backend", ["ONNX", "onnx", "Onnx"])
def test_2_onnx_backend_names_are_case_insensitive(r, backend):
    assert r.execute_command("AI.MODELSTORE", "m", backend, "CPU", "BLOB", onnx_add_model()) == b"OK"
    assert r.execute_command("AI.MODELGET", "m", "META")[:2] == [b"backend", b"ONNX"]


@pytest.mark.parametrize("device", [
    "bad_device", "CPU::", "CPU:1.8", "CPU:123456", "GPU:123456", "CPU:-1", "CPU:+1", "CPU:0x1",
    "CPU0", "CPUS", "GPUX", "", "C", "CP", " CPU", "CPU ", "TPU", "CPU:1a", "GPU::0", "TAG", "BLOB",
])
def test_3_invalid_device(r, server, device):
    # the device is checked before the options: the bad BATCHSIZE after it is never looked at
    args = ["AI.MODELSTORE", "m", "TORCH", device, "BATCHSIZE", "x", "BLOB", torch_add_model()]
    assert error_of(r, *args) == "Invalid DEVICE"
    assert raw(server.port, *args) == ("error", "ERR Invalid DEVICE")
    assert not r.exists("m")


@pytest.mark.parametrize("device", ["CPU", "cpu", "Cpu", "CPU:0", "CPU:", "cpu:1", "CPU:12345", "CPU:00007"])
def test_3_accepted_cpu_devices_are_stored_with_their_case(r, device):
    assert r.execute_command("AI.MODELSTORE", "m", "TORCH", device, "BLOB", torch_add_model()) == b"OK"
    assert r.execute_command("AI.MODELGET", "m", "META") == meta("TORCH", device, inputs=["a", "b"], outputs=[""])


def test_3_onnx_keeps_the_device_case_too(r):
    assert r.execute_command("AI.MODELSTORE", "m", "ONNX", "cpu:3", "BLOB", onnx_add_model()) == b"OK"
    assert r.execute_command("AI.MODELGET", "m", "META") == meta("ONNX", "cpu:3", inputs=["a", "b"], outputs=["c"])


@needs_no_gpu
@pytest.mark.parametrize("device", ["GPU", "gpu", "GPU:0", "GPU:1"])
def test_3_gpu_device_passes_parsing_then_the_cpu_only_torch_backend_refuses_it(r, server, device):
    args = ["AI.MODELSTORE", "m", "TORCH", device, "BLOB", torch_add_model()]
    # §5.8: the TORCH message has no ERR prefix
    assert raw(server.port, *args) == ("error", "GPU requested but Torch couldn't find CUDA")
    assert not r.exists("m")


@needs_no_onnx_gpu
def test_3_gpu_device_with_the_cpu_only_onnx_backend(r, server):
    args = ["AI.MODELSTORE", "m", "ONNX", "GPU", "BLOB", onnx_add_model()]
    assert raw(server.port, *args) == ("error", "ERR GPU requested but ONNX couldn't find CUDA")
    assert not r.exists("m")


@pytest.mark.parametrize("tag", [b"my tag", b"BLOB", b"TAG", b"", b"\xc3\xa9t\xc3\xa9", b"bin\x00\xff\r\nary",
                                 b"x" * 10000])
def test_4_tag_is_any_bytes(r, tag):
    assert store_torch(r, "m", "TAG", tag) == b"OK"
    assert r.execute_command("AI.MODELGET", "m", "META") == meta("TORCH", tag=tag, inputs=["a", "b"], outputs=[""])


def test_4_tag_keyword_is_case_insensitive(r):
    assert store_torch(r, "m", "tag", "t1") == b"OK"
    assert r.execute_command("AI.MODELGET", "m", "META")[5] == b"t1"


BAD_UNSIGNED = ["x", "-1", "4.5", "", " 4", "4 ", "1e30", "99999999999999999999", "nan", "-4.0", "4,0", "0.5"]


@pytest.mark.parametrize("value", BAD_UNSIGNED)
def test_5_invalid_batchsize(r, server, value):
    args = ["AI.MODELSTORE", "m", "TORCH", "CPU", "TAG", "t", "BATCHSIZE", value, "MINBATCHSIZE", "x",
            "BLOB", torch_add_model()]
    assert error_of(r, *args) == "Invalid argument for BATCHSIZE"
    assert raw(server.port, *args) == ("error", "ERR Invalid argument for BATCHSIZE")
    assert not r.exists("m")


@pytest.mark.parametrize("value, expected", [("4", 4), ("4.0", 4), ("4e0", 4), ("+4", 4), ("40e-1", 4),
                                             ("0", 0), ("0.0", 0), ("1000000", 1000000)])
def test_5_batchsize_is_a_lenient_integer(r, value, expected):
    assert store_torch(r, "m", "BATCHSIZE", value) == b"OK"
    assert r.execute_command("AI.MODELGET", "m", "META") == \
        meta("TORCH", batchsize=expected, inputs=["a", "b"], outputs=[""])


@pytest.mark.parametrize("value", BAD_UNSIGNED)
def test_6_invalid_minbatchsize(r, server, value):
    args = ["AI.MODELSTORE", "m", "TORCH", "CPU", "BATCHSIZE", 4, "MINBATCHSIZE", value,
            "MINBATCHTIMEOUT", "x", "BLOB", torch_add_model()]
    assert error_of(r, *args) == "Invalid argument for MINBATCHSIZE"
    assert raw(server.port, *args) == ("error", "ERR Invalid argument for MINBATCHSIZE")


def test_6_minbatchsize_value_is_checked_before_the_missing_batchsize(r):
    assert error_of(r, "AI.MODELSTORE", "m", "TORCH", "CPU", "MINBATCHSIZE", "x", "BLOB", torch_add_model()) == \
        "Invalid argument for MINBATCHSIZE"


@pytest.mark.parametrize("opts", [["MINBATCHSIZE", 2], ["BATCHSIZE", 0, "MINBATCHSIZE", 2],
                                  ["MINBATCHSIZE", "2.0", "MINBATCHTIMEOUT", "x"],
                                  ["TAG", "t", "BATCHSIZE", "0.0", "MINBATCHSIZE", 1]])
def test_7_minbatchsize_without_batchsize(r, server, opts):
    args = ["AI.MODELSTORE", "m", "TORCH", "CPU", *opts, "BLOB", torch_add_model()]
    assert error_of(r, *args) == "MINBATCHSIZE specified without BATCHSIZE"
    assert raw(server.port, *args) == ("error", "ERR MINBATCHSIZE specified without BATCHSIZE")
    assert not r.exists("m")


@pytest.mark.parametrize("value", BAD_UNSIGNED)
def test_8_invalid_minbatchtimeout(r, server, value):
    args = ["AI.MODELSTORE", "m", "TORCH", "CPU", "BATCHSIZE", 4, "MINBATCHSIZE", 2, "MINBATCHTIMEOUT", value,
            "BLOB", torch_add_model()]
    assert error_of(r, *args) == "Invalid argument for MINBATCHTIMEOUT"
    assert raw(server.port, *args) == ("error", "ERR Invalid argument for MINBATCHTIMEOUT")


def test_8_minbatchtimeout_value_is_checked_before_the_missing_minbatchsize(r):
    assert error_of(r, "AI.MODELSTORE", "m", "TORCH", "CPU", "MINBATCHTIMEOUT", "-5", "BLOB", torch_add_model()) == \
        "Invalid argument for MINBATCHTIMEOUT"


@pytest.mark.parametrize("opts", [["MINBATCHTIMEOUT", 10], ["BATCHSIZE", 4, "MINBATCHTIMEOUT", 10],
                                  ["BATCHSIZE", 4, "MINBATCHSIZE", 0, "MINBATCHTIMEOUT", "1e3"]])
def test_9_minbatchtimeout_without_minbatchsize(r, server, opts):
    args = ["AI.MODELSTORE", "m", "TORCH", "CPU", *opts, "BLOB", torch_add_model()]
    assert error_of(r, *args) == "MINBATCHTIMEOUT specified without MINBATCHSIZE"
    assert raw(server.port, *args) == ("error", "ERR MINBATCHTIMEOUT specified without MINBATCHSIZE")


@pytest.mark.parametrize("opts, expected", [
    (["BATCHSIZE", 4, "MINBATCHSIZE", 2, "MINBATCHTIMEOUT", 1000], (4, 2, 1000)),
    (["batchsize", "4.0", "minbatchsize", "2e0", "minbatchtimeout", "1000.0"], (4, 2, 1000)),
    (["BATCHSIZE", 4, "MINBATCHSIZE", 2], (4, 2, 0)),
    (["BATCHSIZE", 4], (4, 0, 0)),
    (["MINBATCHSIZE", 0], (0, 0, 0)),                     # the AOF rewrite relies on these zeros
    (["MINBATCHTIMEOUT", 0], (0, 0, 0)),
    (["MINBATCHSIZE", 0, "MINBATCHTIMEOUT", 0], (0, 0, 0)),
    (["BATCHSIZE", 0, "MINBATCHSIZE", 0, "MINBATCHTIMEOUT", 0], (0, 0, 0)),
    (["BATCHSIZE", 4, "MINBATCHSIZE", 0, "MINBATCHTIMEOUT", 0], (4, 0, 0)),
    (["BATCHSIZE", 9223372036854775807], (9223372036854775807, 0, 0)),
])
def test_batching_options_stored(r, opts, expected):
    assert store_torch(r, "m", "TAG", "T", *opts) == b"OK"
    b, mb, t = expected
    assert r.execute_command("AI.MODELGET", "m", "META") == \
        meta("TORCH", tag="T", batchsize=b, minbatchsize=mb, minbatchtimeout=t, inputs=["a", "b"], outputs=[""])


@pytest.mark.parametrize("backend", ["TORCH", "ONNX", "TF", "TFLITE"])
@pytest.mark.parametrize("opts", [["TAG", "t"], ["BATCHSIZE", 2], ["TAG", "t", "BATCHSIZE", 2, "MINBATCHSIZE", 1],
                                  ["BATCHSIZE", 2, "MINBATCHSIZE", 1, "MINBATCHTIMEOUT", 5], ["MINBATCHSIZE", 0]])
def test_10_nothing_after_the_options(r, server, backend, opts):
    args = ["AI.MODELSTORE", "m", backend, "CPU", *opts]
    assert error_of(r, *args) == "Insufficient arguments, missing model BLOB"
    assert raw(server.port, *args) == ("error", "ERR Insufficient arguments, missing model BLOB")


# TF parsing (checks 11-17) happens before the backend is loaded, so these errors do not depend on it.
TF_PARSE = [
    # 11
    (["BLOB", b"x"], "INPUTS not specified for TF"),
    (["OUTPUTS", 1, "c", "BLOB", b"x"], "INPUTS not specified for TF"),
    (["TAG", "t", "BATCHSIZE", 2, "BLOB", b"x"], "INPUTS not specified for TF"),
    (["inputs_", 1, "a", "OUTPUTS", 1, "c", "BLOB", b"x"], "INPUTS not specified for TF"),
    # 12
    (["INPUTS", 0, "OUTPUTS", 1, "c", "BLOB", b"x"], "Invalid argument for input_count"),
    (["INPUTS", "x", "a", "OUTPUTS", 1, "c", "BLOB", b"x"], "Invalid argument for input_count"),
    (["INPUTS", -1, "a", "OUTPUTS", 1, "c", "BLOB", b"x"], "Invalid argument for input_count"),
    (["INPUTS", "1.5", "a", "OUTPUTS", 1, "c", "BLOB", b"x"], "Invalid argument for input_count"),
    (["INPUTS", "0.0", "OUTPUTS", 1, "c", "BLOB", b"x"], "Invalid argument for input_count"),
    (["TAG", "t", "INPUTS"], "Invalid argument for input_count"),
    # 13
    (["TAG", "t", "INPUTS", 1], "number of model inputs does not match the number of given arguments"),
    (["INPUTS", 5, "a", "b", "OUTPUTS", 1], "number of model inputs does not match the number of given arguments"),
    (["INPUTS", "7.0", "a", "b", "OUTPUTS", 1, "c", "BLOB"],
     "number of model inputs does not match the number of given arguments"),
    # 14
    (["INPUTS", 1, "a", "BLOB", b"x"], "OUTPUTS not specified for TF"),
    (["INPUTS", 1, "a"], "OUTPUTS not specified for TF"),
    (["INPUTS", 1, "a", "b", "OUTPUTS", 1, "c", "BLOB", b"x"], "OUTPUTS not specified for TF"),
    (["INPUTS", "1.0", "a", "b", "OUTPUTS", 1, "c", "BLOB", b"x"], "OUTPUTS not specified for TF"),
    # 15
    (["INPUTS", 1, "a", "OUTPUTS", 0, "BLOB", b"x"], "Invalid argument for output_count"),
    (["INPUTS", 1, "a", "OUTPUTS", "c", "BLOB", b"x"], "Invalid argument for output_count"),
    (["INPUTS", 1, "a", "OUTPUTS", -2, "c", "d", "BLOB", b"x"], "Invalid argument for output_count"),
    (["INPUTS", 1, "a", "OUTPUTS"], "Invalid argument for output_count"),
    # 16
    (["INPUTS", 1, "a", "OUTPUTS", 1], "number of model outputs does not match the number of given arguments"),
    (["INPUTS", 1, "a", "OUTPUTS", 3, "c", "BLOB"],
     "number of model outputs does not match the number of given arguments"),
    # 17
    (["INPUTS", 1, "a", "OUTPUTS", 1, "c"], "Invalid argument, expected BLOB"),
    (["INPUTS", 1, "a", "OUTPUTS", 1, "c", "d", "BLOB", b"x"], "Invalid argument, expected BLOB"),
    (["INPUTS", 2, "a", "b", "OUTPUTS", "1.0", "c", "TAG", "t", "BLOB", b"x"], "Invalid argument, expected BLOB"),
    # 18
    (["INPUTS", 1, "a", "OUTPUTS", 1, "c", "BLOB"], "Insufficient arguments, missing model BLOB"),
    (["TAG", "t", "BATCHSIZE", 2, "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "blob"],
     "Insufficient arguments, missing model BLOB"),
]


@pytest.mark.parametrize("args, message", TF_PARSE, ids=[f"{i}-{m[:22]}" for i, (_, m) in enumerate(TF_PARSE)])
def test_11_to_18_tf_parsing_comes_before_the_backend(r, server, args, message):
    full = ["AI.MODELSTORE", "m", "TF", "CPU", *args]
    assert error_of(r, *full) == message
    assert raw(server.port, *full) == ("error", "ERR " + message)
    assert not r.exists("m")


def test_tf_keywords_are_case_insensitive_in_parsing(r):
    assert error_of(r, "AI.MODELSTORE", "m", "tf", "CPU", "inputs", 1, "a", "outputs", 1) == \
        "number of model outputs does not match the number of given arguments"


@pytest.mark.parametrize("args", [
    ["INPUTS", 2, "a", "b", "OUTPUTS", 1, "mul", "BLOB"],
    ["TAG", "t", "BATCHSIZE", "4.0", "MINBATCHSIZE", 2, "MINBATCHTIMEOUT", 10, "INPUTS", "2.0", "a", "b",
     "OUTPUTS", "1e0", "mul", "BLOB"],
])
def test_19_valid_tf_store_reaches_the_backend(r, server, args):
    """TF is not implemented yet: the spec's missing-backend error; once it is, the real graph stores."""
    full = ["AI.MODELSTORE", "m", "TF", "CPU", *args, graph_pb()]
    reply = raw(server.port, *full)
    assert reply in ("OK", ("error", "ERR Could not load backend"))
    assert r.exists("m") == (reply == "OK")


def test_19_tflite_reaches_the_backend(r, server):
    reply = raw(server.port, "AI.MODELSTORE", "m", "TFLITE", "CPU", "BATCHSIZE", 2, "BLOB", b"not a flatbuffer")
    assert reply in (("error", "ERR Could not load backend"), ("error", "Failed to load model from buffer"))
    assert not r.exists("m")


def tflite_without(blob, *fields):
    """A well-formed .tflite with root-table fields marked absent (Model's fields: 1 operator_codes,
    2 subgraphs, 4 buffers): the flatbuffer stays valid, the model has nothing to run."""
    b = bytearray(blob)
    root = struct.unpack_from("<I", b, 0)[0]
    vtable = root - struct.unpack_from("<i", b, root)[0]
    for field in fields:
        assert 4 + 2 * field < struct.unpack_from("<H", b, vtable)[0], "field beyond the vtable"
        struct.pack_into("<H", b, vtable + 4 + 2 * field, 0)
    return bytes(b)


@pytest.mark.parametrize("fields", [(1, 2), (2,), (4,)], ids=["no_codes_no_subgraphs", "no_subgraphs",
                                                             "no_buffers"])
def test_tflite_without_subgraphs_or_buffers_is_refused(r, server, fields):
    """LiteRT's own check passes such a buffer and its constructor dereferenced NULL (the server
    crashed; found by the garbage-model fuzzer): refused before LiteRT sees it."""
    blob = tflite_without(tflite_add_model(), *fields)
    assert error_of(r, "AI.MODELSTORE", "m", "TFLITE", "CPU", "BLOB", blob) == "Failed to load model from buffer"
    assert not r.exists("m") and server.alive()


@pytest.mark.parametrize("backend", ["TORCH", "ONNX", "TFLITE", "torch"])
@pytest.mark.parametrize("args", [
    ["INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "BLOB", b"x"],
    ["INPUTS", "BLOB", b"x"],
    ["TAG", "t", "BATCHSIZE", 2, "inputs", 1, "a", "BLOB", b"x"],
    ["INPUTS", "x"],
])
def test_11b_inputs_not_allowed_for_other_backends(r, server, backend, args):
    full = ["AI.MODELSTORE", "m", backend, "CPU", *args]
    assert error_of(r, *full) == "INPUTS argument should not be specified for this backend"
    assert raw(server.port, *full) == ("error", "ERR INPUTS argument should not be specified for this backend")


@pytest.mark.parametrize("backend", ["TORCH", "ONNX", "TFLITE"])
@pytest.mark.parametrize("args", [
    ["OUTPUTS", 1, "c", "BLOB", b"x"],
    ["junk", "BLOB", b"x"],
    ["BATCHSIZE", 2, "TAG", "t", "BLOB", b"x"],                 # options only in their order
    ["MINBATCHSIZE", 0, "BATCHSIZE", 2, "BLOB", b"x"],
    ["TAG", "t", "TAG", "u", "BLOB", b"x"],
    ["BLOBS", b"x"],
])
def test_17_expected_blob(r, server, backend, args):
    full = ["AI.MODELSTORE", "m", backend, "CPU", *args]
    assert error_of(r, *full) == "Invalid argument, expected BLOB"
    assert raw(server.port, *full) == ("error", "ERR Invalid argument, expected BLOB")


@pytest.mark.parametrize("backend", ["TORCH", "ONNX", "TFLITE"])
@pytest.mark.parametrize("opts", [["TAG", "t"], ["BATCHSIZE", 3], ["TAG", "t", "BATCHSIZE", 3, "MINBATCHSIZE", 1]])
def test_18_nothing_after_blob(r, server, backend, opts):
    full = ["AI.MODELSTORE", "m", backend, "CPU", *opts, "BLOB"]
    assert error_of(r, *full) == "Insufficient arguments, missing model BLOB"
    assert raw(server.port, *full) == ("error", "ERR Insufficient arguments, missing model BLOB")


def check_backend_error(r, server, args, key="m"):
    reply = raw(server.port, *args)
    assert isinstance(reply, tuple) and reply[0] == "error", reply
    text = reply[1]
    assert text, "empty error text"
    assert "\n" not in text and "\r" not in text, text
    assert not r.exists(key)
    assert server.alive()
    return text


@pytest.mark.parametrize("blob", [b"x", b"garbage" * 100, b"PK\x03\x04" + b"\x00" * 60, b"\x00" * 1000,
                                  onnx_add_model(), b"\x80"])
def test_20_corrupt_torch_blob(r, server, blob):
    check_backend_error(r, server, ["AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", blob])


def test_20_torch_multiline_error_is_flattened(r, server):
    import torch
    try:
        torch.jit.load(io.BytesIO(broken_torchscript()))
        pytest.fail("the broken archive loads in torch")
    except Exception as e:  # noqa: BLE001 - whatever torch raises, its text is multi-line
        original = str(e)
    assert "\n" in original
    text = check_backend_error(r, server, ["AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", broken_torchscript()])
    # each \n / \r replaced by one space, nothing else changed: torch's first line, then the next one
    lines = original.replace("\r", "\n").split("\n")
    assert " ".join(lines[:2]) in text, (text, original)


@pytest.mark.parametrize("blob", [b"x", b"garbage" * 100, b"\x08\x07", torch_add_model(), b"\xff" * 64])
def test_20_corrupt_onnx_blob(r, server, blob):
    check_backend_error(r, server, ["AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", blob])


def external_initializer_model():
    from onnx import TensorProto, helper
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2], data_location=TensorProto.EXTERNAL)
    w.external_data.add(key="location", value="Pads.bin")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "ext", [x], [y], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


@pytest.mark.parametrize("file_present", [False, True])
def test_20_onnx_external_initializers_are_refused(r, server, file_present):
    """§5.8: refused outright, whether or not the referenced file exists (the server never reads it)."""
    pads = server.dir / "Pads.bin"
    if file_present:
        pads.write_bytes(b"\x00\x00\x80?\x00\x00\x00@")
    try:
        text = check_backend_error(r, server, ["AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB",
                                               external_initializer_model()])
    finally:
        pads.unlink(missing_ok=True)
    assert text == "Initializer tensors with external data is not allowed."


def test_21_wrongtype_is_checked_after_the_model_was_built(r, server):
    r.execute_command("AI.TENSORSET", "t", "FLOAT", 1, "VALUES", 1)
    r.set("s", "string")
    for key in ("t", "s"):
        assert error_of(r, "AI.MODELSTORE", key, "TORCH", "CPU", "BLOB", torch_add_model()) == WRONGTYPE
        assert error_of(r, "AI.MODELSTORE", key, "ONNX", "CPU", "BLOB", onnx_add_model()) == WRONGTYPE
        # a bad blob fails in the backend first (20 before 21)
        text = check_backend_error(r, server, ["AI.MODELSTORE", key, "TORCH", "CPU", "BLOB", b"junk"], key="none")
        assert not text.startswith("WRONGTYPE")
        # parse errors come first too
        assert error_of(r, "AI.MODELSTORE", key, "TORCH", "CPU", "TAG", "t", "BLOB") == \
            "Insufficient arguments, missing model BLOB"
    assert r.execute_command("AI.TENSORGET", "t", "VALUES") == [b"1"]
    assert r.get("s") == b"string"
    assert r.type("t") == b"AI_TENSOR"


FAILING_STORES = [
    ["AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB"],
    ["AI.MODELSTORE", "m", "NOPE", "CPU", "BLOB", b"x"],
    ["AI.MODELSTORE", "m", "TORCH", "bad_device", "BLOB", b"x"],
    ["AI.MODELSTORE", "m", "TORCH", "CPU", "BATCHSIZE", "x", "BLOB", b"x"],
    ["AI.MODELSTORE", "m", "TORCH", "CPU", "MINBATCHSIZE", 2, "BLOB", b"x"],
    ["AI.MODELSTORE", "m", "TORCH", "CPU", "BATCHSIZE", 2, "MINBATCHTIMEOUT", 2, "BLOB", b"x"],
    ["AI.MODELSTORE", "m", "TORCH", "CPU", "TAG", "t"],
    ["AI.MODELSTORE", "m", "TORCH", "CPU", "INPUTS", 1, "a", "BLOB", b"x"],
    ["AI.MODELSTORE", "m", "TORCH", "CPU", "junk", "BLOB", b"x"],
    ["AI.MODELSTORE", "m", "TF", "CPU", "BLOB", b"x"],
    ["AI.MODELSTORE", "m", "TF", "CPU", "INPUTS", 1, "a", "OUTPUTS", 1, "c", "BLOB", b"not a graph"],
    ["AI.MODELSTORE", "m", "TFLITE", "CPU", "BLOB", b"not a flatbuffer"],
    ["AI.MODELSTORE", "m", "TORCH", "CPU", "TAG", "new", "BLOB", b"corrupt"],
    ["AI.MODELSTORE", "m", "ONNX", "CPU", "TAG", "new", "BLOB", b"corrupt"],
    ["AI.MODELSTORE", "m", "TORCH", "CPU", "TAG", "new", "BLOB", onnx_add_model()],
    pytest.param(["AI.MODELSTORE", "m", "TORCH", "GPU", "TAG", "new", "BLOB", torch_add_model()],
                 marks=needs_no_gpu),
]


@pytest.mark.parametrize("args", FAILING_STORES, ids=range(len(FAILING_STORES)))
def test_a_failed_store_never_changes_an_existing_model(r, args):
    assert store_torch(r, "m", "TAG", "orig", "BATCHSIZE", 3) == b"OK"
    before = r.execute_command("AI.MODELGET", "m")
    with pytest.raises(redis.ResponseError):
        r.execute_command(*args)
    assert r.execute_command("AI.MODELGET", "m") == before
    assert before[5] == b"orig" and before[17] == torch_add_model()


# --------------------------------------------------------------------------------------------------
# Successful stores


def test_store_torch_and_read_everything_back(r, server):
    assert raw(server.port, "AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", torch_add_model()) == "OK"
    assert r.execute_command("AI.MODELGET", "m", "META") == TORCH_ADD_META
    assert r.execute_command("AI.MODELGET", "m", "BLOB") == torch_add_model()
    assert r.execute_command("AI.MODELGET", "m") == TORCH_ADD_META + [b"blob", torch_add_model()]
    assert r.type("m") == b"AI__MODEL"


def test_store_onnx_and_read_everything_back(r, server):
    assert raw(server.port, "AI.MODELSTORE", "m", "ONNX", "CPU", "TAG", "add", "BLOB", onnx_add_model()) == "OK"
    expected = meta("ONNX", tag="add", inputs=["a", "b"], outputs=["c"])
    assert r.execute_command("AI.MODELGET", "m", "META") == expected
    assert r.execute_command("AI.MODELGET", "m", "BLOB") == onnx_add_model()
    assert r.type("m") == b"AI__MODEL"


@pytest.mark.parametrize("backend, blob, inputs, outputs", [
    ("TORCH", torch_add_model, ["a", "b"], [""]),
    ("TORCH", torch_two_outputs_model, ["a", "b"], ["", ""]),
    ("ONNX", onnx_add_model, ["a", "b"], ["c"]),
    ("ONNX", onnx_mul_model, ["X"], ["Y"]),
    ("ONNX", sklearn_linear_onnx, ["float_input"], ["variable"]),
    ("ONNX", sklearn_logreg_onnx, ["float_input"], ["output_label", "output_probability"]),
], ids=lambda v: getattr(v, "__name__", None))
def test_introspected_names(r, backend, blob, inputs, outputs):
    assert r.execute_command("AI.MODELSTORE", "m", backend, "CPU", "BLOB", blob()) == b"OK"
    assert r.execute_command("AI.MODELGET", "m", "META") == meta(backend, inputs=inputs, outputs=outputs)
    assert r.execute_command("AI.MODELGET", "m", "BLOB") == blob()


def test_upstream_fixture_files_store(r):
    pt = shared_bytes("embedded/pt-minimal.pt")
    onnx_iris = shared_bytes("embedded/linear_iris.onnx")
    assert r.execute_command("AI.MODELSTORE", "pt", "TORCH", "CPU", "TAG", "PT", "BLOB", pt) == b"OK"
    assert r.execute_command("AI.MODELSTORE", "ox", "ONNX", "CPU", "BLOB", onnx_iris) == b"OK"
    assert r.execute_command("AI.MODELGET", "pt", "META") == meta("TORCH", tag="PT", inputs=["a", "b"], outputs=[""])
    assert r.execute_command("AI.MODELGET", "ox", "META") == meta("ONNX", inputs=["float_input"], outputs=["variable"])
    assert r.execute_command("AI.MODELGET", "pt", "BLOB") == pt
    assert r.execute_command("AI.MODELGET", "ox", "BLOB") == onnx_iris


@pytest.mark.parametrize("backend, blob", [("TORCH", torch_add_model), ("ONNX", onnx_add_model),
                                           ("TORCH", torch_two_outputs_model)])
@pytest.mark.parametrize("cuts", [[1], [10, 20], [0], [3, 3, 50], "every"])
def test_chunked_blob_upload_is_concatenated(r, backend, blob, cuts):
    data = blob()
    if cuts == "every":
        chunks = [data[i:i + 7] for i in range(0, len(data), 7)]
    else:
        edges = [0, *cuts, len(data)]
        chunks = [data[a:b] for a, b in zip(edges, edges[1:])]   # empty chunks included
    assert b"".join(chunks) == data and len(chunks) > 1
    assert r.execute_command("AI.MODELSTORE", "m", backend, "CPU", "BLOB", *chunks) == b"OK"
    assert r.execute_command("AI.MODELGET", "m", "BLOB") == data
    assert r.execute_command("AI.MODELGET", "m", "META")[:2] == [b"backend", backend.encode()]


def test_chunked_upload_of_a_split_that_is_wrong_fails(r, server):
    data = torch_add_model()
    check_backend_error(r, server, ["AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", data[100:], data[:100]])


def test_full_option_set_and_replacement(r):
    assert r.execute_command("AI.MODELSTORE", "m", "TORCH", "cpu:0", "TAG", "v1", "BATCHSIZE", 8,
                             "MINBATCHSIZE", 4, "MINBATCHTIMEOUT", 250, "BLOB", torch_add_model()) == b"OK"
    assert r.execute_command("AI.MODELGET", "m", "META") == meta(
        "TORCH", "cpu:0", "v1", 8, 4, ["a", "b"], [""], 250)
    # storing again replaces the model (another backend, other options)
    assert r.execute_command("AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", onnx_mul_model()) == b"OK"
    assert r.execute_command("AI.MODELGET", "m") == meta("ONNX", inputs=["X"], outputs=["Y"]) + \
        [b"blob", onnx_mul_model()]
    assert r.dbsize() == 1


def test_keywords_are_case_insensitive(r):
    assert r.execute_command("ai.modelstore", "m", "torch", "cpu", "tag", "x", "batchsize", 2, "minbatchsize", 1,
                             "minbatchtimeout", 7, "blob", torch_add_model()) == b"OK"
    assert r.execute_command("ai.modelget", "m", "meta") == meta("TORCH", "cpu", "x", 2, 1, ["a", "b"], [""], 7)


def test_batchsize_accepted_for_every_backend(r, server):
    assert store_torch(r, "t", "BATCHSIZE", 2) == b"OK"
    assert r.execute_command("AI.MODELSTORE", "o", "ONNX", "CPU", "BATCHSIZE", 2, "BLOB", onnx_add_model()) == b"OK"
    # TFLITE: BATCHSIZE is no parse error for AI.MODELSTORE; what happens next is the backend's business
    reply = raw(server.port, "AI.MODELSTORE", "l", "TFLITE", "CPU", "BATCHSIZE", 2, "BLOB", b"x")
    assert reply != ("error", "ERR Auto-batching not supported by the TFLITE backend")


def test_model_key_behaves_like_a_key(r):
    store_torch(r, "m")
    assert r.exists("m") == 1
    assert r.expire("m", 100)
    assert 0 < r.ttl("m") <= 100
    assert r.rename("m", "m2")
    assert r.execute_command("AI.MODELGET", "m2", "META") == TORCH_ADD_META
    assert r.type("m2") == b"AI__MODEL"
    r.set("m2", "now a string")
    assert r.get("m2") == b"now a string"
    store_torch(r, "m3")
    assert r.delete("m3") == 1
    assert r.exists("m3") == 0


def test_many_models_coexist(r):
    for i in range(20):
        backend, blob = ("TORCH", torch_add_model()) if i % 2 else ("ONNX", onnx_add_model())
        assert r.execute_command("AI.MODELSTORE", f"m{i}", backend, "CPU", "TAG", f"tag{i}", "BLOB", blob) == b"OK"
    for i in range(20):
        m = r.execute_command("AI.MODELGET", f"m{i}", "META")
        assert m[1] == (b"TORCH" if i % 2 else b"ONNX") and m[5] == f"tag{i}".encode()
    assert r.dbsize() == 20


# --------------------------------------------------------------------------------------------------
# AI.MODELGET (§5.3)


@pytest.mark.parametrize("args", [["AI.MODELGET"], ["AI.MODELGET", "m", "META", "BLOB", "META"],
                                  ["ai.modelget", "m", "a", "b", "c"], ["AI.MODELGET", "nokey", "META", "BLOB", "x"]])
def test_modelget_arity(r, args):
    store_torch(r, "m")
    assert error_of(r, *args) == arity_error(r, args[0], "ai.modelget")


def test_modelget_missing_and_wrong_type(r, server):
    assert error_of(r, "AI.MODELGET", "nokey", "META") == "model key is empty"
    assert raw(server.port, "AI.MODELGET", "nokey") == ("error", "ERR model key is empty")
    r.execute_command("AI.TENSORSET", "t", "FLOAT", 1)
    r.set("s", "x")
    r.rpush("l", "x")
    for key in ("t", "s", "l"):
        assert error_of(r, "AI.MODELGET", key, "META") == WRONGTYPE
        assert error_of(r, "AI.MODELGET", key) == WRONGTYPE


@pytest.mark.parametrize("fmt, shape", [
    ([], "full"), (["META"], "meta"), (["BLOB"], "blob"), (["META", "BLOB"], "full"), (["BLOB", "META"], "full"),
    (["meta"], "meta"), (["blob"], "blob"), (["Meta", "bLoB"], "full"),
    (["FOO"], "full"), (["META", "FOO"], "meta"), (["FOO", "BLOB"], "blob"), (["VALUES"], "full"),
    (["META", "META"], "meta"), (["BLOB", "BLOB"], "blob"), (["", "META"], "meta"),
])
def test_modelget_reply_forms(r, fmt, shape):
    assert store_torch(r, "m", "TAG", "tg") == b"OK"
    m = meta("TORCH", tag="tg", inputs=["a", "b"], outputs=[""])
    expected = {"meta": m, "blob": torch_add_model(), "full": m + [b"blob", torch_add_model()]}[shape]
    assert r.execute_command("AI.MODELGET", "m", *fmt) == expected


def test_modelget_meta_field_types_on_the_wire(r, server):
    store_torch(r, "m", "TAG", "x", "BATCHSIZE", 2, "MINBATCHSIZE", 1, "MINBATCHTIMEOUT", 3)
    reply = raw(server.port, "AI.MODELGET", "m", "META")
    # every name is a bulk string (bytes here, simple strings would be str), numbers are integers
    assert reply == [b"backend", b"TORCH", b"device", b"CPU", b"tag", b"x", b"batchsize", 2, b"minbatchsize", 1,
                     b"inputs", [b"a", b"b"], b"outputs", [b""], b"minbatchtimeout", 3]
    assert raw(server.port, "AI.MODELGET", "m", "BLOB") == torch_add_model()


def test_modelget_is_readonly_and_works_in_multi(r):
    store_torch(r, "m")
    with r.pipeline(transaction=True) as p:
        p.execute_command("AI.MODELGET", "m", "META")
        p.execute_command("AI.MODELSTORE", "m2", "ONNX", "CPU", "BLOB", onnx_add_model())
        p.execute_command("AI.MODELDEL", "m")
        assert p.execute() == [TORCH_ADD_META, b"OK", b"OK"]
    assert not r.exists("m") and r.exists("m2")


# --------------------------------------------------------------------------------------------------
# Blob chunking with MODEL_CHUNK_SIZE given at load time


def expected_chunks(data, c):
    n = len(data) // c + 1
    if n == 1:
        return data
    return [data[i * c:(i + 1) * c] for i in range(n - 1)] + [data[(n - 1) * c:]]


def chunk_sizes_for(length):
    divisor = next(d for d in range(2, length) if length % d == 0 and d > 10)
    return sorted({1000, length // 3, length - 1, length, length + 1, 10 * length, divisor, length // 2 + 1})


@pytest.mark.parametrize("which", ["torch", "onnx"])
def test_model_chunk_size_splits_modelget_blob(which):
    data = torch_add_model() if which == "torch" else onnx_add_model()
    backend = "TORCH" if which == "torch" else "ONNX"
    for c in chunk_sizes_for(len(data)):
        with RedisServer(module_args=("DEBUG_COMMAND", "yes", "MODEL_CHUNK_SIZE", c)) as s:
            r = s.client()
            assert r.execute_command("AI.MODELSTORE", "m", backend, "CPU", "BLOB", data) == b"OK"
            expected = expected_chunks(data, c)
            got = r.execute_command("AI.MODELGET", "m", "BLOB")
            assert got == expected, (c, len(data))
            if c > len(data):
                assert got == data
            else:
                assert isinstance(got, list) and len(got) == len(data) // c + 1
                assert b"".join(got) == data
                assert all(len(x) == c for x in got[:-1]) and len(got[-1]) == len(data) % c
                if len(data) % c == 0:
                    assert got[-1] == b""          # the trailing empty chunk
            full = r.execute_command("AI.MODELGET", "m")
            assert len(full) == 18 and full[16] == b"blob" and full[17] == expected
            assert s.alive()


def test_model_chunk_size_exact_multiple_has_a_trailing_empty_chunk():
    data = onnx_add_model()
    c = next(d for d in range(len(data) // 4, 1, -1) if len(data) % d == 0)
    with RedisServer(module_args=("DEBUG_COMMAND", "yes", "MODEL_CHUNK_SIZE", c)) as s:
        r = s.client()
        assert r.execute_command("AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", data) == b"OK"
        got = raw(s.port, "AI.MODELGET", "m", "BLOB")
        assert len(got) == len(data) // c + 1
        assert got[-1] == b"" and b"".join(got) == data
        # a chunked reply can be fed back as a chunked upload
        assert r.execute_command("AI.MODELSTORE", "m2", "ONNX", "CPU", "BLOB", *got) == b"OK"
        assert r.execute_command("AI.MODELGET", "m2", "BLOB") == got


def test_model_chunk_size_of_one_byte():
    data = onnx_add_model()
    with RedisServer(module_args=("DEBUG_COMMAND", "yes", "MODEL_CHUNK_SIZE", 1)) as s:
        r = s.client()
        assert r.execute_command("AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", data) == b"OK"
        got = r.execute_command("AI.MODELGET", "m", "BLOB")
        assert got == [data[i:i + 1] for i in range(len(data))] + [b""]


def test_default_chunk_size_gives_one_bulk_string(r, server):
    data = torch_two_outputs_model()
    assert r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", data) == b"OK"
    assert raw(server.port, "AI.MODELGET", "m", "BLOB") == data


# --------------------------------------------------------------------------------------------------
# AI.MODELDEL (§5.4)


@pytest.mark.parametrize("args", [["AI.MODELDEL"], ["AI.MODELDEL", "m", "m"], ["ai.modeldel", "m", "x", "y"]])
def test_modeldel_arity(r, args):
    store_torch(r, "m")
    assert error_of(r, *args) == arity_error(r, args[0], "ai.modeldel")
    assert r.exists("m")


def test_modeldel_missing_and_wrong_type(r, server):
    assert error_of(r, "AI.MODELDEL", "nokey") == "model key is empty"
    assert raw(server.port, "AI.MODELDEL", "nokey") == ("error", "ERR model key is empty")
    r.execute_command("AI.TENSORSET", "t", "FLOAT", 1)
    r.set("s", "x")
    for key in ("t", "s"):
        assert error_of(r, "AI.MODELDEL", key) == WRONGTYPE
    assert r.type("t") == b"AI_TENSOR" and r.get("s") == b"x"


@pytest.mark.parametrize("backend, blob", [("TORCH", torch_add_model), ("ONNX", onnx_add_model)])
def test_modeldel_deletes(r, server, backend, blob):
    assert r.execute_command("AI.MODELSTORE", "m", backend, "CPU", "BLOB", blob()) == b"OK"
    assert r.execute_command("AI.MODELSTORE", "keep", backend, "CPU", "BLOB", blob()) == b"OK"
    assert raw(server.port, "AI.MODELDEL", "m") == "OK"
    assert r.exists("m") == 0
    assert error_of(r, "AI.MODELGET", "m", "META") == "model key is empty"
    assert error_of(r, "AI.MODELDEL", "m") == "model key is empty"
    assert r.execute_command("AI.MODELGET", "keep", "META")[:2] == [b"backend", backend.encode()]
    # the key can be stored again
    assert r.execute_command("AI.MODELSTORE", "m", backend, "CPU", "BLOB", blob()) == b"OK"
    assert r.execute_command("ai.modeldel", "m") == b"OK"
    assert r.dbsize() == 1


def test_modeldel_then_flushall_and_expire(r, server):
    store_torch(r, "a")
    store_torch(r, "b")
    r.pexpire("b", 50)
    assert r.flushall()
    assert r.dbsize() == 0
    store_torch(r, "c")
    r.pexpire("c", 30)
    import time
    deadline = time.monotonic() + 5
    while r.exists("c") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not r.exists("c")
    assert server.alive()


# --------------------------------------------------------------------------------------------------
# The command table (§1)


def command_info(port, name):
    reply = raw(port, "COMMAND", "INFO", name)
    assert len(reply) == 1 and reply[0] is not None, f"{name} is not registered"
    info = reply[0]
    return {"name": info[0], "arity": info[1], "flags": {f.decode() if isinstance(f, bytes) else f for f in info[2]},
            "keys": tuple(info[3:6])}


@pytest.mark.parametrize("name, flags, not_flags", [
    ("ai.modelstore", {"write", "denyoom"}, {"readonly"}),
    ("ai.modelget", {"readonly"}, {"write", "denyoom"}),
    ("ai.modeldel", {"write"}, {"readonly", "denyoom"}),
])
def test_command_info(server, name, flags, not_flags):
    info = command_info(server.port, name)
    assert info["name"] == name.encode()
    assert info["arity"] == -1
    assert flags <= info["flags"], info
    assert not (not_flags & info["flags"]), info
    assert info["keys"] == (1, 1, 1)
    assert command_info(server.port, name.upper())["name"] == name.encode()


def test_command_getkeys(server):
    assert raw(server.port, "COMMAND", "GETKEYS", "AI.MODELSTORE", "mk", "TORCH", "CPU", "BLOB", b"x") == [b"mk"]
    assert raw(server.port, "COMMAND", "GETKEYS", "AI.MODELGET", "mk", "META") == [b"mk"]
    assert raw(server.port, "COMMAND", "GETKEYS", "AI.MODELDEL", "mk") == [b"mk"]


# --------------------------------------------------------------------------------------------------
# Self-check of the generators in models.py (in-process, no server)


def test_model_generators_self_check():
    import numpy as np
    import onnxruntime as ort
    import torch

    import models

    for fn in (torch_add_model, torch_two_outputs_model, models.torch_failing_model, onnx_add_model,
               onnx_mul_model, sklearn_linear_onnx, sklearn_logreg_onnx):
        assert isinstance(fn(), bytes) and fn() is fn(), fn.__name__   # cached
    # TorchScript
    a = torch.tensor([[2.0, 3.0], [2.0, 3.0]])
    add = torch.jit.load(io.BytesIO(torch_add_model()))
    assert add(a, a).tolist() == [[4, 6], [4, 6]]
    s, p = torch.jit.load(io.BytesIO(torch_two_outputs_model()))(a, a)
    assert s.tolist() == [[4, 6], [4, 6]] and p.tolist() == [[4, 9], [4, 9]]
    failing = torch.jit.load(io.BytesIO(models.torch_failing_model()))
    assert failing(-a).tolist() == [[-4, -6], [-4, -6]]
    with pytest.raises(Exception, match="input must be negative"):
        failing(a)
    x = np.ones((2, 64), np.float32)
    assert models.torch_mlp_reference(x, 64).shape == (2, 64)
    # ONNX
    names = {
        onnx_add_model: (["a", "b"], ["c"]), onnx_mul_model: (["X"], ["Y"]),
        models.onnx_sum_model: (["x0", "x1", "x2", "x3", "x4"], ["y"]),
        sklearn_linear_onnx: (["float_input"], ["variable"]),
        sklearn_logreg_onnx: (["float_input"], ["output_label", "output_probability"]),
    }
    for fn, (ins, outs) in names.items():
        sess = ort.InferenceSession(fn(), providers=["CPUExecutionProvider"])
        assert [i.name for i in sess.get_inputs()] == ins and [o.name for o in sess.get_outputs()] == outs
    logreg = ort.InferenceSession(sklearn_logreg_onnx(), providers=["CPUExecutionProvider"])
    assert logreg.get_outputs()[0].type == "tensor(int64)"
    assert not logreg.get_outputs()[1].type.startswith("tensor")     # the ZipMap
    iris = np.array([[5.1, 3.5, 1.4, 0.2]], np.float32)
    lin = ort.InferenceSession(sklearn_linear_onnx(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(lin.run(None, {"float_input": iris})[0][:, 0], models.sklearn_linear_predict(iris),
                               rtol=1e-5)
    assert list(logreg.run(["output_label"], {"float_input": iris})[0]) == [0]
