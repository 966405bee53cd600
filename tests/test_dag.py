"""DAG execution (docs/COMMANDS.md §7.2-7.3, docs/BEHAVIOUR.md §3, §7, §11): reply shapes, DAG-local
names and their versions, PERSIST only when every op succeeded, a model failing halfway, the
spec's TF example, TIMEOUT, a PERSIST key of the wrong type, replication of PERSIST only, the
_RO forms on a read-only replica, the deprecated DAGRUN forms, two devices running at once and
waiting for each other, batching with plain runs, captured keys, disconnects, AI.INFO counts.
"""
import socket
import threading

import pytest
import redis

from helpers import info, replicas_acked
from models import SLOW_SCRIPT, torch_add_model, torch_failing_model
from redis_server import running_server, wait_for
from resp import encode

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"

SRC = SLOW_SCRIPT + """
def double(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] * 2

def oob(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[5]

def tag_key(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("SET", keys[0], args[0])
    return tensors[0]

def legacy_add(a, b):
    return a + b
"""
ENTRY_POINTS = ["double", "slow", "oob", "tag_key"]
SLOW_LOOP = "10000000"  # ~0.4 s of TorchScript on this machine class


def dag(r, *args):
    return r.execute_command("AI.DAGEXECUTE", *args)


@pytest.fixture
def m(r):
    """`m`: TORCH a + b on CPU; `s`: the script above on CPU; tensor a = [1, 2]."""
    assert r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", torch_add_model()) == b"OK"
    assert r.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", len(ENTRY_POINTS), *ENTRY_POINTS,
                             "SOURCE", SRC) == b"OK"
    assert r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, "VALUES", 1, 2) == b"OK"
    return r


def test_load_run_persist_and_get(m):
    reply = dag(m, "LOAD", 1, "a", "PERSIST", 1, "c", "|>",
                "AI.TENSORSET", "b", "FLOAT", 2, "VALUES", 10, 20, "|>",
                "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "|>",
                "AI.TENSORGET", "c", "VALUES", "|>",
                "AI.TENSORGET", "c", "META")
    assert reply == [b"OK", b"OK", [b"11", b"22"], [b"dtype", b"FLOAT", b"shape", [2]]]
    assert m.execute_command("AI.TENSORGET", "c", "VALUES") == [b"11", b"22"]
    assert sorted(m.keys()) == [b"a", b"c", b"m", b"s"]  # b stayed inside the DAG


def test_intermediates_kept_from_the_runner_read_and_persist_as_copies(m):
    """A DAG step's outputs stay in the runner's memory (docs/EMBEDDING.md): a later step, a
    TENSORGET and a PERSIST all read them, and a persisted key holds Redis memory like any key
    (MEMORY USAGE counts the allocator's size class, not the bare bytes: 4000 B is a 4 KiB block)."""
    reply = dag(m, "PERSIST", 1, "y", "|>",
                "AI.TENSORSET", "x", "FLOAT", 1000, "VALUES", *range(1000), "|>",
                "AI.SCRIPTEXECUTE", "s", "double", "INPUTS", 1, "x", "OUTPUTS", 1, "h", "|>",
                "AI.SCRIPTEXECUTE", "s", "double", "INPUTS", 1, "h", "OUTPUTS", 1, "y", "|>",
                "AI.TENSORGET", "h", "META")
    assert reply == [b"OK", b"OK", b"OK", [b"dtype", b"FLOAT", b"shape", [1000]]]
    assert m.execute_command("AI.TENSORGET", "y", "VALUES") == [str(4 * v).encode() for v in range(1000)]
    m.execute_command("AI.TENSORSET", "twin", "FLOAT", 1000, "VALUES", *(4 * v for v in range(1000)))
    assert m.memory_usage("y") == m.memory_usage("twin")


def test_tensorset_only_dag_replies_ok_and_creates_nothing(m):
    assert dag(m, "ROUTING", "{1}", "|>", "AI.TENSORSET", "t1", "FLOAT", 1, 2, "VALUES", 5, 10,
               "|>", "AI.TENSORSET", "t2", "FLOAT", 1, 2, "VALUES", 5, 10) == [b"OK", b"OK"]
    assert m.exists("t1", "t2") == 0


def test_names_are_versioned_and_persist_takes_the_last(m):
    reply = dag(m, "LOAD", 1, "a", "PERSIST", 1, "a", "|>",
                "AI.TENSORGET", "a", "VALUES", "|>",
                "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "a", "|>",
                "AI.TENSORGET", "a", "VALUES", "|>",
                "AI.SCRIPTEXECUTE", "s", "double", "INPUTS", 1, "a", "OUTPUTS", 1, "a", "|>",
                "AI.TENSORGET", "a", "VALUES")
    assert reply == [[b"1", b"2"], b"OK", [b"2", b"4"], b"OK", [b"4", b"8"]]
    assert m.execute_command("AI.TENSORGET", "a", "VALUES") == [b"4", b"8"]


