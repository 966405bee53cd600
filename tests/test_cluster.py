"""A real 3-shard Redis Cluster with the module on every node (docs/BEHAVIOUR.md §8, docs/COMMANDS.md §1, §11):
every AI.* command is routed by the keys Redis computes for it (the fixed first key, or the
getkeys-api callback) — the wrong node answers -MOVED to the owner and runs nothing, the owner runs
it; the CROSSSLOT cases of §8 with the exact error line; DAG-local tensor names are not keys; a
command whose callback reports no key is served where it lands; hash-tagged keys end to end
(tensors -> model -> tensor, a script touching KEYS, a DAG with LOAD/PERSIST, a DAG routed only by
ROUTING {tag}); a cluster replica serves the read-only commands after READONLY and redirects the
writes; statistics are per shard; redis-py's RedisCluster client routes the module commands (through
COMMAND INFO and COMMAND GETKEYS) and drives model runs and DAGs on every shard.
"""
import numpy as np
import pytest
import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import RedisClusterException

from helpers import replicas_acked
from models import torch_add_model
from redis_cluster import RANGES, cluster  # noqa: F401  (the fixture)
from redis_server import wait_for
from resp import Raw, raw

CROSSSLOT = ("error", "CROSSSLOT Keys in request don't hash to the same slot")

SCRIPT = """
def double(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] * 2

def mark(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("SET", keys[0], args[0])
    return tensors[0] + 1
"""
ENTRY_POINTS = ["double", "mark"]


@pytest.fixture(scope="module")
def loaded(cluster):
    """On every shard, under that shard's tag T: model m{T} (a + b), script s{T}, tensors
    a{T} = [1, 2] and b{T} = [10, 20]."""
    for node, tag in zip(cluster.nodes, cluster.tags):
        assert raw(node.port, "AI.MODELSTORE", f"m{tag}", "TORCH", "CPU", "BLOB", torch_add_model()) == "OK"
        assert raw(node.port, "AI.SCRIPTSTORE", f"s{tag}", "CPU", "ENTRY_POINTS", len(ENTRY_POINTS),
                   *ENTRY_POINTS, "SOURCE", SCRIPT) == "OK"
        assert raw(node.port, "AI.TENSORSET", f"a{tag}", "FLOAT", 2, "VALUES", 1, 2) == "OK"
        assert raw(node.port, "AI.TENSORSET", f"b{tag}", "FLOAT", 2, "VALUES", 10, 20) == "OK"
    return cluster


def fill(args, tag):
    """'@' in a string argument stands for the hash tag."""
    return [a.replace("@", tag) if isinstance(a, str) else a for a in args]


def count_in_slot(node, slot):
    return raw(node.port, "CLUSTER", "COUNTKEYSINSLOT", slot)


# --------------------------------------------------------------------------------------------------
# Every command is routed by its keys


def _info_check(kind):
    def check(reply):
        return (isinstance(reply, list) and len(reply) == 18 and reply[2:4] == [b"type", kind]
                and reply[4:6] == [b"backend", b"TORCH"] and reply[14] == b"calls" and reply[15] >= 0)
    return check


def _modelget_meta(reply):
    return reply == [b"backend", b"TORCH", b"device", b"CPU", b"tag", b"", b"batchsize", 0,
                     b"minbatchsize", 0, b"inputs", [b"a", b"b"], b"outputs", [b""], b"minbatchtimeout", 0]


