"""Standing pipelines (docs/COMMANDS.md §7.6): a key binding a DAG to an input stream and its
consumer group; every entry gets an output entry or a dead-letter entry, then XACK.

No timing: the pump runs just before Redis sleeps, so once a command that followed an XADD is
answered, the pipeline has already read what it could (or, paused, has not: XINFO GROUPS tells).
Pending entries after a crash are made by reading as the pipeline's consumer `redisai` while it
is paused, which is what a server that stopped mid-batch leaves behind.
"""
import numpy as np
import pytest
import redis

from helpers import replicas_acked
from models import torch_add_model
from redis_server import running_server, wait_for

SCRIPT = """
def check(tensors: List[Tensor], keys: List[str], args: List[str]):
    assert bool(tensors[0].min() >= 0), "negative input"
    return tensors[0] * 2

def mark(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("SET", keys[0], "1")
    return tensors[0]
"""
SCHEMA = ["SCHEMA", 2, "a", "FLOAT", 2, 1, 3, "b", "FLOAT", 2, 1, 3]
ADD = ["|>", "AI.MODELEXECUTE", "m{p}", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c"]
CHECK = ["|>", "AI.SCRIPTEXECUTE", "s{p}", "check", "INPUTS", 1, "c", "OUTPUTS", 1, "d"]


def definition(batch=4, ops=ADD, outputs=("c",)):
    return ["INPUT", "in{p}", "GROUP", "g", *SCHEMA, "OUTPUT", "out{p}", len(outputs), *outputs,
            "DEADLETTER", "dl{p}", "BATCH", batch, *ops]


def store_fixtures(c):
    c.execute_command("AI.MODELSTORE", "m{p}", "TORCH", "CPU", "BLOB", torch_add_model())
    c.execute_command("AI.SCRIPTSTORE", "s{p}", "CPU", "ENTRY_POINTS", 2, "check", "mark", "SOURCE", SCRIPT)


@pytest.fixture
def m(r):
    store_fixtures(r)
    return r


def entry(a, b=(1, 2, 3)):
    return {"a": np.array(a, dtype=np.float32).tobytes(), "b": np.array(b, dtype=np.float32).tobytes()}


def add_entries(c, *entries):
    """In one MULTI: they arrive together."""
    p = c.pipeline(transaction=True)
    for e in entries:
        p.xadd("in{p}", e)
    return [i.decode() for i in p.execute()]


def listed(c, key="p{p}"):
    for fields in c.execute_command("AI.PIPELINELIST"):
        info = dict(zip((k.decode() for k in fields[0::2]), fields[1::2]))
        if info["name"] == key.encode():
            return info
    return None


def group(c):
    (g,) = c.xinfo_groups("in{p}")
    return g


def outputs(c, stream="out{p}", field=b"c"):
    return [(f[b"entry_id"].decode(), np.frombuffer(f[field], dtype=np.float32).tolist()) for _, f in c.xrange(stream)]


def wait_done(c, n, stream="out{p}"):
    wait_for(lambda: c.xlen(stream) >= n, what=f"{n} entries in {stream}")


def test_every_entry_gets_its_output_entry_in_order_then_is_acknowledged(m):
    assert m.execute_command("AI.PIPELINECREATE", "p{p}", *definition()) == b"OK"
    ids = []
    for i in range(10):
        ids.append(m.xadd("in{p}", entry([i, i, i])).decode())
    wait_done(m, 10)
    assert outputs(m) == [(ids[i], [i + 1.0, i + 2.0, i + 3.0]) for i in range(10)]
    wait_for(lambda: group(m)["pending"] == 0, what="the entries acknowledged")
    info = listed(m)
    assert (info["state"], info["entries"], info["errors"], info["pending"], info["lag"]) == (b"running", 10, 0, 0, 0)
    assert info["input"] == b"in{p}" and info["output"] == b"out{p}" and info["batch"] == 4
    assert info["last_error"] is None


def test_entries_that_arrive_together_run_as_one_batch(m):
    m.execute_command("AI.PIPELINECREATE", "p{p}", *definition(batch=4))
    ids = add_entries(m, entry([1, 1, 1]), entry([2, 2, 2]), entry([3, 3, 3]))
    wait_done(m, 3)
    assert [i for i, _ in outputs(m)] == ids
    assert listed(m)["batches"] == 1
    stats = m.execute_command("AI.STATS", "m{p}")
    sizes = dict(zip(stats[0::2], stats[1::2]))[b"batch_sizes"]
    assert sizes == [[b"3-4", 1]]


def test_a_failing_entry_goes_to_the_dead_letter_stream_and_the_others_go_on(m):
    m.execute_command("AI.PIPELINECREATE", "p{p}", *definition(ops=ADD + CHECK, outputs=("d",)))
    ids = add_entries(m, entry([1, 1, 1]), entry([-9, -9, -9]), entry([3, 3, 3]))
    wait_done(m, 1, "dl{p}")
    wait_done(m, 2)
    assert outputs(m, field=b"d") == [(ids[0], [4.0, 6.0, 8.0]), (ids[2], [8.0, 10.0, 12.0])]
    ((_, dead),) = m.xrange("dl{p}")
    # the error AI.DAGEXECUTE gives for the same entry
    reply = m.execute_command("AI.DAGEXECUTE", "XLOAD", "in{p}", ids[1], *SCHEMA[1:], *ADD, *CHECK)
    assert dead[b"entry_id"].decode() == ids[1] and dead[b"error"] == str(reply[1]).encode()
    assert dead[b"error"].startswith(b"The following operation failed in the TorchScript interpreter")
    wait_for(lambda: group(m)["pending"] == 0, what="every entry acknowledged")
    info = listed(m)
    assert (info["entries"], info["errors"]) == (2, 1)
    assert info["last_error"] == dead[b"error"][:255]
    assert m.xlen("in{p}") == 3  # dead-lettered entries stay in the input stream


@pytest.mark.parametrize("bad, error", [
    ({"a": np.zeros(3, np.float32).tobytes()}, "the entry has no field b"),
    ({"a": b"short", "b": np.zeros(3, np.float32).tobytes()}, "data length does not match tensor shape and type"),
])
def test_an_entry_that_does_not_fit_the_schema_is_dead_lettered_without_running(m, bad, error):
    m.execute_command("AI.PIPELINECREATE", "p{p}", *definition())
    ids = add_entries(m, entry([1, 1, 1]), bad)
    wait_done(m, 1, "dl{p}")
    wait_done(m, 1)
    ((_, dead),) = m.xrange("dl{p}")
    assert (dead[b"entry_id"].decode(), dead[b"error"].decode()) == (ids[1], "ERR " + error)
    assert [i for i, _ in outputs(m)] == [ids[0]]


def test_a_model_deleted_under_a_pipeline_dead_letters_its_entries(m):
    m.execute_command("AI.PIPELINECREATE", "p{p}", *definition())
    m.execute_command("AI.MODELDEL", "m{p}")
    (i,) = add_entries(m, entry([1, 1, 1]))
    wait_done(m, 1, "dl{p}")
    ((_, dead),) = m.xrange("dl{p}")
    assert dead[b"entry_id"].decode() == i and dead[b"error"] == b"ERR model key is empty"


def test_outputs_that_do_not_split_into_the_batch_fail_it_and_each_entry_runs_alone(m):
    """A DAG that sums the batch away (TENSORSET of a constant as the output): alone, each entry's
    output is the whole tensor."""
    ops = ["|>", "AI.TENSORSET", "k", "FLOAT", 1, "VALUES", 5, *ADD]
    m.execute_command("AI.PIPELINECREATE", "p{p}", *definition(ops=ops, outputs=("k",)))
    ids = add_entries(m, entry([1, 1, 1]), entry([2, 2, 2]))
    wait_done(m, 2)
    assert outputs(m, field=b"k") == [(ids[0], [5.0]), (ids[1], [5.0])]
    assert listed(m)["batches"] == 3  # the batch of two, then each alone


def test_pause_holds_the_entries_and_resume_runs_them(m):
    m.execute_command("AI.PIPELINECREATE", "p{p}", *definition())
    assert m.execute_command("AI.PIPELINEPAUSE", "p{p}") == b"OK"
    add_entries(m, entry([1, 1, 1]))
    m.ping()  # the pump ran before this answer; paused, it read nothing
    assert (group(m)["pending"], group(m)["lag"]) == (0, 1)
    assert listed(m)["state"] == b"paused"
    assert m.execute_command("AI.PIPELINERESUME", "p{p}") == b"OK"
    wait_done(m, 1)
    assert listed(m)["state"] == b"running"


@pytest.mark.parametrize("drop", [["AI.PIPELINEDROP", "p{p}"], ["DEL", "p{p}"]])
def test_dropping_the_key_stops_the_pipeline_and_keeps_group_and_streams(m, drop):
    m.execute_command("AI.PIPELINECREATE", "p{p}", *definition())
    m.execute_command(*drop)
    add_entries(m, entry([1, 1, 1]))
    m.ping()
    assert (group(m)["pending"], group(m)["lag"]) == (0, 1)
    assert listed(m) is None and not m.exists("p{p}") and not m.exists("out{p}")


def test_an_existing_group_is_used_where_it_stands(m):
    first = m.xadd("in{p}", entry([1, 1, 1])).decode()
    m.xgroup_create("in{p}", "g", id="0")
    m.execute_command("AI.PIPELINECREATE", "p{p}", *definition())
    m.ping()
    wait_done(m, 1)
    assert [i for i, _ in outputs(m)] == [first]


def test_a_new_group_starts_at_new_entries(m):
    m.xadd("in{p}", entry([1, 1, 1]))
    m.execute_command("AI.PIPELINECREATE", "p{p}", *definition())
    (i,) = add_entries(m, entry([2, 2, 2]))
    wait_done(m, 1)
    assert [j for j, _ in outputs(m)] == [i]


def test_creating_again_replaces_the_pipeline(m):
    m.execute_command("AI.PIPELINECREATE", "p{p}", *definition())
    m.execute_command("AI.PIPELINECREATE", "p{p}", *definition(ops=ADD + CHECK, outputs=("d",)))
    add_entries(m, entry([1, 1, 1]))
    wait_done(m, 1)
    assert outputs(m, field=b"d")[0][1] == [4.0, 6.0, 8.0]
    assert len(m.execute_command("AI.PIPELINELIST")) == 1


CREATE_ERRORS = {
    "no input": (definition()[2:], "AI.PIPELINECREATE needs INPUT, GROUP, SCHEMA, OUTPUT and DEADLETTER"),
    "unknown item": (["COLOR", "red", *definition()], "Invalid AI.PIPELINECREATE command. Unexpected argument: COLOR"),
    "repeated item": (["GROUP", "h", *definition()], "Invalid AI.PIPELINECREATE command. Unexpected argument: GROUP"),
    "schema count": (["SCHEMA", 0, *definition()[4:]], "invalid or negative value found in number of SCHEMA fields"),
    "schema dtype": ([*definition()[:4], "SCHEMA", 1, "a", "FLOAT7", 1, 1, *definition()[16:]], "invalid data type"),
    "schema zero rows": ([*definition()[:4], "SCHEMA", 1, "a", "FLOAT", 2, 0, 3, *definition()[16:]],
                         "a SCHEMA field's shape must have a first dimension of at least 1, and fit"),
    "output count": ([*definition()[:16], "OUTPUT", "out{p}", 0, *definition()[19:]],
                     "OUTPUT needs a stream, a number of tensors and that many names"),
    "output unique": (definition(outputs=("c", "c")), "OUTPUT names must be unique"),
    "output unknown": (definition(outputs=("zz",)), "OUTPUT tensor cannot be found in DAG"),
    "batch": (definition(batch=0), "BATCH must be an integer from 1 to 4096"),
    "no op": (definition(ops=[]), "DAG is empty"),
    "loop": ([*definition()[:16], "OUTPUT", "in{p}", *definition()[18:]],
             "a pipeline's OUTPUT and DEADLETTER streams must not be its INPUT stream"),
    "missing model": (definition(ops=["|>", "AI.MODELEXECUTE", "none{p}", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c"]),
                      "model key is empty"),
    "unknown input": (definition(ops=["|>", "AI.MODELEXECUTE", "m{p}", "INPUTS", 2, "a", "x", "OUTPUTS", 1, "c"]),
                      "INPUT key cannot be found in DAG"),
    "deprecated op": (definition(ops=["|>", "AI.MODELRUN", "m{p}", "INPUTS", "a", "b", "OUTPUTS", "c"]),
                      "Deprecated AI.MODELRUN cannot be used in AI.DAGEXECUTE command"),
    "user from a client": (["USER", "default", *definition()], "USER is only taken from the replication link or the AOF"),
}


@pytest.mark.parametrize("case", sorted(CREATE_ERRORS))
def test_bad_definitions_get_their_error_and_change_nothing(m, case):
    args, error = CREATE_ERRORS[case]
    before = sorted(m.keys("*"))
    with pytest.raises(redis.ResponseError) as e:
        m.execute_command("AI.PIPELINECREATE", "p{p}", *args)
    assert str(e.value) == error
    assert sorted(m.keys("*")) == before


def test_wrong_types_are_refused(m):
    m.set("str{p}", "x")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        m.execute_command("AI.PIPELINECREATE", "str{p}", *definition())
    assert not m.exists("in{p}")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        m.execute_command("AI.PIPELINECREATE", "p{p}", *["str{p}" if a == "in{p}" else a for a in definition()])
    assert not m.exists("p{p}")
    for command in ("AI.PIPELINEPAUSE", "AI.PIPELINERESUME", "AI.PIPELINEDROP"):
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
            m.execute_command(command, "str{p}")
        with pytest.raises(redis.ResponseError, match="^pipeline key is empty$"):
            m.execute_command(command, "none{p}")


def test_the_keys_reported_are_the_pipeline_its_streams_and_its_models(m):
    keys = m.command_getkeys("AI.PIPELINECREATE", "p{p}", *definition(ops=ADD + CHECK))
    assert keys == ["p{p}", "in{p}", "out{p}", "dl{p}", "m{p}", "s{p}"]


def test_script_steps_run_as_the_user_who_created_the_pipeline(m):
    m.execute_command("ACL", "SETUSER", "u", "on", ">pw", "~*{p}", "+@all")
    u = redis.Redis(host="127.0.0.1", port=m.connection_pool.connection_kwargs["port"], username="u", password="pw")
    ops = [*ADD, "|>", "AI.SCRIPTEXECUTE", "s{p}", "mark", "KEYS", 1, "secret", "INPUTS", 1, "c", "OUTPUTS", 1, "c"]
    u.execute_command("AI.PIPELINECREATE", "p{p}", *definition(ops=ops))
    u.close()
    add_entries(m, entry([1, 1, 1]))
    wait_done(m, 1, "dl{p}")
    ((_, dead),) = m.xrange("dl{p}")
    assert b"NOPERM" in dead[b"error"] or b"permission" in dead[b"error"].lower()
    assert not m.exists("secret")


def stop_mid_batch(c, *entries):
    """What a master that stopped mid-batch leaves: entries its consumer read and never answered
    (added and read in one MULTI, so the pump never sees them as new)."""
    p = c.pipeline(transaction=True)
    for e in entries:
        p.xadd("in{p}", e)
    p.xreadgroup("g", "redisai", {"in{p}": ">"}, count=len(entries))
    ids = [i.decode() for i in p.execute()[:-1]]
    c.ping()  # the pump ran: it reads only new entries once it started
    assert group(c)["pending"] == len(entries)
    return ids


def test_a_replica_learns_it_never_runs_it_and_runs_what_was_pending_once_promoted():
    with running_server({"appendonly": "yes"}) as master:
        with running_server({"replicaof": f"127.0.0.1 {master.port}"}) as replica:
            c = master.client()
            store_fixtures(c)
            c.execute_command("AI.PIPELINECREATE", "p{p}", *definition())
            done = add_entries(c, entry([1, 1, 1]), entry([2, 2, 2]))
            wait_done(c, 2)
            stuck = stop_mid_batch(c, entry([3, 3, 3]), entry([4, 4, 4]))
            assert replicas_acked(c)
            r = replica.client()
            assert listed(r)["state"] == b"replica"
            assert r.xrange("out{p}") == c.xrange("out{p}")  # the master's writes only, once
            assert r.xinfo_groups("in{p}")[0]["pending"] == 2
            r.execute_command("REPLICAOF", "NO", "ONE")
            wait_done(r, 4)
            assert [i for i, _ in outputs(r)] == done + stuck
            wait_for(lambda: r.xinfo_groups("in{p}")[0]["pending"] == 0, what="the pending entries acknowledged")


@pytest.mark.parametrize("how", ["restart", "debug reload", "aof rewrite"])
def test_it_survives_a_restart_and_runs_what_was_pending(how):
    with running_server({"appendonly": "yes", "appendfsync": "always"}) as s:
        c = s.client()
        store_fixtures(c)
        c.execute_command("AI.PIPELINECREATE", "p{p}", *definition())
        stuck = stop_mid_batch(c, entry([1, 1, 1]), entry([2, 2, 2]))
        c.execute_command("AI.PIPELINEPAUSE", "p{p}")
        if how == "debug reload":
            c.execute_command("DEBUG", "RELOAD")
        else:
            if how == "aof rewrite":
                c.bgrewriteaof()
                wait_for(lambda: c.info("persistence")["aof_rewrite_in_progress"] == 0, what="the rewrite")
            s.restart()
            c = s.client()
        info = listed(c)
        assert info["state"] == b"paused" and info["pending"] == 2  # the flag is saved
        c.execute_command("AI.PIPELINERESUME", "p{p}")
        wait_done(c, 2)
        assert [i for i, _ in outputs(c)] == stuck
        wait_for(lambda: group(c)["pending"] == 0, what="the pending entries acknowledged")
        if how == "restart":  # unpaused, with no RESUME left in the AOF, loading alone re-runs it
            stuck = stop_mid_batch(c, entry([3, 3, 3]))
            c.bgrewriteaof()
            wait_for(lambda: c.info("persistence")["aof_rewrite_in_progress"] == 0, what="the rewrite")
            s.restart()
            c = s.client()
            wait_done(c, 3)
            assert [i for i, _ in outputs(c)][2:] == stuck
