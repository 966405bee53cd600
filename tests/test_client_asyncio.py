"""The repository's typed client, asyncio API (client/redisai_client/aio.py), against the module:
the same calls as the blocking client, awaited; pipelines and DAGs included."""
import asyncio

import numpy as np
import pytest
import redis

import client_path  # noqa: F401
from models import torch_add_model
from redisai_client import AsyncClient


def run(server, body, **kwargs):
    async def main():
        ai = AsyncClient(host="127.0.0.1", port=server.port, **kwargs)
        try:
            return await body(ai)
        finally:
            await ai.aclose() if hasattr(ai, "aclose") else await ai.close()

    return asyncio.run(main())


# redis-py 4's asyncio hiredis reader ignores NEVER_DECODE, so blobs cannot be read on a decoding
# connection there (README: the client); redis-py 5 and later read them.
OLD_ASYNC_READER = int(redis.__version__.split(".")[0]) < 5


@pytest.mark.parametrize("decode", [False, pytest.param(True, marks=pytest.mark.skipif(
    OLD_ASYNC_READER, reason="redis-py 4's asyncio reader decodes blobs (tested on redis-py 8)"))],
    ids=["bytes", "decoded"])
def test_tensors_models_scripts_and_stats_awaited(server, r, decode):
    async def body(ai):
        assert await ai.tensorset("a", np.array([[1, 2]], dtype=np.float32)) == "OK"
        assert await ai.tensorset("b", [10, 20], shape=(1, 2), dtype="float") == "OK"
        assert await ai.modelstore("m", "TORCH", "CPU", torch_add_model(), tag="t") == "OK"
        assert await ai.modelexecute("m", ["a", "b"], ["c"]) == "OK"
        got = await ai.tensorget("c")
        meta = await ai.tensorget("c", meta_only=True)
        model = await ai.modelget("m")
        info = await ai.infoget("m")
        with pytest.raises(redis.ResponseError, match="^tensor key is empty"):
            await ai.tensorget("missing")
        return got, meta, model, info

    got, meta, model, info = run(server, body, decode_responses=decode)
    assert got.tolist() == [[11, 22]] and meta == {"dtype": "FLOAT", "shape": [1, 2]}
    assert model["blob"] == torch_add_model() and model["tag"] == "t"
    assert (info["key"], info["calls"]) == ("m", 1)
    assert [float(v) for v in r.execute_command("AI.TENSORGET", "c", "VALUES")] == [11, 22]


def test_dag_awaited_with_load_and_persist(server, r):
    async def body(ai):
        await ai.modelstore("m", "TORCH", "CPU", torch_add_model())
        await ai.tensorset("a", np.array([1, 2], dtype=np.float32))
        dag = ai.dag(load="a", persist="out", timeout=10_000)
        dag.modelexecute("m", ["a", "a"], "out").tensorget("out", as_torch=True)
        return await dag.execute()

    ok, out = run(server, body)
    assert ok == "OK" and out.tolist() == [2, 4]
    assert [float(v) for v in r.execute_command("AI.TENSORGET", "out", "VALUES")] == [2, 4]


@pytest.mark.parametrize("transaction", [False, True], ids=["pipeline", "multi-exec"])
def test_pipelines_read_ai_replies_at_execute(server, r, transaction):
    async def body(ai):
        pipe = ai.pipeline(transaction=transaction)
        pipe.set("k", "v").tensorset("a", np.array([7], dtype=np.uint8)).tensorget("a")
        pipe.tensorget("a", as_numpy=False).get("k")
        first = await pipe.execute()
        pipe.get("k")
        second = await pipe.execute()
        return first, second

    (ok_set, ok, got, values, k), second = run(server, body)
    assert (ok_set, ok, k) == (True, "OK", b"v") and got.tolist() == [7]
    assert values == {"dtype": "UINT8", "shape": [1], "values": [7]} and second == [b"v"]


def test_watched_pipeline_awaits_ai_commands_at_once_before_multi(server, r):
    async def body(ai):
        await ai.tensorset("a", np.array([3], dtype=np.int8))
        async with ai.pipeline() as pipe:
            await pipe.watch("a")
            before = await pipe.tensorget("a")
            pipe.multi()
            pipe.tensorget("a", meta_only=True)
            return before, await pipe.execute()

    before, (meta,) = run(server, body)
    assert before.tolist() == [3] and meta == {"dtype": "INT8", "shape": [1]}
