"""BGSAVE and AOF rewrites while workers run models (docs/EMBEDDING.md, fork safety).

Workers hold the GIL while they hand tensors to torch; the forked child must never need it.
Every snapshot must finish, and the saved models must load back and run.
"""
import threading

import numpy as np

import models
from gate import hold_worker, open_gate, store_gate
from redis_server import running_server, wait_for

WIDTH = 256


def run_mlp_until(server, stop, failures):
    c = server.client()
    x = np.random.default_rng(1).standard_normal((8, WIDTH), dtype=np.float32)
    c.execute_command("AI.TENSORSET", "x", "FLOAT", 8, WIDTH, "BLOB", x.tobytes())
    while not stop.is_set():
        try:
            c.execute_command("AI.MODELEXECUTE", "mlp", "INPUTS", 1, "x", "OUTPUTS", 1, "y")
        except Exception as e:  # noqa: BLE001 - any failure is a test failure
            failures.append(e)
            return


def test_repeated_bgsave_and_rewrite_while_models_run():
    config = {"appendonly": "yes", "aof-use-rdb-preamble": "no"}
    with running_server(config, module_args=("DEBUG_COMMAND", "yes", "THREADS_PER_QUEUE", 2)) as s:
        r = s.client()
        r.execute_command("AI.MODELSTORE", "mlp", "TORCH", "CPU", "TAG", "busy", "BLOB", models.torch_mlp_model(WIDTH))
        stop, failures = threading.Event(), []
        clients = [threading.Thread(target=run_mlp_until, args=(s, stop, failures)) for _ in range(3)]
        for t in clients:
            t.start()
        try:
            for _ in range(5):
                saves = r.info("persistence")["rdb_saves"]
                assert r.bgsave()
                wait_for(lambda: r.info("persistence")["rdb_saves"] > saves
                         and r.info("persistence")["rdb_bgsave_in_progress"] == 0, 15, what="BGSAVE")
                assert r.info("persistence")["rdb_last_bgsave_status"] == "ok"
                rewrites = r.info("persistence")["aof_rewrites"]
                r.bgrewriteaof()
                wait_for(lambda: r.info("persistence")["aof_rewrites"] > rewrites
                         and r.info("persistence")["aof_rewrite_in_progress"] == 0, 15, what="BGREWRITEAOF")
                assert r.info("persistence")["aof_last_bgrewrite_status"] == "ok"
        finally:
            stop.set()
            for t in clients:
                t.join(30)
        assert not failures, failures
        info = r.execute_command("AI.INFO", "mlp")
        assert info[info.index(b"calls") + 1] > 0

        s.restart()
        r = s.client()
        assert r.execute_command("AI.MODELGET", "mlp", "META")[5] == b"busy"
        x = np.ones((1, WIDTH), dtype=np.float32)
        r.execute_command("AI.TENSORSET", "one", "FLOAT", 1, WIDTH, "BLOB", x.tobytes())
        assert r.execute_command("AI.MODELEXECUTE", "mlp", "INPUTS", 1, "one", "OUTPUTS", 1, "out") == b"OK"
        out = np.frombuffer(r.execute_command("AI.TENSORGET", "out", "BLOB"), dtype=np.float32)
        assert np.allclose(out, models.torch_mlp_reference(x, WIDTH).reshape(-1), atol=1e-4)


def stat(r, key, field):
    reply = r.execute_command("AI.STATS", key)
    return dict(zip((k.decode() for k in reply[0::2]), reply[1::2]))[field]


def test_main_thread_keeps_answering_while_workers_are_busy():
    """One worker held inside a run (a script running a gate model in a loop until the test opens
    it), the other running MLPs for four clients: Redis answers all along, and the MLP runs go on
    beside the held one. No clock: the held run cannot end before the test opens the gate."""
    with running_server(module_args=("DEBUG_COMMAND", "yes", "THREADS_PER_QUEUE", 2)) as s:
        r = s.client()
        r.execute_command("AI.MODELSTORE", "mlp", "TORCH", "CPU", "BLOB", models.torch_mlp_model(WIDTH))
        store_gate(r)
        held = hold_worker(s)
        stop, failures = threading.Event(), []
        clients = [threading.Thread(target=run_mlp_until, args=(s, stop, failures)) for _ in range(4)]
        for t in clients:
            t.start()
        try:
            wait_for(lambda: failures or stat(r, "mlp", "calls") > 0, what="MLP runs beside the held one")
            for _ in range(200):
                assert r.ping()
            calls = stat(r, "mlp", "calls")
            wait_for(lambda: failures or stat(r, "mlp", "calls") > calls, what="more MLP runs")
            assert stat(r, "hold", "in_flight") == 1 and "value" not in held[1]
        finally:
            stop.set()
            for t in clients:
                t.join(30)
            replies = open_gate(s, held)
        assert not failures, failures
        assert replies == [b"OK"]