def test_a_name_not_loaded_is_never_read_from_the_keyspace(m):
    with pytest.raises(redis.ResponseError, match="INPUT key cannot be found in DAG"):
        dag(m, "ROUTING", "a", "|>", "AI.TENSORGET", "a", "VALUES")


def test_a_model_failing_halfway_persists_nothing(m):
    m.execute_command("AI.MODELSTORE", "f", "TORCH", "CPU", "BLOB", torch_failing_model())
    reply = dag(m, "LOAD", 1, "a", "PERSIST", 2, "x", "y", "|>",
                "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "x", "|>",
                "AI.MODELEXECUTE", "f", "INPUTS", 1, "x", "OUTPUTS", 1, "y", "|>",
                "AI.MODELEXECUTE", "m", "INPUTS", 2, "y", "y", "OUTPUTS", 1, "z", "|>",
                "AI.TENSORGET", "x", "VALUES", "|>",
                "AI.TENSORGET", "z", "VALUES")
    assert reply[0] == b"OK"
    assert isinstance(reply[1], redis.ResponseError) and "input must be negative" in str(reply[1])
    assert "\n" not in str(reply[1])
    assert reply[2:] == [b"NA", [b"2", b"4"], b"NA"]
    assert m.exists("x", "y", "z") == 0
    assert (info(m, "m")[b"calls"], info(m, "m")[b"errors"]) == (1, 0)  # the skipped op is not counted
    assert (info(m, "f")[b"calls"], info(m, "f")[b"errors"]) == (1, 1)


def test_the_spec_example_of_a_tf_error_inside_a_read_only_dag(r):
    from tf_models import tf_mul_graph
    r.execute_command("AI.MODELSTORE", "tf_model{1}", "TF", "CPU", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "mul",
                      "BLOB", tf_mul_graph())
    reply = r.execute_command("AI.DAGEXECUTE_RO", "ROUTING", "{1}", "|>",
                              "AI.TENSORSET", "a", "FLOAT", 2, "VALUES", 2, 3, "|>",
                              "AI.TENSORSET", "b", "FLOAT", 2, 2, 3, "|>",
                              "AI.MODELEXECUTE", "tf_model{1}", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "tD", "|>",
                              "AI.TENSORGET", "tD", "VALUES")
    assert reply[:2] == [b"OK", b"OK"] and reply[3] == b"NA"
    assert isinstance(reply[2], redis.ResponseError) and "Incompatible shapes: [2] vs. [2,2,3]" in str(reply[2])


def test_timeout_while_waiting_for_a_batch_replies_timedout(m):
    m.execute_command("AI.MODELSTORE", "batched", "TORCH", "CPU", "BATCHSIZE", 4, "MINBATCHSIZE", 3,
                      "BLOB", torch_add_model())
    reply = dag(m, "LOAD", 1, "a", "PERSIST", 1, "out", "TIMEOUT", 50, "|>",
                "AI.MODELEXECUTE", "batched", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "out")
    assert reply == b"TIMEDOUT"
    assert m.exists("out") == 0
    assert info(m, "batched")[b"calls"] == 0


def test_zero_and_negative_timeouts_mean_none(m):
    for timeout in (0, -5):
        assert dag(m, "LOAD", 1, "a", "TIMEOUT", timeout, "|>", "AI.TENSORGET", "a", "VALUES") == [[b"1", b"2"]]


def test_a_persist_key_of_another_type_adds_one_error_element(m):
    m.set("taken", "string")
    reply = dag(m, "LOAD", 1, "a", "PERSIST", 2, "ok1", "taken", "|>",
                "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "ok1", "|>",
                "AI.TENSORSET", "taken", "FLOAT", 1, "VALUES", 1)
    assert len(reply) == 3 and reply[:2] == [b"OK", b"OK"]
    assert isinstance(reply[2], redis.ResponseError) and str(reply[2]) == WRONGTYPE
    assert m.get("taken") == b"string"
    assert m.execute_command("AI.TENSORGET", "ok1", "VALUES") == [b"2", b"4"]  # stored before the failure


def test_script_ops_get_keys_and_args(m):
    reply = dag(m, "LOAD", 1, "a", "PERSIST", 1, "out", "|>",
                "AI.SCRIPTEXECUTE", "s", "tag_key", "KEYS", 1, "marker", "INPUTS", 1, "a", "ARGS", 1, "seen",
                "OUTPUTS", 1, "out", "|>", "AI.TENSORGET", "out", "VALUES")
    assert reply == [b"OK", [b"1", b"2"]]
    assert m.get("marker") == b"seen"
    assert info(m, "s")[b"calls"] == 1


