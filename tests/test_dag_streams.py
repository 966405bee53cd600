"""Streams in and out of a DAG (docs/COMMANDS.md §7.5): XLOAD reads one stream entry's fields as
tensors typed by the command's schema, XPERSIST appends the outputs' raw bytes as a new entry.

Checked differentially: a DAG that XLOADs an entry answers what the same DAG LOADing tensor keys
of the same bytes answers, and what XPERSIST appends is byte for byte what PERSIST stores.
Every refused command leaves the keyspace as it was.
"""
import numpy as np
import pytest
import redis

from helpers import replicas_acked
from models import torch_add_model
from redis_server import running_server

A = np.array([[1.5, -2], [3, 4]], dtype=np.float32)
B = np.array([[10, 20], [30, 40]], dtype=np.float32)
RUN = ["|>", "AI.MODELEXECUTE", "m{s}", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c"]
SCHEMA = ["a", "FLOAT", 2, 2, 2, "b", "FLOAT", 2, 2, 2]


@pytest.fixture
def m(r):
    r.execute_command("AI.MODELSTORE", "m{s}", "TORCH", "CPU", "BLOB", torch_add_model())
    r.xadd("in{s}", {"a": A.tobytes(), "b": B.tobytes(), "note": "not a tensor"})
    return r


def keyspace(c):
    return {k: c.dump(k) for k in sorted(c.keys("*"))}


def test_an_entry_runs_as_tensor_keys_of_the_same_bytes_would(m):
    m.execute_command("AI.TENSORSET", "a{s}", "FLOAT", 2, 2, "BLOB", A.tobytes())
    m.execute_command("AI.TENSORSET", "b{s}", "FLOAT", 2, 2, "BLOB", B.tobytes())
    by_keys = m.execute_command("AI.DAGEXECUTE", "LOAD", 2, "a{s}", "b{s}", "PERSIST", 1, "c{s}",
                                "|>", "AI.MODELEXECUTE", "m{s}", "INPUTS", 2, "a{s}", "b{s}", "OUTPUTS", 1, "c{s}",
                                "|>", "AI.TENSORGET", "c{s}", "BLOB")
    (entry_id, _), = m.xrange("in{s}")
    for which in (entry_id, "+"):
        by_entry = m.execute_command("AI.DAGEXECUTE", "XLOAD", "in{s}", which, 2, *SCHEMA,
                                     "XPERSIST", "out{s}", 1, "c", *RUN, "|>", "AI.TENSORGET", "c", "BLOB")
        assert by_entry == by_keys
    assert np.frombuffer(by_keys[1], dtype=np.float32).tolist() == (A + B).ravel().tolist()
    entries = m.xrange("out{s}")
    assert len(entries) == 2
    stored = m.execute_command("AI.TENSORGET", "c{s}", "BLOB")
    assert all(fields == {b"c": stored} for _, fields in entries)


def test_plus_reads_the_newest_entry_and_an_id_reads_that_entry(m):
    (first, _), = m.xrange("in{s}")
    m.xadd("in{s}", {"a": (A * 0).tobytes(), "b": (B * 0).tobytes()})

    def total(which):
        reply = m.execute_command("AI.DAGEXECUTE_RO", "XLOAD", "in{s}", which, 2, *SCHEMA, *RUN,
                                  "|>", "AI.TENSORGET", "c", "VALUES")
        return sum(float(v) for v in reply[1])

    assert total("+") == 0
    assert total(first) == float((A + B).sum())


def test_fields_name_dag_tensors_and_each_takes_its_own_type_and_shape(m):
    m.xadd("mixed{s}", {"i": np.arange(6, dtype=np.int64).tobytes(), "t": b"ab\0c\0", "u": bytes([7])})
    reply = m.execute_command("AI.DAGEXECUTE_RO", "XLOAD", "mixed{s}", "+", 3,
                              "i", "INT64", 2, 2, 3, "t", "STRING", 1, 2, "u", "UINT8", 1, 1,
                              "|>", "AI.TENSORGET", "i", "META", "VALUES",
                              "|>", "AI.TENSORGET", "t", "VALUES", "|>", "AI.TENSORGET", "u", "VALUES")
    assert reply[0] == [b"dtype", b"INT64", b"shape", [2, 3], b"values", [0, 1, 2, 3, 4, 5]]
    assert reply[1] == [b"ab", b"c"]
    assert reply[2] == [7]


def test_xpersist_appends_every_named_tensor_as_one_entry_and_persist_still_stores_keys(m):
    reply = m.execute_command("AI.DAGEXECUTE", "XLOAD", "in{s}", "+", 2, *SCHEMA, "PERSIST", 1, "c",
                              "XPERSIST", "out{s}", 2, "c", "a", *RUN)
    assert reply == [b"OK"]
    (_, fields), = m.xrange("out{s}")
    assert list(fields) == [b"c", b"a"]
    assert fields[b"c"] == m.execute_command("AI.TENSORGET", "c", "BLOB")
    assert fields[b"a"] == A.tobytes()


def test_the_append_is_an_xadd_for_readers_keyspace_events_and_blocked_clients(m):
    m.config_set("notify-keyspace-events", "Et")
    sub = m.pubsub()
    sub.subscribe("__keyevent@0__:xadd")
    assert sub.get_message(timeout=10)["type"] == "subscribe"
    m.execute_command("AI.DAGEXECUTE", "XLOAD", "in{s}", "+", 2, *SCHEMA, "XPERSIST", "out{s}", 1, "c", *RUN)
    message = sub.get_message(timeout=30)
    assert message["data"] == b"out{s}"
    sub.close()


def test_an_async_dag_appends_when_it_ends(m):
    run_id = m.execute_command("AI.DAGEXECUTEASYNC", "XLOAD", "in{s}", "+", 2, *SCHEMA,
                               "XPERSIST", "out{s}", 1, "c", *RUN)
    reader = redis.Redis(host="127.0.0.1", port=m.connection_pool.connection_kwargs["port"])
    got = reader.xread({"out{s}": "0-0"}, block=60000)
    reader.close()
    (_, entries), = got
    assert np.frombuffer(entries[0][1][b"c"], dtype=np.float32).tolist() == (A + B).ravel().tolist()
    assert m.execute_command("AI.DAGRUNINFO", run_id)[3] in (b"RUNNING", b"DONE")


def test_a_failing_dag_appends_nothing(m):
    m.execute_command("AI.TENSORSET", "wide", "FLOAT", 3, "VALUES", 1, 2, 3)
    reply = m.execute_command("AI.DAGEXECUTE", "LOAD", 1, "wide", "XLOAD", "in{s}", "+", 2, *SCHEMA,
                              "XPERSIST", "out{s}", 1, "c",
                              "|>", "AI.MODELEXECUTE", "m{s}", "INPUTS", 2, "a", "wide", "OUTPUTS", 1, "c")
    assert isinstance(reply[0], redis.ResponseError)
    assert not m.exists("out{s}")


def test_xpersist_into_another_type_ends_the_reply_with_its_error_after_persist_keys(m):
    m.set("out{s}", "a string")
    reply = m.execute_command("AI.DAGEXECUTE", "XLOAD", "in{s}", "+", 2, *SCHEMA, "PERSIST", 1, "c",
                              "XPERSIST", "out{s}", 1, "c", *RUN)
    assert reply[0] == b"OK"
    assert str(reply[1]).startswith("WRONGTYPE")
    assert m.get("out{s}") == b"a string"
    assert m.exists("c")  # PERSIST keys are stored first, as documented


def test_the_deprecated_dagrun_takes_them_too(m):
    reply = m.execute_command("AI.DAGRUN", "XLOAD", "in{s}", "+", 2, *SCHEMA, "XPERSIST", "out{s}", 1, "c",
                              "|>", "AI.MODELRUN", "m{s}", "INPUTS", "a", "b", "OUTPUTS", "c")
    assert reply == [b"OK"]
    assert m.xlen("out{s}") == 1


def test_xload_alone_satisfies_the_keyword_rule(m):
    reply = m.execute_command("AI.DAGEXECUTE", "XLOAD", "in{s}", "+", 1, "a", "FLOAT", 1, 4,
                              "|>", "AI.TENSORGET", "a", "VALUES")
    assert [float(v) for v in reply[0]] == A.ravel().tolist()


def test_the_streams_are_the_keys_reported(m):
    command = ["AI.DAGEXECUTE", "XLOAD", "in{s}", "+", 2, *SCHEMA, "XPERSIST", "out{s}", 1, "c", *RUN]
    assert m.command_getkeys(*command) == ["in{s}", "out{s}", "m{s}"]


ERRORS = {
    "xload arguments": (["XLOAD", "in{s}", "+"], "missing arguments after XLOAD keyword in DAG command"),
    "xload count": (["XLOAD", "in{s}", "+", 0, *SCHEMA], "invalid or negative value found in number of fields to XLOAD"),
    "xload count word": (["XLOAD", "in{s}", "+", "two", *SCHEMA], "invalid or negative value found in number of fields to XLOAD"),
    "xload id": (["XLOAD", "in{s}", "nope", 2, *SCHEMA], "XLOAD needs a stream entry ID or +"),
    "xload no entry": (["XLOAD", "in{s}", "1-1", 2, *SCHEMA], "XLOAD stream entry not found"),
    "xload no stream": (["XLOAD", "none{s}", "+", 2, *SCHEMA], "XLOAD stream entry not found"),
    "xload wrong type": (["XLOAD", "m{s}", "+", 2, *SCHEMA], "WRONGTYPE Operation against a key holding the wrong kind of value"),
    "xload field": (["XLOAD", "in{s}", "+", 1, "zz", "FLOAT", 1, 4], "XLOAD field not found in the stream entry: zz"),
    "xload dtype": (["XLOAD", "in{s}", "+", 1, "a", "FLOAT3", 1, 4], "invalid data type"),
    "xload ndims": (["XLOAD", "in{s}", "+", 1, "a", "FLOAT", 0], "a schema field needs a number of dimensions from 1 to 64"),
    "xload dim": (["XLOAD", "in{s}", "+", 1, "a", "FLOAT", 1, -4], "invalid or negative value found in tensor shape"),
    "xload length": (["XLOAD", "in{s}", "+", 1, "a", "FLOAT", 1, 5], "data length does not match tensor shape and type"),
    "xload bytes not a string tensor": (["XLOAD", "in{s}", "+", 1, "note", "STRING", 1, 1],
                                        "Number of string elements in data blob does not match tensor length"),
    "xload fewer fields": (["XLOAD", "in{s}", "+", 3, *SCHEMA], "number of fields does not match the schema given"),
    "xload twice": (["XLOAD", "in{s}", "+", 2, *SCHEMA, "XLOAD", "in{s}", "+", 2, *SCHEMA],
                    "Invalid DAG command. Unexpected argument:  XLOAD"),
    "xpersist arguments": (["XLOAD", "in{s}", "+", 2, *SCHEMA, "XPERSIST", "out{s}"],
                           "missing arguments after XPERSIST keyword in DAG command"),
    "xpersist count": (["XLOAD", "in{s}", "+", 2, *SCHEMA, "XPERSIST", "out{s}", -1, "c"],
                       "invalid or negative value found in number of tensors to XPERSIST"),
    "xpersist length": (["XLOAD", "in{s}", "+", 2, *SCHEMA, "XPERSIST", "out{s}", 40, "c"],
                        "number of tensors to XPERSIST does not match the number of given arguments"),
    "xpersist unique": (["XLOAD", "in{s}", "+", 2, *SCHEMA, "XPERSIST", "out{s}", 2, "c", "c"],
                        "XPERSIST names must be unique"),
    "xpersist not found": (["XLOAD", "in{s}", "+", 2, *SCHEMA, "XPERSIST", "out{s}", 1, "zz"],
                           "XPERSIST tensor cannot be found in DAG"),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_bad_input_gets_its_error_and_changes_nothing(m, case):
    header, error = ERRORS[case]
    before = keyspace(m)
    for command in ("AI.DAGEXECUTE", "AI.DAGEXECUTEASYNC"):
        with pytest.raises(redis.ResponseError) as e:
            m.execute_command(command, *header, *RUN)
        assert str(e.value) == error
    assert keyspace(m) == before


def test_read_only_dags_read_entries_and_refuse_xpersist(m):
    with pytest.raises(redis.ResponseError, match="^XPERSIST cannot be specified in a read-only DAG$"):
        m.execute_command("AI.DAGEXECUTE_RO", "XLOAD", "in{s}", "+", 2, *SCHEMA, "XPERSIST", "out{s}", 1, "c", *RUN)
    assert not m.exists("out{s}")


def test_a_replica_and_an_aof_restart_hold_the_appended_entry():
    with running_server({"appendonly": "yes", "appendfsync": "always"}) as master:
        with running_server({"replicaof": f"127.0.0.1 {master.port}"}) as replica:
            c = master.client()
            c.execute_command("AI.MODELSTORE", "m{s}", "TORCH", "CPU", "BLOB", torch_add_model())
            c.xadd("in{s}", {"a": A.tobytes(), "b": B.tobytes()})
            c.execute_command("AI.DAGEXECUTE", "XLOAD", "in{s}", "+", 2, *SCHEMA, "XPERSIST", "out{s}", 1, "c", *RUN)
            run_id = c.execute_command("AI.DAGEXECUTEASYNC", "XLOAD", "in{s}", "+", 2, *SCHEMA,
                                       "XPERSIST", "out{s}", 1, "c", *RUN)
            c.xread({"out{s}": c.xrange("out{s}")[0][0]}, block=60000)  # the async one appended
            assert c.execute_command("AI.DAGRUNINFO", run_id)[3] == b"DONE"
            expected = c.xrange("out{s}")
            assert len(expected) == 2
            assert replicas_acked(c)
            assert replica.client().xrange("out{s}") == expected  # same ids, same bytes
        master.restart()
        assert master.client().xrange("out{s}") == expected