# (id, setup commands run on the owner first, the command, its reply on the owner, follow-up checks on the owner)
ROUTED = [
    ("tensorset", [], ["AI.TENSORSET", "new@", "FLOAT", 2, "VALUES", 3, 4], "OK",
     [(["AI.TENSORGET", "new@", "VALUES"], [b"3", b"4"])]),
    ("tensorget", [], ["AI.TENSORGET", "a@", "VALUES"], [b"1", b"2"], []),
    ("modelstore", [], ["AI.MODELSTORE", "m2@", "TORCH", "CPU", "TAG", "v2", "BLOB", "<model>"], "OK",
     [(["AI.MODELGET", "m2@", "BLOB"], "<model>")]),
    ("modelset", [], ["AI.MODELSET", "ms@", "TORCH", "CPU", "BLOB", "<model>"], "OK",
     [(["AI.MODELGET", "ms@", "BLOB"], "<model>")]),
    ("modelget", [], ["AI.MODELGET", "m@", "META"], _modelget_meta, []),
    ("modeldel", [["AI.MODELSTORE", "gone@", "TORCH", "CPU", "BLOB", "<model>"]], ["AI.MODELDEL", "gone@"], "OK",
     [(["EXISTS", "gone@"], 0)]),
    ("modelexecute", [], ["AI.MODELEXECUTE", "m@", "INPUTS", 2, "a@", "b@", "OUTPUTS", 1, "c@"], "OK",
     [(["AI.TENSORGET", "c@", "VALUES"], [b"11", b"22"])]),
    ("modelrun", [], ["AI.MODELRUN", "m@", "INPUTS", "a@", "a@", "OUTPUTS", "mr@"], "OK",
     [(["AI.TENSORGET", "mr@", "VALUES"], [b"2", b"4"])]),
    ("scriptstore", [], ["AI.SCRIPTSTORE", "s2@", "CPU", "TAG", "v2", "ENTRY_POINTS", 1, "double", "SOURCE", SCRIPT],
     "OK", [(["AI.SCRIPTGET", "s2@", "META"], [b"device", b"CPU", b"tag", b"v2", b"Entry Points", [b"double"]])]),
    ("scriptset", [], ["AI.SCRIPTSET", "ss@", "CPU", "SOURCE", SCRIPT], "OK",
     [(["AI.SCRIPTGET", "ss@", "META"], [b"device", b"CPU", b"tag", b"", b"Entry Points", []])]),
    ("scriptget", [], ["AI.SCRIPTGET", "s@", "SOURCE"], SCRIPT.encode(), []),
    ("scriptdel", [["AI.SCRIPTSTORE", "sgone@", "CPU", "ENTRY_POINTS", 1, "double", "SOURCE", SCRIPT]],
     ["AI.SCRIPTDEL", "sgone@"], "OK", [(["EXISTS", "sgone@"], 0)]),
    ("scriptexecute", [], ["AI.SCRIPTEXECUTE", "s@", "double", "INPUTS", 1, "b@", "OUTPUTS", 1, "d@"], "OK",
     [(["AI.TENSORGET", "d@", "VALUES"], [b"20", b"40"])]),
    ("scriptrun", [], ["AI.SCRIPTRUN", "s@", "double", "INPUTS", "a@", "OUTPUTS", "sr@"], "OK",
     [(["AI.TENSORGET", "sr@", "VALUES"], [b"2", b"4"])]),
    ("dagexecute", [], ["AI.DAGEXECUTE", "LOAD", 1, "a@", "PERSIST", 1, "dp@", "|>",
                        "AI.MODELEXECUTE", "m@", "INPUTS", 2, "a@", "a@", "OUTPUTS", 1, "dp@", "|>",
                        "AI.TENSORGET", "dp@", "VALUES"], ["OK", [b"2", b"4"]],
     [(["AI.TENSORGET", "dp@", "VALUES"], [b"2", b"4"])]),
    ("dagexecute_ro", [], ["AI.DAGEXECUTE_RO", "LOAD", 1, "b@", "|>",
                           "AI.MODELEXECUTE", "m@", "INPUTS", 2, "b@", "b@", "OUTPUTS", 1, "x", "|>",
                           "AI.TENSORGET", "x", "VALUES"], ["OK", [b"20", b"40"]], []),
    ("dagexecute_routing", [], ["AI.DAGEXECUTE", "ROUTING", "@", "|>", "AI.TENSORSET", "t", "FLOAT", 1, "VALUES", 7,
                                "|>", "AI.TENSORGET", "t", "VALUES"], ["OK", [b"7"]], []),
    ("dagrun", [], ["AI.DAGRUN", "LOAD", 1, "a@", "PERSIST", 1, "dr@", "|>",
                    "AI.MODELRUN", "m@", "INPUTS", "a@", "a@", "OUTPUTS", "dr@"], ["OK"],
     [(["AI.TENSORGET", "dr@", "VALUES"], [b"2", b"4"])]),
    ("dagrun_ro", [], ["AI.DAGRUN_RO", "LOAD", 1, "a@", "|>", "AI.TENSORGET", "a@", "VALUES"], [[b"1", b"2"]], []),
    ("info_model", [], ["AI.INFO", "m@"], _info_check(b"MODEL"), []),
    ("info_script", [], ["AI.INFO", "s@"], _info_check(b"SCRIPT"), []),
]


def _subst(args, tag):
    return [torch_add_model() if a == "<model>" else a for a in fill(args, tag)]


def _expect(reply, expected, tag):
    if callable(expected):
        assert expected(reply), reply
    elif expected == "<model>":
        assert reply == torch_add_model()
    else:
        assert reply == (expected.replace("@", tag) if isinstance(expected, str) else expected)


@pytest.mark.parametrize("shard", [0, 1, 2])
@pytest.mark.parametrize("name,setup,command,expected,after", ROUTED, ids=[c[0] for c in ROUTED])
def test_command_is_moved_from_other_nodes_and_runs_on_its_owner(loaded, shard, name, setup, command,
                                                                   expected, after):
    c = loaded
    tag = c.tags[shard]
    owner = c.nodes[shard]
    slot = c.slot(tag)
    for args in setup:
        assert raw(owner.port, *_subst(args, tag)) == "OK"
    args = _subst(command, tag)
    before = count_in_slot(owner, slot)
    for other in c.others(tag):
        assert raw(other.port, *args) == c.moved(tag), (name, other.port)
        assert count_in_slot(other, slot) == 0  # the wrong node wrote nothing
    assert count_in_slot(owner, slot) == before  # and nothing reached the owner either
    _expect(raw(owner.port, *args), expected, tag)
    for check_args, check_expected in after:
        _expect(raw(owner.port, *_subst(check_args, tag)), check_expected, tag)
    for other in c.others(tag):
        assert count_in_slot(other, slot) == 0


def test_a_multi_key_command_in_one_slot_is_redirected_as_a_whole(loaded):
    """A MODELEXECUTE whose every key (model, inputs, outputs) is in one slot is redirected as a
    whole; the reply names the owner of that slot, from each of the two other nodes."""
    c = loaded
    for tag in c.tags:
        args = ["AI.MODELEXECUTE", f"m{tag}", "INPUTS", 2, f"a{tag}", f"b{tag}", "OUTPUTS", 1, f"{tag}out"]
        replies = {raw(n.port, *args) for n in c.others(tag)}
        assert replies == {c.moved(tag)}
        assert raw(c.owner(tag).port, *args) == "OK"
        assert raw(c.owner(tag).port, "AI.TENSORGET", f"{tag}out", "VALUES") == [b"11", b"22"]


