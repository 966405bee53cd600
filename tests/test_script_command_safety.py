"""What redis.execute may run from a TorchScript script: Redis decides from each command's flags,
as for Lua. Commands Lua may not call (`noscript`: WAIT on 7.0, CLIENT PAUSE, FAILOVER, MULTI,
SUBSCRIBE, MONITOR, EVAL/FCALL, ...) are refused with an error the client gets; commands that
could block answer at once (as in Lua); nothing asserts in redis-server. Nested scripts (EVAL,
FCALL) would run beyond the caller's ACL, so they are refused; SORT's BY/GET patterns are checked
as the caller's user.
"""
import hashlib

import pytest
import redis

from helpers import error_of

SRC = '''
def call(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute(args[0], args[1:])

def call_and_keep(tensors: List[Tensor], keys: List[str], args: List[str]):
    res = redis.execute(args[0], args[1:])
    redis.execute("SET", keys[0], str(res))
'''
REFUSED_PREFIX = "Redis command returned an error: "
NOT_IN_SCRIPTS = "is not allowed on script mode"


@pytest.fixture
def s(r):
    assert r.execute_command("AI.SCRIPTSTORE", "a_s", "CPU", "ENTRY_POINTS", 2, "call", "call_and_keep",
                             "SOURCE", SRC) == b"OK"
    return r


def run(r, *command, fn="call", key="a_k"):
    return r.execute_command("AI.SCRIPTEXECUTE", "a_s", fn, "KEYS", 1, key, "ARGS", len(command), *command)


def redis_version(r):
    return tuple(int(x) for x in r.info("server")["redis_version"].split(".")[:2])


# Flagged `noscript` in every Redis since 7.0: refused, whatever else they would do.
NOSCRIPT = [
    ("CLIENT", "PAUSE", "100", "WRITE"),
    ("CLIENT", "KILL", "ID", "999999"),
    ("FAILOVER",),
    ("MULTI",),
    ("EXEC",),
    ("SUBSCRIBE", "ch"),
    ("PSUBSCRIBE", "ch*"),
    ("MONITOR",),
    ("EVAL", "return 1", "0"),
    ("EVAL_RO", "return 1", "0"),
    ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"),
    ("FCALL", "f", "0"),
    ("FCALL_RO", "f", "0"),
    ("SCRIPT", "LOAD", "return 1"),
    ("FUNCTION", "LOAD", "#!lua name=l2\nredis.register_function('g', function() return 1 end)"),
    ("SHUTDOWN", "NOSAVE"),
    ("DEBUG", "SLEEP", "0"),
    ("CONFIG", "SET", "maxmemory", "1"),
    ("MODULE", "LIST"),
    ("REPLICAOF", "127.0.0.1", "1"),
]


@pytest.mark.parametrize("command", NOSCRIPT, ids=lambda c: " ".join(c[:2]))
def test_commands_lua_may_not_call_are_refused(s, command):
    message = error_of(s, "AI.SCRIPTEXECUTE", "a_s", "call", "KEYS", 1, "a_k", "ARGS", len(command), *command)
    assert REFUSED_PREFIX in message and NOT_IN_SCRIPTS in message
    assert s.ping()
    assert s.config_get("maxmemory")["maxmemory"] == "0"
    assert s.info("replication")["role"] == "master"


def test_wait_is_refused_or_answers_at_once(s):
    """WAIT blocks through its own path (not a key wait): Redis 7.0 flags it `noscript`, newer
    Redis lets a client that may not block (as scripts are) get the current count at once."""
    s.set("a_x", "1")
    if redis_version(s) < (7, 2):
        message = error_of(s, "AI.SCRIPTEXECUTE", "a_s", "call", "KEYS", 1, "a_k", "ARGS", 3, "WAIT", "1", "0")
        assert REFUSED_PREFIX in message and NOT_IN_SCRIPTS in message
    else:
        assert run(s, "WAIT", "1", "0", fn="call_and_keep") == b"OK"
        assert s.get("a_k") == b"0"
    assert s.ping()


# Blocking list/zset pops on empty keys: Redis 7.0 flags most of them `noscript` (refused), the
# others and newer Redis's answer at once, as to Lua.
POPS = [
    ("BLPOP", "a_l", "0"),
    ("BRPOP", "a_l", "0"),
    ("BLMOVE", "a_l", "a_l2", "LEFT", "RIGHT", "0"),
    ("BRPOPLPUSH", "a_l", "a_l2", "0"),
    ("BLMPOP", "0", "1", "a_l", "LEFT"),
    ("BZPOPMIN", "a_z", "0"),
    ("BZPOPMAX", "a_z", "0"),
    ("BZMPOP", "0", "1", "a_z", "MIN"),
]


@pytest.mark.parametrize("command", POPS, ids=lambda c: c[0])
def test_blocking_pops_never_block(s, command):
    try:
        assert run(s, *command, fn="call_and_keep") == b"OK"
        assert s.get("a_k") == b"None"
    except redis.ResponseError as e:
        assert REFUSED_PREFIX in str(e) and NOT_IN_SCRIPTS in str(e)
        assert redis_version(s) < (7, 2) and command[0] != "BLMPOP"
    assert s.ping()


def test_stream_reads_with_block_answer_at_once(s):
    """XREAD/XREADGROUP are plain reads too, so they stay allowed; BLOCK never waits (as in Lua)."""
    s.xgroup_create("a_st", "g", "$", mkstream=True)
    assert run(s, "XREAD", "BLOCK", "0", "STREAMS", "a_st", "$", fn="call_and_keep") == b"OK"
    assert s.get("a_k") == b"None"
    assert run(s, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "a_st", ">",
               fn="call_and_keep") == b"OK"
    assert s.get("a_k") == b"None"
    s.xadd("a_st", {"f": "v"})
    assert run(s, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "a_st", ">",
               fn="call_and_keep") == b"OK"
    assert s.get("a_k") != b"None"
    assert s.ping()


