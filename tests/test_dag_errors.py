"""Parse-time errors of AI.DAGEXECUTE, AI.DAGEXECUTE_RO, AI.DAGRUN and AI.DAGRUN_RO (docs/COMMANDS.md §7.1),
plus their key extraction (§11) and command flags (§1).

Every error of §7.1 with its exact wire text (several have no "ERR"): E.MULTI, the arity of each command,
the header items LOAD/PERSIST/ROUTING/TIMEOUT in order, repeated or unknown header tokens ("Unexpected
argument:" with two spaces), the ROUTING/LOAD/PERSIST rule of the DAGEXECUTE forms, the empty DAG, each
op's own errors (TENSORSET, TENSORGET, MODELEXECUTE, MODELRUN, SCRIPTEXECUTE, SCRIPTRUN), the allowed-op
matrix, the DAG-local name resolution (INPUT and PERSIST names, never read from the keyspace unless
LOADed) and the order between all of these. Each error is checked to change nothing: same keys with the
same values, no PERSIST target created, AI.INFO counters of the model and scripts untouched. Positive
controls show that the same DAGs without the fault do run and write.
"""
import pytest
import redis

from helpers import stats, tset
from models import ENTRY_POINTS_SCRIPT, LEGACY_SCRIPT, onnx_sum_model, torch_add_model
from resp import Raw, raw

ENTRY_SRC, LEGACY_SRC = ENTRY_POINTS_SCRIPT, LEGACY_SCRIPT

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
E_MULTI = "ERR Cannot run RedisAI command within a transaction or a LUA script"
E_TENSOR_EMPTY = "ERR tensor key is empty or in a different shard"
E_INPUT = "ERR INPUT key cannot be found in DAG"
E_PERSIST = "ERR PERSIST key cannot be found in DAG"
E_EMPTY = "ERR DAG is empty"
E_NEEDS = ("ERR AI.DAGEXECUTE and AI.DAGEXECUTE_RO commands must contain at least one out of ROUTING, LOAD, "
           "PERSIST keywords")
E_UNSUPPORTED = "Unsupported command within DAG"
E_TIMEOUT_IN_DAG = "ERR TIMEOUT not allowed within a DAG command"
E_TIMEOUT_VALUE = "ERR Invalid value for TIMEOUT"

DE, DERO, DR, DRRO = "AI.DAGEXECUTE", "AI.DAGEXECUTE_RO", "AI.DAGRUN", "AI.DAGRUN_RO"
ALL = [DE, DERO, DR, DRRO]


def unexpected(token):
    return "ERR Invalid DAG command. Unexpected argument:  " + token  # two spaces, as RedisAI sends it


# --------------------------------------------------------------------------------------------------
# Helpers


def S(command):
    """A command written as one string, split on spaces."""
    return command.split() if isinstance(command, str) else list(command)


def snapshot(r):
    """Every key with its serialized value, and the run counters of the model and the scripts."""
    keys = sorted(r.keys())
    counters = {k: (stats(r, k)["calls"], stats(r, k)["errors"]) for k in ("m", "s", "old") if r.exists(k)}
    return {k: r.dump(k) for k in keys}, counters


def check(r, server, command, message):
    """`command` fails at parse time with exactly `message` on the wire and changes nothing."""
    before = snapshot(r)
    dbsize = r.dbsize()
    assert raw(server.port, *S(command)) == ("error", message)
    assert r.dbsize() == dbsize
    assert snapshot(r) == before


@pytest.fixture
def dag(r):
    """Model `m` (TORCH a + b), scripts `s` (entry points bar, bar_variadic) and `old` (legacy bar,
    bar_variadic), tensors a = [[2,3],[2,3]], b = [[10,20],[30,40]], a string `str`, a list `lst`."""
    assert r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", torch_add_model()) == b"OK"
    assert r.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 2, "bar", "bar_variadic",
                             "SOURCE", ENTRY_SRC) == b"OK"
    assert r.execute_command("AI.SCRIPTSET", "old", "CPU", "SOURCE", LEGACY_SRC) == b"OK"
    tset(r, "a", [[2, 3], [2, 3]])
    tset(r, "b", [[10, 20], [30, 40]])
    r.set("str", "keep")
    r.rpush("lst", "x")
    return r


SUM_AB = [b"12", b"23", b"32", b"43"]

# Valid DAGs, one per command; the error cases below are these with one fault each.
GOOD = {
    DE: "AI.DAGEXECUTE LOAD 2 a b PERSIST 1 c |> AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c "
        "|> AI.SCRIPTEXECUTE s bar INPUTS 2 c a OUTPUTS 1 d |> AI.TENSORGET c VALUES",
    DERO: "AI.DAGEXECUTE_RO LOAD 2 a b |> AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c |> AI.TENSORGET c VALUES",
    DR: "AI.DAGRUN LOAD 2 a b PERSIST 1 c |> AI.MODELRUN m INPUTS a b OUTPUTS c "
        "|> AI.SCRIPTRUN old bar INPUTS c a OUTPUTS d |> AI.TENSORGET c VALUES",
    DRRO: "AI.DAGRUN_RO LOAD 2 a b |> AI.MODELRUN m INPUTS a b OUTPUTS c "
          "|> AI.SCRIPTRUN old bar INPUTS c a OUTPUTS d |> AI.TENSORGET c VALUES",
}


@pytest.mark.parametrize("command", ALL)
def test_positive_control_the_valid_dags_run(dag, command):
    """What the error cases would have done without their fault: run the model, write PERSIST."""
    r = dag
    reply = r.execute_command(*S(GOOD[command]))
    assert reply[-1] == SUM_AB and all(x == b"OK" for x in reply[:-1])
    assert stats(r, "m")["calls"] == 1
    if command in (DE, DR):
        assert r.execute_command("AI.TENSORGET", "c", "VALUES") == SUM_AB
    else:
        assert not r.exists("c")


# --------------------------------------------------------------------------------------------------
# 0. E.MULTI, before anything else


@pytest.mark.parametrize("command", ALL)
@pytest.mark.parametrize("full", [True, False])
def test_0_refused_inside_multi(dag, server, command, full):
    r = dag
    args = S(GOOD[command]) if full else [command]   # even before the arity check
    before = snapshot(r)
    c = Raw(server.port)
    try:
        assert c.call("MULTI") == "OK"
        assert c.call(*args) == "QUEUED"
        assert c.call("EXEC") == [("error", E_MULTI)]
    finally:
        c.close()
    assert snapshot(r) == before


@pytest.mark.parametrize("command", ALL)
def test_0_refused_from_lua(dag, command):
    r = dag
    before = snapshot(r)
    with pytest.raises(redis.ResponseError) as e:
        r.eval("return redis.pcall(unpack(ARGV))", 0, *S(GOOD[command]))
    assert str(e.value) == E_MULTI[len("ERR "):]
    assert snapshot(r) == before


# --------------------------------------------------------------------------------------------------
# 1. Arity


@pytest.mark.parametrize("command,message", [
    ("AI.DAGEXECUTE", "ERR missing arguments for 'AI.DAGEXECUTE' command"),
    ("AI.DAGEXECUTE BAD", "ERR missing arguments for 'AI.DAGEXECUTE' command"),
    ("AI.DAGEXECUTE ROUTING a |> AI.TENSORGET", "ERR missing arguments for 'AI.DAGEXECUTE' command"),
    ("ai.dagexecute LOAD 1 a |>", "ERR missing arguments for 'AI.DAGEXECUTE' command"),  # fixed text
    ("AI.DAGEXECUTE_RO", "ERR missing arguments for 'AI.DAGEXECUTE_RO' command"),
    ("AI.DAGEXECUTE_RO ROUTING a |> AI.TENSORGET", "ERR missing arguments for 'AI.DAGEXECUTE_RO' command"),
    ("ai.dagexecute_ro x y z w", "ERR missing arguments for 'AI.DAGEXECUTE_RO' command"),
    ("AI.DAGRUN", "ERR wrong number of arguments for 'AI.DAGRUN' command"),
    ("AI.DAGRUN |> AI.TENSORGET", "ERR wrong number of arguments for 'AI.DAGRUN' command"),
    ("ai.dagrun BAD BAD", "ERR wrong number of arguments for 'AI.DAGRUN' command"),
    ("AI.DAGRUN_RO", "ERR wrong number of arguments for 'AI.DAGRUN_RO' command"),
    ("AI.DAGRUN_RO LOAD 1", "ERR wrong number of arguments for 'AI.DAGRUN_RO' command"),
])
def test_1_arity(dag, server, command, message):
    check(dag, server, command, message)


