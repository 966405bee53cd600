"""What the sync and asyncio pipelines share: each queued RedisAI command's reply reader, kept by
its place in the queue, applied to the replies execute() returns."""
from __future__ import annotations

from typing import Any, Callable, Dict, List

from redis.client import NEVER_DECODE

from .calls import Call


def queue(pipe: Any, call: Call) -> Any:
    if call.binary and pipe.transaction and pipe.connection_pool.connection_kwargs.get("decode_responses"):
        # per-command NEVER_DECODE cannot reach inside EXEC's one reply
        raise TypeError(f"{call.args[0]} answers raw bytes, which a MULTI/EXEC transaction on a "
                        "decode_responses=True connection would decode: use transaction=False or "
                        "a connection without decode_responses")
    pipe.__dict__.setdefault("_ai_readers", {})[len(pipe.command_stack)] = call.parse
    return pipe.execute_command(*call.args, **{NEVER_DECODE: True})


def take_readers(pipe: Any) -> Dict[int, Callable[[Any], Any]]:
    """The readers of the commands queued now; the pipeline starts afresh whatever execute() does."""
    return pipe.__dict__.pop("_ai_readers", {})


def read_replies(readers: Dict[int, Callable[[Any], Any]], replies: List[Any]) -> List[Any]:
    return [readers[i](r) if i in readers and not isinstance(r, Exception) else r
            for i, r in enumerate(replies)]
