"""Failover of a master with models, scripts and tensors to its replica (docs/BEHAVIOUR.md §7, §11;
docs/PERSISTENCE.md model chunking): what the replica received by the full sync (RDB, model blobs chunked
by the master's MODEL_CHUNK_SIZE) and by the command stream (MODELSTORE with a chunked BLOB, outputs
of runs as AI.TENSORSET, a script's redis.execute calls, a DAG's PERSIST) is complete and identical;
the replica runs read-only DAGs on it and never counted the master's runs; after the master dies and
the replica is promoted (REPLICAOF NO ONE) it serves the same models and scripts (MODELEXECUTE,
SCRIPTEXECUTE, DAGs with PERSIST, the same MODELGET blob, statistics starting from zero), and the old
master, restarted empty and attached to the new master, gets everything back by a full sync.

(Outputs replicated as AI.TENSORSET, PERSIST-only replication and _RO DAGs on a replica fed by the
command stream are in test_models_execute.py, test_scripts_execute.py and test_dag.py.)
"""
import numpy as np
import pytest
import redis

from helpers import info, replicas_acked
from models import torch_add_model, torch_two_outputs_model
from redis_server import running_server, wait_for

SCRIPT = """
def double(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] * 2

def mark(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("SET", keys[0], args[0])
    return tensors[0] + 1
"""
SCRIPT2 = """
def sub(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] - tensors[1]
"""
CHUNK = 700  # the master's MODEL_CHUNK_SIZE: the ~1.9 kB TorchScript blobs take 3 chunks in its RDB


def f32(values):
    return np.array(values, np.float32).tobytes()


def in_sync(master_client, n=1):
    return replicas_acked(master_client, n)


def snapshot(r):
    """Everything a client can read back: every key's type and content."""
    out = {}
    for key in sorted(r.keys()):
        kind = r.type(key)
        if kind == b"AI__MODEL":
            out[key] = ("model", r.execute_command("AI.MODELGET", key, "META"),
                        r.execute_command("AI.MODELGET", key, "BLOB"))
        elif kind == b"AI_SCRIPT":
            out[key] = ("script", r.execute_command("AI.SCRIPTGET", key))
        elif kind == b"AI_TENSOR":
            out[key] = ("tensor", r.execute_command("AI.TENSORGET", key))
        else:
            out[key] = (kind, r.dump(key))
    return out


