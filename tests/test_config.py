"""Configuration: load-time arguments (docs/CONFIG.md §1-§2), AI.CONFIG (docs/CONFIG.md §3, docs/COMMANDS.md §9),
and the effects of MODEL_CHUNK_SIZE, THREADS_PER_QUEUE and MODEL_EXECUTION_TIMEOUT (docs/BEHAVIOUR.md §6).

Every test runs real redis-server processes. INFO MODULES is covered by test_info_modules.py.
"""
import re
import threading
import time

import numpy as np
import pytest
import redis

from helpers import error_of, replicas_acked
from models import onnx_add_model, torch_add_model
from redis_server import MODULE, RedisServer, running_server, wait_for
from resp import Raw

DEFAULT_CHUNK_SIZE = 535822336  # 511 MiB
DEFAULT_BACKENDSPATH = str(MODULE.parent / "backends")  # <directory of the module .so>/backends

# RedisAI's library name for each backend, relative to BACKENDSPATH (docs/CONFIG.md §2).
BACKEND_PATHS = {
    "TF": "redisai_tensorflow/redisai_tensorflow.so",
    "TFLITE": "redisai_tflite/redisai_tflite.so",
    "TORCH": "redisai_torch/redisai_torch.so",
    "ONNX": "redisai_onnxruntime/redisai_onnxruntime.so",
}
NUMERIC_KEYS = ["THREADS_PER_QUEUE", "INTRA_OP_PARALLELISM", "INTER_OP_PARALLELISM", "MODEL_CHUNK_SIZE",
                "MODEL_EXECUTION_TIMEOUT", "BACKEND_MEMORY_LIMIT", "ASYNC_DAG_RESULT_TTL", "ASYNC_DAG_MAX_PENDING"]

# Redis log lines: "<pid>:<role> <date> <time> <level> [<module>] <message>"; level '*' is notice,
# '#' warning.
NOTICE, WARNING = "*", "#"


def log_has(log, level, message):
    """Whether a line of the log carries exactly `message` at `level` (module prefix allowed)."""
    pattern = re.compile(rf" {re.escape(level)} (<[\w-]+> )?{re.escape(message)}$")
    return any(pattern.search(line) for line in log.splitlines())


def arity_error(client):
    """E.ARITY from RedisModule_WrongArity: Redis < 7 quotes argv[0] as sent, Redis >= 7 the
    registered (lower-case) command name, whatever the client's spelling."""
    major = int(client.info("server")["redis_version"].split(".")[0])
    return "wrong number of arguments for '{}' command".format("AI.CONFIG" if major < 7 else "ai.config")


def failed_start_log(module_args):
    """Start a server with these module arguments, expect the load (and so the server) to fail,
    return its log."""
    s = RedisServer(module_args=module_args)
    try:
        with pytest.raises(RuntimeError):
            s.start(timeout=20)
        assert not s.alive()
        return s.log()
    finally:
        s.cleanup()


# ==================================================================================================
# 1. Load-time arguments


@pytest.mark.parametrize("key,value", [
    ("THREADS_PER_QUEUE", "4"),
    ("THREADS_PER_QUEUE", "1"),
    ("INTRA_OP_PARALLELISM", "2"),
    ("INTER_OP_PARALLELISM", "3"),
    ("MODEL_CHUNK_SIZE", "1024"),
    ("MODEL_CHUNK_SIZE", "1"),
    ("MODEL_EXECUTION_TIMEOUT", "1000"),  # the minimum
    ("MODEL_EXECUTION_TIMEOUT", "60000"),
    ("BACKEND_MEMORY_LIMIT", "512"),
    ("BACKEND_MEMORY_LIMIT", "9223372036854775807"),
    ("ASYNC_DAG_RESULT_TTL", "1"),
    ("ASYNC_DAG_MAX_PENDING", "3"),
])
def test_accepted_value_is_logged_at_notice_level(key, value):
    with running_server(module_args=(key, value)) as s:
        assert s.client().ping()
        log = s.log()
    assert log_has(log, NOTICE, f"Setting {key} parameter to: {value}"), log


@pytest.mark.parametrize("value,expected", [("yes", b"yes"), ("1", b"yes"), ("NO", b"no"), ("0", b"no")])
def test_admission_control_at_load(value, expected):
    with running_server(module_args=("ADMISSION_CONTROL", value)) as s:
        assert s.client().execute_command("AI.CONFIG", "GET", "ADMISSION_CONTROL") == expected


def test_an_admission_control_value_other_than_yes_or_no_fails_the_load():
    log = failed_start_log(("ADMISSION_CONTROL", "maybe"))
    assert log_has(log, WARNING, "ERR error processing argument: ADMISSION_CONTROL maybe"), log


