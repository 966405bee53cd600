"""A model or script that RDB load or RESTORE brings back has its device's run queue at once, as
after AI.MODELSTORE or AI.SCRIPTSTORE (docs/BEHAVIOUR.md §1): INFO MODULES lists the queue's workers
right after the load, and the value runs there. The type's rdb_load makes the queue, not the
decoder: decoding a value starts no threads."""
import numpy as np

from models import torch_add_model
from redis_server import running_server

SOURCE = """
def add(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] + tensors[1]
"""


def queue_devices(r):
    """The devices whose queues INFO MODULES lists (one field per worker), in any order."""
    r.set_response_callback("INFO", lambda response, **kw: response)  # ':' in names: raw lines
    lines = r.execute_command("INFO", "ai_cpu").decode().splitlines()
    return sorted({line[len("ai_queue_"):line.index("_bthread_")]
                   for line in lines if line.startswith("ai_queue_")})


def run_both(r):
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, "VALUES", 1, 2)
    r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "b")
    r.execute_command("AI.SCRIPTEXECUTE", "s", "add", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c")
    values = r.execute_command("AI.TENSORGET", "c", "VALUES")
    assert np.array(values, dtype=float).tolist() == [3.0, 6.0]


def store_both(r):
    r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU:3", "BLOB", torch_add_model())
    r.execute_command("AI.SCRIPTSTORE", "s", "cpu:4", "ENTRY_POINTS", 1, "add", "SOURCE", SOURCE)


def test_restart_from_rdb_makes_the_queues_of_the_loaded_values():
    with running_server() as s:
        r = s.client()
        store_both(r)
        assert queue_devices(r) == ["CPU", "CPU:3", "CPU:4"]
        s.restart(save=True)
        r = s.client()
        assert r.dbsize() == 2
        assert queue_devices(r) == ["CPU", "CPU:3", "CPU:4"]
        run_both(r)


def test_restore_makes_the_queues_of_the_restored_values():
    with running_server() as source, running_server() as target:
        src = source.client()
        store_both(src)
        dst = target.client()
        assert queue_devices(dst) == ["CPU"]
        for key in ("m", "s"):
            dst.restore(key, 0, src.dump(key))
        assert queue_devices(dst) == ["CPU", "CPU:3", "CPU:4"]
        run_both(dst)