def blob_of(r, key):
    """The model blob as one byte string, whatever the server's chunk size."""
    reply = r.execute_command("AI.MODELGET", key, "BLOB")
    return b"".join(reply) if isinstance(reply, list) else reply


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_replica_promoted_after_the_master_dies_serves_the_same_models(diskless):
    add, two = torch_add_model(), torch_two_outputs_model()
    master_cfg = {"repl-diskless-sync": diskless, "repl-diskless-sync-delay": 0}
    with running_server(master_cfg, module_args=("DEBUG_COMMAND", "yes", "MODEL_CHUNK_SIZE", CHUNK)) as master:
        m = master.client()
        # before the replica exists: it gets these by the full sync (RDB)
        assert m.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "TAG", "v1", "BATCHSIZE", 4,
                                 "BLOB", add) == b"OK"
        assert m.execute_command("AI.SCRIPTSTORE", "s", "CPU", "TAG", "st", "ENTRY_POINTS", 2, "double", "mark",
                                 "SOURCE", SCRIPT) == b"OK"
        assert m.execute_command("AI.TENSORSET", "a", "FLOAT", 2, "VALUES", 1, 2) == b"OK"
        assert m.execute_command("AI.TENSORSET", "b", "FLOAT", 2, "VALUES", 10, 20) == b"OK"
        assert m.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == b"OK"
        assert isinstance(m.execute_command("AI.MODELGET", "m", "BLOB"), list)  # chunked on the master

        # the replica's own sync delay matters once it is the master of the old one
        with running_server({"replicaof": f"127.0.0.1 {master.port}", "repl-diskless-sync-delay": 0}) as replica:
            rr = replica.client()
            wait_for(lambda: rr.info("replication").get("master_link_status") == "up", 20, what="the full sync")
            assert in_sync(m)

            # after: these come by the command stream
            half = len(two) // 2
            assert m.execute_command("AI.MODELSTORE", "m2", "TORCH", "cpu", "TAG", "v2",
                                     "BLOB", two[:half], two[half:]) == b"OK"
            assert m.execute_command("AI.SCRIPTSTORE", "s2", "CPU", "ENTRY_POINTS", 1, "sub",
                                     "SOURCE", SCRIPT2) == b"OK"
            assert m.execute_command("AI.MODELEXECUTE", "m2", "INPUTS", 2, "a", "b",
                                     "OUTPUTS", 2, "sum", "prod") == b"OK"
            assert m.execute_command("AI.SCRIPTEXECUTE", "s", "mark", "KEYS", 1, "flag", "INPUTS", 1, "c",
                                     "ARGS", 1, "ran", "OUTPUTS", 1, "d") == b"OK"
            assert m.execute_command("AI.DAGEXECUTE", "LOAD", 2, "a", "b", "PERSIST", 1, "p", "|>",
                                     "AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "t", "|>",
                                     "AI.SCRIPTEXECUTE", "s2", "sub", "INPUTS", 2, "t", "a", "OUTPUTS", 1, "p", "|>",
                                     "AI.TENSORGET", "p", "VALUES") == [b"OK", b"OK", [b"10", b"20"]]
            assert m.execute_command("AI.MODELRUN", "m", "INPUTS", "a", "a", "OUTPUTS", "mr") == b"OK"
            assert in_sync(m)

            # the replica has exactly what the master has
            expected_keys = [b"a", b"b", b"c", b"d", b"flag", b"m", b"m2", b"mr", b"p", b"prod", b"s", b"s2", b"sum"]
            wait_for(lambda: sorted(rr.keys()) == expected_keys, 10, what="the command stream")
            master_view = snapshot(m)
            replica_view = snapshot(rr)
            # the replica answers the model blobs unchunked (its own MODEL_CHUNK_SIZE is the default)
            for key in (b"m", b"m2"):
                kind, meta, blob = master_view[key]
                master_view[key] = (kind, meta, b"".join(blob))
            assert replica_view == master_view
            assert blob_of(rr, "m") == add and blob_of(rr, "m2") == two
            assert rr.execute_command("AI.MODELGET", "m", "META")[:8] == \
                [b"backend", b"TORCH", b"device", b"CPU", b"tag", b"v1", b"batchsize", 4]
            assert rr.execute_command("AI.MODELGET", "m2", "META")[:6] == \
                [b"backend", b"TORCH", b"device", b"cpu", b"tag", b"v2"]
            assert rr.execute_command("AI.SCRIPTGET", "s", "META") == \
                [b"device", b"CPU", b"tag", b"st", b"Entry Points", [b"double", b"mark"]]
            assert rr.get("flag") == b"ran"
            assert rr.execute_command("AI.TENSORGET", "c", "VALUES") == [b"11", b"22"]
            assert rr.execute_command("AI.TENSORGET", "d", "VALUES") == [b"12", b"23"]
            assert rr.execute_command("AI.TENSORGET", "prod", "VALUES") == [b"10", b"40"]
            assert rr.execute_command("AI.TENSORGET", "mr", "VALUES") == [b"2", b"4"]

            # replicas never count the master's runs; they keep the same records
            for key in ("m", "m2", "s", "s2"):
                assert info(rr, key)[b"calls"] == 0, key
            assert info(m, "m")[b"calls"] == 3 and info(m, "s")[b"calls"] == 1
            assert info(rr, "s")[b"samples"] == -1 and info(rr, "m2")[b"tag"] == b"v2"

            # read-only DAGs run on the replica, with the models of both origins
            assert rr.execute_command("AI.DAGEXECUTE_RO", "LOAD", 2, "c", "p", "|>",
                                      "AI.MODELEXECUTE", "m", "INPUTS", 2, "c", "p", "OUTPUTS", 1, "x", "|>",
                                      "AI.MODELEXECUTE", "m2", "INPUTS", 2, "x", "c", "OUTPUTS", 2, "y", "z", "|>",
                                      "AI.TENSORGET", "y", "VALUES", "|>", "AI.TENSORGET", "z", "VALUES") == \
                [b"OK", b"OK", [b"32", b"64"], [b"231", b"924"]]
            assert rr.execute_command("AI.DAGRUN_RO", "LOAD", 1, "a", "|>",
                                      "AI.SCRIPTRUN", "s", "double", "INPUTS", "a", "OUTPUTS", "q", "|>",
                                      "AI.TENSORGET", "q", "VALUES") == [b"OK", [b"2", b"4"]]
            assert info(rr, "m")[b"calls"] == 1 and info(rr, "m2")[b"calls"] == 1
            assert not rr.exists("x", "y", "z", "q")
            with pytest.raises(redis.ReadOnlyError):
                rr.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c")
            with pytest.raises(redis.ReadOnlyError):
                rr.execute_command("AI.SCRIPTEXECUTE", "s", "double", "INPUTS", 1, "a", "OUTPUTS", 1, "c")

            # the master dies; the replica is promoted
            master.kill()
            wait_for(lambda: rr.info("replication").get("master_link_status") == "down", 20,
                     what="the replica to notice")
            assert rr.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
            assert rr.info("replication")["role"] == "master"

            assert blob_of(rr, "m") == add and blob_of(rr, "m2") == two
            assert rr.execute_command("AI.MODELGET", "m", "BLOB") == add
            assert rr.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "c", "d", "OUTPUTS", 1, "c2") == b"OK"
            assert rr.execute_command("AI.TENSORGET", "c2", "VALUES") == [b"23", b"45"]
            assert rr.execute_command("AI.SCRIPTEXECUTE", "s", "mark", "KEYS", 1, "flag", "INPUTS", 1, "c2",
                                      "ARGS", 1, "promoted", "OUTPUTS", 1, "d2") == b"OK"
            assert rr.get("flag") == b"promoted"
            assert rr.execute_command("AI.TENSORGET", "d2", "VALUES") == [b"24", b"46"]
            assert rr.execute_command("AI.SCRIPTEXECUTE", "s2", "sub", "INPUTS", 2, "d2", "c2",
                                      "OUTPUTS", 1, "one") == b"OK"
            assert rr.execute_command("AI.TENSORGET", "one", "VALUES") == [b"1", b"1"]
            assert rr.execute_command("AI.DAGEXECUTE", "LOAD", 1, "a", "PERSIST", 2, "p2s", "p2p", "|>",
                                      "AI.MODELEXECUTE", "m2", "INPUTS", 2, "a", "a", "OUTPUTS", 2, "p2s", "p2p") == \
                [b"OK"]
            assert rr.execute_command("AI.TENSORGET", "p2s", "VALUES") == [b"2", b"4"]
            assert rr.execute_command("AI.TENSORGET", "p2p", "VALUES") == [b"1", b"4"]
            assert rr.execute_command("AI.MODELSTORE", "m3", "TORCH", "CPU", "BLOB", add) == b"OK"
            assert rr.execute_command("AI.MODELDEL", "m2") == b"OK"
            assert info(rr, "m")[b"calls"] == 2  # the RO DAG's run and this one
            assert info(rr, "s")[b"calls"] == 2  # the RO DAG's SCRIPTRUN and this SCRIPTEXECUTE

            # the old master comes back (with the stale RDB of its disk-based sync, if any) and follows
            # the new master: a full sync the other way replaces whatever it had
            master.start()
            m = master.client()
            assert m.execute_command("REPLICAOF", "127.0.0.1", replica.port) == b"OK"
            wait_for(lambda: m.info("replication").get("master_link_status") == "up", 20, what="the reverse sync")
            assert in_sync(rr)
            expected = snapshot(rr)
            assert sorted(expected) == sorted(set(expected_keys) - {b"m2"} | {b"c2", b"d2", b"one", b"p2s", b"p2p",
                                                                              b"m3"})
            got = snapshot(m)
            for key in (b"m", b"m3"):  # the old master still answers in CHUNK-byte chunks
                kind, meta, blob = got[key]
                assert isinstance(blob, list) and all(len(part) <= CHUNK for part in blob)
                got[key] = (kind, meta, b"".join(blob))
            assert got == expected
            assert m.execute_command("AI.DAGEXECUTE_RO", "LOAD", 1, "one", "|>",
                                     "AI.MODELEXECUTE", "m3", "INPUTS", 2, "one", "one", "OUTPUTS", 1, "o", "|>",
                                     "AI.TENSORGET", "o", "VALUES") == [b"OK", [b"2", b"2"]]
            assert replica.alive() and master.alive()
