"""AI.SCRIPTRUN, the deprecated script command (docs/COMMANDS.md §6.6, §1, §11;
docs/BEHAVIOUR.md §7, §9.3-9.6, §11).

Execution as AI.SCRIPTEXECUTE without KEYS and ARGS: entry points called fn(tensors, [], []), legacy
functions fed by parameter (a List[Tensor] parameter takes every remaining input, whatever the `$`
marker says), return-value rules and run-time errors; every parse rule of the token table, left to
right, with nothing written and nothing counted; the pre-checks (E.MULTI, arity, script key), input keys,
TIMEOUT (anywhere, once, expiring while queued), AI.INFO counters, replication of the outputs as
AI.TENSORSET, SCRIPTRUN as a DAGRUN/DAGRUN_RO op, COMMAND GETKEYS and COMMAND INFO.
"""
import time

import pytest
import redis

from gate import hold_worker, open_gate, queue_behind, store_gate
from helpers import error_of, meta, replicas_acked, stats, tset, values
from models import ENTRY_POINTS_SCRIPT, LEGACY_SCRIPT
from redis_server import running_server, wait_for
from resp import Raw, raw

ENTRY_SRC, LEGACY_SRC = ENTRY_POINTS_SCRIPT, LEGACY_SCRIPT

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
E_MULTI = "Cannot run RedisAI command within a transaction or a LUA script"
E_ARITY = "wrong number of arguments for 'AI.SCRIPTRUN' command"

EXTRA_SRC = """
def kinds(tensors: List[Tensor], keys: List[str], args: List[str]):
    return torch.tensor([len(keys), len(args), len(tensors)])

def pair(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] + tensors[1], tensors[0] * tensors[1]

def none_ret(tensors: List[Tensor], keys: List[str], args: List[str]):
    return None

def int_ret(tensors: List[Tensor], keys: List[str], args: List[str]):
    return 1

def oob(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[5]

def legacy_single(a):
    return a * 10

def legacy_int(a: Tensor, n: int):
    return a

def head_and_rest(a: Tensor, rest: List[Tensor]):
    return torch.tensor([len(rest)]) * 1000 + a.to(torch.int64)[0] * 100 + rest[-1].to(torch.int64)[0]
"""
EXTRA_ENTRIES = ["kinds", "pair", "none_ret", "int_ret", "oob"]

A = [[2, 3], [2, 3]]
B = [[10, 20], [30, 40]]


# --------------------------------------------------------------------------------------------------
# Helpers


def srun(r, *args):
    return r.execute_command("AI.SCRIPTRUN", *args)


def snapshot(r):
    """Every key with its serialized value, and the counters of the three scripts."""
    keys = sorted(r.keys())
    return ({k: r.dump(k) for k in keys},
            {s: (stats(r, s)["calls"], stats(r, s)["errors"]) for s in ("old", "s", "x") if r.exists(s)})


@pytest.fixture
def scripts(r):
    """`old`: the shared legacy script (AI.SCRIPTSET); `s`: the shared entry-point script; `x`: extra
    entry points plus legacy functions; tensors a = [[2,3],[2,3]], b = [[10,20],[30,40]], one = [1]."""
    assert r.execute_command("AI.SCRIPTSET", "old", "CPU", "SOURCE", LEGACY_SRC) == b"OK"
    assert r.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 2, "bar", "bar_variadic",
                             "SOURCE", ENTRY_SRC) == b"OK"
    assert r.execute_command("AI.SCRIPTSTORE", "x", "CPU", "ENTRY_POINTS", len(EXTRA_ENTRIES),
                             *EXTRA_ENTRIES, "SOURCE", EXTRA_SRC) == b"OK"
    tset(r, "a", A)
    tset(r, "b", B)
    tset(r, "one", [1])
    return r


# --------------------------------------------------------------------------------------------------
# Legacy functions (docs/BEHAVIOUR.md §9.3)


def test_legacy_bar(scripts):
    r = scripts
    assert srun(r, "old", "bar", "INPUTS", "a", "b", "OUTPUTS", "c") == b"OK"
    assert values(r, "c") == [b"12", b"23", b"32", b"43"]
    assert meta(r, "c") == [b"dtype", b"FLOAT", b"shape", [2, 2]]