def test_async_dag_settings_at_load_are_what_ai_config_gets():
    with running_server(module_args=("ASYNC_DAG_RESULT_TTL", "1234", "ASYNC_DAG_MAX_PENDING", "5")) as s:
        c = s.client()
        assert c.execute_command("AI.CONFIG", "GET", "ASYNC_DAG_RESULT_TTL") == 1234
        assert c.execute_command("AI.CONFIG", "GET", "ASYNC_DAG_MAX_PENDING") == 5


def test_several_arguments_are_applied_and_logged_in_order():
    args = ("THREADS_PER_QUEUE", "2", "MODEL_CHUNK_SIZE", "4096", "INTER_OP_PARALLELISM", "1",
            "INTRA_OP_PARALLELISM", "1", "MODEL_EXECUTION_TIMEOUT", "1500", "BACKEND_MEMORY_LIMIT", "64")
    with running_server(module_args=args) as s:
        assert s.client().execute_command("AI.CONFIG", "GET", "MODEL_CHUNK_SIZE") == 4096
        log = s.log()
    positions = []
    for key, value in zip(args[::2], args[1::2]):
        line = f"Setting {key} parameter to: {value}"
        assert log_has(log, NOTICE, line), log
        positions.append(log.index(line))
    assert positions == sorted(positions), "arguments were not applied in the given order"


@pytest.mark.parametrize("key,value", [
    ("threads_per_queue", "3"),
    ("Model_Chunk_Size", "2048"),
    ("model_execution_timeout", "1200"),
    ("Intra_Op_Parallelism", "1"),
    ("inter_op_PARALLELISM", "1"),
    ("backend_memory_limit", "10"),
])
def test_keys_are_case_insensitive(key, value):
    with running_server(module_args=(key, value)) as s:
        log = s.log()
        if key.upper() == "MODEL_CHUNK_SIZE":
            assert s.client().execute_command("AI.CONFIG", "GET", "MODEL_CHUNK_SIZE") == int(value)
    assert log_has(log, NOTICE, f"Setting {key.upper()} parameter to: {value}"), log


