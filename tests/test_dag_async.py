"""Asynchronous DAGs (docs/COMMANDS.md §7.4): AI.DAGEXECUTEASYNC answers an id at once, the DAG
runs as AI.DAGEXECUTE's would, AI.DAGRUNINFO tells its state and, once it ended, the reply
AI.DAGEXECUTE would have given. Checked differentially against AI.DAGEXECUTE itself.

No timing: a DAG is held on its worker by a script that spins on a gate model (a model_execute
that answers zero until the test swaps the gate), so QUEUED, RUNNING and the pending bound are
observed while the test holds them.
"""

import pytest
import redis
from redis.crc import key_slot

from helpers import replicas_acked
from models import WAIT_GATE_SCRIPT, torch_add_model, torch_failing_model, torch_gate_model
from redis_server import running_server, wait_for

SRC = WAIT_GATE_SCRIPT + '''
def double(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] * 2

def set_key(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("SET", keys[0], args[0])
    return tensors[0]
'''
ENTRY_POINTS = ["wait_gate", "double", "set_key"]
UNKNOWN = "no async DAG run with this id (unknown, or its result expired)"
TOO_MANY = "too many async DAGs pending (ASYNC_DAG_MAX_PENDING), try again later"
DEMOTED = "the server became a replica before the DAG's PERSIST keys could be written"
ENDED = ("DONE", "FAILED", "TIMEDOUT")


def store_fixtures(c):
    c.execute_command("AI.MODELSTORE", "m{t}", "TORCH", "CPU", "BLOB", torch_add_model())
    c.execute_command("AI.MODELSTORE", "bad{t}", "TORCH", "CPU", "BLOB", torch_failing_model())
    c.execute_command("AI.MODELSTORE", "gate{t}", "TORCH", "CPU", "BLOB", torch_gate_model(0.0))
    c.execute_command("AI.SCRIPTSTORE", "s{t}", "CPU", "ENTRY_POINTS", len(ENTRY_POINTS), *ENTRY_POINTS,
                      "SOURCE", SRC)
    c.execute_command("AI.TENSORSET", "a{t}", "FLOAT", 2, "VALUES", 1, 2)


@pytest.fixture
def m(r):
    store_fixtures(r)
    return r


def info(c, run_id):
    reply = c.execute_command("AI.DAGRUNINFO", run_id)
    return dict(zip((k.decode() for k in reply[0::2]), reply[1::2]))


def state(c, run_id):
    return info(c, run_id)["state"].decode()


def wait_ended(c, run_id):
    wait_for(lambda: state(c, run_id) in ENDED, what=f"{run_id} to end")
    return info(c, run_id)


def open_gate(c):
    c.execute_command("AI.MODELSTORE", "gate{t}", "TORCH", "CPU", "BLOB", torch_gate_model(1.0))


GATED = ("|>", "AI.SCRIPTEXECUTE", "s{t}", "wait_gate", "KEYS", 1, "gate{t}", "OUTPUTS", 1, "g")

# DAGs whose AI.DAGEXECUTE reply the async run must reproduce: success with TENSORGET values, a
# failing model (error element, later ops NA), a PERSIST of the wrong type (one more element).
DAGS = [
    ("LOAD", 1, "a{t}", "PERSIST", 1, "c{t}", "|>", "AI.TENSORSET", "b", "FLOAT", 2, "VALUES", 10, 20,
     "|>", "AI.MODELEXECUTE", "m{t}", "INPUTS", 2, "a{t}", "b", "OUTPUTS", 1, "c{t}",
     "|>", "AI.SCRIPTEXECUTE", "s{t}", "double", "INPUTS", 1, "c{t}", "OUTPUTS", 1, "d",
     "|>", "AI.TENSORGET", "d", "VALUES", "|>", "AI.TENSORGET", "c{t}", "META"),
    ("LOAD", 1, "a{t}", "|>", "AI.MODELEXECUTE", "bad{t}", "INPUTS", 1, "a{t}", "OUTPUTS", 1, "x",
     "|>", "AI.SCRIPTEXECUTE", "s{t}", "double", "INPUTS", 1, "x", "OUTPUTS", 1, "y", "|>", "AI.TENSORGET", "y", "VALUES"),
    ("LOAD", 1, "a{t}", "PERSIST", 1, "str{t}", "|>",
     "AI.SCRIPTEXECUTE", "s{t}", "double", "INPUTS", 1, "a{t}", "OUTPUTS", 1, "str{t}"),
]