# --------------------------------------------------------------------------------------------------
# CROSSSLOT (docs/BEHAVIOUR.md §8)


def _crossslot_cases(t1, t2):
    """Commands whose reported keys span the slots of tags t1 and t2."""
    return [
        # MODELEXECUTE with a{1} and b (different slots)
        ["AI.MODELEXECUTE", f"m{t1}", "INPUTS", 2, f"a{t1}", f"b{t2}", "OUTPUTS", 1, f"c{t1}"],
        # the model in another slot than its tensors
        ["AI.MODELEXECUTE", f"m{t2}", "INPUTS", 2, f"a{t1}", f"b{t1}", "OUTPUTS", 1, f"c{t1}"],
        # an output in another slot
        ["AI.MODELEXECUTE", f"m{t1}", "INPUTS", 2, f"a{t1}", f"b{t1}", "OUTPUTS", 1, f"c{t2}"],
        # SCRIPTEXECUTE with KEYS 1 {2} while the inputs are {1}
        ["AI.SCRIPTEXECUTE", f"s{t1}", "mark", "KEYS", 1, t2, "INPUTS", 1, f"a{t1}", "OUTPUTS", 1, f"c{t1}"],
        # SCRIPTEXECUTE: an input in another slot, a section followed by more tokens
        ["AI.SCRIPTEXECUTE", f"s{t1}", "double", "INPUTS", 1, f"a{t2}", "OUTPUTS", 1, f"c{t1}"],
        # deprecated MODELRUN / SCRIPTRUN: every input and output is a key
        ["AI.MODELRUN", f"m{t1}", "INPUTS", f"a{t1}", f"b{t2}", "OUTPUTS", f"c{t1}"],
        ["AI.MODELRUN", f"m{t1}", "TIMEOUT", 1000, "INPUTS", f"a{t1}", f"b{t1}", "OUTPUTS", f"c{t2}"],
        ["AI.SCRIPTRUN", f"s{t1}", "double", "INPUTS", f"a{t1}", "OUTPUTS", f"c{t2}"],
        ["AI.SCRIPTRUN", f"s{t2}", "double", "INPUTS", f"a{t1}", "OUTPUTS", f"c{t1}"],
        # DAG with LOAD 1 x:{1} and PERSIST 1 y:{2}
        ["AI.DAGEXECUTE", "LOAD", 1, f"x:{t1}", "PERSIST", 1, f"y:{t2}", "|>",
         "AI.TENSORSET", f"y:{t2}", "FLOAT", 1, "VALUES", 1],
        # DAG MODELEXECUTE of model_key{2} with {1} tensors
        ["AI.DAGEXECUTE", "LOAD", 2, f"a{t1}", f"b{t1}", "|>",
         "AI.MODELEXECUTE", f"m{t2}", "INPUTS", 2, f"a{t1}", f"b{t1}", "OUTPUTS", 1, "c", "|>",
         "AI.TENSORGET", "c", "VALUES"],
        ["AI.DAGEXECUTE_RO", "ROUTING", t1, "|>", "AI.TENSORSET", "a", "FLOAT", 1, "VALUES", 1, "|>",
         "AI.MODELEXECUTE", f"m{t2}", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "c"],
        ["AI.DAGEXECUTE", "ROUTING", t1, "|>", "AI.TENSORSET", "a", "FLOAT", 1, "VALUES", 1, "|>",
         "AI.SCRIPTEXECUTE", f"s{t2}", "double", "INPUTS", 1, "a", "OUTPUTS", 1, "c"],
        ["AI.DAGRUN_RO", "LOAD", 2, f"a{t1}", f"a{t2}", "|>", "AI.TENSORGET", f"a{t1}", "VALUES"],
        ["AI.DAGRUN", "LOAD", 1, f"a{t1}", "PERSIST", 1, f"p{t2}", "|>",
         "AI.MODELRUN", f"m{t1}", "INPUTS", f"a{t1}", f"a{t1}", "OUTPUTS", f"p{t2}"],
        # streams (docs/COMMANDS.md §7.5): an XLOAD stream, then an XPERSIST stream, in another slot
        ["AI.DAGEXECUTE_RO", "XLOAD", f"x{t2}", "+", 1, "a", "FLOAT", 1, 2, "|>",
         "AI.MODELEXECUTE", f"m{t1}", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "c"],
        ["AI.DAGEXECUTE", "LOAD", 1, f"a{t1}", "XPERSIST", f"x{t2}", 1, "c", "|>",
         "AI.MODELEXECUTE", f"m{t1}", "INPUTS", 2, f"a{t1}", f"a{t1}", "OUTPUTS", 1, "c"],
        # a standing pipeline (§7.6) whose output stream is in another slot than its key and input
        ["AI.PIPELINECREATE", f"p{t1}", "INPUT", f"in{t1}", "GROUP", "g", "SCHEMA", 1, "a", "FLOAT", 1, 2,
         "OUTPUT", f"out{t2}", 1, "c", "DEADLETTER", f"dl{t1}", "|>",
         "AI.MODELEXECUTE", f"m{t1}", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "c"],
    ]