def test_keywords_are_case_insensitive(scripts):
    r = scripts
    assert srun(r, "old", "bar", "inputs", "a", "b", "Outputs", "c", "timeout", 100000) == b"OK"
    assert values(r, "c") == [b"12", b"23", b"32", b"43"]


def test_legacy_list_parameter_takes_the_remaining_inputs(scripts):
    r = scripts
    tset(r, "b2", [[1, 1], [1, 1]])
    # bar_variadic(a, args: List[Tensor]) returns args[0] + args[1]
    assert srun(r, "old", "bar_variadic", "INPUTS", "a", "$", "b", "b2", "OUTPUTS", "c") == b"OK"
    assert values(r, "c") == [b"11", b"21", b"31", b"41"]


@pytest.mark.parametrize("inputs", [
    ["a", "b", "one", "b"],
    ["a", "$", "b", "one", "b"],
    ["$", "a", "b", "one", "b"],      # the marker is validated only: the signature decides the split
    ["a", "b", "$", "one", "b"],
    ["a", "b", "one", "b", "$"],
])
def test_dollar_marker_does_not_change_the_split(scripts, inputs):
    r = scripts
    tset(r, "a1", [7])
    tset(r, "b1", [5])
    inputs = [{"a": "a1", "b": "b1"}.get(i, i) for i in inputs]
    # head_and_rest(a, rest) = len(rest)*1000 + a*100 + rest[-1]: a = a1, rest = [b1, one, b1]
    assert srun(r, "x", "head_and_rest", "INPUTS", *inputs, "OUTPUTS", "c") == b"OK"
    assert values(r, "c") == [3000 + 700 + 5]


def test_legacy_surplus_inputs_are_ignored(scripts):
    r = scripts
    assert srun(r, "old", "bar", "INPUTS", "a", "b", "one", "one", "OUTPUTS", "c") == b"OK"
    assert values(r, "c") == [b"12", b"23", b"32", b"43"]


def test_non_entry_point_function_of_a_new_script_is_called_legacy_style(scripts):
    r = scripts
    assert srun(r, "x", "legacy_single", "INPUTS", "a", "OUTPUTS", "c") == b"OK"
    assert values(r, "c") == [b"20", b"30", b"20", b"30"]


def test_legacy_wrong_number_of_inputs(scripts):
    r = scripts
    before = snapshot(r)
    assert error_of(r, "AI.SCRIPTRUN", "old", "bar", "INPUTS", "a", "OUTPUTS", "c") == \
        "Wrong number of inputs provided to function: bar"
    # a list parameter still needs a tensor position of its own
    assert error_of(r, "AI.SCRIPTRUN", "x", "head_and_rest", "INPUTS", "a", "$", "OUTPUTS", "c") == \
        "Wrong number of inputs provided to function: head_and_rest"
    assert not r.exists("c")
    assert snapshot(r)[0] == before[0]


def test_no_inputs_section_is_accepted(scripts):
    r = scripts
    # legacy: the missing tensors are a run-time error, not a parse error (the call is counted)
    assert error_of(r, "AI.SCRIPTRUN", "old", "bar", "OUTPUTS", "c") == \
        "Wrong number of inputs provided to function: bar"
    assert error_of(r, "AI.SCRIPTRUN", "old", "bar") == "Wrong number of inputs provided to function: bar"
    assert (stats(r, "old")["calls"], stats(r, "old")["errors"]) == (2, 2)
    # entry point: called with no tensors
    assert srun(r, "x", "kinds", "OUTPUTS", "k") == b"OK"
    assert values(r, "k") == [0, 0, 0]
    assert not r.exists("c")


def test_legacy_unsupported_input_type(scripts):
    r = scripts
    assert error_of(r, "AI.SCRIPTRUN", "x", "legacy_int", "INPUTS", "a", "b", "OUTPUTS", "c") == \
        "Unsupported input type in function definition: legacy_int"
    assert not r.exists("c")


def test_function_does_not_exist(scripts):
    r = scripts
    for key in ("old", "s"):
        assert error_of(r, "AI.SCRIPTRUN", key, "nope", "INPUTS", "a", "b", "OUTPUTS", "c") == \
            "Function does not exist: nope"
    assert not r.exists("c")


# --------------------------------------------------------------------------------------------------
# Entry points: fn(tensors, [], []) (docs/BEHAVIOUR.md §9.3)