def test_deprecated_dagrun_with_modelrun_and_scriptrun(m):
    m.execute_command("AI.SCRIPTSET", "legacy", "CPU", "SOURCE", SRC)
    reply = m.execute_command("AI.DAGRUN", "LOAD", 1, "a", "PERSIST", 1, "o2", "|>",
                              "AI.MODELRUN", "m", "INPUTS", "a", "a", "OUTPUTS", "o1", "|>",
                              "AI.SCRIPTRUN", "legacy", "legacy_add", "INPUTS", "o1", "a", "OUTPUTS", "o2", "|>",
                              "AI.TENSORGET", "o2", "VALUES")
    assert reply == [b"OK", b"OK", [b"3", b"6"]]
    assert m.execute_command("AI.TENSORGET", "o2", "VALUES") == [b"3", b"6"]
    reply = m.execute_command("AI.DAGRUN_RO", "LOAD", 1, "a", "|>",
                              "AI.SCRIPTRUN", "legacy", "legacy_add", "INPUTS", "a", "a", "OUTPUTS", "x", "|>",
                              "AI.TENSORGET", "x", "VALUES")
    assert reply == [b"OK", [b"2", b"4"]]


def test_a_model_used_twice_counts_twice(m):
    dag(m, "LOAD", 1, "a", "|>", "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "b", "|>",
        "AI.MODELEXECUTE", "m", "INPUTS", 2, "b", "b", "OUTPUTS", 1, "c")
    stats = info(m, "m")
    assert (stats[b"calls"], stats[b"samples"], stats[b"errors"]) == (2, 4, 0)


def test_captured_keys_and_models_survive_deletion_while_queued(m, server):
    """A slow script keeps the CPU queue busy while the DAG waits behind it; the LOADed key and
    the model are deleted and overwritten meanwhile."""
    blocker = server.client()
    busy = threading.Thread(target=blocker.execute_command, args=(
        "AI.SCRIPTEXECUTE", "s", "slow", "INPUTS", 1, "a", "ARGS", 1, SLOW_LOOP, "OUTPUTS", 1, "ignored"))
    busy.start()
    wait_for(lambda: server.client().info("clients")["blocked_clients"] == 1, what="the slow script queued")
    c = server.client()
    result = []
    waiter = threading.Thread(target=lambda: result.append(dag(
        c, "LOAD", 1, "a", "PERSIST", 1, "out", "|>", "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a",
        "OUTPUTS", 1, "out")))
    waiter.start()
    wait_for(lambda: server.client().info("clients")["blocked_clients"] == 2, what="the DAG queued")
    m.execute_command("AI.TENSORSET", "a", "FLOAT", 2, "VALUES", 100, 200)
    m.execute_command("AI.MODELDEL", "m")
    busy.join(30)
    waiter.join(30)
    assert result == [[b"OK"]]
    assert m.execute_command("AI.TENSORGET", "out", "VALUES") == [b"2", b"4"]


def test_a_client_leaving_mid_dag_writes_nothing(m, server):
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(encode(["AI.DAGEXECUTE", "LOAD", 1, "a", "PERSIST", 1, "gone", "|>",
                         "AI.SCRIPTEXECUTE", "s", "slow", "INPUTS", 1, "a", "ARGS", 1, SLOW_LOOP,
                         "OUTPUTS", 1, "gone"]))
    wait_for(lambda: m.info("clients")["blocked_clients"] == 1, what="the DAG queued")
    sock.close()
    wait_for(lambda: info(m, "s")[b"calls"] == 1, what="the script finished")  # it still runs and counts
    assert m.exists("gone") == 0
    assert m.ping()


def test_dag_steps_batch_with_plain_runs(m, server):
    m.execute_command("AI.MODELSTORE", "batched", "TORCH", "CPU", "BATCHSIZE", 4, "MINBATCHSIZE", 2,
                      "BLOB", torch_add_model())
    m.execute_command("AI.TENSORSET", "p", "FLOAT", 1, 2, "VALUES", 5, 6)
    results = {}
    c1, c2 = server.client(), server.client()
    t1 = threading.Thread(target=lambda: results.update(dag=dag(
        c1, "LOAD", 1, "p", "|>", "AI.TENSORSET", "q", "FLOAT", 1, 2, "VALUES", 1, 1, "|>",
        "AI.MODELEXECUTE", "batched", "INPUTS", 2, "p", "q", "OUTPUTS", 1, "o", "|>", "AI.TENSORGET", "o", "VALUES")))
    t1.start()
    wait_for(lambda: m.info("clients")["blocked_clients"] == 1, what="the DAG waiting for a batch")
    assert c2.execute_command("AI.MODELEXECUTE", "batched", "INPUTS", 2, "p", "p", "OUTPUTS", 1, "plain") == b"OK"
    t1.join(30)
    assert results["dag"] == [b"OK", b"OK", [b"6", b"7"]]
    assert m.execute_command("AI.TENSORGET", "plain", "VALUES") == [b"10", b"12"]
    assert info(m, "batched")[b"samples"] == 2


