"""Small client-side helpers shared by the test files: command errors, tensors in and out, AI.INFO
as a dict, blocked clients, and reading AOF files. Only helpers that behave the same for every file
that uses them live here; a file keeps its own where it needs something different."""
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import redis

# RedisAI's own DUMP payloads and fixture files, in the team's shared folder beside the checkout. The
# repository does not depend on it: what needs it skips with this reason on a clone without it.
SHARED_TESTDATA = Path(__file__).resolve().parent.parent.parent / "shared" / "testdata" / "redisai_rdb"
SHARED_ABSENT = f"RedisAI's payloads are not here: {SHARED_TESTDATA} is absent beside this checkout"
needs_shared = pytest.mark.skipif(not SHARED_TESTDATA.is_dir(), reason=SHARED_ABSENT)


def shared_bytes(name):
    """A file of the shared payload folder (`embedded/graph.pb`, `v4_tensor.bin`...); the calling test
    skips when the folder is absent."""
    if not SHARED_TESTDATA.is_dir():
        pytest.skip(SHARED_ABSENT)
    return (SHARED_TESTDATA / name).read_bytes()


def shared_cases(keep, section="payloads", ids=lambda e: e["file"]):
    """Test parameters from the shared expectations.json: the entries of `section` that keep(entry)
    selects; a single case that skips when the folder is absent."""
    if not SHARED_TESTDATA.is_dir():
        return [pytest.param(None, marks=needs_shared, id="no-shared-payloads")]
    entries = json.loads((SHARED_TESTDATA / "expectations.json").read_text())
    for part in section.split("/"):
        entries = entries[part]
    return [pytest.param(e, id=ids(e)) for e in entries if keep(e)]


def shared_payloads():
    """Every DUMP payload of the shared folder, as extra seeds; none when it is absent."""
    return [f.read_bytes() for f in sorted(SHARED_TESTDATA.glob("*.bin"))]


# AI.TENSORSET dtype -> numpy dtype, for tset's BLOB
NP = {"FLOAT": np.float32, "DOUBLE": np.float64, "INT64": np.int64, "INT32": np.int32}


def error_of(r, *args):
    """The error text of a command that must fail."""
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


def tset(r, key, array, dtype="FLOAT"):
    """AI.TENSORSET key from an array-like (shape and BLOB from numpy); the reply must be OK."""
    a = np.asarray(array)
    assert r.execute_command("AI.TENSORSET", key, dtype, *a.shape, "BLOB", a.astype(NP[dtype]).tobytes()) == b"OK"


def values(r, key):
    return r.execute_command("AI.TENSORGET", key, "VALUES")


def meta(r, key):
    """A tensor's META (AI.TENSORGET key META)."""
    return r.execute_command("AI.TENSORGET", key, "META")


def stats(r, key):
    """AI.INFO of a model or script as a dict with str keys ("calls", "errors", ...)."""
    reply = r.execute_command("AI.INFO", key)
    return {k.decode(): v for k, v in zip(reply[::2], reply[1::2])}


def info(r, key):
    """AI.INFO of a model or script as a dict with the reply's bytes keys (b"calls", ...)."""
    reply = r.execute_command("AI.INFO", key)
    return dict(zip(reply[0::2], reply[1::2]))


def server_version(c):
    """(major, minor, patch) of the Redis protocol version the server reports (Valkey reports the
    Redis version it forked from, 7.2.4)."""
    return tuple(int(x) for x in c.info("server")["redis_version"].split(".")[:3])


# What an RDB file (or an AOF's RDB preamble) starts with: Valkey 9 writes its own name.
RDB_MAGIC = (b"REDIS", b"VALKEY")


def valkey_version(c):
    """(major, minor, patch) of a Valkey server, or None for Redis."""
    info = c.info("server")
    return tuple(int(x) for x in info["valkey_version"].split(".")[:3]) if "valkey_version" in info else None


def noperm_key_text(c):
    """The server's words for a key outside the user's patterns (Redis 7.2 changed them); the
    module refuses the keys it checks itself with the same words."""
    if server_version(c) < (7, 2):
        return "NOPERM this user has no permissions to access one of the keys used as arguments"
    return "NOPERM No permissions to access a key"


def noperm_command_text(c, user, command):
    """The server's words for a command the user may not run (Redis 7.2 changed them too)."""
    if server_version(c) < (7, 2):
        return f"NOPERM this user has no permissions to run the '{command}' command"
    return f"NOPERM User {user} has no permissions to run the '{command}' command"


def server_rdb_version(c):
    """The RDB version the server writes in DUMP payloads (Redis 7.0: 10; 7.2 and 7.4: 11; 8.x: 12;
    Valkey its own), read off a DUMP of a probe string."""
    c.set("rai:rdb-version-probe", "x")
    payload = c.dump("rai:rdb-version-probe")
    c.delete("rai:rdb-version-probe")
    return int.from_bytes(payload[-10:-8], "little")


def replicas_acked(master, n=1, timeout=120):
    """True once n replicas acknowledged everything the master wrote so far. A replica may spend
    seconds importing a framework on a busy machine, so WAIT is retried up to a generous bound
    instead of trusting one short timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if master.execute_command("WAIT", n, 1000) >= n:
            return True
    return False


def blocked_clients(r):
    return r.info("clients")["blocked_clients"]


def blocked_names(r):
    """Names of the clients blocked now (CLIENT LIST flag b)."""
    return {c["name"] for c in r.client_list() if "b" in c["flags"] and c["name"]}


def parse_resp_commands(data):
    """The commands of an AOF file (RESP arrays of bulk strings)."""
    commands, i = [], 0
    while i < len(data):
        assert data[i:i + 1] == b"*", f"unexpected byte at {i}: {data[i:i + 20]!r}"
        end = data.index(b"\r\n", i)
        n = int(data[i + 1:end])
        i = end + 2
        args = []
        for _ in range(n):
            assert data[i:i + 1] == b"$"
            end = data.index(b"\r\n", i)
            length = int(data[i + 1:end])
            args.append(data[end + 2:end + 2 + length])
            assert data[end + 2 + length:end + 4 + length] == b"\r\n"
            i = end + 4 + length
        commands.append(args)
    return commands


def aof_files(s):
    """{AOF type ("b" base, "i" incremental, ...): path} of a RedisServer's multi-part AOF manifest."""
    manifest = (s.dir / "appendonlydir" / "appendonly.aof.manifest").read_text().split("\n")
    files = {}
    for line in filter(None, manifest):
        parts = line.split()
        files[parts[parts.index("type") + 1]] = s.dir / "appendonlydir" / parts[1]
    return files


def in_background(server, *command):
    """Send a blocking command on its own connection; returns (thread, reply holder)."""
    reply = {}

    def send():
        c = server.client()
        try:
            reply["value"] = c.execute_command(*command)
        except Exception as e:  # checked by the test
            reply["value"] = e
        finally:
            c.close()  # gone once answered, even when an error keeps the client referenced

    t = threading.Thread(target=send, daemon=True)
    t.start()
    return t, reply