def test_entry_point_bar(scripts):
    r = scripts
    assert srun(r, "s", "bar", "INPUTS", "a", "b", "OUTPUTS", "c") == b"OK"
    assert values(r, "c") == [b"12", b"23", b"32", b"43"]


def test_entry_point_bar_variadic_gets_every_tensor_in_one_list(scripts):
    r = scripts
    # bar_variadic(tensors, keys, args) = tensors[0] + tensors[1:][0]
    assert srun(r, "s", "bar_variadic", "INPUTS", "a", "$", "b", "one", "OUTPUTS", "c") == b"OK"
    assert values(r, "c") == [b"12", b"23", b"32", b"43"]


def test_entry_point_gets_no_keys_and_no_args(scripts):
    r = scripts
    assert srun(r, "x", "kinds", "INPUTS", "a", "b", "$", "one", "OUTPUTS", "k") == b"OK"
    assert meta(r, "k") == [b"dtype", b"INT64", b"shape", [3]]
    assert values(r, "k") == [0, 0, 3]


def test_entry_point_with_too_few_tensors_is_a_runtime_error(scripts):
    r = scripts
    message = error_of(r, "AI.SCRIPTRUN", "s", "bar", "INPUTS", "a", "OUTPUTS", "c")
    assert "out of range" in message and "\n" not in message
    assert not r.exists("c")


# --------------------------------------------------------------------------------------------------
# Return value → OUTPUTS (docs/BEHAVIOUR.md §9.4)


def test_several_outputs(scripts):
    r = scripts
    assert srun(r, "x", "pair", "INPUTS", "a", "b", "OUTPUTS", "sum", "prod") == b"OK"
    assert values(r, "sum") == [b"12", b"23", b"32", b"43"]
    assert values(r, "prod") == [b"20", b"60", b"60", b"120"]


@pytest.mark.parametrize("fn", ["none_ret", "int_ret"])
def test_non_tensor_return(scripts, fn):
    r = scripts
    assert error_of(r, "AI.SCRIPTRUN", "x", fn, "INPUTS", "a", "OUTPUTS", "c") == \
        f"Function returned non-tensor values{fn}"
    assert not r.exists("c")


@pytest.mark.parametrize("fn", ["none_ret", "int_ret", "pair"])
def test_no_output_names_ignores_the_return_value(scripts, fn):
    r = scripts
    keys = sorted(r.keys())
    assert srun(r, "x", fn, "INPUTS", "a", "b") == b"OK"
    assert srun(r, "x", fn, "INPUTS", "a", "b", "OUTPUTS") == b"OK"
    assert sorted(r.keys()) == keys


@pytest.mark.parametrize("outs", [["o1", "o2"], ["o1"], ["o1", "o2", "o3"]])
def test_unexpected_number_of_outputs(scripts, outs):
    r = scripts
    fn = "bar" if len(outs) == 2 else "pair"
    key = "old" if fn == "bar" else "x"
    assert error_of(r, "AI.SCRIPTRUN", key, fn, "INPUTS", "a", "b", "OUTPUTS", *outs) == \
        f"Function returned unexpected number of outputs - {fn}"
    assert not any(r.exists(o) for o in outs)


def test_output_overwrites_an_existing_tensor(scripts):
    r = scripts
    tset(r, "c", [1.0])
    assert srun(r, "old", "bar", "INPUTS", "a", "b", "OUTPUTS", "c") == b"OK"
    assert values(r, "c") == [b"12", b"23", b"32", b"43"]


def test_output_key_of_another_type_fails_when_written(scripts):
    r = scripts
    r.set("str", "keep")
    # output names are not checked at parse time: the write fails (docs/BEHAVIOUR.md §2.4)
    assert error_of(r, "AI.SCRIPTRUN", "x", "pair", "INPUTS", "a", "b", "OUTPUTS", "c", "str") == WRONGTYPE
    assert r.get("str") == b"keep"


def test_runtime_error_is_one_line_and_writes_nothing(scripts, server):
    r = scripts
    reply = raw(server.port, "AI.SCRIPTRUN", "x", "oob", "INPUTS", "a", "b", "OUTPUTS", "c")
    assert isinstance(reply, tuple) and reply[0] == "error"
    assert "out of range" in reply[1] and "\n" not in reply[1] and "\r" not in reply[1]
    assert not r.exists("c")
    assert raw(server.port, "PING") == "PONG"


# --------------------------------------------------------------------------------------------------
# Pre-checks: E.MULTI, arity, script key