@pytest.mark.parametrize("case", range(18))
def test_crossslot_is_refused_by_every_node(loaded, case):
    c = loaded
    t1, t2 = c.tags[0], c.tags[1]
    cases = _crossslot_cases(t1, t2)
    assert len(cases) == 18
    args = cases[case]
    counts = [count_in_slot(n, c.slot(t)) for n, t in zip(c.nodes, c.tags)]
    for node in c.nodes:
        assert raw(node.port, *args) == CROSSSLOT, (node.port, args)
    # nothing was written anywhere
    assert [count_in_slot(n, c.slot(t)) for n, t in zip(c.nodes, c.tags)] == counts


def test_routing_keywords_and_command_names_are_case_insensitive(loaded):
    """Keywords and op names are matched case-insensitively (docs/COMMANDS.md §0.3), by the key callbacks
    as by the parsers: a lower-case command is routed and slot-checked like its upper-case form."""
    c = loaded
    t1, t2 = c.tags[0], c.tags[1]
    crossing = [
        ["ai.modelexecute", f"m{t1}", "inputs", 2, f"a{t1}", f"b{t1}", "outputs", 1, f"c{t2}"],
        ["ai.scriptexecute", f"s{t1}", "mark", "keys", 1, t2, "inputs", 1, f"a{t1}", "outputs", 1, f"c{t1}"],
        ["ai.dagexecute", "load", 1, f"a{t1}", "persist", 1, f"p{t2}", "|>",
         "ai.tensorset", f"p{t2}", "float", 1, "values", 1],
        ["ai.dagexecute_ro", "routing", t1, "|>", "ai.tensorset", "a", "float", 1, "values", 1, "|>",
         "ai.modelexecute", f"m{t2}", "inputs", 2, "a", "a", "outputs", 1, "c"],
        ["Ai.DagExecute", "Routing", t1, "|>", "Ai.TensorSet", "a", "FLOAT", 1, "VALUES", 1, "|>",
         "Ai.ScriptExecute", f"s{t2}", "double", "INPUTS", 1, "a", "OUTPUTS", 1, "c"],
    ]
    for args in crossing:
        for node in c.nodes:
            assert raw(node.port, *args) == CROSSSLOT, (node.port, args)
    routed = ["ai.dagexecute_ro", "routing", t1, "|>", "ai.tensorset", "a", "float", 1, "values", 4, "|>",
              "ai.modelexecute", f"m{t1}", "inputs", 2, "a", "a", "outputs", 1, "c", "|>",
              "ai.tensorget", "c", "values"]
    for other in c.others(t1):
        assert raw(other.port, *routed) == c.moved(t1)
    assert raw(c.owner(t1).port, *routed) == ["OK", "OK", [b"8"]]
    single = ["ai.modelexecute", f"m{t1}", "inputs", 2, f"a{t1}", f"b{t1}", "outputs", 1, f"lc{t1}"]
    for other in c.others(t1):
        assert raw(other.port, *single) == c.moved(t1)
    assert raw(c.owner(t1).port, *single) == "OK"


def test_dag_local_tensor_names_are_not_keys(loaded):
    """Tensor names inside DAG ops never take part in the slot check (only LOAD/PERSIST/ROUTING and
    the model/script key of *EXECUTE ops are keys)."""
    c = loaded
    t1, t2, t3 = c.tags
    owner = c.owner(t1)
    reply = raw(owner.port, "AI.DAGEXECUTE", "LOAD", 1, f"a{t1}", "|>",
                "AI.TENSORSET", f"x{t2}", "FLOAT", 2, "VALUES", 5, 6, "|>",
                "AI.MODELEXECUTE", f"m{t1}", "INPUTS", 2, f"a{t1}", f"x{t2}", "OUTPUTS", 1, f"y{t3}", "|>",
                "AI.TENSORGET", f"y{t3}", "VALUES")
    assert reply == ["OK", "OK", [b"6", b"8"]]
    # ... and are not created anywhere
    assert raw(c.owner(t2).port, "EXISTS", f"x{t2}") == 0
    assert raw(c.owner(t3).port, "EXISTS", f"y{t3}") == 0
    # DAGRUN: the model key of a MODELRUN op is not reported (docs/COMMANDS.md §11), so a DAGRUN routed by
    # its LOAD key reaches the LOAD key's owner, which has no model under the other tag
    dagrun = ["AI.DAGRUN", "LOAD", 1, f"a{t1}", "|>", "AI.MODELRUN", f"m{t2}", "INPUTS", f"a{t1}", f"a{t1}",
              "OUTPUTS", "z"]
    assert raw(c.owner(t2).port, *dagrun) == c.moved(t1)
    assert raw(owner.port, *dagrun) == ("error", "ERR model key is empty")


