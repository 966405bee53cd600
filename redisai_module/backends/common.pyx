# What every backend adapter shares. An adapter is a Python class with:
#   create(blob: bytes, device: str, inputs: list[str], outputs: list[str])
#       -> (handle, input_names, output_names)       raises on a bad model or device
#   run(handle, inputs: list[TensorView]) -> list    one array per output (None: not a tensor)
# Inputs reach the framework zero-copy through DLPack, read-only (torch, which has no read-only
# tensors, gets private copies); outputs are copied into Redis memory.
import re


class BackendError(Exception):
    """An error whose text is the client-visible message."""


def one_line(message):
    """RedisAI sends backend errors on one line: CR and LF become spaces (COMMANDS.md §5.9)."""
    text = str(message)
    return text.replace("\r", " ").replace("\n", " ") if text else "ERR Generic error"


# torch appends the Python frames of a failing Python op kernel (redis.execute and friends are
# ours) as "At:" lines: our own source paths, of no use to the client.
_PYTHON_KERNEL_FRAMES = re.compile(r"\s+At:(\s+\S+\(\d+\): \S+)+\s*$")


def without_kernel_frames(message):
    return _PYTHON_KERNEL_FRAMES.sub("", str(message))


def is_utf8(text):
    """Names and texts reach us decoded with surrogateescape; TorchScript strings must be UTF-8
    (pybind11 refuses the rest with a message about its own internals)."""
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def parse_device(device):
    """('CPU', None) or ('GPU', index) by RedisAI's loose rules (§5.8); BackendError otherwise."""
    upper = device.upper()
    if upper.startswith("CPU"):
        return "CPU", None
    if upper == "GPU":
        return "GPU", 0
    if upper.startswith("GPU:"):
        try:
            return "GPU", int(upper[4:], 0)
        except ValueError:
            pass
    raise BackendError("ERR unsupported device")