@pytest.mark.parametrize("command", [
    "AI.DAGEXECUTE ROUTING r |> AI.TENSORGET a",  # 6 tokens: past the arity check
    "AI.DAGEXECUTE_RO ROUTING r |> AI.TENSORGET a",
    "AI.DAGRUN |> AI.TENSORGET a",                # 4 tokens
    "AI.DAGRUN_RO |> AI.TENSORGET a",
])
def test_1_minimal_sizes_pass_the_arity_check(dag, server, command):
    check(dag, server, command, E_INPUT)


# --------------------------------------------------------------------------------------------------
# 2. Header: LOAD


@pytest.mark.parametrize("command,message", [
    # fewer than 2 tokens after LOAD
    ("AI.DAGEXECUTE PERSIST 2 t u LOAD 1", "ERR missing arguments after LOAD keyword in DAG command"),
    ("AI.DAGEXECUTE ROUTING r TIMEOUT 5 LOAD", "ERR missing arguments after LOAD keyword in DAG command"),
    ("AI.DAGRUN TIMEOUT 5 LOAD 1", "ERR missing arguments after LOAD keyword in DAG command"),
    # the count
    ("AI.DAGEXECUTE LOAD notnumber |> AI.TENSORGET a VALUES",
     "ERR invalid or negative value found in number of keys to LOAD"),
    ("AI.DAGEXECUTE LOAD 0 a |> AI.TENSORGET a VALUES", "ERR invalid or negative value found in number of keys to LOAD"),
    ("AI.DAGRUN LOAD -1 a |> AI.TENSORGET a VALUES", "ERR invalid or negative value found in number of keys to LOAD"),
    ("AI.DAGRUN_RO LOAD 1.0 a |> AI.TENSORGET a", "ERR invalid or negative value found in number of keys to LOAD"),
    ("AI.DAGEXECUTE_RO LOAD +1 a |> AI.TENSORGET a", "ERR invalid or negative value found in number of keys to LOAD"),
    # each key is read now
    ("AI.DAGEXECUTE ROUTING r LOAD 1 missing |> AI.TENSORGET missing", E_TENSOR_EMPTY),
    ("AI.DAGEXECUTE ROUTING r LOAD 1 str |> AI.TENSORGET str", WRONGTYPE),
    ("AI.DAGEXECUTE_RO LOAD 1 lst |> AI.TENSORGET lst", WRONGTYPE),
    ("AI.DAGRUN LOAD 2 a m |> AI.TENSORGET a", WRONGTYPE),
    ("AI.DAGRUN_RO LOAD 2 a missing |> AI.TENSORGET a", E_TENSOR_EMPTY),
    ("AI.DAGRUN LOAD 2 missing str |> AI.TENSORGET a", E_TENSOR_EMPTY),
    # too few tokens for the count
    ("AI.DAGEXECUTE ROUTING a LOAD 2 a", "ERR number of keys to LOAD into DAG does not match the number of given arguments"),
    ("AI.DAGRUN ROUTING r LOAD 3 a b", "ERR number of keys to LOAD into DAG does not match the number of given arguments"),
    ("AI.DAGRUN LOAD 3 a b", "ERR number of keys to LOAD into DAG does not match the number of given arguments"),
    # the keys are read before the count is found short
    ("AI.DAGEXECUTE ROUTING a LOAD 3 a missing", E_TENSOR_EMPTY),
    # greedy: a `|>` within the count is a key name
    ("AI.DAGEXECUTE LOAD 2 a |> AI.TENSORGET a", E_TENSOR_EMPTY),
    # the key read fails before a later header error
    ("AI.DAGEXECUTE LOAD 1 missing BAD |> AI.TENSORGET a", E_TENSOR_EMPTY),
])
def test_2_load(dag, server, command, message):
    check(dag, server, command, message)


def test_2_load_greedy_takes_a_pipe_key(dag, server):
    r = dag
    tset(r, "|>", [1])
    # LOAD 2 takes `a` and the key named `|>`; AI.TENSORGET is then a header token
    check(r, server, "AI.DAGEXECUTE LOAD 2 a |> AI.TENSORGET a", unexpected("AI.TENSORGET"))


# --------------------------------------------------------------------------------------------------
# 2. Header: PERSIST


@pytest.mark.parametrize("command,message", [
    # read-only commands, before any other PERSIST check
    ("AI.DAGEXECUTE_RO PERSIST 1 t |> AI.TENSORSET t FLOAT 1 2 VALUES 5 10", "ERR PERSIST cannot be specified in a read-only DAG"),
    ("AI.DAGRUN_RO PERSIST 1 t |> AI.TENSORSET t FLOAT 1 2 VALUES 5 10", "ERR PERSIST cannot be specified in a read-only DAG"),
    ("AI.DAGRUN_RO LOAD 1 a PERSIST", "ERR PERSIST cannot be specified in a read-only DAG"),
    ("AI.DAGEXECUTE_RO ROUTING r PERSIST x x", "ERR PERSIST cannot be specified in a read-only DAG"),
    # fewer than 2 tokens after PERSIST
    ("AI.DAGEXECUTE ROUTING a LOAD 1 a PERSIST 1", "ERR missing arguments after PERSIST keyword in DAG command"),
    ("AI.DAGRUN LOAD 1 a PERSIST", "ERR missing arguments after PERSIST keyword in DAG command"),
    # the count
    ("AI.DAGEXECUTE ROUTING a PERSIST not_number a", "ERR invalid or negative value found in number of keys to PERSIST"),
    ("AI.DAGEXECUTE PERSIST 0 t |> AI.TENSORSET t FLOAT 1", "ERR invalid or negative value found in number of keys to PERSIST"),
    ("AI.DAGRUN PERSIST -2 t u |> AI.TENSORSET t FLOAT 1", "ERR invalid or negative value found in number of keys to PERSIST"),
    # duplicates, found before the count runs short
    ("AI.DAGEXECUTE PERSIST 2 t t |> AI.TENSORSET t FLOAT 1", "ERR PERSIST keys must be unique"),
    ("AI.DAGRUN PERSIST 3 t u t |> AI.TENSORSET t FLOAT 1", "ERR PERSIST keys must be unique"),
    ("AI.DAGEXECUTE ROUTING r PERSIST 3 t t", "ERR PERSIST keys must be unique"),
    # too few tokens
    ("AI.DAGEXECUTE ROUTING a PERSIST 2 a",
     "ERR number of keys to PERSIST after DAG execution does not match the number of given arguments"),
    ("AI.DAGRUN LOAD 1 a PERSIST 3 t u",
     "ERR number of keys to PERSIST after DAG execution does not match the number of given arguments"),
    # greedy: a `|>` within the count is a name, the op name after it an unknown header token
    ("AI.DAGEXECUTE PERSIST 2 t |> AI.TENSORSET t FLOAT 1", unexpected("AI.TENSORSET")),
])
def test_2_persist(dag, server, command, message):
    check(dag, server, command, message)


# --------------------------------------------------------------------------------------------------
# 2. Header: ROUTING, TIMEOUT


