"""The TF and TFLITE backend adapters, outside Redis.

The adapters are the Python package redisai_module.backends, imported here as the module's
embedded interpreter imports them; each is built with a stand-in for the host the core hands it
(its load-time configuration). Inputs are numpy arrays or DLPack-only views, as the module passes
TensorViews.
"""
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import tf_models
from helpers import shared_bytes

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT))  # where the module's interpreter finds the package too

from redisai_module.backends import tf_backend, tflite_backend  # noqa: E402
from redisai_module.backends.common import BackendError  # noqa: E402


def host():
    return SimpleNamespace(config=SimpleNamespace(intra_op_parallelism=0, inter_op_parallelism=0))


class View:
    """Stands in for the module's TensorView: only the DLPack protocol, memory read-only."""

    def __init__(self, array):
        self._array = np.array(array)
        self._array.flags.writeable = False

    def __dlpack__(self, **kwargs):
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()


def exported(array):
    """What the module does with an output: __dlpack__() without arguments, then a copy."""
    array.__dlpack__()
    return np.from_dlpack(array)


# --------------------------------------------------------------------------------------------------
# TF


@pytest.fixture(scope="module")
def tf():
    pytest.importorskip("tensorflow")
    return tf_backend.TFBackend(host())


def backend_error(call, *args):
    with pytest.raises(BackendError) as info:
        call(*args)
    return str(info.value)


AB = np.array([[2, 3], [2, 3]], dtype=np.float32)


def test_tf_adapter_identity(tf):
    assert tf.name == "TF"
    assert tf.version == tf.tf.__version__


def test_tf_generated_graph_is_upstream_graph_pb(tf):  # tf: the graph is built with its protobufs
    assert tf_models.tf_mul_graph() == shared_bytes("embedded/graph.pb")


@pytest.mark.parametrize("output", ["mul", "c"])
def test_tf_mul(tf, output):
    handle, inputs, outputs = tf.create(tf_models.tf_mul_graph(), "CPU", ["a", "b"], [output])
    assert (inputs, outputs) == (["a", "b"], [output])
    [result] = tf.run(handle, [View(AB), View(AB)])
    out = exported(result)
    assert out.dtype == np.float32 and out.shape == (2, 2)
    assert out.ravel().tolist() == [4, 9, 4, 9]


def test_tf_upstream_graph_pb(tf):
    handle, inputs, outputs = tf.create(shared_bytes("embedded/graph.pb"), "CPU", ["a", "b"], ["mul"])
    assert (inputs, outputs) == (["a", "b"], ["mul"])
    [result] = tf.run(handle, [AB, AB])
    assert result.ravel().tolist() == [4, 9, 4, 9]


def test_tf_positional_binding_and_several_outputs(tf):
    handle, _, _ = tf.create(tf_models.tf_mul_graph(), "cpu:0", ["b", "a"], ["c", "mul"])
    a = np.array([1, 2, 3], dtype=np.float32)
    b = np.array([4, 5, 6], dtype=np.float32)
    c, mul = tf.run(handle, [View(b), View(a)])
    assert c.tolist() == mul.tolist() == [4, 10, 18]
    assert exported(c).tolist() == [4, 10, 18]


def test_tf_scalar_output_is_an_exportable_array(tf):
    handle, _, _ = tf.create(tf_models.tf_mul_graph(), "CPU", ["a", "b"], ["c"])
    [result] = tf.run(handle, [np.array(3, np.float32), View(np.array(4, np.float32))])
    assert isinstance(result, np.ndarray) and result.shape == ()
    assert exported(result).item() == 12


@pytest.mark.parametrize("name", ["mul", "c", "x", "a:0"])
def test_tf_input_must_be_a_placeholder(tf, name):
    message = backend_error(tf.create, tf_models.tf_mul_graph(), "CPU", ["a", name], ["c"])
    assert message == f'ERR Input node named "{name}" not found in TF graph.'


def test_tf_output_must_exist(tf):
    message = backend_error(tf.create, tf_models.tf_mul_graph(), "CPU", ["a", "b"], ["c", "zz"])
    assert message == 'ERR Output node named "zz" not found in TF graph'


def test_tf_input_checked_before_outputs(tf):
    message = backend_error(tf.create, tf_models.tf_mul_graph(), "CPU", ["zz"], ["zz"])
    assert message == 'ERR Input node named "zz" not found in TF graph.'


