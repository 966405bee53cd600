"""What a run may allocate (issue 11 item 4). Torch's CPU allocator cannot be capped from Python,
so: a run's outputs are refused above the cap on server-made tensors (512 MiB) before anything is
copied into Redis memory, and a framework allocation that fails (here under an address-space
limit, as a cgroup or `ulimit -v` would make it fail) is an error reply, never a crash.

No test here touches much memory: the outputs over the cap come from torch.empty (address space
only, no page is written before the cap refuses them), and the limit test's allocation fails at
once."""
import io

from helpers import error_of, tset, values
from redis_server import RedisServer

CAP = 512 * 1024 * 1024

SCRIPT = """
def empty(tensors: List[Tensor], keys: List[str], args: List[str]):
    return torch.empty(int(args[0]), dtype=torch.uint8)

def small_and_empty(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] + 1, torch.empty(int(args[0]), dtype=torch.uint8)

def zeros(tensors: List[Tensor], keys: List[str], args: List[str]):
    return torch.zeros(int(args[0]), dtype=torch.uint8)
"""


def empty_model() -> bytes:
    """forward(n) -> (n + 1, an uninitialised uint8 tensor of n[0] bytes)."""
    import torch

    class Empty(torch.nn.Module):
        def forward(self, n: torch.Tensor):
            return n + 1, torch.empty(int(n[0].item()), dtype=torch.uint8)

    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(Empty()), buf)
    return buf.getvalue()


def test_outputs_over_the_cap_are_refused_and_nothing_is_written(r):
    assert r.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 2, "empty", "small_and_empty",
                             "SOURCE", SCRIPT) == b"OK"
    assert r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", empty_model()) == b"OK"
    tset(r, "x", [1, 2], "INT64")
    tset(r, "over", [CAP + 1, 0], "INT64")

    # under the cap, an output is stored as usual
    assert r.execute_command("AI.SCRIPTEXECUTE", "s", "empty", "KEYS", 1, "k", "ARGS", 1, 1024,
                             "OUTPUTS", 1, "fine") == b"OK"
    assert r.execute_command("AI.TENSORGET", "fine", "META") == [b"dtype", b"UINT8", b"shape", [1024]]

    assert error_of(r, "AI.SCRIPTEXECUTE", "s", "empty", "KEYS", 1, "k", "ARGS", 1, CAP + 1,
                    "OUTPUTS", 1, "o1") == "tensor is too large to allocate"
    assert error_of(r, "AI.SCRIPTEXECUTE", "s", "small_and_empty", "INPUTS", 1, "x", "ARGS", 1, CAP + 1,
                    "OUTPUTS", 2, "o2", "o3") == "tensor is too large to allocate"
    assert error_of(r, "AI.MODELEXECUTE", "m", "INPUTS", 1, "over", "OUTPUTS", 2, "o4", "o5") == \
        "tensor is too large to allocate"
    reply = r.execute_command("AI.DAGEXECUTE", "PERSIST", 1, "o6", "|>",
                              "AI.TENSORSET", "n", "INT64", 2, "VALUES", CAP + 1, 0, "|>",
                              "AI.MODELEXECUTE", "m", "INPUTS", 1, "n", "OUTPUTS", 2, "o6", "o7")
    assert reply[0] == b"OK" and str(reply[1]) == "tensor is too large to allocate", reply
    assert r.exists("o1", "o2", "o3", "o4", "o5", "o6", "o7") == 0
    # the server goes on
    assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 1, "x", "OUTPUTS", 2, "a", "b") == b"OK"
    assert values(r, "a") == [2, 3]


class AddressSpaceLimited(RedisServer):
    """redis-server under `prlimit --as`: what a container's memory limit does to a process whose
    framework asks for more than it may have."""

    def __init__(self, limit, **kw):
        super().__init__(**kw)
        self.limit = limit

    def command_line(self):
        return ["prlimit", f"--as={self.limit}", "--"] + super().command_line()


def test_a_framework_allocation_that_fails_is_an_error_reply_and_the_server_survives():
    with AddressSpaceLimited(8 * 1024 ** 3) as s:
        r = s.client()
        assert r.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 1, "zeros",
                                 "SOURCE", SCRIPT) == b"OK"
        message = error_of(r, "AI.SCRIPTEXECUTE", "s", "zeros", "KEYS", 1, "k", "ARGS", 1, 1024 ** 4,
                           "OUTPUTS", 1, "o")
        assert "can't allocate memory" in message and "\n" not in message
        assert not r.exists("o")
        assert r.execute_command("AI.SCRIPTEXECUTE", "s", "zeros", "KEYS", 1, "k", "ARGS", 1, 3,
                                 "OUTPUTS", 1, "o") == b"OK"
        assert values(r, "o") == [0, 0, 0]
        assert s.alive()