@pytest.mark.parametrize("command,message", [
    ("AI.DAGEXECUTE PERSIST 3 a b c ROUTING", "ERR Missing ROUTING value"),
    ("AI.DAGEXECUTE_RO LOAD 2 a b ROUTING", "ERR Missing ROUTING value"),
    ("AI.DAGRUN LOAD 1 a ROUTING", "ERR Missing ROUTING value"),          # DAGRUN knows ROUTING too
    ("AI.DAGRUN_RO LOAD 1 a ROUTING", "ERR Missing ROUTING value"),
    # ROUTING takes the next token whatever it is
    ("AI.DAGEXECUTE ROUTING |> AI.TENSORGET a VALUES", unexpected("AI.TENSORGET")),
    ("AI.DAGEXECUTE ROUTING a PERSIST 1 a TIMEOUT", "ERR No value provided for TIMEOUT"),
    ("AI.DAGRUN LOAD 1 a TIMEOUT", "ERR No value provided for TIMEOUT"),
    ("AI.DAGEXECUTE ROUTING a PERSIST 1 a TIMEOUT not_number", E_TIMEOUT_VALUE),
    ("AI.DAGEXECUTE_RO ROUTING r TIMEOUT 1.5 |> AI.TENSORGET a", E_TIMEOUT_VALUE),
    ("AI.DAGRUN TIMEOUT +5 |> AI.TENSORGET a", E_TIMEOUT_VALUE),
    ("AI.DAGRUN_RO TIMEOUT |> AI.TENSORGET a", E_TIMEOUT_VALUE),
    ("AI.DAGEXECUTE LOAD 2 a b TIMEOUT 99999999999999999999 |> AI.TENSORGET a", E_TIMEOUT_VALUE),
])
def test_2_routing_and_timeout(dag, server, command, message):
    check(dag, server, command, message)


@pytest.mark.parametrize("timeout", [0, -1, -100])
@pytest.mark.parametrize("command", [DE, DR])
def test_2_zero_and_negative_dag_timeouts_are_accepted(dag, command, timeout):
    r = dag
    reply = r.execute_command(command, "LOAD", 2, "a", "b", "PERSIST", 1, "c", "TIMEOUT", timeout,
                              "|>", "AI.MODELEXECUTE" if command == DE else "AI.MODELRUN", "m",
                              *(["INPUTS", 2, "a", "b", "OUTPUTS", 1, "c"] if command == DE
                                else ["INPUTS", "a", "b", "OUTPUTS", "c"]))
    assert reply == [b"OK"]
    assert r.execute_command("AI.TENSORGET", "c", "VALUES") == SUM_AB


def test_2_routing_is_accepted_by_dagrun(dag):
    r = dag
    assert r.execute_command(*S("AI.DAGRUN ROUTING r |> AI.TENSORSET t FLOAT 1 VALUES 7 |> AI.TENSORGET t VALUES")) \
        == [b"OK", [b"7"]]
    assert r.execute_command(*S("AI.DAGRUN_RO ROUTING r |> AI.TENSORSET t FLOAT 1 VALUES 7")) == [b"OK"]
    assert not r.exists("t") and not r.exists("r")


# --------------------------------------------------------------------------------------------------
# 2. Header: unexpected tokens (two spaces after the colon)


@pytest.mark.parametrize("command,token", [
    ("AI.DAGEXECUTE ROUTING a PERSIST 1 a BAD_ARG", "BAD_ARG"),
    ("AI.DAGEXECUTE_RO ROUTING r BAD |> AI.TENSORGET a", "BAD"),
    ("AI.DAGRUN BAD |> AI.TENSORGET a", "BAD"),
    ("AI.DAGRUN_RO LOAD 1 a a |> AI.TENSORGET a", "a"),
    ("AI.DAGRUN KEYS 1 a |> AI.TENSORGET a", "KEYS"),
    ("AI.DAGEXECUTE ROUTING r AI.TENSORGET a |> AI.TENSORGET a", "AI.TENSORGET"),
    # each header item once only; a repeat is not parsed (its own errors never show)
    ("AI.DAGEXECUTE LOAD 1 a LOAD 1 b |> AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c", "LOAD"),
    ("AI.DAGEXECUTE LOAD 1 a load x |> AI.TENSORGET a", "load"),
    ("AI.DAGEXECUTE PERSIST 1 c PERSIST 1 d |> AI.TENSORSET c FLOAT 1", "PERSIST"),
    ("AI.DAGEXECUTE ROUTING r ROUTING y |> AI.TENSORGET a", "ROUTING"),
    ("AI.DAGRUN ROUTING r Routing |> AI.TENSORGET a", "Routing"),
    ("AI.DAGEXECUTE ROUTING r TIMEOUT 5 TIMEOUT x |> AI.TENSORGET a", "TIMEOUT"),
    ("AI.DAGRUN_RO TIMEOUT 5 TIMEOUT |> AI.TENSORGET a", "TIMEOUT"),
    # a `|>` that is the last token starts no op
    ("AI.DAGEXECUTE ROUTING r TIMEOUT 5 |>", "|>"),
    ("AI.DAGEXECUTE_RO LOAD 2 a b |>", "|>"),
    ("AI.DAGRUN LOAD 1 a |>", "|>"),
    ("AI.DAGRUN_RO TIMEOUT 5 |>", "|>"),
    ("AI.DAGEXECUTE ROUTING r |> AI.TENSORGET a |>", "|>"),
    ("AI.DAGEXECUTE LOAD 2 a b PERSIST 1 c |> AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c |>", "|>"),
    ("AI.DAGRUN |> AI.TENSORSET t FLOAT 1 |> |>", "|>"),
    # the header scan covers the whole command: these come before the op errors
    ("AI.DAGRUN_RO LOAD 1 a |> AI.TENSORGET |>", "|>"),
    ("AI.DAGEXECUTE ROUTING r |> AI.NOCOMMAND |>", "|>"),
    # ... and before the ROUTING/LOAD/PERSIST rule
    ("AI.DAGEXECUTE TIMEOUT 5 BAD |> AI.TENSORGET a", "BAD"),
    ("AI.DAGEXECUTE_RO TIMEOUT 5 |> AI.TENSORGET a |>", "|>"),
])
def test_2_unexpected_argument(dag, server, command, token):
    check(dag, server, command, unexpected(token))


def test_2_header_keywords_after_the_first_op_belong_to_ops(dag, server):
    # LOAD after the first `|>` is an op name, not a header item
    check(dag, server, "AI.DAGEXECUTE ROUTING r |> AI.TENSORSET t FLOAT 1 |> LOAD 1 a", E_UNSUPPORTED)
    check(dag, server, "AI.DAGRUN |> AI.TENSORGET a PERSIST 1 a", "wrong number of arguments for 'AI.TENSORGET' command")


# --------------------------------------------------------------------------------------------------
# 3. AI.DAGEXECUTE[_RO] need one of ROUTING, LOAD, PERSIST


@pytest.mark.parametrize("command", [
    "AI.DAGEXECUTE |> AI.TENSORSET a FLOAT 1 2 VALUES 5 10",
    "AI.DAGEXECUTE_RO |> AI.TENSORSET a FLOAT 1 2 VALUES 5 10",
    "AI.DAGEXECUTE TIMEOUT 5 |> AI.TENSORGET a",
    "ai.dagexecute_ro TIMEOUT 5 |> AI.TENSORGET a",
    "AI.DAGEXECUTE TIMEOUT 5 |> AI.NOCOMMAND x",          # before the ops are parsed
    "AI.DAGEXECUTE |> AI.MODELRUN m INPUTS a b OUTPUTS c",
])
def test_3_dagexecute_needs_routing_load_or_persist(dag, server, command):
    check(dag, server, command, E_NEEDS)


@pytest.mark.parametrize("command", [DR, DRRO])
def test_3_dagrun_needs_none_of_them(dag, command):
    r = dag
    assert r.execute_command(command, "|>", "AI.TENSORSET", "t", "FLOAT", 1, "VALUES", 3,
                             "|>", "AI.TENSORGET", "t", "VALUES") == [b"OK", [b"3"]]


