"""AI.DAGEXECUTE built as an object: ops are added one by one, execute() sends them as one command
and reads each op's reply with that op's reader."""
from __future__ import annotations

from typing import Any, List, Optional

from . import calls
from .calls import Call, Names, _counted


class Dag:
    def __init__(self, executor: Any, load: Optional[Names] = None, persist: Optional[Names] = None,
                 routing: Any = None, timeout: Optional[int] = None, readonly: bool = False):
        if readonly and persist:
            raise ValueError("a read-only DAG (AI.DAGEXECUTE_RO) cannot PERSIST keys")
        self._executor = executor
        self._head = [("AI.DAGEXECUTE_RO" if readonly else "AI.DAGEXECUTE"),
                      *_counted("LOAD", load), *_counted("PERSIST", persist)]
        if routing is not None:
            self._head += ["ROUTING", routing]
        if timeout is not None:
            self._head += ["TIMEOUT", timeout]
        self._ops: List[Call] = []

    def _add(self, call: Call) -> "Dag":
        self._ops.append(call)
        return self

    def tensorset(self, key, tensor, shape=None, dtype=None) -> "Dag":
        return self._add(calls.tensorset(key, tensor, shape, dtype))

    def tensorget(self, key, as_numpy=True, as_numpy_mutable=False, meta_only=False, as_torch=False) -> "Dag":
        return self._add(calls.tensorget(key, as_numpy, as_numpy_mutable, meta_only, as_torch))

    def modelexecute(self, key, inputs: Names, outputs: Names) -> "Dag":
        return self._add(calls.modelexecute(key, inputs, outputs))

    def scriptexecute(self, key, function, keys=None, inputs=None, args=None, outputs=None) -> "Dag":
        return self._add(calls.scriptexecute(key, function, keys, inputs, args, outputs))

    def call(self) -> Call[List[Any]]:
        """The whole DAG as one Call; an op's error stays in its place in the reply list."""
        if not self._ops:
            raise ValueError("a DAG needs at least one op")
        args = list(self._head)
        for op in self._ops:
            args += ["|>", *op.args]
        parsers = [op.parse for op in self._ops]

        def parse(reply):
            return [r if isinstance(r, Exception) else p(r) for p, r in zip(parsers, reply)]

        return Call(tuple(args), parse, binary=any(op.binary for op in self._ops))

    def execute(self) -> Any:
        """The ops' replies (awaitable from an asyncio client)."""
        return self._executor._ai(self.call())
