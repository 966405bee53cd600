"""Redis access from TorchScript scripts (docs/BEHAVIOUR.md §9.7): redis.execute with its reply
conversion and error texts, redis.asList, redisAI.model_execute on TORCH and ONNX models (no
statistics), all under the calling client's ACL user; what the script's commands replicate;
and no deadlock when the main thread needs the GIL while a script waits for Redis's lock.
"""
import threading

import pytest
import redis

from helpers import error_of, replicas_acked
from models import onnx_mul_model, onnx_sequence_model, onnx_to_string_model, torch_add_model
from redis_server import running_server, wait_for
from resp import Raw
E_NOT_A_TORCH_TENSOR = ("ERR redisAI.model_execute: a model output is not a torch tensor "
                        "(e.g. an ONNX sequence, map or STRING tensor)")

SRC = '''
def set_key(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("SET", keys[0], args[0])

def int_set_get(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("SET", keys[0], args[0])
    res = redis.execute("GET", keys[0])
    redis.execute("DEL", keys[0])
    return torch.tensor(int(str(res)))

def int_set_incr(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("SET", keys[0], "1")
    res = redis.execute("INCR", keys[0])
    return torch.tensor(int(str(res)))

def float_set_get(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("SET", keys[0], "1.1")
    return torch.tensor(float(str(redis.execute("GET", keys[0]))))

def int_list(tensors: List[Tensor], keys: List[str], args: List[str]):
    for a in args:
        redis.execute("RPUSH", keys[0], a)
    res = redis.asList(redis.execute("LRANGE", keys[0], "0", str(len(args))))
    out: List[List[int]] = []
    for x in res:
        out.append([int(str(x))])
    return torch.tensor(out)

def str_list(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("RPUSH", [keys[0]] + args)

def hash_values(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("HSET", keys[0], "f1", "1", "f2", "2")
    res = redis.asList(redis.execute("HVALS", keys[0]))
    out: List[List[int]] = []
    for x in res:
        out.append([int(str(x))])
    return torch.tensor(out)

def nil_and_nested(tensors: List[Tensor], keys: List[str], args: List[str]):
    missing = str(redis.execute("GET", keys[0]))
    scan = redis.asList(redis.execute("SCAN", "0", "MATCH", "nothing*"))
    inner = redis.asList(scan[1])
    return torch.tensor([int(missing == "None"), len(scan), len(inner), int(str(scan[0]))])

def model_execute(tensors: List[Tensor], keys: List[str], args: List[str]):
    a = torch.tensor([[2.0, 3.0], [2.0, 3.0]])
    return redisAI.model_execute(keys[0], [a, a], 1)

def model_execute_onnx(tensors: List[Tensor], keys: List[str], args: List[str]):
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    return redisAI.model_execute(keys[0], [a], 1)

def model_execute_onnx_bad_input(tensors: List[Tensor], keys: List[str], args: List[str]):
    return redisAI.model_execute(keys[0], [torch.tensor([1.0, 2.0])], 1)

def model_execute_two_outputs(tensors: List[Tensor], keys: List[str], args: List[str]):
    return redisAI.model_execute(keys[0], [torch.tensor([1.0, 2.0])], 2)[1]

def model_execute_n_outputs(tensors: List[Tensor], keys: List[str], args: List[str]):
    a = torch.tensor([[2.0, 3.0], [2.0, 3.0]])
    return redisAI.model_execute(keys[0], [a, a], int(args[0]))[0]

def model_execute_one_output(tensors: List[Tensor], keys: List[str], args: List[str]):
    return redisAI.model_execute(keys[0], [torch.tensor([1.0, 2.0])], 1)[0]

def command_error(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("SET", keys[0])

def unknown_command(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("NO_SUCH_COMMAND", keys[0])

def error_message(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("HSET", keys[0], "f", "1")
    redis.execute("RPUSH", keys[0], "1")

def publish_and_set(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("PUBLISH", args[0], args[1])
    redis.execute("SET", keys[0], args[1])

def blocking_inside(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("AI.MODELEXECUTE", keys[0], "INPUTS", "2", "a", "a", "OUTPUTS", "1", "b")
'''
ENTRY_POINTS = [line.split("(")[0][4:] for line in SRC.splitlines() if line.startswith("def ")]


def sx(r, fn, keys=(), args=(), outputs=()):
    cmd = ["AI.SCRIPTEXECUTE", "s{1}", fn, "KEYS", len(keys), *keys]
    if args:
        cmd += ["ARGS", len(args), *args]
    if outputs:
        cmd += ["OUTPUTS", len(outputs), *outputs]
    return r.execute_command(*cmd)