# --------------------------------------------------------------------------------------------------
# 4. No op


@pytest.mark.parametrize("command", [
    "AI.DAGEXECUTE ROUTING a LOAD 1 a",
    "AI.DAGEXECUTE ROUTING volatile LOAD 1 a TIMEOUT 5",
    "AI.DAGEXECUTE_RO LOAD 2 a b TIMEOUT 5",
    "AI.DAGEXECUTE LOAD 1 a PERSIST 1 nothere",   # before the PERSIST names are resolved
    "AI.DAGRUN LOAD 1 a",
    "AI.DAGRUN TIMEOUT 5 PERSIST 1 t",
    "AI.DAGRUN_RO LOAD 1 a",
    "AI.DAGRUN_RO ROUTING r TIMEOUT 0",
])
def test_4_dag_is_empty(dag, server, command):
    check(dag, server, command, E_EMPTY)


# --------------------------------------------------------------------------------------------------
# 5. Op errors: AI.TENSORSET and AI.TENSORGET (all four commands)

E_TS_ARITY = "wrong number of arguments for 'AI.TENSORSET' command"
E_TG_ARITY = "wrong number of arguments for 'AI.TENSORGET' command"
TENSOR_OP_ERRORS = [
    ("AI.TENSORSET", E_TS_ARITY),
    ("AI.TENSORSET t", E_TS_ARITY),
    ("AI.TENSORSET t FLOAT", E_TS_ARITY),
    ("ai.tensorset t FLOAT", E_TS_ARITY),
    ("AI.TENSORSET t BADTYPE 1", "ERR invalid data type"),
    ("AI.TENSORSET t FLOAT -0", "ERR invalid or negative value found in tensor shape"),
    ("AI.TENSORSET t FLOAT 2 -1", "ERR invalid or negative value found in tensor shape"),
    ("AI.TENSORSET t FLOAT x VALUES 1", "ERR invalid or negative value found in tensor shape"),
    ("AI.TENSORSET t FLOAT 2 BLOB", "ERR a single binary string should come after the BLOB argument in 'AI.TENSORSET' command"),
    ("AI.TENSORSET t FLOAT 1 BLOB aaaa bbbb",
     "ERR a single binary string should come after the BLOB argument in 'AI.TENSORSET' command"),
    ("AI.TENSORSET t FLOAT 2 VALUES 1", "ERR wrong number of values was given in 'AI.TENSORSET' command"),
    ("AI.TENSORSET t FLOAT 1 VALUES 1 2", "ERR wrong number of values was given in 'AI.TENSORSET' command"),
    ("AI.TENSORSET t FLOAT 2 BLOB abc", "ERR data length does not match tensor shape and type"),
    (["AI.TENSORSET", "t", "BOOL", 2, "BLOB", b"\x02\x01"], "ERR BOOL tensor elements must be 0 or 1"),
    (["AI.TENSORSET", "t", "STRING", 2, "BLOB", b"abc\x00"],
     "ERR Number of string elements in data blob does not match tensor length"),
    ("AI.TENSORSET t FLOAT 1 VALUES x", "ERR invalid value"),
    ("AI.TENSORSET t INT8 1 VALUES 300", "ERR invalid value"),
    (["AI.TENSORSET", "t", "STRING", 1, "VALUES", b"a\x00b"], "ERR C-string value contains null character"),
    ("AI.TENSORGET", E_TG_ARITY),
    ("AI.TENSORGET a META BLOB extra", E_TG_ARITY),
    ("ai.tensorget a META META META", E_TG_ARITY),
    ("AI.TENSORGET a BAD", "ERR unsupported data format"),
    ("AI.TENSORGET a META bad", "ERR unsupported data format"),
    ("AI.TENSORGET a BLOB VALUES", "ERR both BLOB and VALUES specified"),
    ("AI.TENSORGET nothere values BLOB", "ERR both BLOB and VALUES specified"),  # before name resolution
]


@pytest.mark.parametrize("command", ALL)
@pytest.mark.parametrize("op,message", TENSOR_OP_ERRORS)
def test_5_tensor_op_errors(dag, server, command, op, message):
    header = {DE: ["LOAD", 2, "a", "b", "PERSIST", 1, "c"], DERO: ["LOAD", 2, "a", "b"],
              DR: ["LOAD", 2, "a", "b", "PERSIST", 1, "c"], DRRO: ["LOAD", 2, "a", "b"]}[command]
    model_op = (["AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c"] if command in (DE, DERO)
                else ["AI.MODELRUN", "m", "INPUTS", "a", "b", "OUTPUTS", "c"])
    # a valid model op first: the failing op comes later, and still nothing runs
    check(dag, server, [command, *header, "|>", *model_op, "|>", *S(op)], message)


def test_5_tensorset_op_does_not_touch_the_keyspace(dag):
    r = dag
    # no type check of the name (it is DAG-local), nothing written without PERSIST
    assert r.execute_command(*S("AI.DAGEXECUTE ROUTING str |> AI.TENSORSET str FLOAT 1 VALUES 1 "
                                "|> AI.TENSORGET str VALUES")) == [b"OK", [b"1"]]
    assert r.get("str") == b"keep"


# --------------------------------------------------------------------------------------------------
# 5. Op errors: AI.MODELEXECUTE (docs/COMMANDS.md §5.5) in AI.DAGEXECUTE and AI.DAGEXECUTE_RO

E_ME_ARITY = "ERR wrong number of arguments for 'AI.MODELEXECUTE' command"
MODELEXECUTE_ERRORS = [
    ("AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS", E_ME_ARITY),
    ("AI.MODELEXECUTE", E_ME_ARITY),
    ("ai.modelexecute m INPUTS 2 a b OUTPUTS", E_ME_ARITY),       # fixed text
    ("AI.MODELEXECUTE nokey INPUTS 2 a b OUTPUTS 1 c", "ERR model key is empty"),
    ("AI.MODELEXECUTE nokey FOO 2 a b OUTPUTS 1 c", "ERR model key is empty"),
    ("AI.MODELEXECUTE a INPUTS 2 a b OUTPUTS 1 c", WRONGTYPE),
    ("AI.MODELEXECUTE str INPUTS 2 a b OUTPUTS 1 c", WRONGTYPE),
    ("AI.MODELEXECUTE s INPUTS 2 a b OUTPUTS 1 c", WRONGTYPE),
    ("AI.MODELEXECUTE m FOO 2 a b OUTPUTS 1 c", "ERR INPUTS not specified"),
    ("AI.MODELEXECUTE m TIMEOUT 5 INPUTS 2 a b OUTPUTS 1 c", "ERR INPUTS not specified"),
    ("AI.MODELEXECUTE m INPUTS x a b OUTPUTS 1 c", "ERR Invalid argument for input_count"),
    ("AI.MODELEXECUTE m INPUTS 0 a b OUTPUTS 1 c", "ERR Input count must be a positive integer"),
    ("AI.MODELEXECUTE m INPUTS -2 a b OUTPUTS 1 c", "ERR Input count must be a positive integer"),
    ("AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 c c", "Number of keys given as INPUTS here does not match model definition"),
    ("AI.MODELEXECUTE m INPUTS 3 a b a OUTPUTS 1 c",
     "Number of keys given as INPUTS here does not match model definition"),
    ("AI.MODELEXECUTE m INPUTS 2 a b FOO 1 c", "ERR OUTPUTS not specified"),
    ("AI.MODELEXECUTE m INPUTS 2 a b a OUTPUTS c", "ERR OUTPUTS not specified"),
    ("AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS x c", "ERR Invalid argument for output_count"),
    ("AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 0 c", "ERR Output count must be a positive integer"),
    ("AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 2 c d", "Number of keys given as OUTPUTS here does not match model definition"),
    ("AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1",
     "ERR number of output keys to AI.MODELEXECUTE command does not match the number of given arguments"),
    ("AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c FOO", "Invalid argument: FOO"),
    ("AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c d", "Invalid argument: d"),
    ("AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c TIMEOUT", "ERR No value provided for TIMEOUT"),
    ("AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c TIMEOUT x", E_TIMEOUT_VALUE),
    ("AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c TIMEOUT 0", E_TIMEOUT_VALUE),
    ("AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c TIMEOUT 5 x", "Invalid argument: x"),
    ("AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c TIMEOUT 5", E_TIMEOUT_IN_DAG),
    ("AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c timeout 100000", E_TIMEOUT_IN_DAG),
]


