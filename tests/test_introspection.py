"""Live introspection (docs/CONFIG.md §4, docs/COMMANDS.md §8.1): AI.STATS for one model or script,
INFO sections ai_queues and ai_runnables, and SLOWLOG for runs and DAGs; AI.INFO's 1.2 reply
stays as it was (tests/test_info_modules.py, test_redisai_py.py).

No timing: the worker is held by a script spinning on a gate model (tests/gate.py)
while runs queue behind it, so depth, busy workers, batches and lower bounds on the queue wait
are what the test arranged.
"""
import time

import pytest
import redis

from gate import hold_worker, open_gate, queue_behind, store_gate
from models import onnx_bias_model, torch_add_model, torch_mlp_model
from redis_server import running_server

NO_RUN_INFO = "cannot find run info for key"


def stats(c, key):
    reply = c.execute_command("AI.STATS", key)
    return dict(zip((k.decode() for k in reply[0::2]), reply[1::2]))


def percentiles(pairs):
    return dict(zip((k.decode() for k in pairs[0::2]), pairs[1::2]))


@pytest.fixture
def held():
    """A server with one worker, models m{t} (add, BATCHSIZE 4) and the gate, script s{t}."""
    with running_server() as s:
        c = s.client()
        c.execute_command("AI.MODELSTORE", "m{t}", "TORCH", "CPU", "BATCHSIZE", 4, "BLOB", torch_add_model())
        store_gate(c, gate="gate{t}", script="s{t}")
        c.execute_command("AI.TENSORSET", "a{t}", "FLOAT", 1, 2, "VALUES", 1, 2)
        yield s


def test_queue_depth_busy_worker_batch_and_wait_as_arranged(held):
    c = held.client()
    gate = hold_worker(held, gate="gate{t}", script="s{t}", output="g{t}")
    runs = queue_behind(held, [("AI.MODELEXECUTE", "m{t}", "INPUTS", 2, "a{t}", "a{t}", "OUTPUTS", 1, f"b{k}{{t}}")
                               for k in range(3)])
    queues = c.info("ai_queues")
    assert queues["ai_queue_CPU"] == {"depth": 3, "workers": 1, "busy": 1}
    running = queues["ai_run_CPU_1"]
    assert running["key"] == "s_t_" and running["type"] == "SCRIPT" and running["batch_size"] == 0
    assert running["running_us"] >= 0
    held_from = time.monotonic()
    while time.monotonic() - held_from < 0.05:  # the queued runs wait at least this long
        time.sleep(0.01)
    assert open_gate(held, gate, *runs, gate="gate{t}") == [b"OK"] * 4
    m = stats(c, "m{t}")
    assert m["calls"] == 3 and m["errors"] == 0 and m["in_flight"] == 0
    assert m["batch_sizes"] == [[b"3-4", 3]]  # one batch of three one-row runs
    wait = percentiles(m["queue_wait_us"])
    assert wait["p50"] >= 50_000 and wait["p50"] <= wait["p90"] <= wait["p99"]
    run = percentiles(m["run_us"])
    assert 0 <= run["p50"] <= run["p90"] <= run["p99"]
    assert c.info("ai_queues")["ai_queue_CPU"] == {"depth": 0, "workers": 1, "busy": 0}
    s = stats(c, "s{t}")
    assert s["type"] == b"SCRIPT" and s["calls"] == 1 and s["batch_sizes"] == [] and s["backend_memory"] == -1
    info = c.info("ai_runnables")["ai_model_m_t_"]
    assert info["calls"] == 3 and info["batch_le_4"] == 3 and info["wait_p50_us"] == wait["p50"]


def test_resetstat_clears_the_histograms(held):
    c = held.client()
    c.execute_command("AI.MODELEXECUTE", "m{t}", "INPUTS", 2, "a{t}", "a{t}", "OUTPUTS", 1, "b{t}")
    assert stats(c, "m{t}")["batch_sizes"] == [[b"1", 1]]
    assert c.execute_command("AI.INFO", "m{t}", "RESETSTAT") == b"OK"
    m = stats(c, "m{t}")
    assert m["calls"] == 0 and m["batch_sizes"] == []
    assert percentiles(m["queue_wait_us"]) == {"p50": -1, "p90": -1, "p99": -1}


def test_backend_memory_is_what_the_framework_holds(r):
    width = 16
    r.execute_command("AI.MODELSTORE", "mlp", "TORCH", "CPU", "BLOB", torch_mlp_model(width))
    r.execute_command("AI.MODELSTORE", "bias", "ONNX", "CPU", "BLOB", onnx_bias_model(100))
    assert stats(r, "mlp")["backend_memory"] == 3 * (width * width + width) * 4
    assert stats(r, "bias")["backend_memory"] == 100 * 4
    assert r.info("ai_runnables")["ai_model_bias"]["backend_memory"] == 400


def test_stats_errors(r):
    r.execute_command("AI.TENSORSET", "t", "FLOAT", 1, "VALUES", 1)
    for key in ("nothing", "t"):
        with pytest.raises(redis.ResponseError, match=NO_RUN_INFO):
            r.execute_command("AI.STATS", key)
    with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
        r.execute_command("AI.STATS")


def test_slowlog_shows_runs_and_dags_with_their_duration(r):
    r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", torch_add_model())
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, "VALUES", 1, 2)
    r.config_set("slowlog-log-slower-than", 0)
    try:
        r.slowlog_reset()
        r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "b")
        r.execute_command("AI.DAGEXECUTE", "LOAD", 1, "a", "|>", "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a",
                          "OUTPUTS", 1, "c")
        entries = {e["command"].split()[0].upper(): e["duration"] for e in r.slowlog_get(10)}
        ran_us = int(dict(zip(*[iter(r.execute_command("AI.INFO", "m"))] * 2))[b"duration"])
        assert b"AI.MODELEXECUTE" in entries and b"AI.DAGEXECUTE" in entries
        assert entries[b"AI.MODELEXECUTE"] + entries[b"AI.DAGEXECUTE"] >= ran_us  # the runs' time is in
    finally:
        r.config_set("slowlog-log-slower-than", 10000)
