"""Runs finishing while Redis pauses clients (CLIENT PAUSE, FAILOVER): what they write waits for
the pause to end (replicating it during a pause asserts in Redis), then is stored, acknowledged
and logged to the AOF.

Handshake, no timing: the script spins on `redisAI.model_execute` of a gate model (a read, which
pauses do not hold back) until the gate answers non-zero; the test swaps the gate model and
pauses writes in one MULTI, so the run always finishes inside the pause. The server's log says
when a finished run or a script's call is waiting.
"""
import pytest
import redis

from helpers import aof_files, blocked_clients, in_background, parse_resp_commands, values
from models import WAIT_GATE_SCRIPT, torch_gate_model
from redis_server import running_server, wait_for

SRC = WAIT_GATE_SCRIPT + '''
def wait_gate_then_set(tensors: List[Tensor], keys: List[str], args: List[str]):
    x = torch.zeros(1)
    while bool(redisAI.model_execute(keys[0], [x], 1)[0].sum() == 0):
        pass
    redis.execute("SET", keys[1], "written")
'''
RUN_WAITS = "finished runs wait to write their outputs: clients are paused"
CALL_WAITS = "a script's redis.execute waits: clients are paused"


@pytest.fixture
def server():
    with running_server({"appendonly": "yes"}) as s:
        c = s.client()
        c.execute_command("AI.MODELSTORE", "gate", "TORCH", "CPU", "BLOB", torch_gate_model(0.0))
        c.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 2, "wait_gate", "wait_gate_then_set",
                          "SOURCE", SRC)
        yield s


def open_gate_and_pause(server, pause=("CLIENT", "PAUSE", 600000, "WRITE")):
    """One MULTI: the run can only finish once writes are paused."""
    c = server.client()
    wait_for(lambda: blocked_clients(c) == 1, what="the run is queued")
    pipe = c.pipeline(transaction=True)
    pipe.execute_command("AI.MODELSTORE", "gate", "TORCH", "CPU", "BLOB", torch_gate_model(1.0))
    pipe.execute_command(*pause)
    assert pipe.execute() == [b"OK", b"OK"]
    return c


def logged_to_aof(server, *command):
    """Whether the AOF's incremental file holds `command` (its first words)."""
    data = aof_files(server)["i"].read_bytes()
    return any(cmd[:len(command)] == list(command) for cmd in parse_resp_commands(data))


def log_says(server, text):
    assert server.alive(), "redis-server died:\n" + server.log()[-3000:]
    return text in server.log()


@pytest.mark.parametrize("command", [
    ("AI.SCRIPTEXECUTE", "s", "wait_gate", "KEYS", 1, "gate", "OUTPUTS", 1, "out"),
    ("AI.DAGEXECUTE", "PERSIST", 1, "out", "|>", "AI.SCRIPTEXECUTE", "s", "wait_gate", "KEYS", 1, "gate",
     "OUTPUTS", 1, "out"),
], ids=["OUTPUTS", "PERSIST"])
def test_outputs_of_a_run_finished_during_a_pause_are_written_after_it(server, command):
    t, reply = in_background(server, *command)
    c = open_gate_and_pause(server)
    wait_for(lambda: log_says(server, RUN_WAITS), what="the finished run waiting")
    assert blocked_clients(c) == 1 and c.exists("out") == 0  # nothing written, nothing answered
    assert c.execute_command("CLIENT", "UNPAUSE") == b"OK"
    t.join(60)
    assert reply["value"] in (b"OK", [b"OK"])
    assert values(c, "out") == [b"7"]
    assert logged_to_aof(server, b"AI.TENSORSET", b"out")


def test_a_scripts_write_during_a_pause_waits_for_its_end(server):
    t, reply = in_background(server, "AI.SCRIPTEXECUTE", "s", "wait_gate_then_set", "KEYS", 2, "gate", "k")
    c = open_gate_and_pause(server)
    wait_for(lambda: log_says(server, CALL_WAITS), what="the script's SET waiting")
    assert c.exists("k") == 0 and blocked_clients(c) == 1
    assert c.execute_command("CLIENT", "UNPAUSE") == b"OK"
    t.join(60)
    assert reply["value"] == b"OK"
    assert c.get("k") == b"written"
    assert logged_to_aof(server, b"SET", b"k", b"written")


def test_a_pause_that_ends_by_itself_releases_the_run(server):
    """Pause ends by its timeout, no UNPAUSE: the waiting run is unblocked then."""
    t, reply = in_background(server, "AI.SCRIPTEXECUTE", "s", "wait_gate", "KEYS", 1, "gate", "OUTPUTS", 1, "out")
    c = open_gate_and_pause(server, ("CLIENT", "PAUSE", 300, "WRITE"))
    t.join(60)
    assert reply["value"] == b"OK"
    assert values(c, "out") == [b"7"]
    assert server.alive()


def test_a_run_finished_during_a_failover_waits_and_writes_nothing_once_a_replica():
    """FAILOVER pauses writes until the replica caught up (held back here by a busy Lua script on
    it), then makes this server a replica, and Redis unblocks its blocked clients with an error:
    the finished run waits through the pause, then writes nothing."""
    with running_server({"appendonly": "yes"}) as master, \
            running_server({"replicaof": f"127.0.0.1 {master.port}", "busy-reply-threshold": 10}) as replica:
        m, rep = master.client(), replica.client()
        wait_for(lambda: m.info("replication").get("slave0", {}).get("state") == "online", what="replica in sync")
        m.execute_command("AI.MODELSTORE", "gate", "TORCH", "CPU", "BLOB", torch_gate_model(0.0))
        m.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 1, "wait_gate", "SOURCE", SRC)
        assert m.execute_command("WAIT", 1, 120000) == 1
        busy, _ = in_background(replica, "EVAL", "while true do end", 0)
        wait_for(lambda: replica_busy(rep), what="the replica running its script")
        t, reply = in_background(master, "AI.SCRIPTEXECUTE", "s", "wait_gate", "KEYS", 1, "gate", "OUTPUTS", 1, "out")
        open_gate_and_pause(master, ("FAILOVER", "TIMEOUT", 600000))
        wait_for(lambda: log_says(master, RUN_WAITS), what="the finished run waiting")
        assert rep.execute_command("SCRIPT", "KILL") == b"OK"
        t.join(120)
        busy.join(60)
        assert "UNBLOCKED" in str(reply["value"])
        wait_for(lambda: rep.info("replication")["role"] == "master", what="the failover")
        assert m.info("replication")["role"] == "slave"
        assert rep.exists("out") == 0 and m.exists("out") == 0


def replica_busy(c):
    try:
        c.ping()
    except redis.exceptions.BusyLoadingError:
        return False
    except redis.ResponseError as e:
        return "BUSY" in str(e)
    return False