def normalise(reply):
    """Replies with errors as their texts, so two replies compare."""
    if isinstance(reply, list):
        return [normalise(x) for x in reply]
    return ("error", str(reply)) if isinstance(reply, redis.ResponseError) else reply


def sync_reply(c, args):
    try:
        return normalise(c.execute_command("AI.DAGEXECUTE", *args))
    except redis.ResponseError as e:
        return ("error", str(e))


@pytest.mark.parametrize("args", DAGS, ids=["success", "failing-model", "persist-wrongtype"])
def test_an_async_run_ends_with_the_reply_and_writes_of_dagexecute(m, args):
    m.set("str{t}", "a string")
    expected = sync_reply(m, args)
    expected_keys = {k: m.dump(k) for k in m.keys()}
    m.delete("c{t}")
    run_id = m.execute_command("AI.DAGEXECUTEASYNC", *args)
    ended = wait_ended(m, run_id)
    assert normalise(m.execute_command("AI.DAGRUNINFO", run_id)[9]) == expected
    assert ended["state"] == (b"FAILED" if any(isinstance(x, tuple) for x in expected) else b"DONE")
    assert {k: m.dump(k) for k in m.keys()} == expected_keys


def test_the_id_carries_the_slot_of_the_dags_keys(m):
    first = m.execute_command("AI.DAGEXECUTEASYNC", "ROUTING", "user:42", "|>",
                              "AI.TENSORSET", "x", "FLOAT", 1, "VALUES", 1)
    second = m.execute_command("AI.DAGEXECUTEASYNC", "LOAD", 1, "a{t}", "|>", "AI.TENSORGET", "a{t}", "META")
    assert first.startswith(b"dag:") and second.startswith(b"dag:") and first != second
    assert key_slot(first) == key_slot(b"user:42")
    assert key_slot(second) == key_slot(b"a{t}")


@pytest.mark.parametrize("args", [
    (),
    ("|>", "AI.TENSORGET", "x", "VALUES"),                              # no LOAD, PERSIST or ROUTING
    ("ROUTING", "k", "|>", "AI.TENSORGET", "nothere", "VALUES"),        # reads a name never made
    ("LOAD", 1, "missing", "|>", "AI.TENSORGET", "missing", "VALUES"),  # an empty key
    ("ROUTING", "k", "|>", "AI.MODELEXECUTE", "m{t}", "INPUTS", 1, "x", "OUTPUTS", 1, "y"),
    ("ROUTING", "k", "|>", "AI.NOSUCH", "x"),
])
def test_an_invalid_dag_gets_dagexecutes_error_and_no_id(m, args):
    expected = sync_reply(m, args)
    assert isinstance(expected, tuple)
    with pytest.raises(redis.ResponseError) as e:
        m.execute_command("AI.DAGEXECUTEASYNC", *args)
    assert ("error", str(e.value)) == expected


def test_queued_running_then_done_with_op_states(m):
    held = m.execute_command("AI.DAGEXECUTEASYNC", "ROUTING", "{t}", *GATED)
    behind = m.execute_command("AI.DAGEXECUTEASYNC", "LOAD", 1, "a{t}", "|>",
                               "AI.SCRIPTEXECUTE", "s{t}", "double", "INPUTS", 1, "a{t}", "OUTPUTS", 1, "b",
                               "|>", "AI.TENSORGET", "b", "VALUES")
    wait_for(lambda: state(m, held) == "RUNNING", what="the gated DAG to start")
    assert state(m, behind) == "QUEUED"  # one worker, held by the gate
    ops = info(m, behind)["ops"]
    assert [op[1] for op in ops] == [b"AI.SCRIPTEXECUTE", b"AI.TENSORGET"]
    assert [op[3] for op in ops] == [b"PENDING", b"PENDING"]
    open_gate(m)
    done = wait_ended(m, behind)
    assert done["state"] == b"DONE"
    assert [op[3] for op in done["ops"]] == [b"DONE", b"DONE"]
    assert done["ops"][0][5] > 0  # the script's run time, in microseconds
    assert done["reply"] == [b"OK", [b"2", b"4"]]
    assert wait_ended(m, held)["reply"] == [b"OK"]


