"""The module's INFO MODULES sections (docs/CONFIG.md §4): names, order, fields and live values."""
import re
import subprocess

import numpy as np
import onnxruntime
import pytest

from models import onnx_add_model, torch_add_model
from redis_server import ROOT, running_server

SECTIONS = ["ai_versions", "ai_git", "ai_load_time_configs", "ai_backends_info", "ai_cpu",
            "ai_workers", "ai_queues", "ai_runnables"]
SECONDS = re.compile(r"^\d+\.\d{6}$")


def info_text(client, *sections):
    """INFO's reply as Redis sent it (redis-py would parse it into a dict and lose the order)."""
    client.set_response_callback("INFO", lambda response, **kw: response)
    return client.execute_command("INFO", *sections).decode()


def info_sections(client):
    """INFO MODULES as [(section, [(field, value), ...]), ...] in the server's order."""
    text = info_text(client, "MODULES")
    sections = []
    for line in text.splitlines():
        if line.startswith("# "):
            sections.append((line[2:], []))
        elif ":" in line and sections:
            field, _, value = line.rpartition(":")  # device names may hold a colon
            sections[-1][1].append((field, value))
    return [s for s in sections if s[0] != "Modules"]


def fields(client, section):
    return dict(dict(info_sections(client))[section])


def test_sections_are_always_present_in_order(r):
    assert [name for name, _ in info_sections(r)] == SECTIONS


def test_versions_section(r):
    assert dict(info_sections(r))["ai_versions"] == [
        ("ai_RedisAI_version", "1.2.7"), ("ai_low_level_API_version", "1"), ("ai_rdb_version", "4")]


def test_git_sha_is_the_commit_the_module_was_built_from(r):
    sha = fields(r, "ai_git")["ai_git_sha"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if head.returncode != 0:
        assert sha == "unknown"
    else:
        # Built from this checkout, possibly before its latest commit.
        assert re.fullmatch(r"[0-9a-f]{40}", sha)
        known = subprocess.run(["git", "cat-file", "-e", sha + "^{commit}"], cwd=ROOT)
        assert known.returncode == 0


def test_load_time_configs_defaults(r):
    assert dict(info_sections(r))["ai_load_time_configs"] == [
        ("ai_threads_per_queue", "1"), ("ai_inter_op_parallelism", "0"),
        ("ai_intra_op_parallelism", "0"), ("ai_model_execution_timeout", "5000"),
        ("ai_backend_memory_limit", "0")]


def test_load_time_configs_follow_the_arguments():
    args = ("THREADS_PER_QUEUE", 3, "INTER_OP_PARALLELISM", 2, "INTRA_OP_PARALLELISM", 4,
            "MODEL_EXECUTION_TIMEOUT", 1500, "BACKEND_MEMORY_LIMIT", 64)
    with running_server(module_args=args) as s:
        c = s.client()
        assert fields(c, "ai_load_time_configs") == {
            "ai_threads_per_queue": "3", "ai_inter_op_parallelism": "2",
            "ai_intra_op_parallelism": "4", "ai_model_execution_timeout": "1500",
            "ai_backend_memory_limit": "64"}
        cpu = fields(c, "ai_cpu")
        # The CPU queue exists from load on, one field per worker thread.
        assert [f for f in cpu if f.startswith("ai_queue_")] == [
            f"ai_queue_CPU_bthread_n{i}_used_cpu_total" for i in (1, 2, 3)]


def test_backends_appear_once_loaded(r):
    assert fields(r, "ai_backends_info") == {}
    r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", torch_add_model())
    assert fields(r, "ai_backends_info") == {"ai_Torch_version": "NA"}
    r.execute_command("AI.MODELSTORE", "o", "ONNX", "CPU", "BLOB", onnx_add_model())
    backends = dict(info_sections(r))["ai_backends_info"]
    assert [f for f, _ in backends] == [
        "ai_Torch_version", "ai_onnxruntime_version", "ai_onnxruntime_memory",
        "ai_onnxruntime_memory_access_num", "ai_onnxruntime_maximum_run_sessions_number"]
    values = dict(backends)
    assert values["ai_onnxruntime_version"] == onnxruntime.__version__
    assert values["ai_onnxruntime_maximum_run_sessions_number"] == "1"  # one CPU worker


def test_backend_loaded_through_ai_config_is_listed():
    with running_server() as s:
        c = s.client()
        assert c.execute_command("AI.CONFIG", "LOADBACKEND", "ONNX",
                                 "redisai_onnxruntime/redisai_onnxruntime.so") == b"OK"
        assert fields(c, "ai_backends_info")["ai_onnxruntime_version"] == onnxruntime.__version__


def test_cpu_fields_are_seconds_and_workers_count_their_runs(r):
    cpu = fields(r, "ai_cpu")
    assert list(cpu) == ["ai_self_used_cpu_sys", "ai_self_used_cpu_user",
                         "ai_children_used_cpu_sys", "ai_children_used_cpu_user",
                         "ai_main_thread_used_cpu_sys", "ai_main_thread_used_cpu_user",
                         "ai_queue_CPU_bthread_n1_used_cpu_total"]
    assert all(SECONDS.match(v) for v in cpu.values()), cpu
    before = float(cpu["ai_queue_CPU_bthread_n1_used_cpu_total"])
    r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", torch_add_model())
    big = np.ones(1 << 20, dtype=np.float32).tobytes()
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 1 << 20, "BLOB", big)
    for _ in range(20):
        r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "b")
    after = float(fields(r, "ai_cpu")["ai_queue_CPU_bthread_n1_used_cpu_total"])
    assert after > before
    # The whole process used at least what its worker did.
    cpu = fields(r, "ai_cpu")
    assert float(cpu["ai_self_used_cpu_user"]) + float(cpu["ai_self_used_cpu_sys"]) >= after


