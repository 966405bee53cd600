"""asyncio clients: every RedisAI method returns an awaitable; pipelines read replies at execute()."""
from __future__ import annotations

from typing import Any, List

import redis.asyncio
from redis.asyncio.cluster import RedisCluster
from redis.client import NEVER_DECODE

from .calls import Call
from .cluster_routing import route_keyless_commands
from .methods import AICommands
from .pipelines import queue, read_replies, take_readers


async def _run(client: Any, call: Call) -> Any:
    return call.parse(await client.execute_command(*call.args, **{NEVER_DECODE: True}))


class AsyncClient(AICommands, redis.asyncio.Redis):
    """redis.asyncio.Redis with RedisAI's methods."""

    def _ai(self, call: Call) -> Any:
        return _run(self, call)

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> "AsyncPipeline":
        return AsyncPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


class AsyncPipeline(AICommands, redis.asyncio.client.Pipeline):
    """An asyncio pipeline (or transaction) whose RedisAI replies are read at execute()."""

    def _ai(self, call: Call) -> Any:
        if self.watching and not self.explicit_transaction:  # after WATCH, before MULTI: runs now
            return _run(self, call)
        return queue(self, call)

    async def reset(self) -> None:
        take_readers(self)
        await super().reset()

    async def execute(self, raise_on_error: bool = True) -> List[Any]:
        readers = take_readers(self)
        return read_replies(readers, await super().execute(raise_on_error))


class AsyncClusterClient(AICommands, RedisCluster):
    """redis.asyncio's RedisCluster with RedisAI's methods (routing as ClusterClient's)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        route_keyless_commands(self, RedisCluster.PRIMARIES)

    def _ai(self, call: Call) -> Any:
        return _run(self, call)