def test_model_chunk_size_argument_is_the_initial_chunk_size():
    model = torch_add_model()
    chunk = len(model) // 3
    with running_server(module_args=("MODEL_CHUNK_SIZE", chunk)) as s:
        r = s.client()
        assert r.execute_command("AI.CONFIG", "GET", "MODEL_CHUNK_SIZE") == chunk
        r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", model)
        chunks = r.execute_command("AI.MODELGET", "m", "BLOB")
        assert isinstance(chunks, list) and b"".join(chunks) == model
        assert [len(c) for c in chunks] == [chunk] * (len(model) // chunk) + [len(model) % chunk]


_BAD_INTEGERS = ["0", "-1", "abc", "1.5", "+4", "04", "4 ", "9223372036854775808", "1e3", "0x10"]


@pytest.mark.parametrize("key", NUMERIC_KEYS)
@pytest.mark.parametrize("value", _BAD_INTEGERS)
def test_invalid_numeric_value_fails_the_load(key, value):
    log = failed_start_log((key, value))
    assert log_has(log, WARNING, f"ERR error processing argument: {key} {value}"), log
    assert f"Setting {key} parameter" not in log


@pytest.mark.parametrize("value", ["999", "1", "500"])
def test_model_execution_timeout_below_1000_fails_the_load(value):
    log = failed_start_log(("MODEL_EXECUTION_TIMEOUT", value))
    assert log_has(log, WARNING, f"ERR error processing argument: MODEL_EXECUTION_TIMEOUT {value}"), log


def test_intra_op_parallelism_zero_is_rejected_although_it_is_the_default():
    log = failed_start_log(("INTRA_OP_PARALLELISM", "0"))
    assert log_has(log, WARNING, "ERR error processing argument: INTRA_OP_PARALLELISM 0"), log


@pytest.mark.parametrize("key,value", [
    ("FOO", "1"),
    ("THREADS", "2"),
    ("THREADS_PER_QUEUEX", "2"),
    ("BACKENDS_PATH", "/tmp"),
    ("ONNXRUNTIME", BACKEND_PATHS["ONNX"]),
    ("LOADBACKEND", "TORCH"),
])
def test_unknown_key_fails_the_load(key, value):
    log = failed_start_log((key, value))
    assert log_has(log, WARNING, f"ERR error processing argument: {key} {value}"), log


def test_rejected_key_is_logged_as_given():
    log = failed_start_log(("threads_per_queue", "0"))
    assert log_has(log, WARNING, "ERR error processing argument: threads_per_queue 0"), log


def test_an_invalid_pair_after_valid_ones_still_fails_the_load():
    log = failed_start_log(("THREADS_PER_QUEUE", "2", "MODEL_CHUNK_SIZE", "0"))
    assert log_has(log, WARNING, "ERR error processing argument: MODEL_CHUNK_SIZE 0"), log
    # applied in order: the valid pair before it was processed first
    assert log.index("Setting THREADS_PER_QUEUE parameter to: 2") < \
        log.index("ERR error processing argument: MODEL_CHUNK_SIZE 0")


def test_odd_count_after_valid_pairs_fails_the_load():
    log = failed_start_log(("THREADS_PER_QUEUE", "2", "MODEL_CHUNK_SIZE"))
    assert log_has(log, WARNING, "Even number of arguments provided to module. "
                                 "Please provide arguments as KEY VAL pairs"), log


def test_backendspath_argument_sets_the_path():
    with running_server(module_args=("BACKENDSPATH", "/opt/custom/backends")) as s:
        assert s.client().execute_command("AI.CONFIG", "GET", "BACKENDSPATH") == b"/opt/custom/backends"


def test_backendspath_key_is_case_insensitive():
    with running_server(module_args=("backendsPath", "/opt/custom/lower")) as s:
        assert s.client().execute_command("AI.CONFIG", "GET", "BACKENDSPATH") == b"/opt/custom/lower"


def test_backendspath_is_applied_first_wherever_it_appears():
    """A relative backend path given BEFORE BACKENDSPATH is still resolved against it."""
    log = failed_start_log(("ONNX", "no_such_backend/lib.so", "BACKENDSPATH", "/opt/first_applied"))
    assert log_has(log, WARNING, "ERR error processing argument: ONNX no_such_backend/lib.so"), log
    assert "/opt/first_applied/no_such_backend/lib.so" in log, log


def test_backendspath_after_a_backend_key_is_in_force_once_loaded():
    args = ("TORCH", BACKEND_PATHS["TORCH"], "BACKENDSPATH", "/opt/last_pair")
    with running_server(module_args=args) as s:
        assert s.client().execute_command("AI.CONFIG", "GET", "BACKENDSPATH") == b"/opt/last_pair"


def test_backend_keys_load_the_backends_at_load_time():
    args = ("tf", BACKEND_PATHS["TF"], "TFLITE", BACKEND_PATHS["TFLITE"],
            "Torch", BACKEND_PATHS["TORCH"], "ONNX", BACKEND_PATHS["ONNX"])
    with running_server(module_args=args) as s:
        r = s.client()
        for name, path in BACKEND_PATHS.items():
            assert error_of(r, "AI.CONFIG", "LOADBACKEND", name, path) == "error loading backend"
            assert log_has(s.log(), WARNING, f"Could not load {name} backend: backend already loaded"), s.log()


def test_absolute_backend_path_at_load_time():
    path = str(MODULE.parent / "backends" / BACKEND_PATHS["ONNX"])
    with running_server(module_args=("ONNX", path)) as s:
        r = s.client()
        assert error_of(r, "AI.CONFIG", "LOADBACKEND", "ONNX", BACKEND_PATHS["ONNX"]) == "error loading backend"
        # The backend really is usable.
        r.execute_command("AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", onnx_add_model())


def test_without_backend_keys_no_backend_is_loaded():
    """Control for the test above: LOADBACKEND succeeds on a fresh server."""
    with running_server(module_args=()) as s:
        assert s.client().execute_command("AI.CONFIG", "LOADBACKEND", "ONNX", BACKEND_PATHS["ONNX"]) == b"OK"


@pytest.mark.parametrize("key,value", [
    ("TORCH", "."),
    ("TORCH", "nonexistent/libfoo.so"),
    ("ONNX", "/nonexistent/libonnx.so"),
    ("TF", BACKEND_PATHS["TORCH"]),  # another backend's library is not a TF backend
    ("TFLITE", ""),
])
def test_bad_backend_path_fails_the_load(key, value):
    log = failed_start_log((key, value))
    assert log_has(log, WARNING, f"ERR error processing argument: {key} {value}"), log


def test_backend_loaded_before_a_bad_argument_still_fails_the_load():
    log = failed_start_log(("ONNX", BACKEND_PATHS["ONNX"], "THREADS_PER_QUEUE", "0"))
    assert log_has(log, WARNING, "ERR error processing argument: THREADS_PER_QUEUE 0"), log


# --------------------------------------------------------------------------------------------------
# MODULE LOAD at run time


def _module_load_server():
    return running_server(config={"enable-module-command": "yes"}, load_module=False)


def test_module_load_at_run_time_with_arguments():
    with _module_load_server() as s:
        r = s.client()
        assert r.execute_command("MODULE", "LOAD", str(MODULE), "THREADS_PER_QUEUE", "3",
                                 "model_chunk_size", "777", "BACKENDSPATH", "/opt/rt",
                                 "TORCH", BACKEND_PATHS["TORCH"]) == b"OK"
        [module] = [m for m in r.module_list() if m[b"name"] == b"ai"]
        assert module[b"args"] == [b"THREADS_PER_QUEUE", b"3", b"model_chunk_size", b"777",
                                   b"BACKENDSPATH", b"/opt/rt", b"TORCH", BACKEND_PATHS["TORCH"].encode()]
        assert r.execute_command("AI.CONFIG", "GET", "MODEL_CHUNK_SIZE") == 777
        assert r.execute_command("AI.CONFIG", "GET", "BACKENDSPATH") == b"/opt/rt"
        assert error_of(r, "AI.CONFIG", "LOADBACKEND", "TORCH", BACKEND_PATHS["TORCH"]) == "error loading backend"
        log = s.log()
        assert log_has(log, NOTICE, "Setting THREADS_PER_QUEUE parameter to: 3"), log
        assert log_has(log, NOTICE, "Setting MODEL_CHUNK_SIZE parameter to: 777"), log
        assert r.execute_command("AI.TENSORSET", "t", "FLOAT", 1, "VALUES", 1) == b"OK"


@pytest.mark.parametrize("args,line", [
    (("THREADS_PER_QUEUE", "0"), "ERR error processing argument: THREADS_PER_QUEUE 0"),
    (("MODEL_EXECUTION_TIMEOUT", "999"), "ERR error processing argument: MODEL_EXECUTION_TIMEOUT 999"),
    (("FOO", "1"), "ERR error processing argument: FOO 1"),
    (("TORCH", "."), "ERR error processing argument: TORCH ."),
    (("THREADS_PER_QUEUE",), "Even number of arguments provided to module. "
                             "Please provide arguments as KEY VAL pairs"),
])
def test_module_load_at_run_time_with_a_bad_argument_fails(args, line):
    with _module_load_server() as s:
        r = s.client()
        with pytest.raises(redis.ResponseError):
            r.execute_command("MODULE", "LOAD", str(MODULE), *args)
        assert log_has(s.log(), WARNING, line), s.log()
        assert not [m for m in r.module_list() if m[b"name"] == b"ai"]
        assert "unknown command" in error_of(r, "AI.CONFIG", "GET", "MODEL_CHUNK_SIZE")
        assert r.ping()


def test_module_load_succeeds_after_a_failed_attempt():
    """Upstream RedisAI can be loaded again after a load that failed on its arguments."""
    with _module_load_server() as s:
        r = s.client()
        with pytest.raises(redis.ResponseError):
            r.execute_command("MODULE", "LOAD", str(MODULE), "THREADS_PER_QUEUE", "0")
        assert r.execute_command("MODULE", "LOAD", str(MODULE), "THREADS_PER_QUEUE", "2") == b"OK"
        assert r.execute_command("AI.CONFIG", "GET", "MODEL_CHUNK_SIZE") == DEFAULT_CHUNK_SIZE


# ==================================================================================================
# 2. AI.CONFIG


@pytest.fixture(scope="module")
def cfg_server():
    with running_server(module_args=()) as s:
        yield s


@pytest.fixture
def rc(cfg_server):
    """A client; BACKENDSPATH and MODEL_CHUNK_SIZE put back to their defaults afterwards."""
    client = cfg_server.client()
    client.flushall()
    yield client
    client.execute_command("AI.CONFIG", "BACKENDSPATH", DEFAULT_BACKENDSPATH)
    client.execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", DEFAULT_CHUNK_SIZE)
    client.close()


def test_get_defaults(rc):
    assert rc.execute_command("AI.CONFIG", "GET", "BACKENDSPATH") == DEFAULT_BACKENDSPATH.encode()
    assert rc.execute_command("AI.CONFIG", "GET", "MODEL_CHUNK_SIZE") == DEFAULT_CHUNK_SIZE


def test_reply_types_on_the_wire(cfg_server, rc):
    """GET BACKENDSPATH: bulk string; GET MODEL_CHUNK_SIZE: integer; GET other: nil; sets: +OK;
    errors exactly as specified (docs/COMMANDS.md §9)."""
    raw = Raw(cfg_server.port, timeout=20)
    try:
        assert raw.call("AI.CONFIG", "GET", "MODEL_CHUNK_SIZE") == DEFAULT_CHUNK_SIZE
        assert raw.call("AI.CONFIG", "GET", "BACKENDSPATH") == DEFAULT_BACKENDSPATH.encode()
        assert raw.call("AI.CONFIG", "GET", "NOPE") is None
        assert raw.call("AI.CONFIG", "MODEL_CHUNK_SIZE", "100") == "OK"
        assert raw.call("AI.CONFIG", "BACKENDSPATH", "/tmp") == "OK"
        assert raw.call("AI.CONFIG", "NOPE") == ("error", "ERR unsupported subcommand")
        assert raw.call("AI.CONFIG", "LOADBACKEND", "NOPE", "x") == ("error", "ERR unsupported backend")
        assert raw.call("AI.CONFIG", "LOADBACKEND", "TORCH", ".") == ("error", "ERR error loading backend")
        assert raw.call("AI.CONFIG", "MODEL_CHUNK_SIZE", "x") == ("error", "ERR MODEL_CHUNK_SIZE: invalid chunk size")
        assert raw.call("AI.CONFIG", "MODEL_CHUNK_SIZE") == ("error", "ERR MODEL_CHUNK_SIZE: missing chunk size")
        assert raw.call("AI.CONFIG", "BACKENDSPATH") == ("error", "ERR BACKENDSPATH: missing path argument")
    finally:
        raw.close()


@pytest.mark.parametrize("name", ["THREADS_PER_QUEUE", "MODEL_EXECUTION_TIMEOUT", "FOO", "", "LOADBACKEND"])
def test_get_of_anything_else_is_nil(rc, name):
    assert rc.execute_command("AI.CONFIG", "GET", name) is None


def test_backendspath_set_and_get(rc):
    assert rc.execute_command("AI.CONFIG", "BACKENDSPATH", "/does/not/exist") == b"OK"  # no validation
    assert rc.execute_command("AI.CONFIG", "GET", "BACKENDSPATH") == b"/does/not/exist"
    assert rc.execute_command("AI.CONFIG", "BACKENDSPATH", "relative/dir") == b"OK"
    assert rc.execute_command("AI.CONFIG", "GET", "BACKENDSPATH") == b"relative/dir"


def test_model_chunk_size_set_and_get(rc):
    assert rc.execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", "1") == b"OK"
    assert rc.execute_command("AI.CONFIG", "GET", "MODEL_CHUNK_SIZE") == 1
    assert rc.execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", "9223372036854775807") == b"OK"
    assert rc.execute_command("AI.CONFIG", "GET", "MODEL_CHUNK_SIZE") == 9223372036854775807


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "+4", "04", "9223372036854775808", "1e3", ""])
def test_model_chunk_size_invalid(rc, value):
    rc.execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", "1234")
    assert error_of(rc, "AI.CONFIG", "MODEL_CHUNK_SIZE", value) == "MODEL_CHUNK_SIZE: invalid chunk size"
    assert rc.execute_command("AI.CONFIG", "GET", "MODEL_CHUNK_SIZE") == 1234  # unchanged