def got(r, key):
    return r.execute_command("AI.TENSORGET", key, "META", "VALUES")


@pytest.fixture
def s(r):
    assert r.execute_command("AI.SCRIPTSTORE", "s{1}", "CPU", "ENTRY_POINTS", len(ENTRY_POINTS), *ENTRY_POINTS,
                             "SOURCE", SRC) == b"OK"
    return r


def test_set_key(s):
    assert sx(s, "set_key", ["x{1}"], ["1"]) == b"OK"
    assert s.get("x{1}") == b"1"


def test_set_get_and_incr_return_strings_and_integers(s):
    assert sx(s, "int_set_get", ["y{1}"], ["1"], ["o{1}"]) == b"OK"
    assert got(s, "o{1}") == [b"dtype", b"INT64", b"shape", [], b"values", [1]]
    assert s.exists("y{1}") == 0
    assert sx(s, "int_set_incr", ["z{1}"], [], ["o{1}"]) == b"OK"
    assert got(s, "o{1}") == [b"dtype", b"INT64", b"shape", [], b"values", [2]]
    assert sx(s, "float_set_get", ["f{1}"], [], ["o{1}"]) == b"OK"
    dtype, shape, values = got(s, "o{1}")[1::2]
    assert (dtype, shape) == (b"FLOAT", []) and abs(float(values[0]) - 1.1) < 1e-6


def test_arrays_become_lists_through_as_list(s):
    assert sx(s, "int_list", ["l{1}"], ["1", "2"], ["o{1}"]) == b"OK"
    assert got(s, "o{1}") == [b"dtype", b"INT64", b"shape", [2, 1], b"values", [1, 2]]
    assert sx(s, "str_list", ["sl{1}"], ["1", "2"]) == b"OK"  # the list form of the arguments
    assert s.lrange("sl{1}", 0, 2) == [b"1", b"2"]
    assert sx(s, "hash_values", ["h{1}"], [], ["o{1}"]) == b"OK"
    assert got(s, "o{1}") == [b"dtype", b"INT64", b"shape", [2, 1], b"values", [1, 2]]


def test_null_and_nested_arrays(s):
    assert sx(s, "nil_and_nested", ["missing{1}"], [], ["o{1}"]) == b"OK"
    assert got(s, "o{1}")[-1] == [1, 2, 0, 0]


def test_model_execute_runs_torch_and_onnx_models_without_statistics(s):
    s.execute_command("AI.MODELSTORE", "m{1}", "TORCH", "CPU", "BLOB", torch_add_model())
    s.execute_command("AI.MODELSTORE", "mul{1}", "ONNX", "CPU", "BLOB", onnx_mul_model())
    assert sx(s, "model_execute", ["m{1}"], [], ["o{1}"]) == b"OK"
    assert got(s, "o{1}") == [b"dtype", b"FLOAT", b"shape", [2, 2], b"values", [b"4", b"6", b"4", b"6"]]
    assert sx(s, "model_execute_onnx", ["mul{1}"], [], ["o{1}"]) == b"OK"
    assert got(s, "o{1}")[-1] == [b"1", b"4", b"9", b"16", b"25", b"36"]
    assert "Invalid rank for input: X Got: 1 Expected: 2 Please fix either the inputs" in error_of(
        s, "AI.SCRIPTEXECUTE", "s{1}", "model_execute_onnx_bad_input", "KEYS", 1, "mul{1}", "OUTPUTS", 1, "o{1}")
    for key in ("m{1}", "mul{1}"):
        info = s.execute_command("AI.INFO", key)
        assert info[info.index(b"calls") + 1] == 0  # synchronous calls from scripts are not counted


def test_model_execute_errors(s):
    s.set("str{1}", "x")
    assert "ERR model key is empty" in error_of(s, "AI.SCRIPTEXECUTE", "s{1}", "model_execute", "KEYS", 1,
                                                "nothing{1}", "OUTPUTS", 1, "o{1}")
    message = error_of(s, "AI.SCRIPTEXECUTE", "s{1}", "model_execute", "KEYS", 1, "str{1}", "OUTPUTS", 1, "o{1}")
    assert "WRONGTYPE Operation against a key holding the wrong kind of value" in message
    assert message.endswith("WRONGTYPE Operation against a key holding the wrong kind of value")