def test_tf_invalid_graphdef(tf):
    message = backend_error(tf.create, b"garbage blob", "CPU", ["a", "b"], ["c"])
    assert "Invalid GraphDef" in message


def test_tf_graph_import_errors_are_tensorflows(tf):
    from tensorflow.core.framework import graph_pb2
    graph_def = graph_pb2.GraphDef()
    graph_def.node.add(name="c", op="Identity", input=["missing"])
    message = backend_error(tf.create, graph_def.SerializeToString(), "CPU", [], ["c"])
    assert "Unknown input node 'missing'" in message


def test_tf_gpu_without_cuda(tf):
    if tf.tf.config.list_physical_devices("GPU"):
        pytest.skip("this TensorFlow sees a GPU")
    for device in ("GPU", "gpu:0", "GPU:1"):
        message = backend_error(tf.create, tf_models.tf_mul_graph(), device, ["a", "b"], ["c"])
        assert message == "ERR GPU requested but TF couldn't find CUDA"


def test_tf_bad_device_string(tf):
    message = backend_error(tf.create, tf_models.tf_mul_graph(), "TPU", ["a", "b"], ["c"])
    assert message == "ERR unsupported device"


def test_tf_incompatible_shapes_is_tensorflows_status_text(tf):
    handle, _, _ = tf.create(tf_models.tf_mul_graph(), "CPU", ["a", "b"], ["c"])
    a = np.zeros([2], np.float32)
    b = np.zeros([2, 2, 3], np.float32)
    message = backend_error(tf.run, handle, [View(a), View(b)])
    assert "Incompatible shapes: [2] vs. [2,2,3]" in message
    # docs/COMMANDS.md §10, once flattened the way the module sends it (backends/backend_errors.pyx)
    assert message.replace("\n", " ") == "Incompatible shapes: [2] vs. [2,2,3] \t [[{{node mul}}]]"


def test_tf_input_type_is_not_converted(tf):
    handle, _, _ = tf.create(tf_models.tf_mul_graph(), "CPU", ["a", "b"], ["c"])
    message = backend_error(tf.run, handle, [AB.astype(np.float64), AB])
    assert "Type mismatch: actual double vs. expect float" in message


def test_tf_session_config_from_rai_config(tf):
    config = tf.rai_config
    config.intra_op_parallelism, config.inter_op_parallelism = 2, 3
    try:
        (session, _), _, _ = tf.create(tf_models.tf_mul_graph(), "CPU", ["a", "b"], ["c"])
    finally:
        config.intra_op_parallelism, config.inter_op_parallelism = 0, 0
    assert session._config.intra_op_parallelism_threads == 2
    assert session._config.inter_op_parallelism_threads == 3
    assert session._config.device_count["GPU"] == 0


def test_tf_string_graph_with_numpy_bytes(tf):
    """STRING tensors have no DLPack form; the adapter runs them when given numpy bytes arrays."""
    handle, _, _ = tf.create(tf_models.tf_string_identity_graph(), "CPU", ["input_str"], ["c"])
    values = np.array([[b"a", b"bc"], [b"", b"d"]], dtype=object)
    [result] = tf.run(handle, [values])
    assert result.tolist() == values.tolist()


def test_tf_concurrent_runs(tf):
    handle, _, _ = tf.create(tf_models.tf_mul_graph(), "CPU", ["a", "b"], ["c"])
    failures = []

    def worker(k):
        x = np.full([64, 64], k, np.float32)
        for _ in range(20):
            [result] = tf.run(handle, [View(x), View(x)])
            if not np.array_equal(result, x * x):
                failures.append(k)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


# --------------------------------------------------------------------------------------------------
# TFLITE


@pytest.fixture(scope="module")
def tflite():
    pytest.importorskip("ai_edge_litert.interpreter")
    pytest.importorskip("tensorflow")  # the test models are converted by TensorFlow
    return tflite_backend.TFLiteBackend(host())


def test_tflite_adapter_identity(tflite):
    assert tflite.name == "TFLITE"
    assert tflite.version == "NA"


def test_tflite_add(tflite):
    handle, inputs, outputs = tflite.create(tf_models.tflite_add_model(), "CPU", [], [])
    assert (inputs, outputs) == (["a", "b"], ["Identity"])
    a = np.array([[1, 2], [3, 4]], np.float32)
    b = np.array([[10, 20], [30, 40]], np.float32)
    [result] = tflite.run(handle, [View(a), View(b)])
    out = exported(result)
    assert out.dtype == np.float32 and out.shape == (2, 2)
    assert out.tolist() == [[11, 22], [33, 44]]