def test_a_command_whose_callback_reports_no_key_is_served_where_it_lands(loaded):
    """With fewer arguments than the key callbacks need (docs/COMMANDS.md §11) Redis sees no key and
    lets the node run the command: the module's own error comes back, never -MOVED."""
    c = loaded
    tag = c.tags[0]
    for node in c.nodes:
        assert raw(node.port, "AI.MODELEXECUTE", f"m{tag}", "INPUTS") == \
            ("error", "ERR wrong number of arguments for 'AI.MODELEXECUTE' command")
        # a DAG with no LOAD/PERSIST/ROUTING and no model: no key at all; runs on any node
        assert raw(node.port, "AI.DAGRUN", "|>", "AI.TENSORSET", "t", "FLOAT", 1, "VALUES", 3, "|>",
                   "AI.TENSORGET", "t", "VALUES") == ["OK", [b"3"]]
        # AI.CONFIG has no key (0,0,0)
        assert raw(node.port, "AI.CONFIG", "GET", "MODEL_CHUNK_SIZE") == 535822336


def test_keys_of_a_trailing_scriptexecute_section_are_not_reported(loaded):
    """docs/COMMANDS.md §11 off-by-one: the keys of the section that ends an AI.SCRIPTEXECUTE are not
    reported, so an OUTPUTS key of another slot at the very end does not make it CROSSSLOT."""
    c = loaded
    t1, t2 = c.tags[0], c.tags[1]
    owner = c.owner(t1)
    assert raw(owner.port, "COMMAND", "GETKEYS", "AI.SCRIPTEXECUTE", f"s{t1}", "double", "INPUTS", 1, f"a{t1}",
               "OUTPUTS", 1, f"c{t2}") == [f"s{t1}".encode(), f"a{t1}".encode()]
    assert raw(c.owner(t2).port, "AI.SCRIPTEXECUTE", f"s{t1}", "double", "INPUTS", 1, f"a{t1}",
               "OUTPUTS", 1, f"c{t2}") == c.moved(t1)
    # the same command with a TIMEOUT after the outputs reports them: now it is cross-slot
    assert raw(owner.port, "AI.SCRIPTEXECUTE", f"s{t1}", "double", "INPUTS", 1, f"a{t1}",
               "OUTPUTS", 1, f"c{t2}", "TIMEOUT", 1000) == CROSSSLOT


# --------------------------------------------------------------------------------------------------
# Hash-tagged keys end to end


def test_hash_tagged_tensors_model_script_and_dags_end_to_end(cluster):
    c = cluster
    tag = "{user:42}"
    owner = c.owner(tag)
    slot = c.slot(tag)
    a = np.array([[1.5, 2.5], [3.5, 4.5]], np.float32)
    b = np.array([[10, 20], [30, 40]], np.float32)
    p = owner.port
    assert raw(p, "AI.TENSORSET", f"{tag}:a", "FLOAT", 2, 2, "BLOB", a.tobytes()) == "OK"
    assert raw(p, "AI.TENSORSET", f"{tag}:b", "FLOAT", 2, 2, "BLOB", b.tobytes()) == "OK"
    assert raw(p, "AI.MODELSTORE", f"{tag}:model", "TORCH", "CPU", "BLOB", torch_add_model()) == "OK"
    assert raw(p, "AI.SCRIPTSTORE", f"{tag}:script", "CPU", "ENTRY_POINTS", 2, *ENTRY_POINTS,
               "SOURCE", SCRIPT) == "OK"

    # tensor set -> model execute -> tensor get
    assert raw(p, "AI.MODELEXECUTE", f"{tag}:model", "INPUTS", 2, f"{tag}:a", f"{tag}:b",
               "OUTPUTS", 1, f"{tag}:sum") == "OK"
    assert raw(p, "AI.TENSORGET", f"{tag}:sum", "META", "BLOB") == \
        [b"dtype", b"FLOAT", b"shape", [2, 2], b"blob", (a + b).tobytes()]

    # a script touching the key it was given in KEYS (same slot), an input and an output
    assert raw(p, "AI.SCRIPTEXECUTE", f"{tag}:script", "mark", "KEYS", 1, f"{tag}:flag", "INPUTS", 1, f"{tag}:sum",
               "ARGS", 1, "done", "OUTPUTS", 1, f"{tag}:plus1") == "OK"
    assert raw(p, "GET", f"{tag}:flag") == b"done"
    assert raw(p, "AI.TENSORGET", f"{tag}:plus1", "BLOB") == (a + b + 1).tobytes()

    # a DAG with LOAD and PERSIST: only the PERSISTed name becomes a key
    assert raw(p, "AI.DAGEXECUTE", "LOAD", 2, f"{tag}:a", f"{tag}:b", "PERSIST", 1, f"{tag}:dag", "|>",
               "AI.MODELEXECUTE", f"{tag}:model", "INPUTS", 2, f"{tag}:a", f"{tag}:b", "OUTPUTS", 1, "tmp", "|>",
               "AI.SCRIPTEXECUTE", f"{tag}:script", "double", "INPUTS", 1, "tmp", "OUTPUTS", 1, f"{tag}:dag", "|>",
               "AI.TENSORGET", f"{tag}:dag", "BLOB") == ["OK", "OK", ((a + b) * 2).tobytes()]
    assert raw(p, "AI.TENSORGET", f"{tag}:dag", "BLOB") == ((a + b) * 2).tobytes()
    assert raw(c.owner("tmp").port, "EXISTS", "tmp") == 0

    # a DAG routed only by ROUTING {tag}: no key read or written
    before = count_in_slot(owner, slot)
    assert raw(p, "AI.DAGEXECUTE", "ROUTING", tag, "|>", "AI.TENSORSET", "x", "FLOAT", 2, "VALUES", 1, 2, "|>",
               "AI.MODELEXECUTE", f"{tag}:model", "INPUTS", 2, "x", "x", "OUTPUTS", 1, "y", "|>",
               "AI.TENSORGET", "y", "VALUES") == ["OK", "OK", [b"2", b"4"]]
    assert raw(p, "AI.DAGEXECUTE_RO", "ROUTING", tag, "|>", "AI.TENSORSET", "x", "FLOAT", 1, "VALUES", 5, "|>",
               "AI.TENSORGET", "x", "VALUES") == ["OK", [b"5"]]
    assert count_in_slot(owner, slot) == before
    for other in c.others(tag):
        assert raw(other.port, "AI.DAGEXECUTE", "ROUTING", tag, "|>", "AI.TENSORSET", "x", "FLOAT", 1,
                   "VALUES", 1) == c.moved(tag)
        assert count_in_slot(other, slot) == 0

    # every key of the tag lives in its slot on the owner
    keys = sorted(raw(p, "CLUSTER", "GETKEYSINSLOT", slot, 100))
    assert keys == sorted(f"{tag}:{k}".encode() for k in
                          ("a", "b", "model", "script", "sum", "flag", "plus1", "dag"))