def test_model_chunk_size_missing(rc):
    assert error_of(rc, "AI.CONFIG", "MODEL_CHUNK_SIZE") == "MODEL_CHUNK_SIZE: missing chunk size"


def test_backendspath_missing(rc):
    assert error_of(rc, "AI.CONFIG", "BACKENDSPATH") == "BACKENDSPATH: missing path argument"
    assert rc.execute_command("AI.CONFIG", "GET", "BACKENDSPATH") == DEFAULT_BACKENDSPATH.encode()


def test_model_chunk_size_chunks_modelget_blob(rc):
    """The upstream expectation: chunk size len//3 gives 4 chunks, the last one len % chunk."""
    model = torch_add_model()
    rc.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", model)
    assert rc.execute_command("AI.MODELGET", "m", "BLOB") == model  # default: one bulk string
    chunk = len(model) // 3
    assert rc.execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", chunk) == b"OK"
    chunks = rc.execute_command("AI.MODELGET", "m", "BLOB")
    assert [len(c) for c in chunks] == [chunk, chunk, chunk, len(model) - 3 * chunk]
    assert b"".join(chunks) == model
    meta = rc.execute_command("AI.MODELGET", "m", "META", "BLOB")
    assert meta[16] == b"blob" and meta[17] == chunks
    # larger than the blob: one bulk string again
    assert rc.execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", len(model) + 1) == b"OK"
    assert rc.execute_command("AI.MODELGET", "m", "BLOB") == model