@pytest.mark.parametrize("command", [DE, DERO])
@pytest.mark.parametrize("op,message", MODELEXECUTE_ERRORS)
def test_5_modelexecute_op_errors(dag, server, command, op, message):
    header = ["LOAD", 2, "a", "b"] + (["PERSIST", 1, "c"] if command == DE else [])
    check(dag, server, [command, *header, "|>", *S(op)], message)


def test_5_modelexecute_op_too_few_input_names(dag, server):
    r = dag
    assert r.execute_command("AI.MODELSTORE", "sum5", "ONNX", "CPU", "BLOB", onnx_sum_model(5)) == b"OK"
    check(r, server, "AI.DAGEXECUTE LOAD 1 a |> AI.MODELEXECUTE sum5 INPUTS 5 a a a a",
          "ERR number of input keys to AI.MODELEXECUTE command does not match the number of given arguments")
    # the op ends at the next `|>`: tokens of the next op are not its input names
    check(r, server, "AI.DAGEXECUTE LOAD 1 a |> AI.MODELEXECUTE sum5 INPUTS 5 a a a a |> AI.TENSORGET a",
          "ERR number of input keys to AI.MODELEXECUTE command does not match the number of given arguments")
    assert stats(r, "sum5")["calls"] == 0


def test_5_modelexecute_op_tensor_names_are_not_keys(dag, server):
    # a DAG op never reads its tensors from the keyspace: a string key is not a WRONGTYPE, a missing
    # name is not "tensor key is empty"; both are unknown DAG names
    check(dag, server, "AI.DAGEXECUTE ROUTING r |> AI.MODELEXECUTE m INPUTS 2 str str OUTPUTS 1 c", E_INPUT)
    check(dag, server, "AI.DAGEXECUTE ROUTING r |> AI.MODELEXECUTE m INPUTS 2 nope nope OUTPUTS 1 c", E_INPUT)


# --------------------------------------------------------------------------------------------------
# 5. Op errors: AI.MODELRUN (docs/COMMANDS.md §5.6) in AI.DAGRUN and AI.DAGRUN_RO

E_NIN = "Number of keys given as INPUTS here does not match model definition"
E_NOUT = "Number of keys given as OUTPUTS here does not match model definition"
MODELRUN_ERRORS = [
    ("AI.MODELRUN m INPUTS a b", "ERR wrong number of arguments for 'AI.MODELRUN' command"),
    ("AI.MODELRUN", "ERR wrong number of arguments for 'AI.MODELRUN' command"),
    ("AI.MODELRUN nokey INPUTS a b OUTPUTS c", "ERR model key is empty"),
    ("AI.MODELRUN nokey FOO a b OUTPUTS c", "ERR model key is empty"),
    ("AI.MODELRUN a INPUTS a b OUTPUTS c", WRONGTYPE),
    ("AI.MODELRUN old INPUTS a b OUTPUTS c", WRONGTYPE),
    ("AI.MODELRUN m TIMEOUT x INPUTS a b OUTPUTS c", E_TIMEOUT_VALUE),
    ("AI.MODELRUN m TIMEOUT 0 INPUTS a b OUTPUTS c", E_TIMEOUT_VALUE),
    ("AI.MODELRUN m TIMEOUT -1 FOO a b OUTPUTS c", E_TIMEOUT_VALUE),
    ("AI.MODELRUN m FOO a b OUTPUTS c", "ERR INPUTS not specified"),
    ("AI.MODELRUN m TIMEOUT 5 FOO a b OUTPUTS c", "ERR INPUTS not specified"),
    ("AI.MODELRUN m a b OUTPUTS c d", "ERR INPUTS not specified"),
    ("AI.MODELRUN m INPUTS a OUTPUTS c d", E_NIN),
    ("AI.MODELRUN m INPUTS a b a OUTPUTS c", E_NIN),
    ("AI.MODELRUN m INPUTS a b c d", E_NIN),                      # no OUTPUTS: every token is an input
    ("AI.MODELRUN m INPUTS a b OUTPUTS c d", E_NOUT),
    ("AI.MODELRUN m INPUTS a b OUTPUTS c OUTPUTS", E_NOUT),       # a later OUTPUTS is an output name
    ("AI.MODELRUN m INPUTS a b a OUTPUTS c d", E_NIN),            # inputs are checked first
    ("AI.MODELRUN m TIMEOUT 5 INPUTS a b OUTPUTS c", E_TIMEOUT_IN_DAG),
    ("AI.MODELRUN m TIMEOUT 5 INPUTS a b OUTPUTS c d", E_NOUT),   # the counts come before the DAG rule
]


@pytest.mark.parametrize("command", [DR, DRRO])
@pytest.mark.parametrize("op,message", MODELRUN_ERRORS)
def test_5_modelrun_op_errors(dag, server, command, op, message):
    header = ["LOAD", 2, "a", "b"] + (["PERSIST", 1, "c"] if command == DR else [])
    check(dag, server, [command, *header, "|>", *S(op)], message)


# --------------------------------------------------------------------------------------------------
# 5. Op errors: AI.SCRIPTEXECUTE (docs/COMMANDS.md §6.5) in AI.DAGEXECUTE

