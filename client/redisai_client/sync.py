"""Blocking clients: one server (Client, with pipelines) and Redis Cluster (ClusterClient)."""
from __future__ import annotations

from typing import Any, List

import redis
from redis.client import NEVER_DECODE
from redis.cluster import RedisCluster

from .calls import Call
from .cluster_routing import route_keyless_commands
from .methods import AICommands
from .pipelines import queue, read_replies, take_readers


class Client(AICommands, redis.Redis):
    """redis.Redis with RedisAI's methods."""

    def _ai(self, call: Call) -> Any:
        return call.parse(self.execute_command(*call.args, **{NEVER_DECODE: True}))

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> "Pipeline":
        return Pipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


class Pipeline(AICommands, redis.client.Pipeline):
    """A pipeline (or MULTI/EXEC transaction) whose RedisAI replies are read at execute()."""

    def _ai(self, call: Call) -> Any:
        if self.watching and not self.explicit_transaction:  # after WATCH, before MULTI: runs now
            return call.parse(self.execute_command(*call.args, **{NEVER_DECODE: True}))
        return queue(self, call)

    def reset(self) -> None:
        take_readers(self)
        super().reset()

    def execute(self, raise_on_error: bool = True) -> List[Any]:
        readers = take_readers(self)
        return read_replies(readers, super().execute(raise_on_error))


class ClusterClient(AICommands, RedisCluster):
    """redis-py's RedisCluster with RedisAI's methods: keyed commands go to the key's shard (hash
    tags keep a DAG's keys together); AI.CONFIG and the scans go to every primary."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        route_keyless_commands(self, RedisCluster.PRIMARIES)

    def _ai(self, call: Call) -> Any:
        return call.parse(self.execute_command(*call.args, **{NEVER_DECODE: True}))
