# How the core turns what an adapter raised into a client's error reply.
import re
from redisai_module.backends.common import BackendError  # the adapters' error, raised by the core too


def one_line(message):
    """RedisAI sends backend errors on one line: CR and LF become spaces (docs/COMMANDS.md §5.9)."""
    text = str(message)
    return text.replace("\r", " ").replace("\n", " ") if text else RAI_ERR_GENERIC.decode()


# torch appends the Python frames of a failing Python op kernel (redis.execute and friends are
# ours) as "At:" lines: our own source paths, of no use to the client.
_PYTHON_KERNEL_FRAMES = re.compile(r"\s+At:(\s+\S+\(\d+\): \S+)+\s*$")


def without_kernel_frames(message):
    return _PYTHON_KERNEL_FRAMES.sub("", str(message))