@pytest.mark.parametrize("args", [
    ["AI.SCRIPTRUN", "old", "bar", "INPUTS", "a", "b", "OUTPUTS", "c"],
    ["AI.SCRIPTRUN"],                                   # before the arity check
    ["AI.SCRIPTRUN", "nokey", "bar", "INPUTS", "a"],    # before the script key
    ["AI.SCRIPTRUN", "old", "bar", "FOO"],              # before the tokens
])
def test_refused_inside_multi(scripts, args):
    r = scripts
    with r.pipeline(transaction=True) as p:
        p.execute_command("AI.TENSORSET", "x1", "FLOAT", 1, "VALUES", 1)
        p.execute_command(*args)
        results = p.execute(raise_on_error=False)
    assert results[0] == b"OK"
    assert isinstance(results[1], redis.ResponseError) and str(results[1]) == E_MULTI
    assert not r.exists("c")


def test_refused_inside_multi_on_the_wire(scripts, server):
    c = Raw(server.port)
    try:
        assert c.call("MULTI") == "OK"
        assert c.call("AI.SCRIPTRUN", "old", "bar", "INPUTS", "a", "b", "OUTPUTS", "c") == "QUEUED"
        assert c.call("EXEC") == [("error", "ERR " + E_MULTI)]
    finally:
        c.close()
    assert not scripts.exists("c")


@pytest.mark.parametrize("args", [["old", "bar", "INPUTS", "a", "b", "OUTPUTS", "c"], ["old"]])
def test_refused_from_lua(scripts, args):
    r = scripts
    assert error_of(r, "EVAL", "return redis.pcall('AI.SCRIPTRUN', unpack(ARGV))", 0, *args) == E_MULTI
    assert not r.exists("c")


@pytest.mark.parametrize("args", [["AI.SCRIPTRUN"], ["AI.SCRIPTRUN", "old"], ["AI.SCRIPTRUN", "nokey"]])
def test_arity(scripts, server, args):
    assert error_of(scripts, *args) == E_ARITY
    assert raw(server.port, *args) == ("error", "ERR " + E_ARITY)


@pytest.mark.parametrize("key", ["nokey", "str", "a", "mdl"])
def test_script_key_missing_or_wrong_type(scripts, server, key):
    r = scripts
    r.set("str", "x")
    r.rpush("mdl", "x")
    before = snapshot(r)
    # the script key comes before every token rule: FOO would be "Unrecongnized parameter"
    args = ["AI.SCRIPTRUN", key, "bar", "FOO", "INPUTS", "a", "b", "OUTPUTS", "c"]
    if key == "nokey":
        assert raw(server.port, *args) == ("error", "ERR script key is empty")
        assert error_of(r, "AI.SCRIPTRUN", key, "bar") == "script key is empty"
    else:
        assert raw(server.port, *args) == ("error", WRONGTYPE)
    assert snapshot(r) == before


# --------------------------------------------------------------------------------------------------
# The token table, left to right (docs/COMMANDS.md §6.6)

E_TIMEOUT = "Invalid value for TIMEOUT"
E_TIMEOUT_TWICE = "Already encountered an TIMEOUT section in SCRIPTRUN"
E_INPUTS_AFTER_OUTPUTS = "Already encountered an INPUTS section in SCRIPTRUN"
E_INPUTS_TWICE = "Already encountered an INPUTS keyword in SCRIPTRUN"
E_OUTPUTS_TWICE = "Already encountered an OUTPUTS keyword in SCRIPTRUN"
E_DOLLAR_OUTSIDE = "Encountered a variable size list of tensors outside of input section"
E_DOLLAR_TWICE = "Already encountered a variable size list of tensors"
E_UNRECOGNIZED = "Unrecongnized parameter to SCRIPTRUN"


