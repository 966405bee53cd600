"""TF and TFLITE model payloads, generated in-process (no downloads), deterministic, cached.

Every function returns the raw bytes a client would send after BLOB. TensorFlow is imported only
when a generator runs (2-3 s).
"""
import functools
import os

import numpy as np


def _graph_pb2():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from tensorflow.core.framework import graph_pb2, types_pb2
    return graph_pb2, types_pb2


def _placeholder(graph_def, name, dtype):
    node = graph_def.node.add(name=name, op="Placeholder")
    node.attr["shape"].shape.unknown_rank = True  # any shape
    node.attr["dtype"].type = dtype
    return node


# --------------------------------------------------------------------------------------------------
# TF (frozen GraphDefs)


@functools.lru_cache(maxsize=None)
def tf_mul_graph() -> bytes:
    """The upstream graph.pb, byte for byte: placeholders a, b (float, any shape), mul = a * b,
    c = identity(mul)."""
    graph_pb2, types_pb2 = _graph_pb2()
    graph_def = graph_pb2.GraphDef()
    _placeholder(graph_def, "a", types_pb2.DT_FLOAT)
    _placeholder(graph_def, "b", types_pb2.DT_FLOAT)
    node = graph_def.node.add(name="mul", op="Mul", input=["a", "b"])
    node.attr["T"].type = types_pb2.DT_FLOAT
    node = graph_def.node.add(name="c", op="Identity", input=["mul"])
    node.attr["T"].type = types_pb2.DT_FLOAT
    graph_def.library.SetInParent()  # upstream's file carries an empty function library
    return graph_def.SerializeToString(deterministic=True)  # sorted attr keys, as upstream


@functools.lru_cache(maxsize=None)
def tf_string_identity_graph() -> bytes:
    """identity_string.pb equivalent: string placeholder input_str (any shape) -> Identity c."""
    graph_pb2, types_pb2 = _graph_pb2()
    graph_def = graph_pb2.GraphDef()
    _placeholder(graph_def, "input_str", types_pb2.DT_STRING)
    node = graph_def.node.add(name="c", op="Identity", input=["input_str"])
    node.attr["T"].type = types_pb2.DT_STRING
    graph_def.library.SetInParent()
    return graph_def.SerializeToString(deterministic=True)  # sorted attr keys, as upstream


# --------------------------------------------------------------------------------------------------
# TFLITE (flatbuffers from the TensorFlow converter)


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import tensorflow as tf
    return tf


@functools.lru_cache(maxsize=None)
def tflite_add_model() -> bytes:
    """add(a, b) -> a + b, inputs a, b float32 [2, 2]; interpreter names: inputs [a, b],
    outputs [Identity]."""
    tf = _tf()

    @tf.function(input_signature=[tf.TensorSpec([2, 2], tf.float32, name="a"),
                                  tf.TensorSpec([2, 2], tf.float32, name="b")])
    def add(a, b):
        return a + b

    converter = tf.lite.TFLiteConverter.from_concrete_functions([add.get_concrete_function()], add)
    return bytes(converter.convert())


@functools.lru_cache(maxsize=None)
def tflite_mnist_like_model() -> bytes:
    """Keras model: input float32 [1, 28, 28, 1] -> Flatten -> Dense(10, softmax), weights drawn
    from a fixed seed. One input (serving_default_input:0), one output of shape [1, 10]."""
    tf = _tf()
    import keras

    inp = keras.Input(shape=(28, 28, 1), batch_size=1, name="input")
    hidden = keras.layers.Flatten(name="flatten")(inp)
    out = keras.layers.Dense(10, activation="softmax", name="dense")(hidden)
    model = keras.Model(inp, out, name="mnist_like")
    rng = np.random.default_rng(0)
    model.set_weights([(rng.standard_normal((784, 10)) * 0.05).astype(np.float32),
                       (rng.standard_normal(10) * 0.1).astype(np.float32)])
    # from_keras_model, not from_concrete_functions: the latter loses the Keras variables here
    return bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())


def image_classifier_weights(side=8, classes=5):
    """The weights of tf_image_classifier_graph: logits = images.reshape(N, -1) @ weights."""
    return np.random.default_rng(7).standard_normal((side * side * 3, classes)).astype(np.float32)


@functools.lru_cache(maxsize=None)
def tf_image_classifier_graph(side=8, classes=5) -> bytes:
    """A frozen image classifier in the shape of the 2019 talk's: placeholder `images` (float
    [N, side, side, 3]) -> `output` (logits [N, classes])."""
    tf = _tf()
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2
    weights = tf.constant(image_classifier_weights(side, classes))

    @tf.function(input_signature=[tf.TensorSpec([None, side, side, 3], tf.float32, name="images")])
    def classify(images):
        return tf.identity(tf.matmul(tf.reshape(images, [-1, side * side * 3]), weights), name="output")

    frozen = convert_variables_to_constants_v2(classify.get_concrete_function())
    return frozen.graph.as_graph_def().SerializeToString(deterministic=True)
