"""The commands as the 2019 talk shows them (docs/COMMANDS.md §5.2, §6.2; issue 11 item 13): AI.MODELSET
and AI.SCRIPTSET with no BLOB / SOURCE keyword take their last argument as the blob / source, as
`redis-cli -x` sends it. A strict superset of RedisAI 1.2: what it accepted keeps its meaning, what it
refused for any other reason than the missing blob or source keeps its error. Replies are RedisAI
1.2's: AI.TENSORGET VALUES answers the values alone, so the talk's `out[2][0]` is `out[0]` now."""
import subprocess

import numpy as np
import pytest

import models
import tf_models
from helpers import error_of
from redis_server import running_server

# The talk's pre- and post-processing script, legacy calling convention (no entry points).
PROCESSING_SCRIPT = """
def pre_process_3ch(image):
    return image.float().div(255).unsqueeze(0)

def post_process(output):
    return output.max(1)[1]
"""

MISSING_BLOB = "Insufficient arguments, missing model BLOB"
MISSING_SOURCE = "Insufficient arguments, missing script SOURCE"
ARITY = "wrong number of arguments for 'ai.scriptset' command"


def redis_cli_x(port, stdin_bytes, *args):
    """`redis-cli -x ARGS < file`: the file's bytes become the last argument."""
    done = subprocess.run(["redis-cli", "-p", str(port), "-x", *map(str, args)], input=stdin_bytes,
                          capture_output=True, timeout=120, check=True)
    return done.stdout.decode().strip()


def test_the_talks_whole_example_through_redis_cli(server, r):
    graph = tf_models.tf_image_classifier_graph()
    assert redis_cli_x(server.port, graph, "AI.MODELSET", "imagenet_model", "TF", "CPU",
                       "INPUTS", "images", "OUTPUTS", "output") == "OK"
    assert redis_cli_x(server.port, PROCESSING_SCRIPT.encode(), "AI.SCRIPTSET", "imagenet_script", "CPU") == "OK"
    image = np.random.default_rng(3).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    assert r.execute_command("AI.TENSORSET", "image", "UINT8", 8, 8, 3, "BLOB", image.tobytes()) == b"OK"
    assert r.execute_command("AI.SCRIPTRUN", "imagenet_script", "pre_process_3ch",
                             "INPUTS", "image", "OUTPUTS", "temp1") == b"OK"
    assert r.execute_command("AI.MODELRUN", "imagenet_model", "INPUTS", "temp1", "OUTPUTS", "temp2") == b"OK"
    assert r.execute_command("AI.SCRIPTRUN", "imagenet_script", "post_process",
                             "INPUTS", "temp2", "OUTPUTS", "out") == b"OK"
    out = r.execute_command("AI.TENSORGET", "out", "VALUES")
    logits = (image.astype(np.float32) / 255).reshape(1, -1) @ tf_models.image_classifier_weights()
    assert [int(v) for v in out] == [int(np.argmax(logits))]
    meta = r.execute_command("AI.MODELGET", "imagenet_model", "META")
    assert meta[meta.index(b"inputs") + 1] == [b"images"] and meta[meta.index(b"outputs") + 1] == [b"output"]
    assert r.execute_command("AI.SCRIPTGET", "imagenet_script", "SOURCE") == PROCESSING_SCRIPT.encode()


def test_modelset_torch_blob_last_through_redis_cli(server, r):
    assert redis_cli_x(server.port, models.torch_add_model(), "AI.MODELSET", "resnet18", "TORCH", "CPU") == "OK"
    assert r.execute_command("AI.MODELGET", "resnet18", "BLOB") == models.torch_add_model()


def test_modelset_from_a_client_with_the_blob_last(r):
    blob = tf_models.tf_image_classifier_graph()
    assert r.execute_command("AI.MODELSET", "imagenet_model", "TF", "CPU", "INPUTS", "images",
                             "OUTPUTS", "output", blob) == b"OK"
    assert r.execute_command("AI.MODELGET", "imagenet_model", "BLOB") == blob
    assert r.execute_command("AI.MODELSET", "t", "TORCH", "CPU", "TAG", "v1", "BATCHSIZE", 4,
                             models.torch_add_model()) == b"OK"
    meta = r.execute_command("AI.MODELGET", "t", "META")
    assert meta[meta.index(b"tag") + 1] == b"v1" and meta[meta.index(b"batchsize") + 1] == 4