def test_a_cluster_replica_serves_read_only_commands_after_readonly(loaded):
    """A replica in the cluster redirects everything to its master until the connection sends
    READONLY; then the `readonly` commands (TENSORGET, MODELGET, SCRIPTGET, AI.INFO, the _RO DAGs)
    run on the replica for its master's slots, and the write commands are still redirected."""
    c = loaded
    t0, t1 = c.tags[0], c.tags[1]
    assert replicas_acked(redis.Redis(port=c.nodes[0].port))
    rep = Raw(c.replica.port)
    try:
        reads = [
            (["AI.TENSORGET", f"a{t0}", "VALUES"], [b"1", b"2"]),
            (["AI.MODELGET", f"m{t0}", "BLOB"], torch_add_model()),
            (["AI.SCRIPTGET", f"s{t0}", "SOURCE"], SCRIPT.encode()),
            (["AI.DAGEXECUTE_RO", "LOAD", 2, f"a{t0}", f"b{t0}", "|>",
              "AI.MODELEXECUTE", f"m{t0}", "INPUTS", 2, f"a{t0}", f"b{t0}", "OUTPUTS", 1, "o", "|>",
              "AI.TENSORGET", "o", "VALUES"], ["OK", [b"11", b"22"]]),
            (["AI.DAGEXECUTE_RO", "ROUTING", t0, "|>", "AI.TENSORSET", "x", "FLOAT", 1, "VALUES", 3, "|>",
              "AI.MODELEXECUTE", f"m{t0}", "INPUTS", 2, "x", "x", "OUTPUTS", 1, "o", "|>",
              "AI.TENSORGET", "o", "VALUES"], ["OK", "OK", [b"6"]]),
            (["AI.DAGRUN_RO", "LOAD", 1, f"a{t0}", "|>", "AI.SCRIPTRUN", f"s{t0}", "double",
              "INPUTS", f"a{t0}", "OUTPUTS", "d", "|>", "AI.TENSORGET", "d", "VALUES"], ["OK", [b"2", b"4"]]),
        ]
        writes = [
            ["AI.TENSORSET", f"w{t0}", "FLOAT", 1, "VALUES", 1],
            ["AI.MODELEXECUTE", f"m{t0}", "INPUTS", 2, f"a{t0}", f"b{t0}", "OUTPUTS", 1, f"w{t0}"],
            ["AI.SCRIPTEXECUTE", f"s{t0}", "double", "INPUTS", 1, f"a{t0}", "OUTPUTS", 1, f"w{t0}"],
            ["AI.DAGEXECUTE", "ROUTING", t0, "|>", "AI.TENSORSET", "x", "FLOAT", 1, "VALUES", 3],
            ["AI.MODELDEL", f"m{t0}"],
        ]
        for args, _ in reads:
            assert rep.call(*args) == c.moved(t0), args
        assert rep.call("READONLY") == "OK"
        for args, expected in reads:
            assert rep.call(*args) == expected, args
        for args in writes:
            assert rep.call(*args) == c.moved(t0), args
        # another shard's keys are still redirected to that shard
        assert rep.call("AI.TENSORGET", f"a{t1}", "VALUES") == c.moved(t1)
        assert rep.call("AI.DAGEXECUTE_RO", "ROUTING", t1, "|>", "AI.TENSORSET", "x", "FLOAT", 1) == c.moved(t1)
        # the replica's own statistics count its read-only DAG runs
        info = rep.call("AI.INFO", f"m{t0}")
        assert info[0:2] == [b"key", f"m{t0}".encode()] and info[14:16] == [b"calls", 2]
    finally:
        rep.close()
    assert raw(c.replica.port, "DBSIZE") == raw(c.nodes[0].port, "DBSIZE")