def test_timeout_ends_timedout(m):
    held = m.execute_command("AI.DAGEXECUTEASYNC", "ROUTING", "{t}", *GATED)
    late = m.execute_command("AI.DAGEXECUTEASYNC", "LOAD", 1, "a{t}", "TIMEOUT", 1, "|>",
                             "AI.SCRIPTEXECUTE", "s{t}", "double", "INPUTS", 1, "a{t}", "OUTPUTS", 1, "b")
    wait_for(lambda: state(m, held) == "RUNNING", what="the gated DAG to start")
    wait_for(lambda: info(m, late)["elapsed_ms"] > 1, what="the queued DAG's timeout to pass")
    open_gate(m)
    ended = wait_ended(m, late)
    assert ended["state"] == b"TIMEDOUT" and ended["reply"] == b"TIMEDOUT"
    assert [op[3] for op in ended["ops"]] == [b"SKIPPED"]


def test_results_expire_after_the_ttl(m):
    run_id = m.execute_command("AI.DAGEXECUTEASYNC", "LOAD", 1, "a{t}", "|>", "AI.TENSORGET", "a{t}", "VALUES")
    assert wait_ended(m, run_id)["reply"] == [[b"1", b"2"]]
    try:
        assert m.execute_command("AI.CONFIG", "ASYNC_DAG_RESULT_TTL", 1) == b"OK"
        assert m.execute_command("AI.CONFIG", "GET", "ASYNC_DAG_RESULT_TTL") == 1

        def gone():
            try:
                m.execute_command("AI.DAGRUNINFO", run_id)
                return False
            except redis.ResponseError as e:
                assert str(e) == UNKNOWN
                return True
        wait_for(gone, what="the result to expire")
    finally:
        m.execute_command("AI.CONFIG", "ASYNC_DAG_RESULT_TTL", 60000)


def test_unknown_ids_and_bad_settings_are_errors(m):
    with pytest.raises(redis.ResponseError, match=r"no async DAG run"):
        m.execute_command("AI.DAGRUNINFO", "dag:999999{x}")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
        m.execute_command("AI.DAGRUNINFO")
    for bad in (0, -5, "soon"):
        with pytest.raises(redis.ResponseError, match="ASYNC_DAG_MAX_PENDING takes a positive integer"):
            m.execute_command("AI.CONFIG", "ASYNC_DAG_MAX_PENDING", bad)
    assert m.execute_command("AI.CONFIG", "GET", "ASYNC_DAG_MAX_PENDING") == 10000


def test_the_pending_bound_refuses_more_until_one_ends(m):
    m.execute_command("AI.CONFIG", "ASYNC_DAG_MAX_PENDING", 2)
    try:
        held = m.execute_command("AI.DAGEXECUTEASYNC", "ROUTING", "{t}", *GATED)
        queued = m.execute_command("AI.DAGEXECUTEASYNC", "LOAD", 1, "a{t}", "|>", "AI.TENSORGET", "a{t}", "META")
        with pytest.raises(redis.ResponseError) as e:
            m.execute_command("AI.DAGEXECUTEASYNC", "LOAD", 1, "a{t}", "|>", "AI.TENSORGET", "a{t}", "META")
        assert str(e.value) == TOO_MANY
        open_gate(m)
        wait_ended(m, held)
        wait_ended(m, queued)
        assert m.execute_command("AI.DAGEXECUTEASYNC", "LOAD", 1, "a{t}", "|>", "AI.TENSORGET", "a{t}", "META")
    finally:
        m.execute_command("AI.CONFIG", "ASYNC_DAG_MAX_PENDING", 10000)


def test_the_end_is_a_keyspace_event_and_runs_count_in_ai_info(m):
    m.config_set("notify-keyspace-events", "Ed")
    p = m.pubsub()
    p.subscribe("__keyevent@0__:ai.dagrun.ended")
    assert p.get_message(timeout=10)["type"] == "subscribe"
    run_id = m.execute_command("AI.DAGEXECUTEASYNC", "LOAD", 1, "a{t}", "|>",
                               "AI.MODELEXECUTE", "m{t}", "INPUTS", 2, "a{t}", "a{t}", "OUTPUTS", 1, "b")
    message = None
    for _ in range(600):
        message = p.get_message(timeout=0.1)
        if message is not None:
            break
    assert message is not None and message["data"] == run_id
    assert state(m, run_id) == "DONE"
    stats = m.execute_command("AI.INFO", "m{t}")
    assert dict(zip(stats[0::2], stats[1::2]))[b"calls"] == 1
    p.close()