SCRIPTEXECUTE_ERRORS = [
    ("AI.SCRIPTEXECUTE s", "ERR wrong number of arguments for 'AI.SCRIPTEXECUTE' command"),
    ("AI.SCRIPTEXECUTE", "ERR wrong number of arguments for 'AI.SCRIPTEXECUTE' command"),
    ("AI.SCRIPTEXECUTE nokey bar INPUTS 2 a b OUTPUTS 1 c", "ERR script key is empty"),
    ("AI.SCRIPTEXECUTE nokey bar FOO", "ERR script key is empty"),
    ("AI.SCRIPTEXECUTE m bar INPUTS 2 a b OUTPUTS 1 c", WRONGTYPE),
    ("AI.SCRIPTEXECUTE str bar INPUTS 2 a b OUTPUTS 1 c", WRONGTYPE),
    # upstream example: the function name is missing, so INPUTS is taken for it
    ("AI.SCRIPTEXECUTE s INPUTS 1 a OUTPUTS 1 c", "ERR Invalid AI.SCRIPTEXECUTE command. Unexpected argument: 1"),
    ("AI.SCRIPTEXECUTE s bar KEYS 1", "ERR Missing arguments after KEYS keyword"),
    ("AI.SCRIPTEXECUTE s bar INPUTS 2 a b KEYS", "ERR Missing arguments after KEYS keyword"),
    ("AI.SCRIPTEXECUTE s bar KEYS not_number key", "ERR Invalid or negative value found in number of KEYS"),
    ("AI.SCRIPTEXECUTE s bar KEYS 0 key", "ERR Invalid or negative value found in number of KEYS"),
    ("AI.SCRIPTEXECUTE s bar KEYS 2 key",
     "ERR Number of pre declared KEYS to be used in the command does not match the number of given arguments"),
    ("AI.SCRIPTEXECUTE s bar INPUTS", "ERR Invalid arguments provided to AI.SCRIPTEXECUTE"),
    ("AI.SCRIPTEXECUTE s bar INPUTS 2 a b OUTPUTS", "ERR Invalid arguments provided to AI.SCRIPTEXECUTE"),
    ("AI.SCRIPTEXECUTE s bar INPUTS OUTPUTS", "ERR Invalid argument for inputs count in AI.SCRIPTEXECUTE"),
    ("AI.SCRIPTEXECUTE s bar INPUTS 2 a b ARGS x y", "ERR Invalid argument for keys count in AI.SCRIPTEXECUTE"),
    ("AI.SCRIPTEXECUTE s bar INPUTS 2 a b OUTPUTS one c", "ERR Invalid argument for outputs count in AI.SCRIPTEXECUTE"),
    ("AI.SCRIPTEXECUTE s bar INPUTS 3 a b",
     "ERR number of inputs to AI.SCRIPTEXECUTE command does not match the number of given arguments"),
    ("AI.SCRIPTEXECUTE s bar INPUTS 2 a b ARGS 2 x",
     "ERR number of args to AI.SCRIPTEXECUTE command does not match the number of given arguments"),
    ("AI.SCRIPTEXECUTE s bar INPUTS 2 a b OUTPUTS 2 c",
     "ERR number of outputs to AI.SCRIPTEXECUTE command does not match the number of given arguments"),
    ("AI.SCRIPTEXECUTE s bar KEYS 1 k KEYS 1 k", "ERR Already Encountered KEYS scope in AI.SCRIPTEXECUTE command"),
    ("AI.SCRIPTEXECUTE s bar INPUTS 1 a INPUTS 1 b", "ERR Already Encountered INPUTS scope in AI.SCRIPTEXECUTE command"),
    ("AI.SCRIPTEXECUTE s bar ARGS 1 x ARGS 1 y", "ERR Already Encountered ARGS scope in AI.SCRIPTEXECUTE command"),
    ("AI.SCRIPTEXECUTE s bar OUTPUTS 1 c OUTPUTS 1 d",
     "ERR Already Encountered OUTPUTS scope in AI.SCRIPTEXECUTE command"),
    ("AI.SCRIPTEXECUTE s bar INPUTS 2 a b FOO", "ERR Invalid AI.SCRIPTEXECUTE command. Unexpected argument: FOO"),
    ("AI.SCRIPTEXECUTE s bar INPUTS_LIST 1 a", "ERR Invalid AI.SCRIPTEXECUTE command. Unexpected argument: INPUTS_LIST"),
    ("AI.SCRIPTEXECUTE s bar INPUTS 2 a b OUTPUTS 1 c TIMEOUT", "ERR No value provided for TIMEOUT in AI.SCRIPTEXECUTE"),
    ("AI.SCRIPTEXECUTE s bar INPUTS 2 a b OUTPUTS 1 c TIMEOUT x", E_TIMEOUT_VALUE),
    ("AI.SCRIPTEXECUTE s bar INPUTS 2 a b OUTPUTS 1 c TIMEOUT -3", E_TIMEOUT_VALUE),
    ("AI.SCRIPTEXECUTE s bar INPUTS 2 a b TIMEOUT 5 OUTPUTS 1 c", "ERR Encountered problem parsing AI.SCRIPTEXECUTE"),
    ("AI.SCRIPTEXECUTE s bar INPUTS 2 a b OUTPUTS 1 c TIMEOUT 5", E_TIMEOUT_IN_DAG),
    ("AI.SCRIPTEXECUTE s bar TIMEOUT 5", E_TIMEOUT_IN_DAG),
]


@pytest.mark.parametrize("op,message", SCRIPTEXECUTE_ERRORS)
def test_5_scriptexecute_op_errors(dag, server, op, message):
    check(dag, server, ["AI.DAGEXECUTE", "LOAD", 2, "a", "b", "PERSIST", 1, "c", "|>", *S(op)], message)


def test_5_scriptexecute_op_has_no_first_section_rule_and_keys_are_not_names(dag):
    r = dag
    reply = r.execute_command(*S("AI.DAGEXECUTE LOAD 2 a b |> AI.SCRIPTEXECUTE s bar OUTPUTS 1 c INPUTS 2 a b "
                                 "|> AI.SCRIPTEXECUTE s bar ARGS 1 x KEYS 1 nokey INPUTS 2 c a OUTPUTS 1 d "
                                 "|> AI.TENSORGET d VALUES"))
    assert reply == [b"OK", b"OK", [b"14", b"26", b"34", b"46"]]


# --------------------------------------------------------------------------------------------------
# 5. Op errors: AI.SCRIPTRUN (docs/COMMANDS.md §6.6) in AI.DAGRUN and AI.DAGRUN_RO

SCRIPTRUN_ERRORS = [
    ("AI.SCRIPTRUN old", "ERR wrong number of arguments for 'AI.SCRIPTRUN' command"),
    ("AI.SCRIPTRUN", "ERR wrong number of arguments for 'AI.SCRIPTRUN' command"),
    ("AI.SCRIPTRUN nokey bar INPUTS a b OUTPUTS c", "ERR script key is empty"),
    ("AI.SCRIPTRUN nokey bar FOO", "ERR script key is empty"),
    ("AI.SCRIPTRUN m bar INPUTS a b OUTPUTS c", WRONGTYPE),
    ("AI.SCRIPTRUN a bar INPUTS a b OUTPUTS c", WRONGTYPE),
    ("AI.SCRIPTRUN old bar TIMEOUT x INPUTS a b OUTPUTS c", E_TIMEOUT_VALUE),
    ("AI.SCRIPTRUN old bar TIMEOUT 0 INPUTS a b OUTPUTS c", E_TIMEOUT_VALUE),
    ("AI.SCRIPTRUN old bar INPUTS a b OUTPUTS c TIMEOUT", E_TIMEOUT_VALUE),
    ("AI.SCRIPTRUN old bar TIMEOUT 5 INPUTS a b OUTPUTS c TIMEOUT 5",
     "ERR Already encountered an TIMEOUT section in SCRIPTRUN"),
    ("AI.SCRIPTRUN old bar INPUTS a OUTPUTS c INPUTS b", "ERR Already encountered an INPUTS section in SCRIPTRUN"),
    ("AI.SCRIPTRUN old bar INPUTS a INPUTS b OUTPUTS c", "ERR Already encountered an INPUTS keyword in SCRIPTRUN"),
    ("AI.SCRIPTRUN old bar INPUTS a b OUTPUTS c OUTPUTS d", "ERR Already encountered an OUTPUTS keyword in SCRIPTRUN"),
    ("AI.SCRIPTRUN old bar $ INPUTS a b OUTPUTS c",
     "ERR Encountered a variable size list of tensors outside of input section"),
    ("AI.SCRIPTRUN old bar INPUTS a b OUTPUTS $ c",
     "ERR Encountered a variable size list of tensors outside of input section"),
    ("AI.SCRIPTRUN old bar INPUTS a $ b $ OUTPUTS c", "ERR Already encountered a variable size list of tensors"),
    ("AI.SCRIPTRUN old bar a INPUTS a b OUTPUTS c", "ERR Unrecongnized parameter to SCRIPTRUN"),
    ("AI.SCRIPTRUN old bar KEYS 1 k INPUTS a b OUTPUTS c", "ERR Unrecongnized parameter to SCRIPTRUN"),
    ("AI.SCRIPTRUN old bar TIMEOUT 5 INPUTS a b OUTPUTS c", E_TIMEOUT_IN_DAG),
    ("AI.SCRIPTRUN old bar INPUTS a b OUTPUTS c TIMEOUT 100000", E_TIMEOUT_IN_DAG),
]


@pytest.mark.parametrize("command", [DR, DRRO])
@pytest.mark.parametrize("op,message", SCRIPTRUN_ERRORS)
def test_5_scriptrun_op_errors(dag, server, command, op, message):
    header = ["LOAD", 2, "a", "b"] + (["PERSIST", 1, "c"] if command == DR else [])
    check(dag, server, [command, *header, "|>", *S(op)], message)


