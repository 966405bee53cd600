"""ACL: every key a command touches is checked, and how (read, write, read-write), for every
AI.* command; ACL categories where the server supports them.

A user allowed only `ok:*` keys must be refused whenever any one key of a command is outside,
and nothing may change. Read-only (%R~) and write-only (%W~) patterns follow the keys' use:
model, script, inputs and LOAD keys are read; outputs and PERSIST keys are written; script
KEYS are both (the script's own Redis calls may do either).
"""
import numpy as np
import pytest
import redis

from helpers import noperm_key_text, server_version
from models import torch_add_model
from redis_server import running_server

SCRIPT = """
def add(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] + tensors[1]
"""


@pytest.fixture(scope="module")
def server():
    with running_server() as s:
        admin = s.client()
        admin.execute_command("ACL", "SETUSER", "u", "on", ">pw", "~ok:*", "+@all")
        # Reads of in:*, writes of out:*, both of ok:* (Redis 7 selectors).
        admin.execute_command("ACL", "SETUSER", "rw", "on", ">pw", "%R~in:*", "%W~out:*", "~ok:*", "+@all")
        yield s


@pytest.fixture
def admin(server):
    c = server.client()
    c.flushall()
    for prefix in ("ok", "no", "in", "out"):
        c.execute_command("AI.MODELSTORE", f"{prefix}:m", "TORCH", "CPU", "BLOB", torch_add_model())
        c.execute_command("AI.SCRIPTSTORE", f"{prefix}:s", "CPU", "ENTRY_POINTS", 1, "add", "SOURCE", SCRIPT)
        c.execute_command("AI.TENSORSET", f"{prefix}:a", "FLOAT", 2, "VALUES", 1, 2)
        c.xadd(f"{prefix}:x", {"a": np.array([1, 2], dtype=np.float32).tobytes()})
    yield c
    c.close()


def user_client(server, name):
    return redis.Redis(host="127.0.0.1", port=server.port, username=name, password="pw", socket_timeout=20)


def keyspace(c):
    return {k: c.dump(k) for k in sorted(c.keys("*"))}


def model_run(m, a, b, out):
    return ["AI.MODELEXECUTE", m, "INPUTS", 2, a, b, "OUTPUTS", 1, out]


def script_run(s, a, b, out, key="ok:k"):
    return ["AI.SCRIPTEXECUTE", s, "add", "KEYS", 1, key, "INPUTS", 2, a, b, "OUTPUTS", 1, out]


def dag(load, persist, op):
    """LOAD `load`, run `op` on it into `persist`, PERSIST that."""
    return ["AI.DAGEXECUTE", "LOAD", 1, load, "PERSIST", 1, persist, *op(load, persist)]


def dag_model(m):
    return lambda x, y: ["|>", "AI.MODELEXECUTE", m, "INPUTS", 2, x, x, "OUTPUTS", 1, y]


def stream_dag(xload, xpersist, m="ok:m", out="ok:o"):
    """XLOAD the entry of stream `xload`, run it into `out` (PERSISTed), XPERSIST that into `xpersist`."""
    return ["AI.DAGEXECUTE", "XLOAD", xload, "+", 1, "a", "FLOAT", 1, 2, "PERSIST", 1, out,
            "XPERSIST", xpersist, 1, out, *dag_model(m)("a", out)]


def dag_script(s):
    return lambda x, y: ["|>", "AI.SCRIPTEXECUTE", s, "add", "INPUTS", 2, x, x, "OUTPUTS", 1, y]