def test_statistics_and_scans_are_per_shard(loaded):
    c = loaded
    t0 = c.tags[0]
    owner = c.owner(t0)
    assert raw(owner.port, "AI.INFO", f"m{t0}", "RESETSTAT") == "OK"
    assert raw(owner.port, "AI.MODELEXECUTE", f"m{t0}", "INPUTS", 2, f"a{t0}", f"b{t0}",
               "OUTPUTS", 1, f"stat{t0}") == "OK"
    info = raw(owner.port, "AI.INFO", f"m{t0}")
    assert info[14:16] == [b"calls", 1]
    for i, node in enumerate(c.nodes):
        scanned = sorted(k for k, _ in raw(node.port, "AI._MODELSCAN"))
        assert f"m{c.tags[i]}".encode() in scanned
        for j, tag in enumerate(c.tags):
            if j != i:
                assert f"m{tag}".encode() not in scanned
        scripts = [k for k, _ in raw(node.port, "AI._SCRIPTSCAN")]
        assert f"s{c.tags[i]}".encode() in scripts
        assert all(c.owner_index(k.decode()) == i for k in scripts)


# --------------------------------------------------------------------------------------------------
# redis-py's cluster client


@pytest.fixture
def rc(cluster):
    client = RedisCluster(host="127.0.0.1", port=cluster.nodes[0].port, socket_timeout=60)
    try:
        yield client
    finally:
        client.close()