@pytest.mark.parametrize("tokens,message", [
    # TIMEOUT
    (["TIMEOUT"], E_TIMEOUT),                                             # last token: no value
    (["INPUTS", "a", "b", "OUTPUTS", "c", "TIMEOUT"], E_TIMEOUT),
    (["TIMEOUT", "x", "INPUTS", "a", "b", "OUTPUTS", "c"], E_TIMEOUT),
    (["TIMEOUT", 0, "INPUTS", "a", "b", "OUTPUTS", "c"], E_TIMEOUT),
    (["TIMEOUT", -5, "INPUTS", "a", "b", "OUTPUTS", "c"], E_TIMEOUT),
    (["TIMEOUT", "1.5", "INPUTS", "a", "b", "OUTPUTS", "c"], E_TIMEOUT),
    (["TIMEOUT", "+5", "INPUTS", "a", "b", "OUTPUTS", "c"], E_TIMEOUT),
    (["TIMEOUT", "INPUTS", "a", "b", "OUTPUTS", "c"], E_TIMEOUT),         # INPUTS taken as the value
    (["TIMEOUT", 5, "INPUTS", "a", "b", "OUTPUTS", "c", "TIMEOUT", 5], E_TIMEOUT_TWICE),
    (["TIMEOUT", 5, "TIMEOUT", "x"], E_TIMEOUT_TWICE),                    # repeat reported before the value
    (["TIMEOUT", 0, "TIMEOUT", 5], E_TIMEOUT),                            # left to right
    # INPUTS
    (["INPUTS", "a", "OUTPUTS", "c", "INPUTS", "b"], E_INPUTS_AFTER_OUTPUTS),
    (["OUTPUTS", "c", "INPUTS", "a", "b"], E_INPUTS_AFTER_OUTPUTS),
    (["INPUTS", "a", "INPUTS", "b", "OUTPUTS", "c"], E_INPUTS_TWICE),
    (["INPUTS", "INPUTS"], E_INPUTS_TWICE),
    (["inputs", "a", "Inputs"], E_INPUTS_TWICE),
    # OUTPUTS
    (["INPUTS", "a", "b", "OUTPUTS", "c", "OUTPUTS", "d"], E_OUTPUTS_TWICE),
    (["OUTPUTS", "OUTPUTS"], E_OUTPUTS_TWICE),
    # $
    (["$", "INPUTS", "a", "b", "OUTPUTS", "c"], E_DOLLAR_OUTSIDE),
    (["INPUTS", "a", "b", "OUTPUTS", "$", "c"], E_DOLLAR_OUTSIDE),
    (["TIMEOUT", 5, "$"], E_DOLLAR_OUTSIDE),
    (["INPUTS", "a", "$", "b", "$", "OUTPUTS", "c"], E_DOLLAR_TWICE),
    (["INPUTS", "$", "$"], E_DOLLAR_TWICE),
    # names before any section
    (["a", "INPUTS", "a", "b", "OUTPUTS", "c"], E_UNRECOGNIZED),
    (["TIMEOUT", 5, "a", "INPUTS", "b"], E_UNRECOGNIZED),
    (["KEYS", 1, "k", "INPUTS", "a", "b", "OUTPUTS", "c"], E_UNRECOGNIZED),   # no KEYS/ARGS here
    # the first failing token wins
    (["INPUTS", "a", "INPUTS", "$", "$", "TIMEOUT", 0], E_INPUTS_TWICE),
    (["INPUTS", "$", "$", "INPUTS", "TIMEOUT", 0], E_DOLLAR_TWICE),
    (["x", "TIMEOUT", 0], E_UNRECOGNIZED),
    (["INPUTS", "a", "OUTPUTS", "$", "OUTPUTS"], E_DOLLAR_OUTSIDE),
    # parse errors come before the input key lookups
    (["INPUTS", "missing", "OUTPUTS", "c", "OUTPUTS"], E_OUTPUTS_TWICE),
    (["INPUTS", "str", "$", "$"], E_DOLLAR_TWICE),
])
def test_parse_errors(scripts, server, tokens, message):
    r = scripts
    r.set("str", "x")
    before = snapshot(r)
    assert error_of(r, "AI.SCRIPTRUN", "old", "bar", *tokens) == message
    assert raw(server.port, "AI.SCRIPTRUN", "old", "bar", *tokens) == ("error", "ERR " + message)
    assert snapshot(r) == before  # nothing written, nothing counted


@pytest.mark.parametrize("tokens,message", [
    (["INPUTS", "a", "missing", "OUTPUTS", "c"], "ERR tensor key is empty or in a different shard"),
    (["INPUTS", "a", "str", "OUTPUTS", "c"], WRONGTYPE),
    (["INPUTS", "a", "old", "OUTPUTS", "c"], WRONGTYPE),
    (["INPUTS", "missing", "str", "OUTPUTS", "c"], "ERR tensor key is empty or in a different shard"),
    (["INPUTS", "a", "$", "missing"], "ERR tensor key is empty or in a different shard"),
])
def test_input_keys(scripts, server, tokens, message):
    r = scripts
    r.set("str", "x")
    before = snapshot(r)
    assert raw(server.port, "AI.SCRIPTRUN", "old", "bar", *tokens) == ("error", message)
    assert snapshot(r) == before


