"""What every backend adapter shares."""
import threading
import time

from redisai_module import errors  # the one table of client-visible texts

_released = threading.local()  # per worker: ns spent in framework calls that release the GIL


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


def releasing(call, *args):
    """call(*args), a framework call that releases the GIL while it computes, timed so that the
    core's count of GIL-held time (INFO ai_workers) leaves it out."""
    start = time.perf_counter_ns()
    try:
        return call(*args)
    finally:
        _released.ns = getattr(_released, "ns", 0) + time.perf_counter_ns() - start


def take_released_us():
    """This thread's time in `releasing` calls since it last asked, in microseconds."""
    ns = getattr(_released, "ns", 0)
    _released.ns = 0
    return ns // 1000
