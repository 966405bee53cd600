"""Zero-size tensors (a 0 in the shape) are legal values: AI.TENSORSET accepts them (a superset of
RedisAI 1.2, which refused a 0 dimension), and what a script or a model outputs with zero elements
reaches replicas, the AOF (rewritten without RDB preamble: the module's callback writes
AI.TENSORSET), the RDB and DUMP/RESTORE identical. Whatever the keyspace holds, replication and AOF
rewrite must be able to express, and it must load back the same.
"""
import numpy as np
import pytest
import redis

from helpers import aof_files, parse_resp_commands, replicas_acked
from models import torch_add_model, torch_filter_model
from redis_server import running_server, wait_for

SCRIPT = """
def empty_rows(tensors: List[Tensor], keys: List[str], args: List[str]):
    return torch.zeros(0, 5)

def empty_transposed(tensors: List[Tensor], keys: List[str], args: List[str]):
    return torch.zeros(5, 0).t()

def empty_ints(tensors: List[Tensor], keys: List[str], args: List[str]):
    return torch.zeros(2, 0, 3, dtype=torch.int64)
"""
ROWS = np.arange(15, dtype=np.float32).reshape(3, 5)  # no row sums above 100

# key: (dtype, shape, blob, VALUES reply)
EXPECTED = {
    b"script": (b"FLOAT", [0, 5], b"", []),
    b"transposed": (b"FLOAT", [0, 5], b"", []),
    b"ints": (b"INT64", [2, 0, 3], b"", []),
    b"model": (b"FLOAT", [0, 5], b"", []),
    b"model_of_empty": (b"FLOAT", [0, 5], b"", []),
    b"dag": (b"FLOAT", [0, 5], b"", []),
    b"set_blob": (b"DOUBLE", [3, 0], b"", []),
    b"set_values": (b"INT8", [0], b"", []),
    b"set_zeros": (b"UINT16", [0, 0], b"", []),
    b"set_string": (b"STRING", [0, 2], b"", []),
    b"set_string_blob": (b"STRING", [4, 0], b"", []),
}


def make_everything(r):
    """Each zero-size value, from every path that writes one."""
    assert r.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 3, "empty_rows", "empty_transposed",
                             "empty_ints", "SOURCE", SCRIPT) == b"OK"
    assert r.execute_command("AI.MODELSTORE", "filter", "TORCH", "CPU", "BLOB", torch_filter_model()) == b"OK"
    assert r.execute_command("AI.MODELSTORE", "add", "TORCH", "CPU", "BLOB", torch_add_model()) == b"OK"
    assert r.execute_command("AI.TENSORSET", "rows", "FLOAT", 3, 5, "BLOB", ROWS.tobytes()) == b"OK"
    for fn, key in (("empty_rows", "script"), ("empty_transposed", "transposed"), ("empty_ints", "ints")):
        assert r.execute_command("AI.SCRIPTEXECUTE", "s", fn, "INPUTS", 1, "rows", "OUTPUTS", 1, key) == b"OK"
    assert r.execute_command("AI.MODELEXECUTE", "filter", "INPUTS", 1, "rows", "OUTPUTS", 1, "model") == b"OK"
    assert r.execute_command("AI.MODELEXECUTE", "add", "INPUTS", 2, "model", "model",
                             "OUTPUTS", 1, "model_of_empty") == b"OK"
    assert r.execute_command("AI.DAGEXECUTE", "LOAD", 1, "rows", "PERSIST", 1, "dag", "|>",
                             "AI.MODELEXECUTE", "filter", "INPUTS", 1, "rows", "OUTPUTS", 1, "dag") == [b"OK"]
    assert r.execute_command("AI.TENSORSET", "set_blob", "DOUBLE", 3, 0, "BLOB", b"") == b"OK"
    assert r.execute_command("AI.TENSORSET", "set_values", "INT8", 0, "VALUES") == b"OK"
    assert r.execute_command("AI.TENSORSET", "set_zeros", "UINT16", 0, 0) == b"OK"
    assert r.execute_command("AI.TENSORSET", "set_string", "STRING", 0, 2) == b"OK"
    assert r.execute_command("AI.TENSORSET", "set_string_blob", "STRING", 4, 0, "BLOB", b"") == b"OK"