@pytest.mark.parametrize("count", ["2", "1000000000", "4000000000000000000"])
def test_model_execute_asking_for_more_outputs_than_the_model_has(s, count):
    """Refused before anything is allocated for them: a huge count made the server allocate it."""
    s.execute_command("AI.MODELSTORE", "m{1}", "TORCH", "CPU", "BLOB", torch_add_model())
    message = error_of(s, "AI.SCRIPTEXECUTE", "s{1}", "model_execute_n_outputs", "KEYS", 1, "m{1}",
                       "ARGS", 1, count, "OUTPUTS", 1, "o{1}")
    assert message.endswith("ERR Model did not generate the expected number of outputs")
    assert s.ping() and s.exists("o{1}") == 0
    assert sx(s, "model_execute_n_outputs", keys=["m{1}"], args=["1"], outputs=["o{1}"]) == b"OK"
    assert [float(v) for v in got(s, "o{1}")[-1]] == [4, 6, 4, 6]


def test_model_execute_of_a_model_whose_output_is_not_a_tensor(s):
    """The sequence output answered `AttributeError: 'NoneType' object has no attribute '__dlpack__'`."""
    s.execute_command("AI.MODELSTORE", "seq{1}", "ONNX", "CPU", "BLOB", onnx_sequence_model())
    message = error_of(s, "AI.SCRIPTEXECUTE", "s{1}", "model_execute_two_outputs", "KEYS", 1, "seq{1}",
                       "OUTPUTS", 1, "o{1}")
    assert message.endswith(E_NOT_A_TORCH_TENSOR)
    assert "AttributeError" not in message and "NoneType" not in message
    assert s.exists("o{1}") == 0


def test_model_execute_of_a_model_whose_output_is_a_string_tensor(s):
    """torch has no string tensors: torch.from_numpy's TypeError reached the client."""
    s.execute_command("AI.MODELSTORE", "str{1}", "ONNX", "CPU", "BLOB", onnx_to_string_model())
    message = error_of(s, "AI.SCRIPTEXECUTE", "s{1}", "model_execute_one_output", "KEYS", 1, "str{1}",
                       "OUTPUTS", 1, "o{1}")
    assert message.endswith(E_NOT_A_TORCH_TENSOR) and "TypeError" not in message


@pytest.mark.parametrize("fn, text", [
    ("command_error", "Redis command returned an error: Invalid argument"),
    ("unknown_command", "Redis command returned an error: No such file or directory"),
    ("error_message", "Redis command returned an error: WRONGTYPE Operation against a key holding the wrong kind of value"),
    ("blocking_inside", "Redis command returned an error: ERR Cannot run RedisAI command within a transaction or a LUA script"),
])
def test_redis_errors_become_script_errors(s, fn, text):
    message = error_of(s, "AI.SCRIPTEXECUTE", "s{1}", fn, "KEYS", 1, "e{1}")
    assert text in message and "\n" not in message
    # torch's "At:" trailer of Python frames (our own sources) is not passed on
    assert "At:" not in message and ".pyx" not in message and "redisai_core" not in message


def test_calls_run_with_the_callers_acl_permissions(s, server):
    """Inside a DAG the script's KEYS are not reported to Redis (docs/COMMANDS.md §11), so only the
    check on each call stands between the script and a key the client may not touch."""
    s.execute_command("ACL", "SETUSER", "scripter", "on", "nopass", "~s{1}", "~ok{1}", "~m{1}", "~o{1}", "+@all")
    s.execute_command("AI.MODELSTORE", "m{1}", "TORCH", "CPU", "BLOB", torch_add_model())
    s.execute_command("AI.MODELSTORE", "hidden{1}", "TORCH", "CPU", "BLOB", torch_add_model())
    c = server.client()
    c.execute_command("AUTH", "scripter", "x")
    try:
        assert sx(c, "set_key", ["ok{1}"], ["1"]) == b"OK"
        reply = c.execute_command("AI.DAGEXECUTE", "ROUTING", "ok{1}", "|>", "AI.SCRIPTEXECUTE", "s{1}", "set_key",
                                  "KEYS", 1, "secret{1}", "ARGS", 1, "1")
        assert isinstance(reply[0], redis.ResponseError)
        assert "Redis command returned an error: Permission denied" in str(reply[0])
        reply = c.execute_command("AI.DAGEXECUTE", "ROUTING", "ok{1}", "|>", "AI.SCRIPTEXECUTE", "s{1}",
                                  "model_execute", "KEYS", 1, "hidden{1}", "OUTPUTS", 1, "out")
        assert isinstance(reply[0], redis.ResponseError) and "NOPERM" in str(reply[0])
        reply = c.execute_command("AI.DAGEXECUTE", "ROUTING", "ok{1}", "|>", "AI.SCRIPTEXECUTE", "s{1}",
                                  "model_execute", "KEYS", 1, "m{1}", "OUTPUTS", 1, "out", "|>",
                                  "AI.TENSORGET", "out", "VALUES")
        assert reply == [b"OK", [b"4", b"6", b"4", b"6"]]
    finally:
        c.close()
    assert s.get("ok{1}") == b"1"
    assert s.exists("secret{1}") == 0