def test_a_new_device_queue_adds_its_workers(r):
    r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU:1", "BLOB", torch_add_model())
    queues = [f for f in fields(r, "ai_cpu") if f.startswith("ai_queue_")]
    assert queues == ["ai_queue_CPU_bthread_n1_used_cpu_total",
                      "ai_queue_CPU:1_bthread_n1_used_cpu_total"]


@pytest.mark.parametrize("section", SECTIONS)
def test_each_section_can_be_asked_for_alone(r, section):
    text = info_text(r, section)
    assert text.splitlines()[0] == f"# {section}"


def test_info_everything_includes_the_sections(r):
    text = info_text(r, "EVERYTHING")
    positions = [text.index(f"# {name}\r\n") for name in SECTIONS]
    assert positions == sorted(positions)


def worker_counters(client):
    return {field: int(value) for field, value in fields(client, "ai_workers").items()}


def test_workers_section_counts_runs_and_the_gil_they_held(r):
    kinds = ["tf", "tflite", "torch", "onnx", "script"]
    assert list(worker_counters(r)) == [f"ai_{k}_{c}" for k in kinds for c in ("runs", "gil_held_us")]
    r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", torch_add_model())
    r.execute_command("AI.MODELSTORE", "o", "ONNX", "CPU", "BLOB", onnx_add_model())
    r.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 1, "f", "SOURCE",
                      "def f(tensors: List[Tensor], keys: List[str], args: List[str]):\n"
                      "    redis.execute('SET', ['seen', 'yes'])\n"
                      "    return tensors[0] + 1\n")
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, 2, "VALUES", 1, 2, 3, 4)

    def run_all():
        r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "b")
        r.execute_command("AI.MODELEXECUTE", "o", "INPUTS", 2, "a", "a", "OUTPUTS", 1, "c")
        r.execute_command("AI.SCRIPTEXECUTE", "s", "f", "KEYS", 1, "seen", "INPUTS", 1, "a",
                          "OUTPUTS", 1, "d")

    run_all()  # the first runs also release what earlier tests' values left to the GIL
    before = worker_counters(r)
    for _ in range(5):
        run_all()
    after = worker_counters(r)
    delta = {k: after[k] - before[k] for k in after}
    assert (delta["ai_torch_runs"], delta["ai_onnx_runs"], delta["ai_script_runs"]) == (5, 5, 5)
    # TORCH models and scripts (their redis.execute included) run natively; ONNX through Python
    assert delta["ai_torch_gil_held_us"] == delta["ai_script_gil_held_us"] == 0
    assert delta["ai_onnx_gil_held_us"] > 0
    assert r.get("seen") == b"yes"
