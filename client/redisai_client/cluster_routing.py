"""Where a cluster client sends RedisAI's commands that name no key."""
from __future__ import annotations

from typing import Any, Dict


def _same_everywhere(command: str, replies: Dict[Any, Any], **kwargs: Any) -> Any:
    values = list(replies.values())
    if any(v != values[0] for v in values):
        raise ValueError(f"{command}: the primaries answered differently: {replies}")
    return values[0]


def _concatenated(command: str, replies: Dict[Any, Any], **kwargs: Any) -> Any:
    return [entry for reply in replies.values() for entry in reply]


def route_keyless_commands(cluster: Any, primaries: str) -> None:
    """AI.CONFIG (settings and backends belong to each server) and the scans (each shard holds its
    own keys) go to every primary; the settings' replies must agree, the scans' are joined."""
    for command, merge in (("AI.CONFIG", _same_everywhere), ("AI._MODELSCAN", _concatenated),
                           ("AI._SCRIPTSCAN", _concatenated)):
        cluster.command_flags[command] = primaries
        cluster.result_callbacks[command] = merge
