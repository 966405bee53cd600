"""AI.SCRIPTEXECUTE (docs/COMMANDS.md §6.5, §11; docs/BEHAVIOUR.md §7, §9.3-9.6, §11).

Entry-point and legacy calling conventions, KEYS/ARGS as strings, return-value flattening and its
errors, run-time errors on one line, every parse error in the spec's order, TIMEOUT while queued behind
a long run, E.MULTI, replication of the outputs as AI.TENSORSET (never the command), AI.INFO counters
and COMMAND GETKEYS.
"""
import time

import pytest
import redis

from gate import hold_worker, open_gate, queue_behind, store_gate
from helpers import error_of, meta, replicas_acked, stats, tset, values
from models import ENTRY_POINTS_SCRIPT, LEGACY_SCRIPT
from redis_server import running_server, wait_for
from resp import raw

ENTRY_SRC, LEGACY_SRC = ENTRY_POINTS_SCRIPT, LEGACY_SCRIPT

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
E_MULTI = "Cannot run RedisAI command within a transaction or a LUA script"
E_FIRST = "KEYS or INPUTS scope must be provided first for AI.SCRIPTEXECUTE command"

EXTRA_SRC = """
def from_args(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] * int(args[0]) + len(keys)

def kinds(tensors: List[Tensor], keys: List[str], args: List[str]):
    t = torch.tensor([len(keys), len(args), len(tensors)])
    if len(keys) > 0 and keys[0] == "k1":
        t = t + 100
    if len(args) > 1 and args[1] == "hello":
        t = t + 1000
    return t

def pair(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] + tensors[1], tensors[0] * tensors[1]

def as_list(tensors: List[Tensor], keys: List[str], args: List[str]):
    return [tensors[0], tensors[1], tensors[0] - tensors[1]]

def none_ret(tensors: List[Tensor], keys: List[str], args: List[str]):
    return None

def int_ret(tensors: List[Tensor], keys: List[str], args: List[str]):
    return 1

def mixed_tuple(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0], 1

def oob(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[5]

def legacy_int(a: Tensor, n: int):
    return a

def legacy_single(a):
    return a * 10
"""
EXTRA_ENTRIES = ["from_args", "kinds", "pair", "as_list", "none_ret", "int_ret", "mixed_tuple", "oob"]

AB = [[2, 3], [2, 3]]


# --------------------------------------------------------------------------------------------------
# Helpers


def sx(r, *args):
    return r.execute_command("AI.SCRIPTEXECUTE", *args)


@pytest.fixture
def scripts(r):
    """`s`: the shared entry-point script; `x`: extra entry points (plus two legacy functions);
    `old`: the shared legacy script stored by AI.SCRIPTSET; tensors a = b = [[2,3],[2,3]]."""
    assert r.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 2, "bar", "bar_variadic",
                             "SOURCE", ENTRY_SRC) == b"OK"
    assert r.execute_command("AI.SCRIPTSTORE", "x", "CPU", "ENTRY_POINTS", len(EXTRA_ENTRIES),
                             *EXTRA_ENTRIES, "SOURCE", EXTRA_SRC) == b"OK"
    assert r.execute_command("AI.SCRIPTSET", "old", "CPU", "SOURCE", LEGACY_SRC) == b"OK"
    tset(r, "a", AB)
    tset(r, "b", AB)
    return r


# --------------------------------------------------------------------------------------------------
# Entry points (docs/BEHAVIOUR.md §9.3)