def check_everything(r, where):
    for key, (dtype, shape, blob, values) in EXPECTED.items():
        meta = [b"dtype", dtype, b"shape", shape]
        assert r.execute_command("AI.TENSORGET", key, "META") == meta, (where, key)
        assert r.execute_command("AI.TENSORGET", key, "BLOB") == blob, (where, key)
        assert r.execute_command("AI.TENSORGET", key, "VALUES") == values, (where, key)
        assert r.execute_command("AI.TENSORGET", key) == meta + [b"blob", blob], (where, key)
        assert r.execute_command("AI.TENSORGET", key, "META", "VALUES") == meta + [b"values", values], (where, key)


def tensor_keys(r):
    return sorted(k for k in r.keys() if r.type(k) == b"AI_TENSOR")


def test_zero_size_outputs_reach_the_replica_the_aof_the_rdb_and_restore():
    aof_only = {"appendonly": "yes", "aof-use-rdb-preamble": "no"}
    with running_server(aof_only) as master, \
            running_server({"replicaof": f"127.0.0.1 {master.port}"}) as replica:
        m, rr = master.client(), replica.client()
        wait_for(lambda: rr.info("replication").get("master_link_status") == "up", 20, what="the full sync")
        make_everything(m)
        check_everything(m, "master")
        assert replicas_acked(m)
        check_everything(rr, "replica (command stream)")
        assert tensor_keys(rr) == tensor_keys(m)

        # AOF rewritten by the module's callback, then an AOF-only restart
        before = m.info("persistence")["aof_rewrites"]
        assert m.bgrewriteaof()
        wait_for(lambda: m.info("persistence")["aof_rewrites"] > before
                 and m.info("persistence")["aof_rewrite_in_progress"] == 0, 20, what="BGREWRITEAOF")
        rewritten = parse_resp_commands(aof_files(master)["b"].read_bytes())
        assert [b"AI.TENSORSET", b"script", b"FLOAT", b"0", b"5", b"BLOB", b""] in rewritten
        assert [b"AI.TENSORSET", b"set_string", b"STRING", b"0", b"2", b"BLOB", b""] in rewritten
        master.restart()
        m = master.client()
        check_everything(m, "AOF-only restart")

        # RDB restart
        assert m.save()
        master.stop(save=False)
        master.config["appendonly"] = "no"
        master.start()
        m = master.client()
        assert m.info("persistence")["rdb_last_load_keys_loaded"] >= len(EXPECTED)
        check_everything(m, "RDB restart")

        # DUMP/RESTORE, then DEBUG RELOAD
        for key in EXPECTED:
            assert m.restore(key + b":copy", 0, m.dump(key)) == b"OK"
            assert m.dump(key + b":copy") == m.dump(key)
        assert m.execute_command("DEBUG", "RELOAD") == b"OK"
        check_everything(m, "DEBUG RELOAD")


def test_full_sync_carries_zero_size_tensors():
    with running_server() as master:
        m = master.client()
        make_everything(m)
        with running_server({"replicaof": f"127.0.0.1 {master.port}"}) as replica:
            rr = replica.client()
            wait_for(lambda: rr.info("replication").get("master_link_status") == "up", 20, what="the full sync")
            check_everything(rr, "replica (full sync)")


@pytest.mark.parametrize("args", [
    ("FLOAT", 0), ("FLOAT", 0, 5, "BLOB", b""), ("INT32", 2, 0, "VALUES"), ("STRING", 0, "BLOB", b""),
    ("STRING", 0, "VALUES"), ("BOOL", 0, 0, 0)])
def test_tensorset_accepts_a_zero_dimension(r, args):
    assert r.execute_command("AI.TENSORSET", "t", *args) == b"OK"
    assert r.execute_command("AI.TENSORGET", "t", "VALUES") == []
    assert r.execute_command("AI.TENSORGET", "t", "BLOB") == b""


@pytest.mark.parametrize("args, error", [
    (("FLOAT", 0, "BLOB", b"\0\0\0\0"), "data length does not match tensor shape and type"),
    (("FLOAT", 0, "VALUES", 1), "wrong number of values was given in 'AI.TENSORSET' command"),
    (("STRING", 0, "BLOB", b"\0"), "Number of string elements in data blob does not match tensor length"),
    (("STRING", 2, 0, "VALUES", "a"), "wrong number of values was given in 'AI.TENSORSET' command"),
    (("FLOAT", 0, -1), "invalid or negative value found in tensor shape")])
def test_zero_size_tensorset_still_checks_its_data(r, args, error):
    with pytest.raises(redis.ResponseError, match="^" + error.replace("(", r"\(").replace(")", r"\)") + "$"):
        r.execute_command("AI.TENSORSET", "t", *args)
    assert not r.exists("t")
