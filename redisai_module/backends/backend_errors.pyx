# How the core turns what an adapter raised into a client's error reply.
from redisai_module.backends.common import BackendError  # the adapters' error, raised by the core too


def one_line(message):
    """RedisAI sends backend errors on one line: CR and LF become spaces (docs/COMMANDS.md §5.9)."""
    text = str(message)
    return text.replace("\r", " ").replace("\n", " ") if text else RAI_ERR_GENERIC.decode()
