"""Raw RESP2 over a plain socket: for replies redis-py reshapes or cannot parse (nil arrays,
COMMAND GETKEYS, exact error lines), and for sending now and reading later."""
import socket


def encode(args):
    parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


def read_reply(f):
    """One reply as on the wire: errors as ("error", text), simple strings as str, bulk as bytes."""
    line = f.readline()
    assert line.endswith(b"\r\n"), line
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        return ("error", rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        return None if n < 0 else f.read(n + 2)[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [read_reply(f) for _ in range(n)]
    raise AssertionError(f"unexpected RESP line {line!r}")


class Raw:
    """A plain socket connection: send now, read the reply later. With a name, CLIENT SETNAME first."""

    def __init__(self, port, timeout=60, name=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.sock.makefile("rb")
        self.name = name
        if name:
            assert self.call("CLIENT", "SETNAME", name) == "OK"

    def send(self, *args):
        self.sock.sendall(encode(args))

    def read(self):
        return read_reply(self.f)

    def call(self, *args):
        self.send(*args)
        return self.read()

    def close(self):
        self.f.close()
        self.sock.close()


def raw(port, *args):
    """One command on a fresh connection; the reply as read_reply gives it."""
    c = Raw(port, timeout=30)
    try:
        return c.call(*args)
    finally:
        c.close()