def test_model_chunk_size_exact_multiple_gives_an_empty_last_chunk(rc):
    model = torch_add_model()
    rc.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", model)
    assert rc.execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", len(model)) == b"OK"
    assert rc.execute_command("AI.MODELGET", "m", "BLOB") == [model, b""]


def test_subcommands_and_names_are_case_insensitive(rc):
    assert rc.execute_command("ai.config", "model_chunk_size", "4321") == b"OK"
    assert rc.execute_command("Ai.Config", "get", "model_chunk_size") == 4321
    assert rc.execute_command("AI.CONFIG", "Get", "Model_Chunk_Size") == 4321
    assert rc.execute_command("ai.config", "backendspath", "/lower/case") == b"OK"
    assert rc.execute_command("ai.config", "get", "backendspath") == b"/lower/case"
    assert error_of(rc, "ai.config", "model_chunk_size", "0") == "MODEL_CHUNK_SIZE: invalid chunk size"


def test_extra_trailing_arguments_are_ignored(rc):
    assert rc.execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", "555", "extra", "args") == b"OK"
    assert rc.execute_command("AI.CONFIG", "GET", "MODEL_CHUNK_SIZE", "extra") == 555
    assert rc.execute_command("AI.CONFIG", "BACKENDSPATH", "/x/y", "extra") == b"OK"
    assert rc.execute_command("AI.CONFIG", "GET", "BACKENDSPATH", "extra") == b"/x/y"


@pytest.mark.parametrize("sub", ["FOO", "THREADS_PER_QUEUE", "MODEL_EXECUTION_TIMEOUT", "LOADBACKENDS",
                                 "SET", "GETS", "BACKENDSPATHS", ""])
