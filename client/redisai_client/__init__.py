"""A typed RedisAI client for today's redis-py: `from redisai_client import Client` where an
application had `from redisai import Client`."""
from .aio import AsyncClient, AsyncClusterClient, AsyncPipeline
from .dag import Dag
from .sync import Client, ClusterClient, Pipeline
from .tensors import DTYPES

__all__ = ["Client", "Pipeline", "ClusterClient", "AsyncClient", "AsyncPipeline", "AsyncClusterClient",
           "Dag", "DTYPES"]