def test_output_names_are_not_looked_up_at_parse_time(scripts):
    r = scripts
    # `$` and keywords aside, every token after OUTPUTS is an output name, even one of an input
    assert srun(r, "old", "bar", "INPUTS", "a", "b", "OUTPUTS", "a") == b"OK"
    assert values(r, "a") == [b"12", b"23", b"32", b"43"]


# --------------------------------------------------------------------------------------------------
# TIMEOUT


@pytest.mark.parametrize("tokens", [
    ["TIMEOUT", 100000, "INPUTS", "a", "b", "OUTPUTS", "c"],
    ["INPUTS", "a", "b", "OUTPUTS", "c", "TIMEOUT", 100000],
    ["INPUTS", "a", "TIMEOUT", 100000, "b", "OUTPUTS", "c"],   # inside a section: the section goes on
])
def test_timeout_anywhere_that_does_not_expire(scripts, tokens):
    r = scripts
    assert srun(r, "old", "bar", *tokens) == b"OK"
    assert values(r, "c") == [b"12", b"23", b"32", b"43"]


def test_timeout_expires_while_queued_behind_a_long_run(scripts, server):
    r = scripts
    store_gate(r)
    held = hold_worker(server)
    timed = queue_behind(server, [("AI.SCRIPTRUN", "old", "bar", "TIMEOUT", 1, "INPUTS", "a", "b", "OUTPUTS", "c")])
    time.sleep(0.01)  # its 1 ms passes while the worker is held
    assert open_gate(server, held, *timed) == [b"OK", b"TIMEDOUT"]
    assert not r.exists("c")
    # the timed-out run did not count
    assert (stats(r, "old")["calls"], stats(r, "old")["errors"]) == (0, 0)


# --------------------------------------------------------------------------------------------------
# Statistics (docs/BEHAVIOUR.md §11)


def test_info_counts_runs_but_not_parse_errors(scripts):
    r = scripts
    for _ in range(3):
        assert srun(r, "old", "bar", "INPUTS", "a", "b", "OUTPUTS", "c") == b"OK"
    error_of(r, "AI.SCRIPTRUN", "old", "bar", "INPUTS", "a", "OUTPUTS", "c")             # run-time
    error_of(r, "AI.SCRIPTRUN", "old", "nope", "INPUTS", "a", "b", "OUTPUTS", "c")        # run-time
    error_of(r, "AI.SCRIPTRUN", "old", "bar", "INPUTS", "a", "INPUTS")                   # parse
    error_of(r, "AI.SCRIPTRUN", "old", "bar", "INPUTS", "a", "missing", "OUTPUTS", "c")  # input key
    st = stats(r, "old")
    assert st["type"] == b"SCRIPT" and st["backend"] == b"TORCH"
    assert (st["calls"], st["errors"], st["samples"]) == (5, 2, -1)
    assert st["duration"] > 0
    assert srun(r, "s", "bar", "INPUTS", "a", "b", "OUTPUTS", "c") == b"OK"
    assert (stats(r, "s")["calls"], stats(r, "s")["errors"]) == (1, 0)


# --------------------------------------------------------------------------------------------------
# Replication (docs/BEHAVIOUR.md §7)


def test_outputs_replicate_as_tensorset_and_scriptrun_does_not():
    with running_server() as master:
        m = master.client()
        with running_server({"replicaof": f"127.0.0.1 {master.port}"}) as replica:
            rr = replica.client()
            wait_for(lambda: rr.info("replication").get("master_link_status") == "up", 20, what="the replica sync")
            assert m.execute_command("AI.SCRIPTSET", "old", "CPU", "SOURCE", LEGACY_SRC) == b"OK"
            tset(m, "a", A)
            tset(m, "b", B)
            assert srun(m, "old", "bar", "INPUTS", "a", "b", "OUTPUTS", "c") == b"OK"
            error_of(m, "AI.SCRIPTRUN", "old", "bar", "INPUTS", "a", "OUTPUTS", "never")
            assert replicas_acked(m)
            wait_for(lambda: rr.dbsize() == m.dbsize(), 10, what="the replica to catch up")
            assert rr.execute_command("AI.TENSORGET", "c") == m.execute_command("AI.TENSORGET", "c")
            assert values(rr, "c") == [b"12", b"23", b"32", b"43"]
            assert not rr.exists("never")
            # the replica never ran the script
            assert (stats(rr, "old")["calls"], stats(rr, "old")["errors"]) == (0, 0)
            assert (stats(m, "old")["calls"], stats(m, "old")["errors"]) == (2, 1)


