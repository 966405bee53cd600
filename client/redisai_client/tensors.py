"""Tensors in and out: numpy arrays and torch tensors <-> the BLOB of AI.TENSORSET / AI.TENSORGET.

BLOB bytes are little-endian (the module never converts them); STRING tensors are NUL-ended
elements one after another.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

# RedisAI's type names and the numpy dtypes whose bytes they hold.
DTYPES = {
    "FLOAT": np.dtype("<f4"), "DOUBLE": np.dtype("<f8"),
    "INT8": np.dtype("i1"), "INT16": np.dtype("<i2"), "INT32": np.dtype("<i4"), "INT64": np.dtype("<i8"),
    "UINT8": np.dtype("u1"), "UINT16": np.dtype("<u2"), "BOOL": np.dtype("?"),
}
_NAME_OF = {(d.kind, d.itemsize): name for name, d in DTYPES.items()}


def _is_torch(obj: Any) -> bool:
    # checked by the class's module so that numpy-only users never import torch
    return type(obj).__module__.split(".")[0] == "torch"


def _as_bytes(element: Any) -> bytes:
    data = element.encode() if isinstance(element, str) else bytes(element)
    if b"\0" in data:
        raise ValueError("a STRING tensor element holds a NUL byte")
    return data


def type_name(dtype: Any) -> str:
    """RedisAI's type name for a RedisAI name in any case, "float"/"double" (redisai-py's names for
    FLOAT and DOUBLE) or anything numpy takes as a dtype."""
    if isinstance(dtype, str):
        upper = dtype.upper()
        if upper in DTYPES or upper == "STRING":
            return upper
    try:
        numpy_dtype = np.dtype(dtype)
    except TypeError:
        numpy_dtype = None
    name = numpy_dtype is not None and _NAME_OF.get((numpy_dtype.kind, numpy_dtype.itemsize))
    if not name:
        raise ValueError(f"RedisAI has no tensor type for {dtype!r}")
    return name


def tensor_args(tensor: Any, shape: Optional[Sequence[int]] = None, dtype: Optional[str] = None) -> list:
    """What follows the key in AI.TENSORSET for a numpy array, a torch tensor or a (nested)
    list/tuple; `dtype` (a RedisAI type name) converts, `shape` reshapes."""
    if _is_torch(tensor):
        tensor = tensor.detach().cpu().numpy()
    name = type_name(dtype) if dtype is not None else None
    if name == "STRING":
        array = np.asarray(tensor, dtype=object)
    elif name is not None:
        array = np.asarray(tensor, dtype=DTYPES[name])
    else:
        array = np.asarray(tensor)
    if shape is not None:
        array = array.reshape(tuple(shape))
    if array.dtype.kind in "OSU":
        blob = b"".join(_as_bytes(e) + b"\0" for e in array.flat)
        return ["STRING", *array.shape, "BLOB", blob]
    name = _NAME_OF.get((array.dtype.kind, array.dtype.itemsize))
    if name is None:
        raise ValueError(f"RedisAI has no tensor type for numpy dtype {array.dtype}")
    array = np.require(array, DTYPES[name], "C")  # keeps a 0-d array 0-d, unlike ascontiguousarray
    # one flat byte view: no copy, and its length is the byte count the protocol needs
    return [name, *array.shape, "BLOB", memoryview(array).cast("B") if array.size else b""]


def to_array(dtype: str, shape: Sequence[int], blob: bytes, mutable: bool = False) -> np.ndarray:
    """The numpy array of a TENSORGET META BLOB reply: read-only over the reply's bytes unless
    `mutable` (then a copy)."""
    if dtype == "STRING":
        elements = blob.split(b"\0")[:-1]
        array = np.empty(len(elements), dtype=object)
        array[:] = elements
        return array.reshape(tuple(shape))
    array = np.frombuffer(blob, dtype=DTYPES[dtype]).reshape(tuple(shape))
    return array.copy() if mutable else array


def to_torch(array: np.ndarray) -> Any:
    """A torch tensor owning a copy of `array` (torch is imported only here)."""
    import torch

    return torch.from_numpy(np.array(array, copy=True))