def test_tflite_resizes_inputs(tflite):
    handle, _, _ = tflite.create(tf_models.tflite_add_model(), "cpu", [], [])
    ones = np.ones([3, 2], np.float32)
    [result] = tflite.run(handle, [ones, View(ones)])
    assert result.shape == (3, 2) and result.tolist() == [[2, 2]] * 3
    x = np.array([[1, 2], [3, 4]], np.float32)
    [result] = tflite.run(handle, [x, x])
    assert result.tolist() == [[2, 4], [6, 8]]


def test_tflite_recovers_after_a_failed_allocation(tflite):
    handle, _, _ = tflite.create(tf_models.tflite_add_model(), "CPU", [], [])
    message = backend_error(tflite.run, handle,
                           [np.ones([3, 2], np.float32), np.ones([4, 5], np.float32)])
    assert message == "Failed to allocate tensors"
    x = np.ones([2, 2], np.float32)
    [result] = tflite.run(handle, [x, x])
    assert result.tolist() == [[2, 2], [2, 2]]


def test_tflite_mnist_like(tflite):
    blob = tf_models.tflite_mnist_like_model()
    handle, inputs, outputs = tflite.create(blob, "CPU:0", [], [])
    from ai_edge_litert.interpreter import Interpreter
    reference = Interpreter(model_content=blob)
    assert inputs == [d["name"] for d in reference.get_input_details()]
    assert outputs == [d["name"] for d in reference.get_output_details()]
    assert len(inputs) == len(outputs) == 1
    image = np.random.default_rng(1).random([1, 28, 28, 1]).astype(np.float32)
    [result] = tflite.run(handle, [View(image)])
    out = exported(result)
    assert out.shape == (1, 10) and out.dtype == np.float32
    assert abs(float(out.sum()) - 1) < 1e-5
    [again] = tflite.run(handle, [image])
    assert np.array_equal(out, again)


def test_tflite_wrong_input_type(tflite):
    handle, _, _ = tflite.create(tf_models.tflite_add_model(), "CPU", [], [])
    x = np.ones([2, 2], np.float32)
    for bad in (x.astype(np.float64), x.astype(np.int32), x.astype(np.uint8)):
        message = backend_error(tflite.run, handle, [View(x), View(bad)])
        assert message == "Input tensor type doesn't match the type expected by the model definition"


@pytest.mark.parametrize("blob", [b"", b"garbage", b"\x00" * 64])
def test_tflite_bad_blob(tflite, blob):
    message = backend_error(tflite.create, blob, "CPU", [], [])
    assert message == "Failed to load model from buffer"


@pytest.mark.parametrize("device", ["GPU", "gpu:0", "GPU:1", "TPU", "bad"])
def test_tflite_cpu_only(tflite, device):
    message = backend_error(tflite.create, tf_models.tflite_add_model(), device, [], [])
    assert message == "ERR Unsupported device"


def test_tflite_concurrent_runs_on_one_interpreter(tflite):
    handle, _, _ = tflite.create(tf_models.tflite_add_model(), "CPU", [], [])
    failures = []

    def worker(k):
        shape = [2, 2] if k % 2 else [k + 1, 2]  # mixes resizes with plain runs
        x = np.full(shape, k, np.float32)
        for _ in range(50):
            [result] = tflite.run(handle, [View(x), View(x)])
            if not np.array_equal(result, x + x):
                failures.append(k)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


# --------------------------------------------------------------------------------------------------
# TORCH: runs are native (torch_native.pyx); the adapter's own checks are what is left here


def test_torch_adapter_refuses_a_torch_other_than_the_one_it_was_built_against(monkeypatch):
    from redisai_module.backends import torch_backend, torch_native
    monkeypatch.setattr(torch_native, "BUILT_AGAINST", "1.0.0")
    with pytest.raises(ImportError, match=r"built against torch 1\.0\.0 but torch \S+ is installed: rebuild"):
        torch_backend.TorchBackend(host())


def test_torch_native_extension_matches_the_installed_torch():
    import torch
    from redisai_module.backends import torch_native
    assert torch_native.BUILT_AGAINST == torch.__version__.split("+")[0]