# --------------------------------------------------------------------------------------------------
# AI.SCRIPTRUN as a DAG op (docs/COMMANDS.md §7.1)


@pytest.mark.parametrize("command", ["AI.DAGRUN", "AI.DAGRUN_RO"])
def test_scriptrun_op_in_dagrun(scripts, command):
    r = scripts
    before = sorted(r.keys())
    reply = r.execute_command(command, "LOAD", 2, "a", "b",
                              "|>", "AI.SCRIPTRUN", "old", "bar_variadic", "INPUTS", "a", "$", "b", "b",
                              "OUTPUTS", "t",
                              "|>", "AI.SCRIPTRUN", "s", "bar", "INPUTS", "t", "a", "OUTPUTS", "u",
                              "|>", "AI.TENSORGET", "t", "VALUES",
                              "|>", "AI.TENSORGET", "u", "VALUES")
    assert reply == [b"OK", b"OK", [b"20", b"40", b"60", b"80"], [b"22", b"43", b"62", b"83"]]
    assert sorted(r.keys()) == before  # DAG-local names only
    assert stats(r, "old")["calls"] == 1 and stats(r, "s")["calls"] == 1


def test_scriptrun_op_persists_in_dagrun(scripts):
    r = scripts
    reply = r.execute_command("AI.DAGRUN", "LOAD", 2, "a", "b", "PERSIST", 1, "c",
                              "|>", "AI.SCRIPTRUN", "old", "bar", "INPUTS", "a", "b", "OUTPUTS", "c")
    assert reply == [b"OK"]
    assert values(r, "c") == [b"12", b"23", b"32", b"43"]


def test_scriptrun_op_runtime_error_is_an_element(scripts):
    r = scripts
    reply = r.execute_command("AI.DAGRUN", "LOAD", 1, "a", "PERSIST", 1, "c",
                              "|>", "AI.SCRIPTRUN", "old", "bar", "INPUTS", "a", "OUTPUTS", "c",
                              "|>", "AI.TENSORGET", "c", "VALUES")
    assert len(reply) == 2
    assert isinstance(reply[0], redis.ResponseError)
    assert str(reply[0]) == "Wrong number of inputs provided to function: bar"
    assert reply[1] == b"NA"
    assert not r.exists("c")


# --------------------------------------------------------------------------------------------------
# COMMAND GETKEYS (docs/COMMANDS.md §11) and COMMAND INFO (§1)


@pytest.mark.parametrize("args, keys", [
    (["old", "bar", "INPUTS", "a", "b", "OUTPUTS", "c"], ["old", "a", "b", "c"]),
    (["old", "bar", "INPUTS", "a", "$", "b", "OUTPUTS", "c", "d"], ["old", "a", "b", "c", "d"]),
    (["old", "bar", "TIMEOUT", 5, "INPUTS", "a", "OUTPUTS", "c"], ["old", "a", "c"]),
    (["old", "bar", "OUTPUTS", "c"], ["old", "c"]),          # argv[3] is skipped, whatever it is
    (["old", "bar", "INPUTS", "a", "TIMEOUT", 5, "OUTPUTS", "c"], ["old", "a", "TIMEOUT", "5", "c"]),
    (["old", "bar"], ["old"]),
])
def test_command_getkeys(scripts, args, keys):
    assert scripts.command_getkeys("AI.SCRIPTRUN", *args) == keys


def test_command_info(scripts):
    info = scripts.execute_command("COMMAND", "INFO", "AI.SCRIPTRUN")["ai.scriptrun"]
    assert {"write", "denyoom", "movablekeys"} <= set(info["flags"])
    assert "readonly" not in info["flags"]
    assert (info["first_key_pos"], info["last_key_pos"], info["step_count"]) == (4, 4, 1)
