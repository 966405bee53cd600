"""AI.SCRIPTSTORE / AI.SCRIPTSET / AI.SCRIPTGET / AI.SCRIPTDEL / AI._SCRIPTSCAN and the AI_SCRIPT
type (docs/COMMANDS.md §6, docs/PERSISTENCE.md §3.3, §5.3, §6). Execution comes with the scripts issue."""
import pytest

from gpu import needs_no_gpu
from helpers import error_of, shared_bytes, shared_cases
from models import ENTRY_POINTS_SCRIPT, LEGACY_SCRIPT
from redis_server import running_server, wait_for

ENTRY_SRC, LEGACY_SRC = ENTRY_POINTS_SCRIPT, LEGACY_SCRIPT
PAYLOADS = shared_cases(lambda e: e["file"].endswith("_torch_script.bin"))


def meta(r, key):
    return r.execute_command("AI.SCRIPTGET", key, "META")


def test_store_and_get(r):
    assert r.execute_command("AI.SCRIPTSTORE", "s", "cpu", "TAG", "v1", "ENTRY_POINTS", 2, "bar",
                             "bar_variadic", "SOURCE", ENTRY_SRC) == b"OK"
    assert meta(r, "s") == [b"device", b"cpu", b"tag", b"v1", b"Entry Points", [b"bar", b"bar_variadic"]]
    assert r.execute_command("AI.SCRIPTGET", "s", "SOURCE") == ENTRY_SRC.encode()
    full = [b"device", b"cpu", b"tag", b"v1", b"Entry Points", [b"bar", b"bar_variadic"],
            b"source", ENTRY_SRC.encode()]
    assert r.execute_command("AI.SCRIPTGET", "s") == full
    assert r.execute_command("AI.SCRIPTGET", "s", "META", "SOURCE") == full
    assert r.execute_command("AI.SCRIPTGET", "s", "whatever") == full
    assert r.type("s") == b"AI_SCRIPT"


def test_scriptset_stores_without_entry_points(r):
    assert r.execute_command("AI.SCRIPTSET", "old", "CPU", "TAG", "t", "SOURCE", LEGACY_SRC) == b"OK"
    assert meta(r, "old") == [b"device", b"CPU", b"tag", b"t", b"Entry Points", []]
    assert r.execute_command("AI.SCRIPTSET", "old2", "CPU", "SOURCE", LEGACY_SRC) == b"OK"
    assert meta(r, "old2")[3] == b""


@pytest.mark.parametrize("args,message", [
    (("s", "CPU", "ENTRY_POINTS", 1, "bar", "SOURCE"), "wrong number of arguments for 'ai.scriptstore' command"),
    (("s", "CPU", "TAG", "t", "SOURCE", ENTRY_SRC, "x"), "Insufficient arguments, missing script entry points"),
    (("s", "CPU", "ENTRY_POINTS", "two", "bar", "SOURCE", ENTRY_SRC), "Non numeric entry points number provided to AI.SCRIPTSTORE command"),
    (("s", "CPU", "ENTRY_POINTS", 5, "bar", "bar_variadic", "SOURCE", ENTRY_SRC), "Insufficient arguments, missing script entry points"),
    (("s", "CPU", "ENTRY_POINTS", -1, "bar", "SOURCE", ENTRY_SRC), "Insufficient arguments, missing script entry points"),
    (("s", "CPU", "ENTRY_POINTS", 1, "bar", "SORCE", ENTRY_SRC), "Insufficient arguments, missing script SOURCE"),
    (("s", "CPU", "ENTRY_POINTS", 2, "bar", "bar1", "SOURCE", ENTRY_SRC), "Function bar1 does not exist in the given script."),
    (("s", "CPU", "ENTRY_POINTS", 1, "bar", "SOURCE", "def bar(a):\n    return a\n"),
     "Wrong number of inputs in function bar. Expected 3 but was 1"),
    (("s", "CPU", "ENTRY_POINTS", 1, "bar", "SOURCE",
      "def bar(a: List[Tensor], b: List[str], c: List[Tensor]):\n    return a[0]\n"),
     "Wrong inputs type in function bar. Expected signature similar to: "
     "def bar(tensors: List[Tensor], keys: List[str], args: List[str])"),
])
def test_scriptstore_errors(r, args, message):
    assert error_of(r, "AI.SCRIPTSTORE", *args) == message
    assert not r.exists("s")