def test_stored_tensors_are_keyspace_events_like_any_write(m):
    """AI.TENSORSET, run outputs, and the PERSIST keys of DAGs, async ones included: the event
    `ai.tensorset` (class d) on each key."""
    m.config_set("notify-keyspace-events", "Ed")
    p = m.pubsub()
    p.subscribe("__keyevent@0__:ai.tensorset")
    assert p.get_message(timeout=10)["type"] == "subscribe"
    m.execute_command("AI.TENSORSET", "x{t}", "FLOAT", 1, "VALUES", 1)
    m.execute_command("AI.MODELEXECUTE", "m{t}", "INPUTS", 2, "a{t}", "a{t}", "OUTPUTS", 1, "out1{t}")
    m.execute_command("AI.DAGEXECUTE", "LOAD", 1, "a{t}", "PERSIST", 1, "out2{t}", "|>",
                      "AI.MODELEXECUTE", "m{t}", "INPUTS", 2, "a{t}", "a{t}", "OUTPUTS", 1, "out2{t}")
    run_id = m.execute_command("AI.DAGEXECUTEASYNC", "LOAD", 1, "a{t}", "PERSIST", 1, "out3{t}", "|>",
                               "AI.MODELEXECUTE", "m{t}", "INPUTS", 2, "a{t}", "a{t}", "OUTPUTS", 1, "out3{t}")
    keys = []
    for _ in range(600):
        message = p.get_message(timeout=0.1)
        if message is not None:
            keys.append(message["data"])
        if len(keys) == 4:
            break
    assert keys == [b"x{t}", b"out1{t}", b"out2{t}", b"out3{t}"]
    assert state(m, run_id) == "DONE"
    p.close()


def test_allowed_in_multi_and_writes_to_the_callers_database(m):
    m.execute_command("SELECT", 3)
    store_fixtures(m)
    pipe = m.pipeline(transaction=True)
    pipe.execute_command("AI.DAGEXECUTEASYNC", "LOAD", 1, "a{t}", "PERSIST", 1, "out{t}", "|>",
                         "AI.SCRIPTEXECUTE", "s{t}", "set_key", "KEYS", 1, "k{t}", "ARGS", 1, "v",
                         "INPUTS", 1, "a{t}", "OUTPUTS", 1, "out{t}")
    [run_id] = pipe.execute()
    assert wait_ended(m, run_id)["state"] == b"DONE"
    assert m.get("k{t}") == b"v"
    assert m.execute_command("AI.TENSORGET", "out{t}", "VALUES") == [b"1", b"2"]
    m.execute_command("SELECT", 0)
    assert m.exists("k{t}", "out{t}") == 0


def test_a_client_leaving_does_not_cancel_its_run(m, server):
    c = server.client()
    run_id = c.execute_command("AI.DAGEXECUTEASYNC", "LOAD", 1, "a{t}", "PERSIST", 1, "out{t}", *GATED[:-3],
                               "OUTPUTS", 1, "out{t}")
    c.close()
    open_gate(m)
    assert wait_ended(m, run_id)["state"] == b"DONE"
    assert m.execute_command("AI.TENSORGET", "out{t}", "VALUES") == [b"7"]


def test_dagrunasync_takes_dagruns_form(m):
    run_id = m.execute_command("AI.DAGRUNASYNC", "LOAD", 1, "a{t}", "|>",
                               "AI.MODELRUN", "m{t}", "INPUTS", "a{t}", "a{t}", "OUTPUTS", "b",
                               "|>", "AI.TENSORGET", "b", "VALUES")
    ended = wait_ended(m, run_id)
    assert ended["reply"] == [b"OK", [b"2", b"4"]]
    assert ended["ops"][0][1] == b"AI.MODELRUN"


def test_replica_and_aof_restart_hold_what_the_async_run_wrote():
    with running_server({"appendonly": "yes", "appendfsync": "always"}) as master:
        with running_server({"replicaof": f"127.0.0.1 {master.port}"}) as replica:
            c = master.client()
            store_fixtures(c)
            run_id = c.execute_command("AI.DAGEXECUTEASYNC", "LOAD", 1, "a{t}", "PERSIST", 1, "out{t}", "|>",
                                       "AI.SCRIPTEXECUTE", "s{t}", "double", "INPUTS", 1, "a{t}",
                                       "OUTPUTS", 1, "out{t}")
            assert wait_ended(c, run_id)["state"] == b"DONE"
            assert replicas_acked(c)
            expected = c.execute_command("AI.TENSORGET", "out{t}", "VALUES")
            assert expected == [b"2", b"4"]
            assert replica.client().execute_command("AI.TENSORGET", "out{t}", "VALUES") == expected
            with pytest.raises(redis.ResponseError, match="no async DAG run"):
                replica.client().execute_command("AI.DAGRUNINFO", run_id)  # results stay on their shard
        master.restart()
        c = master.client()
        assert c.execute_command("AI.TENSORGET", "out{t}", "VALUES") == expected
        with pytest.raises(redis.ResponseError, match="no async DAG run"):
            c.execute_command("AI.DAGRUNINFO", run_id)  # results are not data