def test_5_scriptrun_op_ends_at_the_next_pipe(dag, server):
    # TIMEOUT is the last token of its op: no value, whatever follows the `|>`
    check(dag, server, "AI.DAGRUN LOAD 2 a b |> AI.SCRIPTRUN old bar INPUTS a b OUTPUTS c TIMEOUT "
                       "|> AI.TENSORGET c VALUES", E_TIMEOUT_VALUE)


# --------------------------------------------------------------------------------------------------
# 5. Which ops each command accepts

E_DEP_MODELRUN = "Deprecated AI.MODELRUN cannot be used in AI.DAGEXECUTE command"
E_DEP_SCRIPTRUN = "Deprecated AI.SCRIPTRUN cannot be used in AI.DAGEXECUTE command"
E_ME_IN_DAGRUN = "AI.MODELEXECUTE cannot be used in a deprecated AI.DAGRUN command"
E_SE_IN_DAGRUN = "AI.SCRIPTEXECUTE cannot be used in a deprecated AI.DAGRUN command"
E_SE_RO = "ERR AI.SCRIPTEXECUTE command cannot be specified in a read-only DAG"


@pytest.mark.parametrize("command,op,message", [
    (DE, "AI.MODELRUN m INPUTS a b OUTPUTS c", E_DEP_MODELRUN),
    (DE, "AI.MODELRUN", E_DEP_MODELRUN),                     # whatever its own arguments
    (DE, "ai.modelrun nokey", E_DEP_MODELRUN),
    (DE, "AI.SCRIPTRUN old bar INPUTS a b OUTPUTS c", E_DEP_SCRIPTRUN),
    (DE, "AI.SCRIPTRUN", E_DEP_SCRIPTRUN),
    (DERO, "AI.MODELRUN m INPUTS a b OUTPUTS c", E_DEP_MODELRUN),
    (DERO, "AI.SCRIPTRUN old bar INPUTS a b OUTPUTS c", E_DEP_SCRIPTRUN),
    (DERO, "AI.SCRIPTEXECUTE s bar INPUTS 2 a b OUTPUTS 1 c", E_SE_RO),
    (DERO, "AI.SCRIPTEXECUTE", E_SE_RO),                     # before its arity and script key
    (DERO, "AI.SCRIPTEXECUTE nokey bar", E_SE_RO),
    (DR, "AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c", E_ME_IN_DAGRUN),
    (DR, "AI.MODELEXECUTE", E_ME_IN_DAGRUN),
    (DR, "AI.SCRIPTEXECUTE s bar INPUTS 2 a b OUTPUTS 1 c", E_SE_IN_DAGRUN),
    (DR, "ai.scriptexecute nokey", E_SE_IN_DAGRUN),
    (DRRO, "AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c", E_ME_IN_DAGRUN),
    (DRRO, "AI.SCRIPTEXECUTE s bar INPUTS 2 a b OUTPUTS 1 c", E_SE_IN_DAGRUN),
    (DRRO, "AI.SCRIPTEXECUTE", E_SE_IN_DAGRUN),
])
def test_5_op_not_allowed_in_this_command(dag, server, command, op, message):
    check(dag, server, [command, "LOAD", 2, "a", "b", "|>", *S(op)], message)


@pytest.mark.parametrize("command", ALL)
@pytest.mark.parametrize("ops", [
    "|> AI.NOCOMMAND a FLOAT 1 2 VALUES 5 10",
    "|> SET k v",
    "|> AI.TENSORSETX t FLOAT 1",
    "|> AI.MODELSTORE m2 TORCH CPU BLOB x",
    "|> AI.SCRIPTGET s",
    "|> AI.DAGRUN |> AI.TENSORGET a",
    "|> AI.TENSORGET a |> |> AI.TENSORGET a",                 # an empty op
    "|> |> AI.TENSORGET a",
    "|> AI.TENSORSET t FLOAT 1 |> LOAD 1 a",
    "|> AI.TENSORSET t FLOAT 1 |> a",
])
def test_5_unsupported_command_within_dag(dag, server, command, ops):
    check(dag, server, [command, "LOAD", 2, "a", "b", *S(ops)], E_UNSUPPORTED)


@pytest.mark.parametrize("command", [DR, DRRO])
def test_5_scriptrun_and_modelrun_are_accepted_by_both_dagrun_forms(dag, command):
    r = dag
    reply = r.execute_command(*S(f"{command} LOAD 2 a b |> ai.modelrun m INPUTS a b OUTPUTS c "
                                 "|> Ai.ScriptRun old bar INPUTS c a OUTPUTS d |> ai.tensorget d VALUES"))
    assert reply == [b"OK", b"OK", [b"14", b"26", b"34", b"46"]]
    assert stats(r, "old")["calls"] == 1


def test_5_modelexecute_is_accepted_by_dagexecute_ro(dag):
    r = dag
    reply = r.execute_command(*S("AI.DAGEXECUTE_RO ROUTING a |> AI.TENSORSET x FLOAT 1 VALUES 1 "
                                 "|> AI.MODELEXECUTE m INPUTS 2 x x OUTPUTS 1 y |> AI.TENSORGET y VALUES"))
    assert reply == [b"OK", b"OK", [b"2"]]


# --------------------------------------------------------------------------------------------------
# 5. The first failing op wins; op parse errors come before name resolution


@pytest.mark.parametrize("command,message", [
    ("AI.DAGEXECUTE ROUTING r |> AI.TENSORGET t BAD |> AI.TENSORSET t BADTYPE 1", "ERR unsupported data format"),
    ("AI.DAGEXECUTE ROUTING r |> AI.TENSORSET t BADTYPE 1 |> AI.TENSORGET t BAD", "ERR invalid data type"),
    ("AI.DAGEXECUTE LOAD 2 a b |> AI.MODELEXECUTE nokey INPUTS 2 a b OUTPUTS 1 c |> AI.MODELRUN m",
     "ERR model key is empty"),
    ("AI.DAGEXECUTE LOAD 2 a b |> AI.MODELRUN m |> AI.MODELEXECUTE nokey INPUTS 2 a b OUTPUTS 1 c",
     E_DEP_MODELRUN),
    ("AI.DAGEXECUTE LOAD 2 a b |> AI.SCRIPTEXECUTE s bar INPUTS 3 a b |> AI.NOCOMMAND",
     "ERR number of inputs to AI.SCRIPTEXECUTE command does not match the number of given arguments"),
    ("AI.DAGEXECUTE LOAD 2 a b |> AI.NOCOMMAND |> AI.SCRIPTEXECUTE s bar INPUTS 3 a b", E_UNSUPPORTED),
    ("AI.DAGRUN LOAD 2 a b |> AI.MODELRUN m INPUTS a OUTPUTS c |> AI.SCRIPTRUN old bar $", E_NIN),
    ("AI.DAGRUN LOAD 2 a b |> AI.SCRIPTRUN old bar $ |> AI.MODELRUN m INPUTS a OUTPUTS c",
     "ERR Encountered a variable size list of tensors outside of input section"),
    # valid ops before the failing one: nothing of them runs or is written
    ("AI.DAGEXECUTE LOAD 2 a b PERSIST 1 c |> AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c "
     "|> AI.TENSORGET c VALUES |> AI.TENSORSET c FLOAT 1 VALUES x", "ERR invalid value"),
    # parse errors before name resolution, wherever the unknown name is
    ("AI.DAGEXECUTE ROUTING r |> AI.TENSORGET nothere VALUES |> AI.TENSORSET t FLOAT 1 VALUES x",
     "ERR invalid value"),
    ("AI.DAGEXECUTE LOAD 1 a |> AI.MODELEXECUTE m INPUTS 2 x y OUTPUTS 1 c |> AI.MODELEXECUTE nokey INPUTS 2 a a OUTPUTS 1 c",
     "ERR model key is empty"),
    ("AI.DAGRUN |> AI.SCRIPTRUN old bar INPUTS x y OUTPUTS c |> AI.TENSORGET c BAD", "ERR unsupported data format"),
    ("AI.DAGEXECUTE PERSIST 1 nothere |> AI.TENSORSET t FLOAT 1 |> AI.TENSORGET t BLOB VALUES",
     "ERR both BLOB and VALUES specified"),
])
def test_5_first_failing_op_wins(dag, server, command, message):
    check(dag, server, command, message)