def test_only_persisted_tensors_replicate_and_ro_dags_run_on_a_replica():
    with running_server({"repl-diskless-sync-delay": 0}) as master, \
            running_server({"replicaof": f"127.0.0.1 {master.port}"}) as replica:
        mc, rc = master.client(), replica.client()
        wait_for(lambda: mc.info("replication").get("slave0", {}).get("state") == "online", what="replica in sync")
        mc.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", torch_add_model())
        mc.execute_command("AI.TENSORSET", "a", "FLOAT", 2, "VALUES", 1, 2)
        assert mc.execute_command("AI.DAGEXECUTE", "LOAD", 1, "a", "PERSIST", 1, "kept", "|>",
                                  "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "local", "|>",
                                  "AI.MODELEXECUTE", "m", "INPUTS", 2, "local", "a", "OUTPUTS", 1, "kept") == [b"OK", b"OK"]
        assert replicas_acked(mc)
        assert rc.execute_command("AI.TENSORGET", "kept", "VALUES") == [b"3", b"6"]
        assert sorted(rc.keys()) == [b"a", b"kept", b"m"]
        assert rc.execute_command("AI.DAGEXECUTE_RO", "LOAD", 1, "kept", "|>",
                                  "AI.MODELEXECUTE", "m", "INPUTS", 2, "kept", "kept", "OUTPUTS", 1, "x", "|>",
                                  "AI.TENSORGET", "x", "VALUES") == [b"OK", [b"6", b"12"]]
        with pytest.raises(redis.ReadOnlyError):
            rc.execute_command("AI.DAGEXECUTE", "LOAD", 1, "kept", "PERSIST", 1, "y", "|>",
                               "AI.TENSORSET", "y", "FLOAT", 1, "VALUES", 1)
        assert info(rc, "m")[b"calls"] == 1  # the replica ran only its own DAG


# Two ops that can only both succeed if they run at the same time: each waits (bounded, polling
# Redis: scripts may not call DEBUG SLEEP) for the other's step of a handshake on the key keys[0];
# an op that gives up returns zeros instead of its input.
HANDSHAKE = """
def wait_for_go(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("SET", keys[0], "started")
    for i in range(200000):
        if str(redis.execute("GET", keys[0])) == "go":
            return tensors[0]
    return tensors[0] * 0

def release(tensors: List[Tensor], keys: List[str], args: List[str]):
    for i in range(200000):
        if str(redis.execute("GET", keys[0])) == "started":
            redis.execute("SET", keys[0], "go")
            return tensors[0]
    return tensors[0] * 0

def double(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] * 2
"""


def test_ops_on_two_devices_run_at_once_and_wait_for_each_other():
    """`CPU` and `CPU:1` are two queues (docs/BEHAVIOUR.md §1): an op on each completes a handshake that
    needs both running at once (in either order, one after the other, the first would give up),
    and an op on one device that needs the other's output waits for it."""
    with running_server() as server:
        r = server.client()
        for key, device in (("s0", "CPU"), ("s1", "CPU:1")):
            r.execute_command("AI.SCRIPTSTORE", key, device, "ENTRY_POINTS", 3, "wait_for_go", "release", "double",
                              "SOURCE", HANDSHAKE)
        r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, "VALUES", 1, 2)
        reply = r.execute_command(
            "AI.DAGEXECUTE", "LOAD", 1, "a",
            "|>", "AI.SCRIPTEXECUTE", "s0", "wait_for_go", "KEYS", 1, "flag", "INPUTS", 1, "a", "OUTPUTS", 1, "x",
            "|>", "AI.SCRIPTEXECUTE", "s1", "release", "KEYS", 1, "flag", "INPUTS", 1, "a", "OUTPUTS", 1, "y",
            "|>", "AI.SCRIPTEXECUTE", "s1", "double", "INPUTS", 1, "x", "OUTPUTS", 1, "z",
            "|>", "AI.TENSORGET", "x", "VALUES", "|>", "AI.TENSORGET", "y", "VALUES", "|>", "AI.TENSORGET", "z", "VALUES")
        assert reply == [b"OK", b"OK", b"OK", [b"1", b"2"], [b"1", b"2"], [b"2", b"4"]]
        assert r.get("flag") == b"go"
