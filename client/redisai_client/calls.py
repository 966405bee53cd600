"""Every RedisAI command as a Call: its arguments and how to read its reply.

Calls are plain data, so the sync and asyncio clients, pipelines and DAGs share them. Replies are
read with NEVER_DECODE (blobs must stay bytes whatever the connection's decode_responses says), so
the readers decode text themselves; they accept RESP2 arrays and RESP3 maps alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Generic, List, Optional, Sequence, TypeVar, Union

from .tensors import tensor_args, to_array, to_torch

T = TypeVar("T")
Names = Union[str, bytes, Sequence[Union[str, bytes]]]
# Below the server's default proto-max-bulk-len (512 MiB): AI.MODELSTORE takes a blob in pieces.
MODEL_CHUNK_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Call(Generic[T]):
    args: tuple
    parse: Callable[[Any], T]
    binary: bool = False  # the reply holds raw bytes (a blob) that must not be decoded


def text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def fields(reply: Any) -> Dict[str, Any]:
    """A reply of alternating names and values (or a RESP3 map) as a dict."""
    pairs = reply.items() if isinstance(reply, dict) else zip(reply[0::2], reply[1::2])
    return {text(k): v for k, v in pairs}


def ok(reply: Any) -> str:
    return text(reply)


def _names(value: Optional[Names]) -> list:
    if value is None:
        return []
    return [value] if isinstance(value, (str, bytes)) else list(value)


def _counted(keyword: str, value: Optional[Names]) -> list:
    items = _names(value)
    return [keyword, len(items), *items] if items else []


def _texts(values: Any) -> List[str]:
    return [text(v) for v in values]


# -- tensors ----------------------------------------------------------------------------------------

def tensorset(key, tensor, shape=None, dtype=None) -> Call[str]:
    return Call(("AI.TENSORSET", key, *tensor_args(tensor, shape, dtype)), ok)


def _meta(reply) -> Dict[str, Any]:
    d = fields(reply)
    return {"dtype": text(d["dtype"]), "shape": [int(n) for n in d["shape"]]}


def _values(reply) -> Dict[str, Any]:
    meta = _meta(reply)
    dtype, values = meta["dtype"], fields(reply)["values"]
    if dtype in ("FLOAT", "DOUBLE"):
        values = [float(v) for v in values]
    return {**meta, "values": list(values)}


def tensorget(key, as_numpy=True, as_numpy_mutable=False, meta_only=False, as_torch=False) -> Call[Any]:
    """A numpy array (read-only unless as_numpy_mutable), a torch tensor (as_torch), a dict of
    dtype and shape (meta_only) or of dtype, shape and values (as_numpy=False)."""
    if meta_only:
        return Call(("AI.TENSORGET", key, "META"), _meta)
    if not (as_numpy or as_numpy_mutable or as_torch):
        return Call(("AI.TENSORGET", key, "META", "VALUES"), _values)

    def array(reply):
        meta = _meta(reply)
        result = to_array(meta["dtype"], meta["shape"], fields(reply)["blob"], as_numpy_mutable)
        return to_torch(result) if as_torch else result

    return Call(("AI.TENSORGET", key, "META", "BLOB"), array, binary=True)


# -- models -----------------------------------------------------------------------------------------

def _chunks(data: Any, size: int) -> list:
    view = memoryview(data).cast("B")
    return [view[i:i + size] for i in range(0, len(view), size)] or [b""]


def _batching(batch, minbatch, minbatchtimeout) -> list:
    args = []
    if batch is not None:
        args += ["BATCHSIZE", batch]
        if minbatch is not None:
            args += ["MINBATCHSIZE", minbatch]
            if minbatchtimeout is not None:
                args += ["MINBATCHTIMEOUT", minbatchtimeout]
    return args


def modelstore(key, backend, device, data, batch=None, minbatch=None, minbatchtimeout=None, tag=None,
               inputs=None, outputs=None, chunk_size=MODEL_CHUNK_BYTES) -> Call[str]:
    args = ["AI.MODELSTORE", key, backend, device]
    if tag is not None:
        args += ["TAG", tag]
    args += _batching(batch, minbatch, minbatchtimeout)
    args += _counted("INPUTS", inputs) + _counted("OUTPUTS", outputs)
    return Call((*args, "BLOB", *_chunks(data, chunk_size)), ok)


def modelset(key, backend, device, data, batch=None, minbatch=None, tag=None, inputs=None,
             outputs=None) -> Call[str]:
    """RedisAI's deprecated AI.MODELSET (names without counts)."""
    args = ["AI.MODELSET", key, backend, device]
    if tag is not None:
        args += ["TAG", tag]
    args += _batching(batch, minbatch, None)
    if inputs is not None:
        args += ["INPUTS", *_names(inputs)]
    if outputs is not None:
        args += ["OUTPUTS", *_names(outputs)]
    return Call((*args, "BLOB", bytes(memoryview(data).cast("B"))), ok)