def test_blocking_redisai_commands_are_refused(s):
    s.execute_command("AI.TENSORSET", "a_t", "FLOAT", 1, "VALUES", 1)
    for command in (("AI.SCRIPTEXECUTE", "a_s", "call", "KEYS", "1", "a_k", "ARGS", "2", "GET", "a_k"),
                    ("AI.DAGEXECUTE", "LOAD", "1", "a_t", "|>", "AI.TENSORGET", "a_t", "VALUES"),
                    ("AI.DAGEXECUTE_RO", "LOAD", "1", "a_t", "|>", "AI.TENSORGET", "a_t", "VALUES"),
                    ("AI.MODELEXECUTE", "a_m", "INPUTS", "1", "a_t", "OUTPUTS", "1", "a_o")):
        message = error_of(s, "AI.SCRIPTEXECUTE", "a_s", "call", "KEYS", 1, "a_k",
                           "ARGS", len(command), *command)
        assert "Cannot run RedisAI command within a transaction or a LUA script" in message
    assert s.exists("a_o") == 0
    assert s.ping()


# ---- ACL: a user restricted to a_* keys (issue 11 item 5) ----

@pytest.fixture
def alice(s, server):
    s.execute_command("ACL", "SETUSER", "alice", "on", ">pw", "~a_*", "+@all", "-@dangerous")
    s.script_load(WRITE_SECRET)
    s.script_load(READ_SECRET)
    s.execute_command("FUNCTION", "LOAD", "REPLACE",
                      "#!lua name=lib\n"
                      "redis.register_function('f', function() return redis.call('set','secret','pwned') end)\n"
                      "redis.register_function{function_name='f_ro', callback=function() "
                      "return redis.call('get','secret') end, flags={'no-writes'}}")
    c = server.client(username="alice", password="pw")
    yield c
    c.close()
    s.execute_command("ACL", "DELUSER", "alice")
    s.execute_command("FUNCTION", "FLUSH")


WRITE_SECRET, READ_SECRET = "return redis.call('set','secret','pwned')", "return redis.call('get','secret')"


def sha(script):  # of the scripts `alice` loads
    return hashlib.sha1(script.encode()).hexdigest()


NESTED = [
    ("EVAL", WRITE_SECRET, "0"),
    ("EVAL_RO", READ_SECRET, "0"),
    ("EVALSHA", sha(WRITE_SECRET), "0"),
    ("EVALSHA_RO", sha(READ_SECRET), "0"),
    ("FCALL", "f", "0"),
    ("FCALL_RO", "f_ro", "0"),
]


@pytest.mark.parametrize("command", NESTED, ids=lambda c: c[0])
def test_nested_scripts_cannot_escape_the_callers_acl(s, alice, command):
    """Neither write nor read a key outside alice's patterns (the _RO forms read it)."""
    s.set("secret", "kept")
    message = error_of(alice, "AI.SCRIPTEXECUTE", "a_s", "call", "KEYS", 1, "a_k", "ARGS", len(command), *command)
    assert REFUSED_PREFIX in message
    assert s.get("secret") == b"kept"
    assert alice.get("a_k") is None


def test_sort_patterns_are_checked_as_the_caller(s, server):
    """SORT ... BY/GET read keys named by patterns; Redis allows them only to users who may read
    every key, which it asks of the command's client: the script's calls run as the caller."""
    s.execute_command("ACL", "SETUSER", "bob", "on", ">pw", "~b_*", "+@all")
    s.rpush("b_l", "1")
    s.set("secret_1", "hidden")
    bob = server.client(username="bob", password="pw")
    try:
        assert bob.execute_command("AI.SCRIPTSTORE", "b_s", "CPU", "ENTRY_POINTS", 1, "call_and_keep",
                                   "SOURCE", SRC) == b"OK"
        for command in (("SORT", "b_l", "BY", "nosort", "GET", "secret_*"), ("SORT", "b_l", "BY", "secret_*")):
            message = error_of(bob, "AI.SCRIPTEXECUTE", "b_s", "call_and_keep", "KEYS", 1, "b_k",
                               "ARGS", len(command), *command)
            assert REFUSED_PREFIX in message and "insufficient ACL permissions" in message
        assert bob.get("b_k") is None
        assert bob.execute_command("AI.SCRIPTEXECUTE", "b_s", "call_and_keep", "KEYS", 1, "b_k",
                                   "ARGS", 2, "SORT", "b_l") == b"OK"
        assert b"1" in bob.get("b_k")
    finally:
        bob.close()
        s.execute_command("ACL", "DELUSER", "bob")


def test_allowed_commands_still_check_keys_and_categories(s, alice):
    s.set("secret", "kept")
    for command in (("SET", "secret", "pwned"), ("COPY", "a_x", "secret"), ("RENAME", "a_x", "secret"),
                    ("FLUSHALL",), ("MIGRATE", "127.0.0.1", "1", "secret", "0", "10"),
                    ("OBJECT", "ENCODING", "secret"), ("ACL", "SETUSER", "alice", "~*")):
        message = error_of(alice, "AI.SCRIPTEXECUTE", "a_s", "call", "KEYS", 1, "a_k", "ARGS", len(command), *command)
        assert REFUSED_PREFIX in message
    assert s.get("secret") == b"kept"
    assert alice.get("a_k") is None
    assert run(alice, "SET", "a_x", "1") == b"OK"
    assert alice.get("a_x") == b"1"