def test_script_commands_replicate():
    with running_server({"repl-diskless-sync-delay": 0}) as master, running_server({"replicaof": f"127.0.0.1 {master.port}"}) as replica:
        m, rep = master.client(), replica.client()
        wait_for(lambda: m.info("replication").get("slave0", {}).get("state") == "online", what="replica in sync")
        m.execute_command("AI.SCRIPTSTORE", "s{1}", "CPU", "ENTRY_POINTS", len(ENTRY_POINTS), *ENTRY_POINTS,
                          "SOURCE", SRC)
        assert sx(m, "set_key", ["x{1}"], ["7"]) == b"OK"
        assert sx(m, "int_list", ["l{1}"], ["1", "2"], ["o{1}"]) == b"OK"
        assert replicas_acked(m)
        assert rep.get("x{1}") == b"7"
        assert rep.lrange("l{1}", 0, -1) == [b"1", b"2"]
        assert rep.execute_command("AI.TENSORGET", "o{1}", "VALUES") == [1, 2]


def test_calls_that_reach_other_clients_run_on_the_main_thread():
    """A script's PUBLISH reaches a subscriber, its SET a keyspace-event subscriber, a MONITOR and
    a tracking client's invalidation: writes to other clients, which Redis 8.0 asserts happen on
    its main thread (a worker holding the GIL crashed it: found by the server matrix)."""
    with running_server({"notify-keyspace-events": "KEA"}) as server:
        r = server.client()
        r.execute_command("AI.SCRIPTSTORE", "s{1}", "CPU", "ENTRY_POINTS", len(ENTRY_POINTS), *ENTRY_POINTS,
                          "SOURCE", SRC)
        sub = r.pubsub()
        sub.subscribe("news")
        sub.psubscribe("__keyspace@0__:k{1}")
        invalidations = Raw(server.port)  # RESP2 tracking: invalidations go to a subscriber
        redirect = invalidations.call("CLIENT", "ID")
        assert invalidations.call("SUBSCRIBE", "__redis__:invalidate")[0] == b"subscribe"
        tracker = server.client()
        tracker.execute_command("CLIENT", "TRACKING", "ON", "REDIRECT", redirect)
        tracker.get("k{1}")
        monitor = Raw(server.port)
        assert monitor.call("MONITOR") == "OK"
        for k in range(20):
            assert sx(r, "publish_and_set", ["k{1}"], ["news", f"m{k}"]) == b"OK"
            tracker.get("k{1}")  # track the key again for the next invalidation
        seen = [monitor.read() for _ in range(3)]  # the script's command, then its two calls
        assert any('"PUBLISH" "news" "m0"' in line for line in seen), seen
        assert any('"SET" "k{1}" "m0"' in line for line in seen), seen
        messages = []
        wait_for(lambda: messages.extend(m for m in iter(lambda: sub.get_message(timeout=0.1), None)
                                         if m["type"] in ("message", "pmessage")) or len(messages) >= 40,
                 what="the script's messages and keyspace events")
        assert [m["data"] for m in messages if m["type"] == "message"] == [f"m{k}".encode() for k in range(20)]
        assert [m["data"] for m in messages if m["type"] == "pmessage"] == [b"set"] * 20
        assert invalidations.read()[:2] == [b"message", b"__redis__:invalidate"]
        assert server.alive() and r.ping()
        for c in (sub, invalidations, monitor, tracker, r):
            c.close()


def test_no_deadlock_when_the_main_thread_needs_python_meanwhile(s, server):
    """Scripts take Redis's lock many times while other clients keep storing models (which need
    Python on the main thread): both must finish."""
    blob = torch_add_model()
    errors = []

    def scripts():
        c = server.client()
        try:
            for k in range(40):
                assert sx(c, "int_set_incr", [f"n{k}{{1}}"], [], ["o{1}"]) == b"OK"
        except Exception as e:  # reported below
            errors.append(e)
        finally:
            c.close()

    threads = [threading.Thread(target=scripts) for _ in range(2)]
    for t in threads:
        t.start()
    c = server.client()
    for k in range(20):
        assert c.execute_command("AI.MODELSTORE", f"mm{k}", "TORCH", "CPU", "BLOB", blob) == b"OK"
        assert c.execute_command("AI.SCRIPTSTORE", f"ss{k}", "CPU", "ENTRY_POINTS", 1, "set_key", "SOURCE", SRC) == b"OK"
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "script clients hung"
    assert errors == []
    assert s.ping()