# Each command with one key outside ok:* (the rest allowed), for user u.
REFUSED = {
    "tensorset": ["AI.TENSORSET", "no:t", "FLOAT", 1, "VALUES", 1],
    "tensorget": ["AI.TENSORGET", "no:a", "VALUES"],
    "modelstore": ["AI.MODELSTORE", "no:m2", "TORCH", "CPU", "BLOB", b"x"],
    "modelset": ["AI.MODELSET", "no:m2", "TORCH", "CPU", "BLOB", b"x"],
    "modelget": ["AI.MODELGET", "no:m", "META"],
    "modeldel": ["AI.MODELDEL", "no:m"],
    "scriptstore": ["AI.SCRIPTSTORE", "no:s2", "CPU", "ENTRY_POINTS", 1, "add", "SOURCE", SCRIPT],
    "scriptget": ["AI.SCRIPTGET", "no:s", "META"],
    "scriptdel": ["AI.SCRIPTDEL", "no:s"],
    "info": ["AI.INFO", "no:m"],
    "modelexecute model": model_run("no:m", "ok:a", "ok:a", "ok:o"),
    "modelexecute input": model_run("ok:m", "ok:a", "no:a", "ok:o"),
    "modelexecute output": model_run("ok:m", "ok:a", "ok:a", "no:o"),
    "modelrun input": ["AI.MODELRUN", "ok:m", "INPUTS", "no:a", "ok:a", "OUTPUTS", "ok:o"],
    "modelrun output": ["AI.MODELRUN", "ok:m", "INPUTS", "ok:a", "ok:a", "OUTPUTS", "no:o"],
    "scriptexecute script": script_run("no:s", "ok:a", "ok:a", "ok:o"),
    "scriptexecute keys": script_run("ok:s", "ok:a", "ok:a", "ok:o", key="no:k"),
    "scriptexecute input": script_run("ok:s", "no:a", "ok:a", "ok:o"),
    "scriptexecute output": script_run("ok:s", "ok:a", "ok:a", "no:o"),
    "scriptrun input": ["AI.SCRIPTRUN", "ok:s", "add", "INPUTS", "ok:a", "no:a", "OUTPUTS", "ok:o"],
    "scriptrun output": ["AI.SCRIPTRUN", "ok:s", "add", "INPUTS", "ok:a", "ok:a", "OUTPUTS", "no:o"],
    "dag load": dag("no:a", "ok:y", dag_model("ok:m")),
    "dag persist": dag("ok:a", "no:y", dag_model("ok:m")),
    "dag model": dag("ok:a", "ok:y", dag_model("no:m")),
    "dag script": dag("ok:a", "ok:y", dag_script("no:s")),
    "dag xload": stream_dag("no:x", "ok:x"),
    "dag xpersist": stream_dag("ok:x", "no:x"),
    "dag_ro xload": ["AI.DAGEXECUTE_RO", "XLOAD", "no:x", "+", 1, "a", "FLOAT", 1, 2, *dag_model("ok:m")("a", "y")],
    "dag_ro load": ["AI.DAGEXECUTE_RO", "LOAD", 1, "no:a", *dag_model("ok:m")("no:a", "y")],
    "dag_ro model": ["AI.DAGEXECUTE_RO", "LOAD", 1, "ok:a", *dag_model("no:m")("ok:a", "y")],
    "dagrun persist": ["AI.DAGRUN", "LOAD", 1, "ok:a", "PERSIST", 1, "no:y", "|>", "AI.MODELRUN", "ok:m",
                       "INPUTS", "ok:a", "ok:a", "OUTPUTS", "no:y"],
    "dagrun model": ["AI.DAGRUN", "LOAD", 1, "ok:a", "|>", "AI.MODELRUN", "no:m", "INPUTS", "ok:a", "ok:a",
                     "OUTPUTS", "y"],
    "dagrun script": ["AI.DAGRUN", "LOAD", 1, "ok:a", "|>", "AI.SCRIPTRUN", "no:s", "add", "INPUTS", "ok:a",
                      "ok:a", "OUTPUTS", "y"],
    "dagrun_ro load": ["AI.DAGRUN_RO", "LOAD", 1, "no:a", "|>", "AI.MODELRUN", "ok:m", "INPUTS", "no:a",
                       "no:a", "OUTPUTS", "y"],
    "scriptexecute output after args": ["AI.SCRIPTEXECUTE", "ok:s", "add", "INPUTS", 2, "ok:a", "ok:a", "ARGS", 1,
                                        "z", "OUTPUTS", 1, "no:o"],
    "scriptexecute last keys": ["AI.SCRIPTEXECUTE", "ok:s", "add", "INPUTS", 2, "ok:a", "ok:a", "KEYS", 1, "no:k"],
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_key_outside_the_users_patterns_is_refused_and_nothing_changes(server, admin, case):
    before = keyspace(admin)
    u = user_client(server, "u")
    try:
        with pytest.raises(redis.exceptions.NoPermissionError) as e:
            u.execute_command(*REFUSED[case])
    finally:
        u.close()
    assert "NOPERM " + str(e.value) == noperm_key_text(admin)
    assert keyspace(admin) == before
    denied = [entry for entry in admin.acl_log(count=1)]
    assert denied and denied[0]["reason"] == "key" and denied[0]["object"].startswith("no:")


ALLOWED = {
    "modelexecute": model_run("ok:m", "ok:a", "ok:a", "ok:o"),
    "modelrun": ["AI.MODELRUN", "ok:m", "INPUTS", "ok:a", "ok:a", "OUTPUTS", "ok:o"],
    "scriptexecute": script_run("ok:s", "ok:a", "ok:a", "ok:o"),
    "scriptrun": ["AI.SCRIPTRUN", "ok:s", "add", "INPUTS", "ok:a", "ok:a", "OUTPUTS", "ok:o"],
    "dag": dag("ok:a", "ok:o", dag_model("ok:m")),
    "dag streams": stream_dag("ok:x", "ok:x"),
    "dagrun": ["AI.DAGRUN", "LOAD", 1, "ok:a", "PERSIST", 1, "ok:o", "|>", "AI.MODELRUN", "ok:m", "INPUTS",
               "ok:a", "ok:a", "OUTPUTS", "ok:o"],
}


@pytest.mark.parametrize("case", sorted(ALLOWED))
def test_the_same_commands_on_allowed_keys_run(server, admin, case):
    u = user_client(server, "u")
    try:
        u.execute_command(*ALLOWED[case])
    finally:
        u.close()
    assert admin.execute_command("AI.TENSORGET", "ok:o", "VALUES") == [b"2", b"4"]


def test_a_routing_tag_is_checked_like_a_key(server, admin):
    """As in RedisAI, the ROUTING value is reported as a key, so it must match the user's patterns."""
    ops = ["|>", "AI.TENSORSET", "x", "FLOAT", 1, "VALUES", 3, "|>", "AI.TENSORGET", "x", "VALUES"]
    u = user_client(server, "u")
    try:
        assert u.execute_command("AI.DAGEXECUTE", "ROUTING", "ok:tag", *ops) == [b"OK", [b"3"]]
        with pytest.raises(redis.exceptions.NoPermissionError):
            u.execute_command("AI.DAGEXECUTE", "ROUTING", "no:tag", *ops)
    finally:
        u.close()


READ_WRITE = {
    # (command, allowed): reads of in:*, writes of out:*
    "inputs read, output written": (model_run("in:m", "in:a", "in:a", "out:o"), True),
    "output in a read-only pattern": (model_run("in:m", "in:a", "in:a", "in:o"), False),
    "input in a write-only pattern": (model_run("in:m", "out:a", "in:a", "out:o"), False),
    "model in a write-only pattern": (model_run("out:m", "in:a", "in:a", "out:o"), False),
    "dag load read, persist written": (dag("in:a", "out:o", dag_model("in:m")), True),
    "dag xload read, xpersist written": (stream_dag("in:x", "out:x", m="in:m", out="out:o"), True),
    "dag xpersist read-only": (stream_dag("in:x", "in:x", m="in:m", out="out:o"), False),
    "dag xload write-only": (stream_dag("out:x", "out:x", m="in:m", out="out:o"), False),
    "dag persist read-only": (dag("in:a", "in:o", dag_model("in:m")), False),
    "script keys need both": (script_run("in:s", "in:a", "in:a", "out:o", key="in:k"), False),
    "script keys with both": (script_run("in:s", "in:a", "in:a", "out:o", key="ok:k"), True),
    "modelrun output read-only": (["AI.MODELRUN", "in:m", "INPUTS", "in:a", "in:a", "OUTPUTS", "in:o"], False),
    "modelrun in and out": (["AI.MODELRUN", "in:m", "INPUTS", "in:a", "in:a", "OUTPUTS", "out:o"], True),
}


@pytest.mark.parametrize("case", sorted(READ_WRITE))
def test_read_and_write_patterns_follow_how_each_key_is_used(server, admin, case):
    command, allowed = READ_WRITE[case]
    before = keyspace(admin)
    c = user_client(server, "rw")
    try:
        if allowed:
            c.execute_command(*command)
        else:
            with pytest.raises(redis.exceptions.NoPermissionError):
                c.execute_command(*command)
    finally:
        c.close()
    if allowed:
        assert admin.execute_command("AI.TENSORGET", "out:o", "VALUES") == [b"2", b"4"]
    else:
        assert keyspace(admin) == before


def server_has_acl_category_api(c):
    """Redis 7.2 added RedisModule_SetCommandACLCategories; 7.0 leaves module commands uncategorised."""
    return server_version(c) >= (7, 2)


# A category each command is in, and arguments it runs with (its reply does not matter: ACL
# refuses before the command runs).
CATEGORIES = {
    "ai.tensorset": ("write", ["ok:t", "FLOAT", 1, "VALUES", 1]),
    "ai.tensorget": ("read", ["ok:a", "VALUES"]),
    "ai.modelexecute": ("write", model_run("ok:m", "ok:a", "ok:a", "ok:o")[1:]),
    "ai.dagexecute_ro": ("read", ["LOAD", 1, "ok:a", *dag_model("ok:m")("ok:a", "y")]),
    "ai.config": ("admin", ["GET", "BACKENDSPATH"]),
    "ai.modeldel": ("write", ["ok:none"]),
    "ai.pipelinelist": ("read", []),
}


def refused_by_acl(server, user, command, args):
    c = user_client(server, user)
    try:
        c.execute_command(command, *args)
    except redis.exceptions.NoPermissionError:
        return True
    except redis.ResponseError:
        pass  # past ACL: the command's own error
    finally:
        c.close()
    return False


def test_acl_categories(server, admin):
    if server_has_acl_category_api(admin):
        # Enforcement, not listing: Redis 7.2 and 7.4 leave module commands out of
        # `ACL CAT <category>` although they enforce the categories; 8.x and Valkey list them.
        for command, (category, args) in CATEGORIES.items():
            admin.execute_command("ACL", "SETUSER", "only", "reset", "on", ">pw", "~*", f"+@{category}")
            admin.execute_command("ACL", "SETUSER", "all_but", "reset", "on", ">pw", "~*", "+@all", f"-@{category}")
            assert not refused_by_acl(server, "only", command, args), (command, category)
            assert refused_by_acl(server, "all_but", command, args), (command, category)
    else:
        # Nothing to set on this server: commands are in no category, so a user granted
        # +@write gets none of them and the module still loads and serves.
        for category in ("write", "read", "admin"):
            assert not [c for c in admin.execute_command("ACL", "CAT", category) if c.startswith(b"ai.")]
        admin.execute_command("ACL", "SETUSER", "w", "on", ">pw", "~*", "+@write")
        w = user_client(server, "w")
        try:
            with pytest.raises(redis.exceptions.NoPermissionError):
                w.execute_command("AI.TENSORSET", "ok:t", "FLOAT", 1, "VALUES", 1)
        finally:
            w.close()


def scan(c, command):
    return sorted(key for key, _tag in c.execute_command(command))


@pytest.mark.parametrize("command, kind", [("AI._MODELSCAN", "m"), ("AI._SCRIPTSCAN", "s")])
def test_scans_list_only_the_keys_the_caller_may_read(server, admin, command, kind):
    everything = sorted(f"{p}:{kind}".encode() for p in ("ok", "no", "in", "out"))
    assert scan(admin, command) == everything  # the default user: ~*
    assert admin.execute_command("EVAL", f"return redis.call('{command}')", 0) is not None
    for name, readable in (("u", [f"ok:{kind}"]), ("rw", [f"in:{kind}", f"ok:{kind}"])):
        c = user_client(server, name)
        try:
            assert scan(c, command) == [k.encode() for k in readable]
            # from Lua, the script runs as its caller
            assert sorted(k for k, _ in c.execute_command("EVAL", f"return redis.call('{command}')", 0)) == \
                [k.encode() for k in readable]
        finally:
            c.close()


def test_scans_from_a_torchscript_script_are_refused(server, admin):
    """The module's own calls from scripts, like any module's, carry no client to take the user
    from: refused rather than guessed."""
    admin.execute_command("AI.SCRIPTSTORE", "ok:scan", "CPU", "ENTRY_POINTS", 1, "scan", "SOURCE", """
def scan(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("AI._MODELSCAN", args)
""")
    c = user_client(server, "u")
    try:
        with pytest.raises(redis.ResponseError) as e:
            c.execute_command("AI.SCRIPTEXECUTE", "ok:scan", "scan", "KEYS", 1, "ok:k")
        assert "cannot tell the caller's ACL user" in str(e.value)
    finally:
        c.close()