def _model(reply) -> Dict[str, Any]:
    result = {}
    for name, value in fields(reply).items():
        if name == "blob":
            result[name] = b"".join(value) if isinstance(value, list) else value
        elif name in ("inputs", "outputs"):
            result[name] = _texts(value)
        else:
            result[name] = text(value)
    return result


def modelget(key, meta_only=False) -> Call[Dict[str, Any]]:
    return Call(("AI.MODELGET", key, "META") + (() if meta_only else ("BLOB",)), _model, binary=not meta_only)


def modeldel(key) -> Call[str]:
    return Call(("AI.MODELDEL", key), ok)


def modelexecute(key, inputs, outputs, timeout=None) -> Call[str]:
    args = ("AI.MODELEXECUTE", key, *_counted("INPUTS", inputs), *_counted("OUTPUTS", outputs))
    return Call(args + (("TIMEOUT", timeout) if timeout is not None else ()), ok)


def modelrun(key, inputs, outputs) -> Call[str]:
    """RedisAI's deprecated AI.MODELRUN (names without counts)."""
    return Call(("AI.MODELRUN", key, "INPUTS", *_names(inputs), "OUTPUTS", *_names(outputs)), ok)


def _scan(reply) -> List[List[str]]:
    return [_texts(entry) for entry in reply]


def modelscan() -> Call[List[List[str]]]:
    return Call(("AI._MODELSCAN",), _scan)


# -- scripts ----------------------------------------------------------------------------------------

def scriptstore(key, device, script, entry_points, tag=None) -> Call[str]:
    args = ["AI.SCRIPTSTORE", key, device] + (["TAG", tag] if tag is not None else [])
    return Call((*args, *_counted("ENTRY_POINTS", entry_points), "SOURCE", script), ok)


def scriptset(key, device, script, tag=None) -> Call[str]:
    """RedisAI's deprecated AI.SCRIPTSET."""
    args = ["AI.SCRIPTSET", key, device] + (["TAG", tag] if tag is not None else [])
    return Call((*args, "SOURCE", script), ok)


def _script(reply) -> Dict[str, Any]:
    # lower-case names ("entry points") as redisai-py gives them
    return {name.lower(): (_texts(value) if isinstance(value, list) else text(value))
            for name, value in fields(reply).items()}


def scriptget(key, meta_only=False) -> Call[Dict[str, Any]]:
    return Call(("AI.SCRIPTGET", key, "META") + (() if meta_only else ("SOURCE",)), _script)


def scriptdel(key) -> Call[str]:
    return Call(("AI.SCRIPTDEL", key), ok)


def scriptexecute(key, function, keys=None, inputs=None, args=None, outputs=None, timeout=None) -> Call[str]:
    words = ("AI.SCRIPTEXECUTE", key, function, *_counted("KEYS", keys), *_counted("INPUTS", inputs),
             *_counted("ARGS", args), *_counted("OUTPUTS", outputs))
    return Call(words + (("TIMEOUT", timeout) if timeout is not None else ()), ok)


def scriptrun(key, function, inputs, outputs) -> Call[str]:
    """RedisAI's deprecated AI.SCRIPTRUN (names without counts)."""
    return Call(("AI.SCRIPTRUN", key, function, "INPUTS", *_names(inputs), "OUTPUTS", *_names(outputs)), ok)


def scriptscan() -> Call[List[List[str]]]:
    return Call(("AI._SCRIPTSCAN",), _scan)


# -- statistics and configuration -------------------------------------------------------------------

def infoget(key) -> Call[Dict[str, Any]]:
    return Call(("AI.INFO", key), lambda reply: {k: text(v) for k, v in fields(reply).items()})


def inforeset(key) -> Call[str]:
    return Call(("AI.INFO", key, "RESETSTAT"), ok)


def config(name, value=None) -> Call[Any]:
    """AI.CONFIG GET <name> when value is None, else AI.CONFIG <name> <value>."""
    if value is None:
        return Call(("AI.CONFIG", "GET", name), text)
    return Call(("AI.CONFIG", name, value), ok)


def loadbackend(identifier, path) -> Call[str]:
    return Call(("AI.CONFIG", "LOADBACKEND", identifier, path), ok)