# --------------------------------------------------------------------------------------------------
# 6. Name resolution


@pytest.mark.parametrize("command", [
    # a name that is not LOADed is never read from the keyspace, even though `a` and `b` exist
    "AI.DAGEXECUTE ROUTING r |> AI.TENSORGET a VALUES",
    "AI.DAGEXECUTE_RO ROUTING a |> AI.TENSORGET a",
    "AI.DAGRUN |> AI.TENSORGET a VALUES",
    "AI.DAGRUN_RO |> AI.TENSORGET a",
    "AI.DAGEXECUTE LOAD 1 a PERSIST 1 c |> AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c",
    "AI.DAGEXECUTE_RO LOAD 1 b |> AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c",
    "AI.DAGEXECUTE LOAD 1 a PERSIST 1 c |> AI.SCRIPTEXECUTE s bar INPUTS 2 a b OUTPUTS 1 c",
    "AI.DAGRUN LOAD 1 a PERSIST 1 c |> AI.MODELRUN m INPUTS a b OUTPUTS c",
    "AI.DAGRUN |> AI.SCRIPTRUN old bar INPUTS a b OUTPUTS c |> AI.TENSORGET c VALUES",
    "AI.DAGRUN_RO LOAD 1 b |> AI.SCRIPTRUN old bar_variadic INPUTS b $ a b OUTPUTS c",
    # a consumer before its producer
    "AI.DAGEXECUTE ROUTING r |> AI.TENSORGET t |> AI.TENSORSET t FLOAT 1",
    "AI.DAGRUN LOAD 1 a |> AI.MODELRUN m INPUTS a t OUTPUTS c |> AI.TENSORSET t FLOAT 2 2",
    # an op does not see its own outputs
    "AI.DAGEXECUTE LOAD 1 a PERSIST 1 c |> AI.MODELEXECUTE m INPUTS 2 a c OUTPUTS 1 c",
    # names are case-sensitive
    "AI.DAGEXECUTE LOAD 1 a |> AI.TENSORGET A",
    # the INPUT error comes before the PERSIST one
    "AI.DAGEXECUTE PERSIST 1 nothere |> AI.TENSORGET nothere2",
    # a later op's unknown input, after valid ops
    "AI.DAGEXECUTE LOAD 2 a b PERSIST 1 c |> AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c |> AI.TENSORGET d",
])
def test_6_input_key_cannot_be_found(dag, server, command):
    check(dag, server, command, E_INPUT)


@pytest.mark.parametrize("command", [
    "AI.DAGEXECUTE PERSIST 1 nothere |> AI.TENSORSET t FLOAT 1 VALUES 1",
    # a key of that name exists, but the DAG never produced the name: `a` is not touched
    "AI.DAGEXECUTE PERSIST 1 a |> AI.TENSORSET t FLOAT 1 VALUES 1",
    # the first PERSIST name resolves, the second does not: neither target is created
    "AI.DAGEXECUTE LOAD 2 a b PERSIST 2 c u |> AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c",
    "AI.DAGRUN LOAD 2 a b PERSIST 2 u c |> AI.MODELRUN m INPUTS a b OUTPUTS c",
    "AI.DAGRUN PERSIST 1 t |> AI.TENSORSET T FLOAT 1",
    "AI.DAGRUN PERSIST 1 c |> AI.SCRIPTRUN old bar OUTPUTS d",
])
def test_6_persist_key_cannot_be_found(dag, server, command):
    check(dag, server, command, E_PERSIST)
    assert not dag.exists("c") and not dag.exists("u") and not dag.exists("t")


def test_6_persist_takes_the_final_version(dag):
    """Positive control for the resolution rules: a LOADed name can be persisted, later producers win."""
    r = dag
    reply = r.execute_command(*S("AI.DAGEXECUTE LOAD 1 a PERSIST 2 a c |> AI.TENSORGET a VALUES "
                                 "|> AI.TENSORSET a FLOAT 1 VALUES 9 |> AI.TENSORGET a VALUES "
                                 "|> AI.TENSORSET c FLOAT 1 VALUES 1 |> AI.TENSORSET c FLOAT 1 VALUES 2"))
    assert reply == [[b"2", b"3", b"2", b"3"], b"OK", [b"9"], b"OK", b"OK"]
    assert r.execute_command("AI.TENSORGET", "a", "VALUES") == [b"9"]
    assert r.execute_command("AI.TENSORGET", "c", "VALUES") == [b"2"]


# --------------------------------------------------------------------------------------------------
# COMMAND GETKEYS (docs/COMMANDS.md §11) and COMMAND INFO (§1)


@pytest.mark.parametrize("command,keys", [
    ("AI.DAGEXECUTE LOAD 2 a b PERSIST 1 c |> AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c", ["a", "b", "c", "m"]),
    ("AI.DAGEXECUTE ROUTING r |> AI.SCRIPTEXECUTE s bar INPUTS 1 t OUTPUTS 1 u |> AI.TENSORGET u", ["r", "s"]),
    ("AI.DAGEXECUTE ROUTING r |> AI.TENSORSET t FLOAT 1 |> AI.TENSORGET t", ["r"]),
    ("AI.DAGEXECUTE_RO LOAD 1 a ROUTING r |> AI.MODELEXECUTE m INPUTS 2 a a OUTPUTS 1 c "
     "|> ai.modelexecute m2 INPUTS 2 c c OUTPUTS 1 d", ["a", "r", "m", "m2"]),
    ("AI.DAGRUN LOAD 1 a PERSIST 1 c |> AI.MODELRUN m INPUTS a a OUTPUTS c", ["a", "c"]),
    ("AI.DAGRUN ROUTING r |> AI.SCRIPTRUN old bar INPUTS t t OUTPUTS c |> AI.TENSORGET c", ["r"]),
    ("AI.DAGRUN_RO LOAD 2 a b |> AI.SCRIPTRUN old bar INPUTS a b OUTPUTS c |> AI.TENSORGET c", ["a", "b"]),
    # op boundaries are ignored: a LOAD inside an op's ARGS reports its key too
    ("AI.DAGEXECUTE ROUTING r |> AI.SCRIPTEXECUTE s f ARGS 3 LOAD 1 zz |> AI.TENSORGET x", ["r", "s", "zz"]),
    # reporting stops at an invalid count ...
    ("AI.DAGEXECUTE ROUTING r LOAD x a |> AI.MODELEXECUTE m INPUTS 2 a a OUTPUTS 1 c", ["r"]),
    # ... and where the keys would reach the last token
    ("AI.DAGRUN ROUTING r PERSIST 2 a b", ["r"]),
    ("AI.DAGRUN ROUTING r PERSIST 2 a b |> AI.TENSORGET a", ["r", "a", "b"]),
])
def test_command_getkeys(dag, command, keys):
    args = S(command)
    assert dag.command_getkeys(*args) == keys


@pytest.mark.parametrize("command,flags,absent", [
    (DE, {"write", "denyoom", "movablekeys"}, {"readonly"}),
    (DR, {"write", "denyoom", "movablekeys"}, {"readonly"}),
    (DERO, {"readonly", "movablekeys"}, {"write", "denyoom"}),
    (DRRO, {"readonly", "movablekeys"}, {"write", "denyoom"}),
])
def test_command_info_flags(dag, command, flags, absent):
    info = dag.execute_command("COMMAND", "INFO", command)[command.lower()]
    assert flags <= set(info["flags"]) and not absent & set(info["flags"])
    assert (info["first_key_pos"], info["last_key_pos"], info["step_count"]) == (3, 3, 1)