def test_persist_waits_out_a_client_pause(m, server):
    """A DAG that ends while clients are paused writes once the pause is over (replicating during
    a pause would assert in Redis). The gate opens inside the pause, in one MULTI."""
    run_id = m.execute_command("AI.DAGEXECUTEASYNC", "PERSIST", 1, "out{t}", *GATED[:-3], "OUTPUTS", 1, "out{t}")
    wait_for(lambda: state(m, run_id) == "RUNNING", what="the gated DAG to start")
    pipe = m.pipeline(transaction=True)
    pipe.execute_command("AI.MODELSTORE", "gate{t}", "TORCH", "CPU", "BLOB", torch_gate_model(1.0))
    pipe.execute_command("CLIENT", "PAUSE", 600000, "WRITE")
    assert pipe.execute() == [b"OK", b"OK"]
    try:
        wait_for(lambda: info(m, run_id)["ops"][0][3] == b"DONE", what="the gated step to finish")
        assert state(m, run_id) == "RUNNING"  # ended on its worker, not written yet
        assert m.exists("out{t}") == 0
    finally:
        m.execute_command("CLIENT", "UNPAUSE")
    assert wait_ended(m, run_id)["state"] == b"DONE"
    assert m.execute_command("AI.TENSORGET", "out{t}", "VALUES") == [b"7"]
    assert server.alive()


HOLD_SCRIPT = '''
def hold(tensors: List[Tensor], keys: List[str], args: List[str]):
    w = torch.ones(16, 16)
    while str(redis.asList(redis.execute("PUBSUB", ["NUMSUB", args[0]]))[1]) != "0":
        for i in range(20):
            w = torch.mm(w, w) / 16.0
    return tensors[0] + 1
'''


def test_a_master_demoted_while_its_dag_runs_writes_nothing():
    """The DAG holds while anyone listens on a channel (PUBSUB works on a replica too); the master
    becomes a replica meanwhile: PERSIST would make it differ from its new master."""
    with running_server() as first, running_server({"replicaof": f"127.0.0.1 {first.port}"}) as second:
        c = first.client()
        c.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 1, "hold", "SOURCE", HOLD_SCRIPT)
        c.execute_command("AI.TENSORSET", "a", "FLOAT", 1, "VALUES", 1)
        assert replicas_acked(c)
        listener = first.client().pubsub()
        listener.subscribe("hold")
        run_id = c.execute_command("AI.DAGEXECUTEASYNC", "LOAD", 1, "a", "PERSIST", 1, "out", "|>",
                                   "AI.SCRIPTEXECUTE", "s", "hold", "INPUTS", 1, "a", "ARGS", 1, "hold",
                                   "OUTPUTS", 1, "out")
        wait_for(lambda: state(c, run_id) == "RUNNING", what="the DAG to start")
        second.client().execute_command("REPLICAOF", "NO", "ONE")
        c.execute_command("REPLICAOF", "127.0.0.1", second.port)
        wait_for(lambda: c.info("replication")["master_link_status"] == "up", what="the demoted master to sync")
        listener.close()
        ended = wait_ended(c, run_id)
        assert ended["state"] == b"FAILED"
        assert normalise(ended["reply"])[-1] == ("error", DEMOTED)
        assert c.exists("out") == 0 and second.client().exists("out") == 0


def test_a_writable_replica_persists_what_it_was_asked_to_as_dagexecute_does():
    with running_server() as master, running_server({"replicaof": f"127.0.0.1 {master.port}",
                                                      "replica-read-only": "no"}) as replica:
        c = master.client()
        c.execute_command("AI.TENSORSET", "a", "FLOAT", 1, "VALUES", 3)
        assert replicas_acked(c)
        r = replica.client()
        run_id = r.execute_command("AI.DAGEXECUTEASYNC", "LOAD", 1, "a", "PERSIST", 1, "local", "|>",
                                   "AI.TENSORSET", "local", "FLOAT", 1, "VALUES", 4)
        assert wait_ended(r, run_id)["state"] == b"DONE"
        assert r.execute_command("AI.TENSORGET", "local", "VALUES") == [b"4"]