def test_unsupported_subcommand(rc, sub):
    assert error_of(rc, "AI.CONFIG", sub, "4") == "unsupported subcommand"


@pytest.mark.parametrize("args", [
    (),
    ("GET",),
    ("get",),
    ("LOADBACKEND",),
    ("LOADBACKEND", "TORCH"),
    ("LOADBACKEND", "NOT_A_BACKEND"),  # arity is checked before the name
])
def test_arity(rc, args):
    assert error_of(rc, "AI.CONFIG", *args) == arity_error(rc)


def test_lone_unknown_subcommand_is_unsupported_not_arity(rc):
    assert error_of(rc, "AI.CONFIG", "FOO") == "unsupported subcommand"


# --------------------------------------------------------------------------------------------------
# LOADBACKEND (each test on its own server: a loaded backend stays loaded)


@pytest.fixture
def fresh():
    with running_server(module_args=()) as s:
        yield s


@pytest.mark.parametrize("backend", ["TORCH", "ONNX", "TFLITE", "TF"])
def test_loadbackend_ok_then_already_loaded(backend):
    with running_server(module_args=()) as s:
        r = s.client()
        assert r.execute_command("AI.CONFIG", "LOADBACKEND", backend, BACKEND_PATHS[backend]) == b"OK"
        assert error_of(r, "AI.CONFIG", "LOADBACKEND", backend, BACKEND_PATHS[backend]) == "error loading backend"
        assert log_has(s.log(), WARNING, f"Could not load {backend} backend: backend already loaded"), s.log()


def test_loadbackend_is_case_insensitive_and_backends_are_independent(fresh):
    r = fresh.client()
    assert r.execute_command("ai.config", "loadbackend", "torch", BACKEND_PATHS["TORCH"]) == b"OK"
    assert error_of(r, "AI.CONFIG", "LOADBACKEND", "Torch", BACKEND_PATHS["TORCH"]) == "error loading backend"
    assert r.execute_command("AI.CONFIG", "LOADBACKEND", "onnx", BACKEND_PATHS["ONNX"]) == b"OK"


def test_loadbackend_absolute_path(fresh):
    r = fresh.client()
    path = f"{DEFAULT_BACKENDSPATH}/{BACKEND_PATHS['ONNX']}"
    assert r.execute_command("AI.CONFIG", "LOADBACKEND", "ONNX", path) == b"OK"
    r.execute_command("AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", onnx_add_model())


def test_loadbackend_after_lazy_load_is_already_loaded(fresh):
    r = fresh.client()
    r.execute_command("AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", onnx_add_model())  # loads ONNX lazily
    assert error_of(r, "AI.CONFIG", "LOADBACKEND", "ONNX", BACKEND_PATHS["ONNX"]) == "error loading backend"
    assert log_has(fresh.log(), WARNING, "Could not load ONNX backend: backend already loaded"), fresh.log()


def test_loaded_backend_is_usable(fresh):
    r = fresh.client()
    assert r.execute_command("AI.CONFIG", "LOADBACKEND", "TORCH", BACKEND_PATHS["TORCH"]) == b"OK"
    r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", torch_add_model())
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, "VALUES", 1, 2)
    r.execute_command("AI.TENSORSET", "b", "FLOAT", 2, "VALUES", 3, 4)
    r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c")
    assert r.execute_command("AI.TENSORGET", "c", "VALUES") == [b"4", b"6"]


@pytest.mark.parametrize("name", ["FOO", "PYTORCH", "TENSORFLOW", "ONNXRUNTIME", "TF2", ""])
def test_loadbackend_unsupported_backend(rc, name):
    assert error_of(rc, "AI.CONFIG", "LOADBACKEND", name, BACKEND_PATHS["TORCH"]) == "unsupported backend"


@pytest.mark.parametrize("backend,path", [
    ("TORCH", "."),  # the upstream expectation
    ("ONNX", "."),
    ("TORCH", "nonexistent/libfoo.so"),
    ("TFLITE", "/nonexistent/libtflite.so"),
    ("TF", BACKEND_PATHS["ONNX"]),  # another backend's library
    ("TORCH", ""),
])
def test_loadbackend_bad_path(rc, backend, path):
    assert error_of(rc, "AI.CONFIG", "LOADBACKEND", backend, path) == "error loading backend"


def test_bad_path_does_not_count_as_loaded(fresh):
    r = fresh.client()
    assert error_of(r, "AI.CONFIG", "LOADBACKEND", "TORCH", ".") == "error loading backend"
    assert r.execute_command("AI.CONFIG", "LOADBACKEND", "TORCH", BACKEND_PATHS["TORCH"]) == b"OK"


