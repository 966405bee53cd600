"""The RedisAI methods, named as redisai-py names them, shared by every client class.

Each method builds a Call and hands it to `self._ai`, which the class defines: a plain client runs
it and returns the reply read, an asyncio client returns an awaitable of that, a pipeline queues it
and reads the reply at execute().
"""
from __future__ import annotations

import warnings
from typing import Any, Awaitable, Dict, List, Optional, Sequence, TypeVar, Union

from . import calls
from .calls import MODEL_CHUNK_BYTES, Call, Names
from .dag import Dag

T = TypeVar("T")
# As in redis-py's own command mixins: the value, or an awaitable of it on asyncio clients.
Reply = Union[T, Awaitable[T]]


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated in RedisAI; use {new}", DeprecationWarning, stacklevel=3)


class AICommands:
    def _ai(self, call: Call[T]) -> Reply[T]:
        raise NotImplementedError

    def dag(self, load: Optional[Names] = None, persist: Optional[Names] = None, routing: Any = None,
            timeout: Optional[int] = None, readonly: bool = False) -> Dag:
        return Dag(self, load, persist, routing, timeout, readonly)

    def loadbackend(self, identifier: str, path: str) -> Reply[str]:
        return self._ai(calls.loadbackend(identifier, path))

    def config(self, name: str, value: Union[str, int, None] = None) -> Reply[Any]:
        return self._ai(calls.config(name, value))

    def tensorset(self, key, tensor: Any, shape: Optional[Sequence[int]] = None,
                  dtype: Optional[str] = None) -> Reply[str]:
        return self._ai(calls.tensorset(key, tensor, shape, dtype))

    def tensorget(self, key, as_numpy: bool = True, as_numpy_mutable: bool = False,
                  meta_only: bool = False, as_torch: bool = False) -> Reply[Any]:
        return self._ai(calls.tensorget(key, as_numpy, as_numpy_mutable, meta_only, as_torch))

    def modelstore(self, key, backend: str, device: str, data: Any, batch: Optional[int] = None,
                   minbatch: Optional[int] = None, minbatchtimeout: Optional[int] = None, tag: Any = None,
                   inputs: Optional[Names] = None, outputs: Optional[Names] = None,
                   chunk_size: int = MODEL_CHUNK_BYTES) -> Reply[str]:
        return self._ai(calls.modelstore(key, backend, device, data, batch, minbatch, minbatchtimeout, tag,
                                         inputs, outputs, chunk_size))

    def modelset(self, key, backend: str, device: str, data: Any, batch: Optional[int] = None,
                 minbatch: Optional[int] = None, tag: Any = None, inputs: Optional[Names] = None,
                 outputs: Optional[Names] = None) -> Reply[str]:
        _deprecated("AI.MODELSET", "modelstore")
        return self._ai(calls.modelset(key, backend, device, data, batch, minbatch, tag, inputs, outputs))

    def modelget(self, key, meta_only: bool = False) -> Reply[Dict[str, Any]]:
        return self._ai(calls.modelget(key, meta_only))

    def modeldel(self, key) -> Reply[str]:
        return self._ai(calls.modeldel(key))

    def modelexecute(self, key, inputs: Names, outputs: Names, timeout: Optional[int] = None) -> Reply[str]:
        return self._ai(calls.modelexecute(key, inputs, outputs, timeout))

    def modelrun(self, key, inputs: Names, outputs: Names) -> Reply[str]:
        _deprecated("AI.MODELRUN", "modelexecute")
        return self._ai(calls.modelrun(key, inputs, outputs))

    def modelscan(self) -> Reply[List[List[str]]]:
        return self._ai(calls.modelscan())

    def scriptstore(self, key, device: str, script: str, entry_points: Names, tag: Any = None) -> Reply[str]:
        return self._ai(calls.scriptstore(key, device, script, entry_points, tag))

    def scriptset(self, key, device: str, script: str, tag: Any = None) -> Reply[str]:
        _deprecated("AI.SCRIPTSET", "scriptstore")
        return self._ai(calls.scriptset(key, device, script, tag))

    def scriptget(self, key, meta_only: bool = False) -> Reply[Dict[str, Any]]:
        return self._ai(calls.scriptget(key, meta_only))

    def scriptdel(self, key) -> Reply[str]:
        return self._ai(calls.scriptdel(key))

    def scriptexecute(self, key, function: str, keys: Optional[Names] = None, inputs: Optional[Names] = None,
                      args: Optional[Names] = None, outputs: Optional[Names] = None,
                      timeout: Optional[int] = None) -> Reply[str]:
        return self._ai(calls.scriptexecute(key, function, keys, inputs, args, outputs, timeout))

    def scriptrun(self, key, function: str, inputs: Names, outputs: Names) -> Reply[str]:
        _deprecated("AI.SCRIPTRUN", "scriptexecute")
        return self._ai(calls.scriptrun(key, function, inputs, outputs))

    def scriptscan(self) -> Reply[List[List[str]]]:
        return self._ai(calls.scriptscan())

    def infoget(self, key) -> Reply[Dict[str, Any]]:
        return self._ai(calls.infoget(key))

    def inforeset(self, key) -> Reply[str]:
        return self._ai(calls.inforeset(key))
