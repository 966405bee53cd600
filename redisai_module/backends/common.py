"""What every backend adapter shares."""
from redisai_module import errors  # the one table of client-visible texts


class BackendError(Exception):
    """An error whose text is the client-visible message."""


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
    raise BackendError(errors.UNSUPPORTED_DEVICE)
