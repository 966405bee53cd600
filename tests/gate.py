"""Workers held without a clock, the way tests order their steps against runs: a script on the
worker runs a gate model in a loop (models.WAIT_GATE_SCRIPT) until the test stores an open one.
Whatever is queued behind it waits, on a fast machine or a slow one."""
from helpers import in_background
from models import WAIT_GATE_SCRIPT, torch_gate_model
from redis_server import wait_for


def store_gate(c, gate="gate", script="hold"):
    """The closed gate model and the script that polls it."""
    close_gate(c, gate)
    assert c.execute_command("AI.SCRIPTSTORE", script, "CPU", "ENTRY_POINTS", 1, "wait_gate",
                             "SOURCE", WAIT_GATE_SCRIPT) == b"OK"


def close_gate(c, gate="gate"):
    assert c.execute_command("AI.MODELSTORE", gate, "TORCH", "CPU", "BLOB", torch_gate_model(0.0)) == b"OK"


def runs_in_flight(c, key):
    reply = c.execute_command("AI.STATS", key)
    return reply[reply.index(b"in_flight") + 1]


def hold_worker(server, gate="gate", script="hold", output="held"):
    """One more CPU worker running the gate script (store_gate first), the gate closed again if an
    earlier open_gate left it open; returns its (thread, reply)."""
    c = server.client()
    close_gate(c, gate)
    running = runs_in_flight(c, script)
    held = in_background(server, "AI.SCRIPTEXECUTE", script, "wait_gate", "KEYS", 1, gate, "OUTPUTS", 1, output)
    wait_for(lambda: runs_in_flight(c, script) == running + 1, what="the gate script to run")
    return held


def queue_behind(server, commands):
    """Each command sent on its own connection, once all wait in the CPU queue; their (thread, reply)."""
    c = server.client()
    depth = c.info("ai_queues")["ai_queue_CPU"]["depth"]
    runs = [in_background(server, *command) for command in commands]
    wait_for(lambda: c.info("ai_queues")["ai_queue_CPU"]["depth"] == depth + len(commands), what="runs queued")
    return runs


def open_gate(server, *runs, gate="gate"):
    """Opens the gate; returns the replies of `runs` ((thread, reply) pairs), once they came."""
    server.client().execute_command("AI.MODELSTORE", gate, "TORCH", "CPU", "BLOB", torch_gate_model(1.0))
    for t, _ in runs:
        t.join(300)
    return [reply.get("value") for _, reply in runs]