def test_redis_py_cluster_client_learns_the_module_key_positions(rc, cluster):
    """redis-py routes by COMMAND INFO: fixed first keys for the plain commands, COMMAND GETKEYS
    (the `movablekeys` flag that getkeys-api commands carry) for the run and DAG commands."""
    parser = rc.commands_parser
    flags = {name: set(parser.commands[name]["flags"]) for name in ("ai.tensorset", "ai.modelexecute",
                                                                    "ai.scriptexecute", "ai.dagexecute_ro")}
    assert "movablekeys" not in flags["ai.tensorset"]
    assert "movablekeys" in flags["ai.modelexecute"]
    assert "movablekeys" in flags["ai.scriptexecute"]
    assert "movablekeys" in flags["ai.dagexecute_ro"]
    node = cluster.nodes[0].client()
    try:
        assert parser.get_keys(node, "AI.TENSORSET", "k", "FLOAT", 1) == ["k"]
        assert parser.get_keys(node, "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == \
            ["m", "a", "b", "c"]
        assert parser.get_keys(node, "AI.DAGEXECUTE", "LOAD", 1, "x", "PERSIST", 1, "y", "|>",
                               "AI.TENSORGET", "x") == ["x", "y"]
        assert parser.get_keys(node, "AI.DAGEXECUTE", "ROUTING", "{r}", "|>", "AI.TENSORSET", "t", "FLOAT", 1) == \
            ["{r}"]
    finally:
        node.close()


@pytest.mark.parametrize("shard", [0, 1, 2])
def test_redis_py_cluster_client_runs_a_model_and_a_dag(rc, cluster, shard):
    c = cluster
    tag = c.tags[shard]
    owner = c.nodes[shard]
    slot = c.slot(tag)
    x = np.array([1, 2, 3], np.float32)
    assert rc.execute_command("AI.TENSORSET", f"rx{tag}", "FLOAT", 3, "BLOB", x.tobytes()) == b"OK"
    assert rc.execute_command("AI.TENSORSET", f"ry{tag}", "FLOAT", 3, "VALUES", 10, 20, 30) == b"OK"
    assert rc.execute_command("AI.MODELSTORE", f"rm{tag}", "TORCH", "CPU", "BLOB", torch_add_model()) == b"OK"
    assert rc.execute_command("AI.SCRIPTSTORE", f"rs{tag}", "CPU", "ENTRY_POINTS", 2, *ENTRY_POINTS,
                              "SOURCE", SCRIPT) == b"OK"
    # the keys landed on the shard that owns their slot, and only there
    assert raw(owner.port, "EXISTS", f"rx{tag}", f"ry{tag}", f"rm{tag}", f"rs{tag}") == 4
    for other in c.others(tag):
        assert count_in_slot(other, slot) == 0

    assert rc.execute_command("AI.MODELEXECUTE", f"rm{tag}", "INPUTS", 2, f"rx{tag}", f"ry{tag}",
                              "OUTPUTS", 1, f"rz{tag}") == b"OK"
    assert rc.execute_command("AI.TENSORGET", f"rz{tag}", "VALUES") == [b"11", b"22", b"33"]
    assert rc.execute_command("AI.SCRIPTEXECUTE", f"rs{tag}", "mark", "KEYS", 1, f"rflag{tag}",
                              "INPUTS", 1, f"rz{tag}", "ARGS", 1, "seen", "OUTPUTS", 1, f"rw{tag}") == b"OK"
    assert rc.get(f"rflag{tag}") == b"seen"
    assert rc.execute_command("AI.TENSORGET", f"rw{tag}", "VALUES") == [b"12", b"23", b"34"]

    reply = rc.execute_command("AI.DAGEXECUTE", "LOAD", 2, f"rx{tag}", f"ry{tag}", "PERSIST", 1, f"rd{tag}", "|>",
                               "AI.MODELEXECUTE", f"rm{tag}", "INPUTS", 2, f"rx{tag}", f"ry{tag}",
                               "OUTPUTS", 1, "s", "|>",
                               "AI.SCRIPTEXECUTE", f"rs{tag}", "double", "INPUTS", 1, "s", "OUTPUTS", 1, f"rd{tag}",
                               "|>", "AI.TENSORGET", f"rd{tag}", "VALUES")
    assert reply == [b"OK", b"OK", [b"22", b"44", b"66"]]
    assert rc.execute_command("AI.TENSORGET", f"rd{tag}", "META") == [b"dtype", b"FLOAT", b"shape", [3]]
    assert rc.execute_command("AI.DAGEXECUTE_RO", "ROUTING", tag, "|>",
                              "AI.TENSORSET", "q", "FLOAT", 3, "VALUES", 1, 1, 1, "|>",
                              "AI.MODELEXECUTE", f"rm{tag}", "INPUTS", 2, "q", "q", "OUTPUTS", 1, "o", "|>",
                              "AI.TENSORGET", "o", "VALUES") == [b"OK", b"OK", [b"2", b"2", b"2"]]
    assert rc.execute_command("AI.MODELRUN", f"rm{tag}", "INPUTS", f"rx{tag}", f"rx{tag}",
                              "OUTPUTS", f"rr{tag}") == b"OK"
    assert rc.execute_command("AI.TENSORGET", f"rr{tag}", "VALUES") == [b"2", b"4", b"6"]
    assert rc.execute_command("AI.DAGRUN_RO", "LOAD", 1, f"rr{tag}", "|>", "AI.TENSORGET", f"rr{tag}", "VALUES") == \
        [[b"2", b"4", b"6"]]
    info = rc.execute_command("AI.INFO", f"rm{tag}")
    assert info[0:4] == [b"key", f"rm{tag}".encode(), b"type", b"MODEL"]
    assert info[14:16] == [b"calls", 4]  # MODELEXECUTE, the DAG's op, the RO DAG's op, MODELRUN
    assert rc.execute_command("AI.MODELGET", f"rm{tag}", "BLOB") == torch_add_model()
    assert rc.execute_command("AI.MODELDEL", f"rm{tag}") == b"OK"
    assert rc.execute_command("AI.SCRIPTDEL", f"rs{tag}") == b"OK"
    assert raw(owner.port, "EXISTS", f"rm{tag}", f"rs{tag}") == 0

    # keys of two slots in one command: redis-py refuses it itself, having asked the server for the keys
    other_tag = c.tags[(shard + 1) % 3]
    with pytest.raises(RedisClusterException, match="same key slot"):
        rc.execute_command("AI.MODELEXECUTE", f"m{tag}", "INPUTS", 2, f"rx{tag}", f"a{other_tag}",
                           "OUTPUTS", 1, f"rz{tag}")
    with pytest.raises(RedisClusterException, match="same key slot"):
        rc.execute_command("AI.DAGEXECUTE", "LOAD", 1, f"rx{tag}", "PERSIST", 1, f"p{other_tag}", "|>",
                           "AI.TENSORSET", f"p{other_tag}", "FLOAT", 1, "VALUES", 1)


def _moved_count(node):
    """How many -MOVED replies the node has sent (INFO errorstats)."""
    for line in raw(node.port, "INFO", "errorstats").decode().splitlines():
        if line.startswith("errorstat_MOVED:count="):
            return int(line.split("=", 1)[1])
    return 0


def test_redis_py_cluster_client_follows_moved_with_a_stale_slot_table(rc, cluster):
    """Not needed by the module commands themselves, but a redis-py client keeps working with them
    when its slot table is stale: the -MOVED of an AI.* command is followed like any other."""
    c = cluster
    tag = c.tags[2]
    slot = c.slot(tag)
    assert rc.execute_command("AI.TENSORSET", f"mv{tag}", "INT8", 2, "VALUES", 1, 2) == b"OK"
    # poison redis-py's table: it believes node 0 serves the slot
    wrong = rc.get_node(host="127.0.0.1", port=c.nodes[0].port)
    rc.nodes_manager.slots_cache[slot] = [wrong]
    moved_before = _moved_count(c.nodes[0])
    assert rc.execute_command("AI.TENSORGET", f"mv{tag}", "VALUES") == [1, 2]
    # node 0 was asked first and answered -MOVED
    assert _moved_count(c.nodes[0]) == moved_before + 1
    assert rc.nodes_manager.slots_cache[slot][0].port == c.nodes[2].port


@pytest.mark.parametrize("shard", [0, 1, 2])
def test_an_async_dag_id_routes_dagruninfo_to_the_shard_that_ran_it(rc, loaded, shard):
    """The id carries its DAG's slot: a cluster client sends AI.DAGRUNINFO to the right shard,
    and the other shards redirect it there (MOVED) instead of answering unknown."""
    tag = loaded.tags[shard]
    run_id = rc.execute_command("AI.DAGEXECUTEASYNC", "LOAD", 1, f"a{tag}", "PERSIST", 1, f"async{tag}", "|>",
                                "AI.MODELEXECUTE", f"m{tag}", "INPUTS", 2, f"a{tag}", f"a{tag}",
                                "OUTPUTS", 1, f"async{tag}")
    assert loaded.slot(run_id.decode()) == loaded.slot(tag)

    def ended():
        reply = rc.execute_command("AI.DAGRUNINFO", run_id)
        return reply[3] == b"DONE"
    wait_for(ended, what="the async DAG to end")
    assert rc.execute_command("AI.TENSORGET", f"async{tag}", "VALUES") == [b"2", b"4"]
    for other in loaded.others(tag):
        assert raw(other.port, "AI.DAGRUNINFO", run_id) == loaded.moved(tag)