def test_entry_point_bar(scripts):
    r = scripts
    assert sx(r, "s", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == b"OK"
    assert values(r, "c") == [b"4", b"6", b"4", b"6"]
    assert meta(r, "c") == [b"dtype", b"FLOAT", b"shape", [2, 2]]


def test_entry_point_bar_variadic(scripts):
    r = scripts
    assert sx(r, "s", "bar_variadic", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == b"OK"
    assert values(r, "c") == [b"4", b"6", b"4", b"6"]


def test_keys_first_then_inputs(scripts):
    r = scripts
    assert sx(r, "s", "bar", "KEYS", 1, "a", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == b"OK"
    assert values(r, "c") == [b"4", b"6", b"4", b"6"]


def test_sections_in_any_order_and_timeout_last(scripts):
    r = scripts
    assert sx(r, "s", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "ARGS", 1, "z", "KEYS", 1, "k",
              "TIMEOUT", 100000) == b"OK"
    assert values(r, "c") == [b"4", b"6", b"4", b"6"]


def test_keys_and_args_reach_the_function_as_strings(scripts):
    r = scripts
    assert sx(r, "x", "from_args", "KEYS", 2, "k1", "k2", "INPUTS", 1, "a", "ARGS", 1, "3",
              "OUTPUTS", 1, "c") == b"OK"
    assert values(r, "c") == [b"8", b"11", b"8", b"11"]  # a*3 + 2
    assert sx(r, "x", "kinds", "KEYS", 1, "k1", "ARGS", 2, "x", "hello", "OUTPUTS", 1, "k") == b"OK"
    assert meta(r, "k") == [b"dtype", b"INT64", b"shape", [3]]
    assert values(r, "k") == [1101, 1102, 1100]
    assert sx(r, "x", "kinds", "INPUTS", 0, "OUTPUTS", 1, "k") == b"OK"
    assert values(r, "k") == [0, 0, 0]


def test_keys_need_not_exist(scripts):
    r = scripts
    assert sx(r, "x", "from_args", "KEYS", 1, "no_such_key", "INPUTS", 1, "a", "ARGS", 1, "1",
              "OUTPUTS", 1, "c") == b"OK"
    assert values(r, "c") == [b"3", b"4", b"3", b"4"]


# --------------------------------------------------------------------------------------------------
# Legacy calls (docs/BEHAVIOUR.md §9.3)


def test_legacy_bar(scripts):
    r = scripts
    assert sx(r, "old", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == b"OK"
    assert values(r, "c") == [b"4", b"6", b"4", b"6"]


def test_legacy_bar_variadic_takes_the_rest_as_a_list(scripts):
    r = scripts
    tset(r, "b1", [[1, 1], [1, 1]])
    tset(r, "b2", [[10, 20], [30, 40]])
    # bar_variadic(a, args: List[Tensor]) returns args[0] + args[1] = b1 + b2
    assert sx(r, "old", "bar_variadic", "INPUTS", 3, "a", "b1", "b2", "OUTPUTS", 1, "c") == b"OK"
    assert values(r, "c") == [b"11", b"21", b"31", b"41"]


def test_legacy_surplus_inputs_ignored_and_keys_args_ignored(scripts):
    r = scripts
    tset(r, "z", [[100, 100], [100, 100]])
    assert sx(r, "old", "bar", "KEYS", 1, "k", "INPUTS", 3, "a", "b", "z", "ARGS", 2, "p", "q",
              "OUTPUTS", 1, "c") == b"OK"
    assert values(r, "c") == [b"4", b"6", b"4", b"6"]


def test_non_entry_point_function_of_new_script_is_called_legacy_style(scripts):
    r = scripts
    assert sx(r, "x", "legacy_single", "INPUTS", 1, "a", "OUTPUTS", 1, "c") == b"OK"
    assert values(r, "c") == [b"20", b"30", b"20", b"30"]


def test_function_does_not_exist(scripts):
    r = scripts
    assert error_of(r, "AI.SCRIPTEXECUTE", "old", "nope", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == \
        "Function does not exist: nope"
    assert error_of(r, "AI.SCRIPTEXECUTE", "s", "nope", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == \
        "Function does not exist: nope"
    assert not r.exists("c")


def test_legacy_wrong_number_of_inputs(scripts):
    r = scripts
    assert error_of(r, "AI.SCRIPTEXECUTE", "old", "bar", "INPUTS", 1, "a", "OUTPUTS", 1, "c") == \
        "Wrong number of inputs provided to function: bar"
    assert not r.exists("c")


def test_legacy_unsupported_input_type(scripts):
    r = scripts
    assert error_of(r, "AI.SCRIPTEXECUTE", "x", "legacy_int", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == \
        "Unsupported input type in function definition: legacy_int"
    assert not r.exists("c")


# --------------------------------------------------------------------------------------------------
# Return value → OUTPUTS (docs/BEHAVIOUR.md §9.4)


@pytest.mark.parametrize("fn", ["none_ret", "int_ret", "mixed_tuple"])
def test_non_tensor_return(scripts, fn):
    r = scripts
    assert error_of(r, "AI.SCRIPTEXECUTE", "x", fn, "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == \
        f"Function returned non-tensor values{fn}"
    assert not r.exists("c")


@pytest.mark.parametrize("fn", ["none_ret", "int_ret", "mixed_tuple", "bar"])
def test_zero_outputs_ignores_the_return_value(scripts, fn):
    r = scripts
    key = "s" if fn == "bar" else "x"
    assert sx(r, key, fn, "INPUTS", 2, "a", "b") == b"OK"
    assert sx(r, key, fn, "INPUTS", 2, "a", "b", "OUTPUTS", 0) == b"OK"
    assert sorted(r.keys()) == [b"a", b"b", b"old", b"s", b"x"]


@pytest.mark.parametrize("fn,n", [("bar", 2), ("pair", 1), ("pair", 3), ("as_list", 2)])
def test_unexpected_number_of_outputs(scripts, fn, n):
    r = scripts
    key = "s" if fn == "bar" else "x"
    outs = [f"o{i}" for i in range(n)]
    assert error_of(r, "AI.SCRIPTEXECUTE", key, fn, "INPUTS", 2, "a", "b", "OUTPUTS", n, *outs) == \
        f"Function returned unexpected number of outputs - {fn}"
    assert not any(r.exists(o) for o in outs)


def test_tuple_return_gives_several_outputs(scripts):
    r = scripts
    assert sx(r, "x", "pair", "INPUTS", 2, "a", "b", "OUTPUTS", 2, "sum", "prod") == b"OK"
    assert values(r, "sum") == [b"4", b"6", b"4", b"6"]
    assert values(r, "prod") == [b"4", b"9", b"4", b"9"]


def test_list_return_gives_several_outputs(scripts):
    r = scripts
    tset(r, "b", [[1, 1], [1, 1]])
    assert sx(r, "x", "as_list", "INPUTS", 2, "a", "b", "OUTPUTS", 3, "o1", "o2", "o3") == b"OK"
    assert values(r, "o1") == [b"2", b"3", b"2", b"3"]
    assert values(r, "o2") == [b"1", b"1", b"1", b"1"]
    assert values(r, "o3") == [b"1", b"2", b"1", b"2"]


def test_output_dtype_follows_torch(scripts):
    r = scripts
    tset(r, "d", AB, "DOUBLE")
    tset(r, "i", AB, "INT64")
    assert sx(r, "s", "bar", "INPUTS", 2, "d", "d", "OUTPUTS", 1, "cd") == b"OK"
    assert meta(r, "cd") == [b"dtype", b"DOUBLE", b"shape", [2, 2]]
    assert sx(r, "s", "bar", "INPUTS", 2, "i", "i", "OUTPUTS", 1, "ci") == b"OK"
    assert r.execute_command("AI.TENSORGET", "ci", "META", "VALUES") == \
        [b"dtype", b"INT64", b"shape", [2, 2], b"values", [4, 6, 4, 6]]


def test_output_overwrites_existing_tensor(scripts):
    r = scripts
    tset(r, "c", [1.0])
    assert sx(r, "s", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == b"OK"
    assert values(r, "c") == [b"4", b"6", b"4", b"6"]


# --------------------------------------------------------------------------------------------------
# Run-time errors (docs/BEHAVIOUR.md §9.6)


def test_runtime_error_is_one_line_and_writes_nothing(scripts):
    r = scripts
    message = error_of(r, "AI.SCRIPTEXECUTE", "x", "oob", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c")
    assert "\n" not in message and "\r" not in message
    assert "out of range" in message
    assert not r.exists("c")


def test_runtime_error_on_the_wire_is_a_single_error_line(scripts, server):
    reply = raw(server.port, "AI.SCRIPTEXECUTE", "x", "oob", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c")
    assert isinstance(reply, tuple) and reply[0] == "error"
    assert "out of range" in reply[1]
    # the connection is still usable afterwards (nothing extra was written)
    assert raw(server.port, "PING") == "PONG"


def test_entry_point_with_too_few_tensors_is_a_runtime_error(scripts):
    r = scripts
    message = error_of(r, "AI.SCRIPTEXECUTE", "s", "bar", "INPUTS", 1, "a", "OUTPUTS", 1, "c")
    assert "\n" not in message and "out of range" in message
    assert not r.exists("c")


# --------------------------------------------------------------------------------------------------
# Parse errors, in the spec's order (docs/COMMANDS.md §6.5)


def test_arity(scripts):
    r = scripts
    assert error_of(r, "AI.SCRIPTEXECUTE") == "wrong number of arguments for 'AI.SCRIPTEXECUTE' command"
    assert error_of(r, "AI.SCRIPTEXECUTE", "s") == "wrong number of arguments for 'AI.SCRIPTEXECUTE' command"


def test_arity_on_the_wire(scripts, server):
    assert raw(server.port, "AI.SCRIPTEXECUTE", "s") == \
        ("error", "ERR wrong number of arguments for 'AI.SCRIPTEXECUTE' command")


def test_script_key_missing_or_wrong_type(scripts):
    r = scripts
    assert error_of(r, "AI.SCRIPTEXECUTE", "nope", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == \
        "script key is empty"
    r.set("str", "x")
    assert error_of(r, "AI.SCRIPTEXECUTE", "str", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == WRONGTYPE
    assert error_of(r, "AI.SCRIPTEXECUTE", "a", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == WRONGTYPE
    # the script key is checked before the first-token rule
    assert error_of(r, "AI.SCRIPTEXECUTE", "nope", "bar", "OUTPUTS", 1, "c") == "script key is empty"
    assert error_of(r, "AI.SCRIPTEXECUTE", "nope", "bar") == "script key is empty"


@pytest.mark.parametrize("args,message", [
    # 3: first token
    (("bar",), E_FIRST),
    (("bar", "OUTPUTS", 2, "a", "a"), E_FIRST),  # upstream example
    (("bar", "ARGS", 1, "x", "INPUTS", 2, "a", "b"), E_FIRST),
    (("bar", "inputs", 2, "a", "b", "OUTPUTS", 1, "c"), None),  # case-insensitive: accepted (checked below)
    # 4: KEYS needs two tokens
    (("bar", "KEYS"), "Missing arguments after KEYS keyword"),
    (("bar", "KEYS", 1), "Missing arguments after KEYS keyword"),  # upstream example
    # 5: KEYS count
    (("bar", "KEYS", "not_number", "key"), "Invalid or negative value found in number of KEYS"),  # upstream
    (("bar", "KEYS", 0, "key"), "Invalid or negative value found in number of KEYS"),
    (("bar", "KEYS", -1, "key"), "Invalid or negative value found in number of KEYS"),
    (("bar", "KEYS", "1.0", "key"), "Invalid or negative value found in number of KEYS"),
    # 6: not enough key names
    (("bar", "KEYS", 2, "key"),  # upstream example
     "Number of pre declared KEYS to be used in the command does not match the number of given arguments"),
    # 8: a section keyword is the last token
    (("bar", "INPUTS"), "Invalid arguments provided to AI.SCRIPTEXECUTE"),
    (("bar", "INPUTS", 2, "a", "b", "ARGS"), "Invalid arguments provided to AI.SCRIPTEXECUTE"),
    (("bar", "INPUTS", 2, "a", "b", "OUTPUTS"), "Invalid arguments provided to AI.SCRIPTEXECUTE"),
    # 9-11: counts not integers
    (("bar", "INPUTS", "OUTPUTS"), "Invalid argument for inputs count in AI.SCRIPTEXECUTE"),  # upstream
    (("bar", "INPUTS", "two", "a", "b"), "Invalid argument for inputs count in AI.SCRIPTEXECUTE"),
    (("bar", "INPUTS", 2, "a", "b", "ARGS", "x", "y"), "Invalid argument for keys count in AI.SCRIPTEXECUTE"),
    (("bar", "INPUTS", 2, "a", "b", "OUTPUTS", "one", "c"),
     "Invalid argument for outputs count in AI.SCRIPTEXECUTE"),
    # 12: counts larger than what follows
    (("bar", "INPUTS", 3, "a", "b"),
     "number of inputs to AI.SCRIPTEXECUTE command does not match the number of given arguments"),
    (("bar", "INPUTS", 2, "a", "b", "ARGS", 2, "x"),
     "number of args to AI.SCRIPTEXECUTE command does not match the number of given arguments"),
    (("bar", "INPUTS", 2, "a", "b", "OUTPUTS", 2, "c"),
     "number of outputs to AI.SCRIPTEXECUTE command does not match the number of given arguments"),
    # 13: repeated sections
    (("bar", "KEYS", 1, "k", "KEYS", 1, "k"), "Already Encountered KEYS scope in AI.SCRIPTEXECUTE command"),
    (("bar", "INPUTS", 1, "a", "INPUTS", 1, "b"), "Already Encountered INPUTS scope in AI.SCRIPTEXECUTE command"),
    (("bar", "INPUTS", 1, "a", "ARGS", 1, "x", "ARGS", 1, "y"),
     "Already Encountered ARGS scope in AI.SCRIPTEXECUTE command"),
    (("bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "OUTPUTS", 1, "d"),
     "Already Encountered OUTPUTS scope in AI.SCRIPTEXECUTE command"),
    # 14: unknown tokens
    (("bar", "INPUTS", 2, "a", "b", "FOO"), "Invalid AI.SCRIPTEXECUTE command. Unexpected argument: FOO"),
    (("bar", "INPUTS", 2, "a", "b", "c"), "Invalid AI.SCRIPTEXECUTE command. Unexpected argument: c"),
    (("bar", "KEYS", 1, "k", "INPUTS_LIST", 1, "a"),
     "Invalid AI.SCRIPTEXECUTE command. Unexpected argument: INPUTS_LIST"),
    # 15-17: TIMEOUT
    (("bar", "INPUTS", 2, "a", "b", "TIMEOUT"), "No value provided for TIMEOUT in AI.SCRIPTEXECUTE"),
    (("bar", "INPUTS", 2, "a", "b", "TIMEOUT", "x"), "Invalid value for TIMEOUT"),
    (("bar", "INPUTS", 2, "a", "b", "TIMEOUT", 0), "Invalid value for TIMEOUT"),
    (("bar", "INPUTS", 2, "a", "b", "TIMEOUT", -5), "Invalid value for TIMEOUT"),
    (("bar", "INPUTS", 2, "a", "b", "TIMEOUT", 5, "OUTPUTS", 1, "c"),
     "Encountered problem parsing AI.SCRIPTEXECUTE"),
    # 19: input tensors
    (("bar", "INPUTS", 2, "a", "missing", "OUTPUTS", 1, "c"), "tensor key is empty or in a different shard"),
    (("bar", "INPUTS", 2, "a", "str", "OUTPUTS", 1, "c"), WRONGTYPE),
    (("bar", "INPUTS", 2, "a", "s", "OUTPUTS", 1, "c"), WRONGTYPE),
])
def test_parse_errors(scripts, args, message):
    r = scripts
    r.set("str", "x")
    if message is None:
        assert sx(r, "s", *args) == b"OK"
        return
    assert error_of(r, "AI.SCRIPTEXECUTE", "s", *args) == message
    assert not r.exists("c") and not r.exists("d")


def test_parse_errors_are_not_counted(scripts):
    r = scripts
    error_of(r, "AI.SCRIPTEXECUTE", "s", "bar", "INPUTS", 3, "a", "b")
    error_of(r, "AI.SCRIPTEXECUTE", "s", "bar", "INPUTS", 2, "a", "missing", "OUTPUTS", 1, "c")
    info = r.execute_command("AI.INFO", "s")
    assert info[info.index(b"calls") + 1] == 0 and info[info.index(b"errors") + 1] == 0


@pytest.mark.parametrize("count", [0, -1, -7])
def test_zero_or_negative_counts_mean_empty_sections(scripts, count):
    r = scripts
    # INPUTS <= 0 → no tensors; the entry point then fails at run time (tensors[0])
    message = error_of(r, "AI.SCRIPTEXECUTE", "s", "bar", "INPUTS", count, "OUTPUTS", 1, "c")
    assert "out of range" in message and "\n" not in message
    assert sx(r, "x", "kinds", "INPUTS", 2, "a", "b", "ARGS", count, "OUTPUTS", 1, "k") == b"OK"
    assert values(r, "k") == [0, 0, 2]
    assert sx(r, "s", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", count) == b"OK"
    assert not r.exists("c")


# --------------------------------------------------------------------------------------------------
# TIMEOUT and MULTI


def test_timeout_that_does_not_expire(scripts):
    r = scripts
    assert sx(r, "s", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "TIMEOUT", 100000) == b"OK"
    assert values(r, "c") == [b"4", b"6", b"4", b"6"]


def test_timeout_expires_while_queued_behind_a_long_run(scripts, server):
    # the timed call waits behind the held worker; its 1 ms deadline passes meanwhile (upstream
    # answers it when the queue reaches it)
    r = scripts
    store_gate(r)
    held = hold_worker(server)
    timed = queue_behind(server, [("AI.SCRIPTEXECUTE", "s", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c",
                                   "TIMEOUT", 1)])
    time.sleep(0.01)
    assert open_gate(server, held, *timed) == [b"OK", b"TIMEDOUT"]
    assert not r.exists("c")


def test_multi_is_refused(scripts):
    r = scripts
    with r.pipeline(transaction=True) as p:
        p.execute_command("AI.SCRIPTEXECUTE", "s", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c")
        p.execute_command("AI.SCRIPTEXECUTE", "s")  # E.MULTI before any parsing, even the arity
        results = p.execute(raise_on_error=False)
    assert [str(x) for x in results] == [E_MULTI, E_MULTI]
    assert not r.exists("c")


def test_lua_is_refused(scripts):
    r = scripts
    with pytest.raises(redis.ResponseError) as e:
        r.eval("return redis.call('AI.SCRIPTEXECUTE', 's', 'bar', 'INPUTS', 2, 'a', 'b', 'OUTPUTS', 1, 'c')", 0)
    assert E_MULTI in str(e.value)
    assert not r.exists("c")


# --------------------------------------------------------------------------------------------------
# Statistics (docs/BEHAVIOUR.md §11)


def test_info_counts_calls_and_errors(scripts):
    r = scripts
    for _ in range(5):
        assert sx(r, "s", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == b"OK"
    error_of(r, "AI.SCRIPTEXECUTE", "s", "nope", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c")
    error_of(r, "AI.SCRIPTEXECUTE", "s", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 2, "c", "d")
    st = stats(r, "s")
    assert st["key"] == b"s" and st["type"] == b"SCRIPT" and st["backend"] == b"TORCH"
    assert st["calls"] == 7 and st["errors"] == 2 and st["samples"] == -1
    assert st["duration"] > 0
    assert r.execute_command("AI.INFO", "s", "RESETSTAT") == b"OK"
    st = stats(r, "s")
    assert (st["duration"], st["samples"], st["calls"], st["errors"]) == (0, -1, 0, 0)
    assert sx(r, "s", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == b"OK"
    st = stats(r, "s")
    assert (st["samples"], st["calls"], st["errors"]) == (-1, 1, 0)


def test_info_counts_legacy_and_runtime_errors(scripts):
    r = scripts
    assert sx(r, "old", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == b"OK"
    error_of(r, "AI.SCRIPTEXECUTE", "old", "bar", "INPUTS", 1, "a", "OUTPUTS", 1, "c")
    error_of(r, "AI.SCRIPTEXECUTE", "x", "oob", "INPUTS", 1, "a", "OUTPUTS", 1, "c")
    assert (stats(r, "old")["calls"], stats(r, "old")["errors"], stats(r, "old")["samples"]) == (2, 1, -1)
    assert (stats(r, "x")["calls"], stats(r, "x")["errors"]) == (1, 1)


def test_info_hundred_calls(scripts):
    r = scripts
    with r.pipeline(transaction=False) as p:
        for _ in range(100):
            p.execute_command("AI.SCRIPTEXECUTE", "s", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c")
        assert p.execute() == [b"OK"] * 100
    st = stats(r, "s")
    assert (st["calls"], st["errors"], st["samples"]) == (100, 0, -1) and st["duration"] > 0


# --------------------------------------------------------------------------------------------------
# Replication (docs/BEHAVIOUR.md §7)


def test_outputs_replicate_as_tensorset_and_scriptexecute_does_not():
    with running_server() as master:
        m = master.client()
        with running_server({"replicaof": f"127.0.0.1 {master.port}"}) as replica:
            rr = replica.client()
            wait_for(lambda: rr.info("replication").get("master_link_status") == "up", 20, what="the replica sync")
            m.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 2, "bar", "bar_variadic",
                              "SOURCE", ENTRY_SRC)
            m.execute_command("AI.SCRIPTSTORE", "x", "CPU", "ENTRY_POINTS", len(EXTRA_ENTRIES), *EXTRA_ENTRIES,
                              "SOURCE", EXTRA_SRC)
            tset(m, "a", AB)
            tset(m, "b", AB)
            assert sx(m, "s", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c") == b"OK"
            assert sx(m, "x", "pair", "INPUTS", 2, "a", "b", "OUTPUTS", 2, "sum", "prod") == b"OK"
            with pytest.raises(redis.ResponseError):
                sx(m, "x", "oob", "INPUTS", 1, "a", "OUTPUTS", 1, "never")
            assert replicas_acked(m)
            wait_for(lambda: rr.dbsize() == m.dbsize(), 10, what="the replica to catch up")
            for key in ("c", "sum", "prod"):
                assert rr.execute_command("AI.TENSORGET", key) == m.execute_command("AI.TENSORGET", key)
            assert rr.execute_command("AI.TENSORGET", "c", "VALUES") == [b"4", b"6", b"4", b"6"]
            assert rr.execute_command("AI.TENSORGET", "prod", "VALUES") == [b"4", b"9", b"4", b"9"]
            assert not rr.exists("never")
            # the replica never ran the script: its statistics stay at zero
            for key in ("s", "x"):
                st = stats(rr, key)
                assert (st["calls"], st["errors"]) == (0, 0), (key, st)
            assert stats(m, "s")["calls"] == 1 and stats(m, "x")["calls"] == 2
            with pytest.raises(redis.ReadOnlyError):
                sx(rr, "s", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c")


# --------------------------------------------------------------------------------------------------
# COMMAND GETKEYS (docs/COMMANDS.md §11)


@pytest.mark.parametrize("args, keys", [
    (["s", "bar", "KEYS", 1, "k", "INPUTS", 1, "a", "OUTPUTS", 1, "c"], ["s", "k", "a"]),
    (["s", "bar", "KEYS", 1, "k", "INPUTS", 1, "a", "OUTPUTS", 1, "c", "TIMEOUT", 5], ["s", "k", "a", "c"]),
    (["s", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "TIMEOUT", 5], ["s", "a", "b", "c"]),
    (["s", "bar", "INPUTS", 2, "a", "b", "ARGS", 1, "x", "OUTPUTS", 1, "c"], ["s", "a", "b"]),
    (["s", "bar", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c"], ["s", "a", "b"]),
    (["s", "bar", "INPUTS", 2, "a", "b"], ["s"]),
    (["s", "bar", "INPUTS", 1, "a", "TIMEOUT", 5, "OUTPUTS", 1, "c", "x"], ["s", "a"]),
    (["s", "bar", "INPUTS", "x", "a", "OUTPUTS", 1, "c"], ["s"]),
])
def test_command_getkeys(server, args, keys):
    assert raw(server.port, "COMMAND", "GETKEYS", "AI.SCRIPTEXECUTE", *args) == [k.encode() for k in keys]


def test_command_getkeys_short_command_reports_none(server):
    reply = raw(server.port, "COMMAND", "GETKEYS", "AI.SCRIPTEXECUTE", "s", "bar", "INPUTS", 1)
    assert isinstance(reply, tuple) and reply[0] == "error", reply


# --------------------------------------------------------------------------------------------------
# Bytes that are not UTF-8 (TorchScript strings are): pybind11's own messages about its casts
# reached the client (issue 11 item 14's class)


@pytest.mark.parametrize("keys, args", [([b"k\xff"], [b"1"]), ([b"k"], [b"\xff"])])
def test_keys_and_args_that_are_not_utf8_are_a_clear_error(scripts, keys, args):
    message = error_of(scripts, "AI.SCRIPTEXECUTE", "x", "from_args", "KEYS", len(keys), *keys,
                       "INPUTS", 1, "a", "ARGS", len(args), *args, "OUTPUTS", 1, "c")
    assert message == "script KEYS and ARGS must be UTF-8 text (TorchScript strings)"
    assert not scripts.exists("c")
    # UTF-8 text is passed as it is
    assert sx(scripts, "x", "from_args", "KEYS", 1, "ké", "INPUTS", 1, "a", "ARGS", 1, "2", "OUTPUTS", 1, "c") == b"OK"
    assert values(scripts, "c") == [b"5", b"7", b"5", b"7"]


def test_a_function_name_that_is_not_utf8_does_not_exist(scripts):
    assert error_of(scripts, "AI.SCRIPTEXECUTE", "x", b"from_args\xff", "KEYS", 1, "k", "INPUTS", 1, "a",
                    "OUTPUTS", 1, "c") == "Function does not exist: from_args?"


def test_a_string_tensor_input_is_a_clear_error(scripts):
    """torch has no string tensors: DLPack's `only supports signed/unsigned integers...` reached
    the client, for scripts and TORCH models alike."""
    r = scripts
    r.execute_command("AI.TENSORSET", "str", "STRING", 2, "VALUES", "a", "b")
    expected = "STRING tensors cannot be TORCH inputs: torch has no string tensors"
    assert error_of(r, "AI.SCRIPTEXECUTE", "s", "bar", "INPUTS", 2, "str", "str", "OUTPUTS", 1, "c") == expected
    from models import torch_add_model
    r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", torch_add_model())
    assert error_of(r, "AI.MODELEXECUTE", "m", "INPUTS", 2, "str", "str", "OUTPUTS", 1, "c") == expected
    assert not r.exists("c")