def test_scriptset_with_tag_and_the_source_last(r):
    assert r.execute_command("AI.SCRIPTSET", "s", "CPU", "TAG", "v2", PROCESSING_SCRIPT) == b"OK"
    assert r.execute_command("AI.SCRIPTGET", "s", "META") == [b"device", b"CPU", b"tag", b"v2", b"Entry Points", []]


def test_the_keyword_forms_keep_their_meaning(r):
    blob = models.torch_add_model()
    assert r.execute_command("AI.MODELSET", "m", "TORCH", "CPU", "BLOB", blob[:100], blob[100:]) == b"OK"
    assert r.execute_command("AI.MODELGET", "m", "BLOB") == blob
    assert r.execute_command("AI.SCRIPTSET", "s", "CPU", "SOURCE", PROCESSING_SCRIPT) == b"OK"
    assert r.execute_command("AI.SCRIPTSET", "s", "CPU", "TAG", "t", "SOURCE", PROCESSING_SCRIPT) == b"OK"


@pytest.mark.parametrize("args, expected", [
    (["TF", "CPU", "<blob>"], "INPUTS not specified"),
    (["TF", "CPU", "INPUTS", "images", "<blob>"], "OUTPUTS not specified"),
    (["TF", "CPU", "OUTPUTS", "output", "<blob>"], "INPUTS not specified"),
    (["TORCH", "CPU", "BATCHSIZE", 2], MISSING_BLOB),
    (["TORCH", "CPU", "BLOB"], MISSING_BLOB),
    (["TORCH", "CPU"], MISSING_BLOB),
    (["TORCH", "CPU", "TAG", "t", "BATCHSIZE", 2, "MINBATCHSIZE", 1], MISSING_BLOB),
    (["TORCH", "CPU", "MINBATCHSIZE", 2, "<blob>"], "MINBATCHSIZE specified without BATCHSIZE"),
    (["FOO", "CPU", "<blob>"], "unsupported backend"),
    (["TORCH", "BLOB", "<blob>"], "Invalid DEVICE"),
])
def test_modelset_refusals_for_other_reasons_keep_their_error(r, args, expected):
    blob = tf_models.tf_image_classifier_graph()
    args = [blob if a == "<blob>" else a for a in args]
    assert error_of(r, "AI.MODELSET", "k", *args) == expected
    assert not r.exists("k")


@pytest.mark.parametrize("args, expected", [
    (["CPU", "SOURCE"], ARITY),
    (["CPU", "TAG", "t", "SOURCE"], ARITY),
    (["CPU", "a", "b", "c"], ARITY),
    (["CPU"], ARITY),
    (["CPU", "a", "b"], MISSING_SOURCE),
    (["CPU", "TAG", "t", "a", "b"], MISSING_SOURCE),
])
def test_scriptset_refusals_for_other_reasons_keep_their_error(r, args, expected):
    assert error_of(r, "AI.SCRIPTSET", "k", *args) == expected
    assert not r.exists("k")


def test_the_talk_forms_replay_from_the_aof():
    """Replicated verbatim, so the AOF holds the talk's form: it must load back."""
    with running_server({"appendonly": "yes", "aof-use-rdb-preamble": "no"}) as s:
        r = s.client()
        assert r.execute_command("AI.MODELSET", "m", "TORCH", "CPU", models.torch_add_model()) == b"OK"
        assert r.execute_command("AI.SCRIPTSET", "s", "CPU", PROCESSING_SCRIPT) == b"OK"
        s.restart()
        r = s.client()
        assert r.execute_command("AI.MODELGET", "m", "BLOB") == models.torch_add_model()
        assert r.execute_command("AI.SCRIPTGET", "s", "SOURCE") == PROCESSING_SCRIPT.encode()