def test_relative_loadbackend_path_is_resolved_against_backendspath(fresh):
    r = fresh.client()
    assert r.execute_command("AI.CONFIG", "BACKENDSPATH", "/opt/runtime_set") == b"OK"
    assert error_of(r, "AI.CONFIG", "LOADBACKEND", "ONNX", "nowhere/lib.so") == "error loading backend"
    assert "/opt/runtime_set/nowhere/lib.so" in fresh.log(), fresh.log()
    assert r.execute_command("AI.CONFIG", "LOADBACKEND", "ONNX", BACKEND_PATHS["ONNX"]) == b"OK"


# --------------------------------------------------------------------------------------------------
# Not replicated, not persisted


def test_ai_config_is_not_replicated():
    with running_server({"repl-diskless-sync-delay": 0}, module_args=()) as master, \
            running_server({"replicaof": f"127.0.0.1 {master.port}", "replica-read-only": "no"},
                           module_args=()) as replica:
        m, rr = master.client(), replica.client()
        wait_for(lambda: rr.info("replication").get("master_link_status") == "up", 20, what="the replica sync")
        assert m.execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", "1000") == b"OK"
        assert m.execute_command("AI.CONFIG", "BACKENDSPATH", "/opt/master_only") == b"OK"
        assert m.execute_command("AI.CONFIG", "LOADBACKEND", "ONNX", BACKEND_PATHS["ONNX"]) == b"OK"
        m.set("after", "1")
        assert replicas_acked(m)
        wait_for(lambda: rr.get("after") == b"1", 10, what="replication of a later write")
        assert m.execute_command("AI.CONFIG", "GET", "MODEL_CHUNK_SIZE") == 1000
        assert rr.execute_command("AI.CONFIG", "GET", "MODEL_CHUNK_SIZE") == DEFAULT_CHUNK_SIZE
        assert rr.execute_command("AI.CONFIG", "GET", "BACKENDSPATH") == DEFAULT_BACKENDSPATH.encode()
        # the replica's ONNX backend was not loaded by the master's LOADBACKEND
        assert rr.execute_command("AI.CONFIG", "LOADBACKEND", "ONNX", BACKEND_PATHS["ONNX"]) == b"OK"


def test_ai_config_is_not_persisted():
    with running_server({"appendonly": "yes", "appendfsync": "always"}, module_args=()) as s:
        r = s.client()
        assert r.execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", "1000") == b"OK"
        assert r.execute_command("AI.CONFIG", "BACKENDSPATH", "/opt/not_persisted") == b"OK"
        r.set("k", "v")
        aof = b"".join(p.read_bytes() for p in s.dir.rglob("*.aof*") if p.is_file())
        assert b"k" in aof and b"ai.config" not in aof.lower()
        s.stop(save=True)
        s.start()
        r = s.client()
        assert r.get("k") == b"v"  # the data did persist
        assert r.execute_command("AI.CONFIG", "GET", "MODEL_CHUNK_SIZE") == DEFAULT_CHUNK_SIZE
        assert r.execute_command("AI.CONFIG", "GET", "BACKENDSPATH") == DEFAULT_BACKENDSPATH.encode()


# ==================================================================================================
# 3. Effects of load-time settings