def test_compile_error_is_one_line_and_changes_nothing(r):
    r.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 1, "bar", "SOURCE", ENTRY_SRC)
    message = error_of(r, "AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 1, "bar", "SOURCE", "def bar(:\n")
    assert "\n" not in message and "\r" not in message and message
    assert meta(r, "s")[5] == [b"bar"]


def test_a_non_ascii_name_is_a_clear_error(r):
    """TorchScript names are ASCII: `fé` answered a UTF-8 codec error; now torch's own words,
    decodable. An ASCII script asked for an entry point `fé` that it cannot define says so."""
    source = "def fé(tensors: List[Tensor], keys: List[str], args: List[str]):\n    return tensors[0]\n"
    message = error_of(r, "AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 1, "fé", "SOURCE", source)
    assert message.startswith("TorchScript names must be ASCII: expected a valid token but found")
    assert "def fé(tensors" in message and "codec" not in message and "\n" not in message
    assert error_of(r, "AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 1, "fé", "SOURCE", ENTRY_SRC) == \
        "Function fé does not exist in the given script."
    assert not r.exists("s")


def test_source_and_entry_points_that_are_not_utf8(r):
    assert error_of(r, "AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 1, "bar", "SOURCE",
                    ENTRY_SRC.encode() + b"# \xff\n") == "script source must be UTF-8 text"
    assert error_of(r, "AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 1, b"bar\xff", "SOURCE", ENTRY_SRC) == \
        "Function bar? does not exist in the given script."
    assert not r.exists("s")


@needs_no_gpu
def test_gpu_without_cuda(r):
    assert error_of(r, "AI.SCRIPTSTORE", "s", "GPU", "ENTRY_POINTS", 1, "bar", "SOURCE", ENTRY_SRC) == \
        "GPU requested but Torch couldn't find CUDA"


def test_scriptset_errors(r):
    assert error_of(r, "AI.SCRIPTSET", "s", "CPU", "SOURCE") == "wrong number of arguments for 'ai.scriptset' command"
    assert error_of(r, "AI.SCRIPTSET", "s", "CPU", "TAG", "t", "SORCE", "x") == "Insufficient arguments, missing script SOURCE"


def test_wrong_type_after_compiling(r):
    r.set("str", "x")
    assert error_of(r, "AI.SCRIPTSTORE", "str", "CPU", "ENTRY_POINTS", 1, "bar", "SOURCE", ENTRY_SRC) == \
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    assert r.get("str") == b"x"


def test_get_and_del_errors(r):
    assert error_of(r, "AI.SCRIPTGET", "nope") == "script key is empty"
    assert error_of(r, "AI.SCRIPTDEL", "nope") == "script key is empty"
    r.set("str", "x")
    assert error_of(r, "AI.SCRIPTGET", "str").startswith("WRONGTYPE")
    assert error_of(r, "AI.SCRIPTDEL", "str").startswith("WRONGTYPE")
    assert error_of(r, "AI.SCRIPTGET", "a", "b", "c", "d") == "wrong number of arguments for 'ai.scriptget' command"
    r.execute_command("AI.SCRIPTSET", "s", "CPU", "SOURCE", LEGACY_SRC)
    assert r.execute_command("AI.SCRIPTDEL", "s") == b"OK"
    assert not r.exists("s")


def test_scan_and_info(r):
    r.execute_command("AI.SCRIPTSTORE", "s", "CPU", "TAG", "t", "ENTRY_POINTS", 1, "bar", "SOURCE", ENTRY_SRC)
    r.execute_command("AI.SCRIPTSET", "old", "CPU", "SOURCE", LEGACY_SRC)
    assert sorted(r.execute_command("AI._SCRIPTSCAN")) == [[b"old", b""], [b"s", b"t"]]
    assert r.execute_command("AI.INFO", "s") == [b"key", b"s", b"type", b"SCRIPT", b"backend", b"TORCH",
                                                 b"device", b"CPU", b"tag", b"t", b"duration", 0,
                                                 b"samples", -1, b"calls", 0, b"errors", 0]
    assert error_of(r, "AI._SCRIPTSCAN", "x") == "wrong number of arguments for 'ai._scriptscan' command"
    r.delete("s")
    assert r.execute_command("AI._SCRIPTSCAN") == [[b"old", b""]]


@pytest.mark.parametrize("entry", PAYLOADS)
def test_redisai_payload_restores(r, entry):
    payload = shared_bytes(entry["file"])
    assert r.restore(entry["key"], 0, payload, replace=True) == b"OK"
    expected = entry["expected_after_restore"]
    reply = r.execute_command(*expected["command"])
    assert [x.decode() if isinstance(x, bytes) else [y.decode() for y in x] for x in reply[:6]] == expected["reply"][:6]
    if entry["encoding_version"] == 4:
        assert r.dump(entry["key"])[:-10] == payload[:-10]


def test_persistence_roundtrips():
    config = {"appendonly": "yes", "aof-use-rdb-preamble": "no"}
    with running_server(config) as s:
        r = s.client()
        wait_for(lambda: r.info("persistence")["aof_rewrite_in_progress"] == 0, 10, what="startup rewrite")
        r.execute_command("AI.SCRIPTSTORE", "s", "CPU", "TAG", "t", "ENTRY_POINTS", 2, "bar", "bar_variadic",
                          "SOURCE", ENTRY_SRC)
        r.execute_command("AI.SCRIPTSET", "old", "CPU", "TAG", "legacy", "SOURCE", LEGACY_SRC)
        before = {k: r.execute_command("AI.SCRIPTGET", k) for k in ("s", "old")}
        assert r.execute_command("DEBUG", "RELOAD") == b"OK"
        assert {k: r.execute_command("AI.SCRIPTGET", k) for k in before} == before
        rewrites = r.info("persistence")["aof_rewrites"]
        r.bgrewriteaof()
        wait_for(lambda: r.info("persistence")["aof_rewrites"] > rewrites
                 and r.info("persistence")["aof_rewrite_in_progress"] == 0, 15, what="BGREWRITEAOF")
        assert r.info("persistence")["aof_last_bgrewrite_status"] == "ok"
        aof = b"".join(p.read_bytes() for p in (s.dir / "appendonlydir").glob("*.base.aof"))
        assert b"AI.SCRIPTSTORE" in aof and b"AI.SCRIPTSET" in aof  # no entry points: SCRIPTSET
        s.restart()
        r = s.client()
        assert {k: r.execute_command("AI.SCRIPTGET", k) for k in before} == before
        assert r.execute_command("AI.INFO", "old")[9] == b"legacy"
