"""The repository's typed client on a real 3-shard cluster (redis_cluster.py): ClusterClient and
AsyncClusterClient send each keyed RedisAI command to its key's shard (redis-py's RedisCluster reads
the module's key positions from COMMAND and COMMAND GETKEYS), hash tags keep a DAG on one shard,
and AI.CONFIG and the scans reach every primary."""
import asyncio

import numpy as np

import client_path  # noqa: F401
from models import torch_add_model
from redis_cluster import cluster  # noqa: F401  (the fixture)
from redisai_client import AsyncClusterClient, ClusterClient
from resp import raw


def test_each_shard_stores_and_runs_its_own_keys(cluster):
    ai = ClusterClient(host="127.0.0.1", port=cluster.nodes[0].port)
    try:
        for node, tag in zip(cluster.nodes, cluster.tags):
            assert ai.modelstore(f"m{tag}", "TORCH", "CPU", torch_add_model(), tag=tag) == "OK"
            assert ai.tensorset(f"a{tag}", np.array([1, 2], dtype=np.float32)) == "OK"
            assert ai.modelexecute(f"m{tag}", [f"a{tag}", f"a{tag}"], f"c{tag}") == "OK"
            assert ai.tensorget(f"c{tag}").tolist() == [2, 4]
            # the key lives on its owner, and only there
            assert raw(node.port, "EXISTS", f"c{tag}") == 1
            dag = ai.dag(load=f"a{tag}", persist=f"d{tag}", routing=f"a{tag}")
            ok, out = dag.modelexecute(f"m{tag}", [f"a{tag}", f"a{tag}"], f"d{tag}").tensorget(f"d{tag}").execute()
            assert ok == "OK" and out.tolist() == [2, 4]
            assert raw(node.port, "EXISTS", f"d{tag}") == 1
        scanned = sorted(tuple(entry) for entry in ai.modelscan())
        assert scanned == sorted((f"m{tag}", tag) for tag in cluster.tags)  # one from every shard
        assert int(ai.config("MODEL_CHUNK_SIZE")) > 0  # every primary answered the same
    finally:
        for tag in cluster.tags:
            ai.delete(f"m{tag}", f"a{tag}", f"c{tag}", f"d{tag}")
        ai.close()


def test_asyncio_cluster_client_routes_the_same_way(cluster):
    async def main():
        ai = AsyncClusterClient(host="127.0.0.1", port=cluster.nodes[0].port)
        try:
            results = []
            for i, tag in enumerate(cluster.tags):
                await ai.tensorset(f"x{tag}", np.array([[i]], dtype=np.int64))
                dag = ai.dag(load=f"x{tag}", routing=f"x{tag}", readonly=True)
                results.append(await dag.tensorget(f"x{tag}").execute())
                await ai.delete(f"x{tag}")
            return results, await ai.config("MODEL_CHUNK_SIZE")
        finally:
            await ai.aclose() if hasattr(ai, "aclose") else await ai.close()

    results, chunk = asyncio.run(main())
    assert [[a.tolist() for a in r] for r in results] == [[[[0]]], [[[1]]], [[[2]]]] and int(chunk) > 0