def _onnx_loop_model():
    """y = sin(sin(...sin(x))) applied n times (a Loop): runs as long as we ask."""
    import onnx
    from onnx import TensorProto, helper
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Sin", ["x_in"], ["x_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("x_in", TensorProto.FLOAT, ["N"])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("x_out", TensorProto.FLOAT, ["N"])])
    graph = helper.make_graph(
        [helper.make_node("Loop", ["n", "cond", "x"], ["y"], body=body)], "loop",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"]),
         helper.make_tensor_value_info("n", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"])],
        initializer=[helper.make_tensor("cond", TensorProto.BOOL, [], [True])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def test_model_execution_timeout_kills_a_long_onnx_run():
    """docs/BEHAVIOUR.md §6: with MODEL_EXECUTION_TIMEOUT 1000 an endless ONNX run is terminated after
    about a second (the 5000 ms default would let it run 5 s)."""
    args = ("MODEL_EXECUTION_TIMEOUT", 1000, "INTRA_OP_PARALLELISM", 1, "INTER_OP_PARALLELISM", 1)
    with running_server(module_args=args) as s:
        r = s.client()
        r.execute_command("AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", _onnx_loop_model())
        r.execute_command("AI.TENSORSET", "x", "FLOAT", 1000, "BLOB", np.ones(1000, np.float32).tobytes())
        r.execute_command("AI.TENSORSET", "short", "INT64", "VALUES", 10)
        r.execute_command("AI.TENSORSET", "endless", "INT64", "VALUES", 10 ** 12)
        assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "x", "short", "OUTPUTS", 1, "y") == b"OK"
        started = time.monotonic()
        message = error_of(r, "AI.MODELEXECUTE", "m", "INPUTS", 2, "x", "endless", "OUTPUTS", 1, "y2")
        elapsed = time.monotonic() - started
        assert "Exiting due to terminate flag being set to true" in message
        assert 0.9 <= elapsed < 4.5, elapsed
        assert r.exists("y2") == 0
        # the server goes on: the next run is fine
        assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "x", "short", "OUTPUTS", 1, "y3") == b"OK"
        info = dict(zip(*[iter(r.execute_command("AI.INFO", "m"))] * 2))
        assert info[b"calls"] == 3 and info[b"errors"] == 1


def test_backend_memory_limit_refuses_onnx_allocations_beyond_it():
    """docs/BEHAVIOUR.md §6: CPU ONNX sessions allocate within BACKEND_MEMORY_LIMIT (MB); a run whose
    output (4.8 MB) does not fit fails with RedisAI's message, and the server goes on."""
    rows = 600_000
    big = np.ones((rows, 2), np.float32).tobytes()
    with running_server(module_args=("BACKEND_MEMORY_LIMIT", 1)) as s:
        r = s.client()
        for key, device in (("m", "CPU"), ("m1", "CPU:1")):  # only exactly CPU is limited, as upstream
            r.execute_command("AI.MODELSTORE", key, "ONNX", device, "BLOB", onnx_add_model())
        r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, 2, "VALUES", 1, 2, 3, 4)
        r.execute_command("AI.TENSORSET", "b", "FLOAT", rows, 2, "BLOB", big)
        assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "small") == b"OK"
        assert error_of(r, "AI.MODELEXECUTE", "m", "INPUTS", 2, "b", "b", "OUTPUTS", 1, "o") == \
            "Onnxruntime memory limit exceeded, memory allocation failed."
        assert not r.exists("o")
        assert r.execute_command("AI.MODELEXECUTE", "m1", "INPUTS", 2, "b", "b", "OUTPUTS", 1, "o1") == b"OK"
        assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "small") == b"OK"
        assert r.execute_command("AI.TENSORGET", "small", "VALUES") == [b"2", b"4", b"6", b"8"]
        info = dict(zip(*[iter(r.execute_command("AI.INFO", "m"))] * 2))
        assert info[b"calls"] == 3 and info[b"errors"] == 1
    with running_server() as s:  # no limit by default
        r = s.client()
        r.execute_command("AI.MODELSTORE", "m", "ONNX", "CPU", "BLOB", onnx_add_model())
        r.execute_command("AI.TENSORSET", "b", "FLOAT", rows, 2, "BLOB", big)
        assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "b", "b", "OUTPUTS", 1, "o") == b"OK"


WAITING_SCRIPT = """
def wait_for_go(tensors: List[Tensor], keys: List[str], args: List[str]):
    redis.execute("SET", "started", "1")
    while str(redis.execute("GET", keys[0])) != "go":  # polls: scripts may not call DEBUG SLEEP
        pass
    return tensors[0]

def fast(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0]
"""


def _fast_run_while_another_waits(threads):
    """Queue a script run that waits (polling Redis) until the key `flag` is "go",
    then a tiny script run from another client. Returns (whether the tiny run was done before
    "go" was given, whether the waiting run was still waiting then)."""
    args = ("THREADS_PER_QUEUE", threads, "MODEL_EXECUTION_TIMEOUT", 1000)
    with running_server(module_args=args) as s:
        r = s.client()
        r.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 2, "wait_for_go", "fast",
                          "SOURCE", WAITING_SCRIPT)
        r.execute_command("AI.TENSORSET", "x", "FLOAT", 1, "VALUES", 1)
        results = {}

        def run(fn, out):
            try:
                results[fn] = s.client().execute_command(
                    "AI.SCRIPTEXECUTE", "s", fn, "KEYS", 1, "flag", "INPUTS", 1, "x", "OUTPUTS", 1, out)
            except Exception as e:  # checked below
                results[fn] = e

        waiting = threading.Thread(target=run, args=("wait_for_go", "y1"))
        fast = threading.Thread(target=run, args=("fast", "y2"))
        try:
            waiting.start()
            wait_for(lambda: r.exists("started"), 30, what="the waiting run to start")
            fast.start()
            fast.join(1.5)
            fast_done_first = not fast.is_alive()
            still_waiting = waiting.is_alive()
        finally:
            r.set("flag", "go")
            waiting.join(60)
            fast.join(60)
        # both complete once released; a TORCH script that outlives MODEL_EXECUTION_TIMEOUT is
        # not killed (ONNX only)
        assert results == {"wait_for_go": b"OK", "fast": b"OK"}, results
        return fast_done_first, still_waiting


def test_threads_per_queue_1_runs_one_at_a_time():
    fast_done_first, still_waiting = _fast_run_while_another_waits(1)
    assert still_waiting
    assert not fast_done_first, "a second run went ahead with THREADS_PER_QUEUE 1"


def test_threads_per_queue_2_runs_two_at_a_time():
    fast_done_first, still_waiting = _fast_run_while_another_waits(2)
    assert still_waiting
    assert fast_done_first, "the second run waited for the first with THREADS_PER_QUEUE 2"
