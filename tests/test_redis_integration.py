"""Tensors behave like any other Redis value: replication, COPY, memory accounting, lazy free, maxmemory,
ACL key patterns, cluster routing, and the command table Redis sees (docs/COMMANDS.md §1,
docs/BEHAVIOUR.md §7-8, §12).
"""
import socket

import numpy as np
import pytest
import redis

from helpers import noperm_command_text, noperm_key_text, replicas_acked, valkey_version
from redis_server import running_server, wait_for
from resp import encode

# --------------------------------------------------------------------------------------------------
# Helpers


class RawError(Exception):
    pass


def _read_resp(f):
    line = f.readline()
    assert line.endswith(b"\r\n"), line
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        return RawError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_resp(f) for _ in range(n)]
    raise AssertionError(f"unexpected RESP line {line!r}")


def raw(port, *args, auth=None):
    """One command on a fresh connection, reply exactly as on the wire (errors returned, not raised)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        f = sock.makefile("rb")
        if auth:
            sock.sendall(encode(["AUTH", *auth]))
            assert _read_resp(f) == "OK"
        sock.sendall(encode(args))
        return _read_resp(f)


def tensorset(r, key, *args):
    assert r.execute_command("AI.TENSORSET", key, *args) == b"OK"


def tensorget(r, key, *fmt):
    return r.execute_command("AI.TENSORGET", key, *fmt)


# Data used for replication checks: (key, TENSORSET args, expected TENSORGET reply)
def _cases(prefix):
    f = np.arange(12, dtype=np.float32).reshape(3, 4) * 0.5
    big = np.random.default_rng(7).integers(-2**31, 2**31 - 1, 65536, dtype=np.int32)
    words = [b"alpha", b"", b"g\xc3\xa4mma", b"d"]
    return [
        (f"{prefix}:float", ["FLOAT", 3, 4, "BLOB", f.tobytes()],
         [b"dtype", b"FLOAT", b"shape", [3, 4], b"blob", f.tobytes()]),
        (f"{prefix}:int8", ["INT8", 3, "VALUES", 1, 2, 127],
         [b"dtype", b"INT8", b"shape", [3], b"blob", b"\x01\x02\x7f"]),
        (f"{prefix}:scalar", ["DOUBLE", "VALUES", "2.5"],
         [b"dtype", b"DOUBLE", b"shape", [], b"blob", np.array([2.5]).tobytes()]),
        (f"{prefix}:string", ["STRING", 2, 2, "BLOB", b"".join(w + b"\0" for w in words)],
         [b"dtype", b"STRING", b"shape", [2, 2], b"blob", b"".join(w + b"\0" for w in words)]),
        (f"{prefix}:string_values", ["STRING", 3, "VALUES", "a", "bc", "def"],
         [b"dtype", b"STRING", b"shape", [3], b"blob", b"a\0bc\0def\0"]),
        (f"{prefix}:big", ["INT32", 256, 256, "BLOB", big.tobytes()],
         [b"dtype", b"INT32", b"shape", [256, 256], b"blob", big.tobytes()]),
        (f"{prefix}:zeros", ["UINT16", 2, 5],
         [b"dtype", b"UINT16", b"shape", [2, 5], b"blob", b"\0" * 20]),
    ]


def _load_cases(r, cases):
    for key, args, _ in cases:
        tensorset(r, key, *args)


def _check_cases(r, cases):
    for key, _, expected in cases:
        assert tensorget(r, key) == expected, key


# --------------------------------------------------------------------------------------------------
# Replication


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_replica_gets_tensors_by_full_sync_and_by_command_stream(diskless):
    master_cfg = {"repl-diskless-sync": diskless, "repl-diskless-sync-delay": 0}
    with running_server(master_cfg) as master:
        m = master.client()
        full = _cases("full")
        _load_cases(m, full)
        with running_server({"replicaof": f"127.0.0.1 {master.port}"}) as replica:
            rr = replica.client()
            wait_for(lambda: rr.info("replication").get("master_link_status") == "up", 10,
                     what="the replica to sync")
            wait_for(lambda: rr.dbsize() == len(full), 10, what="the full sync data")
            _check_cases(rr, full)
            assert rr.execute_command("AI.TENSORGET", "full:string", "VALUES") == \
                [b"alpha", b"", b"g\xc3\xa4mma", b"d"]

            # incremental: new keys, an overwrite, a delete
            incr = _cases("incr")
            _load_cases(m, incr)
            tensorset(m, "full:int8", "INT8", 2, "VALUES", 9, 8)
            assert m.delete("full:zeros") == 1
            assert replicas_acked(m)
            wait_for(lambda: rr.dbsize() == len(full) + len(incr) - 1, 10, what="the command stream")
            _check_cases(rr, incr)
            _check_cases(rr, [c for c in full if c[0] not in ("full:int8", "full:zeros")])
            assert tensorget(rr, "full:int8", "VALUES") == [9, 8]
            assert not rr.exists("full:zeros")
            assert rr.execute_command("AI.TENSORGET", "incr:string_values", "VALUES") == [b"a", b"bc", b"def"]

            # the replica is read-only for a write-flagged command, but serves reads
            with pytest.raises(redis.ReadOnlyError) as e:
                rr.execute_command("AI.TENSORSET", "x", "FLOAT", 1, "VALUES", 1)
            assert str(e.value) == "You can't write against a read only replica."
            assert raw(replica.port, "AI.TENSORSET", "x", "FLOAT", 1).args[0] == \
                "READONLY You can't write against a read only replica."
            assert not rr.exists("x") and not m.exists("x")
            with pytest.raises(redis.ReadOnlyError):
                rr.execute_command("AI.TENSORSET", "full:float", "FLOAT", 1, "VALUES", 1)
            _check_cases(rr, [c for c in full if c[0] == "full:float"])

            # the replica's own copy survives its restart (its RDB from the sync), then resyncs
            replica.stop()
            replica.start()
            rr = replica.client()
            wait_for(lambda: rr.info("replication").get("master_link_status") == "up", 10,
                     what="the replica to resync")
            # A partial resync reports the link up before the backlog is applied: wait for the ack.
            assert replicas_acked(m)
            _check_cases(rr, incr)
            assert master.alive() and replica.alive()


# --------------------------------------------------------------------------------------------------
# COPY


def test_copy_creates_an_independent_key(r):
    tensorset(r, "src", "FLOAT", 2, 2, "VALUES", 1, 2, 3, 4)
    assert r.execute_command("COPY", "src", "dst") == 1
    assert tensorget(r, "dst", "META", "VALUES") == \
        [b"dtype", b"FLOAT", b"shape", [2, 2], b"values", [b"1", b"2", b"3", b"4"]]
    assert r.dump("dst") == r.dump("src")
    assert r.type("dst") == b"AI_TENSOR"

    # deleting the source leaves the copy intact
    assert r.delete("src") == 1
    assert tensorget(r, "dst", "VALUES") == [b"1", b"2", b"3", b"4"]

    # overwriting the source leaves the copy intact
    tensorset(r, "src", "INT8", 3, "VALUES", 7, 8, 9)
    assert r.execute_command("COPY", "src", "dst") == 0  # exists, no REPLACE
    assert tensorget(r, "dst", "VALUES") == [b"1", b"2", b"3", b"4"]
    assert r.execute_command("COPY", "src", "dst", "REPLACE") == 1
    assert tensorget(r, "dst", "META", "VALUES") == [b"dtype", b"INT8", b"shape", [3], b"values", [7, 8, 9]]
    tensorset(r, "src", "INT8", 3, "VALUES", 1, 1, 1)
    assert tensorget(r, "dst", "VALUES") == [7, 8, 9]
    assert tensorget(r, "src", "VALUES") == [1, 1, 1]

    # into another database
    assert r.execute_command("COPY", "dst", "dst", "DB", 1) == 1
    r1 = redis.Redis(connection_pool=r.connection_pool.__class__(
        **{**r.connection_pool.connection_kwargs, "db": 1}))
    try:
        assert tensorget(r1, "dst", "VALUES") == [7, 8, 9]
        assert r.delete("dst") == 1
        assert tensorget(r1, "dst", "VALUES") == [7, 8, 9]
    finally:
        r1.connection_pool.disconnect()

    # STRING tensors, and persistence of copies
    tensorset(r, "s", "STRING", 2, "VALUES", "ab", "c")
    assert r.execute_command("COPY", "s", "s2") == 1
    tensorset(r, "s", "STRING", 1, "VALUES", "zz")
    assert tensorget(r, "s2", "VALUES") == [b"ab", b"c"]
    assert r.execute_command("COPY", "s2", "s3") == 1
    assert r.execute_command("DEBUG", "RELOAD") == b"OK"
    assert tensorget(r, "s2", "VALUES") == [b"ab", b"c"]
    assert tensorget(r, "s3", "VALUES") == [b"ab", b"c"]
    assert tensorget(r, "s", "VALUES") == [b"zz"]


def test_many_copies_freed_in_any_order_and_by_lazy_free():
    with running_server() as s:
        r = s.client()
        blob = np.arange(4096, dtype=np.float64).tobytes()
        tensorset(r, "orig", "DOUBLE", 4096, "BLOB", blob)
        for i in range(50):
            assert r.execute_command("COPY", "orig", f"c{i}") == 1
            assert r.execute_command("COPY", "orig", f"c{i}", "DB", 1) == 1
        assert r.delete("orig") == 1
        for i in range(0, 50, 2):
            assert r.delete(f"c{i}") == 1
        assert r.flushdb(asynchronous=True) is True  # db 0 freed by the lazy-free thread
        r1 = s.client(db=1)
        for i in range(50):
            assert tensorget(r1, f"c{i}", "BLOB") == blob
        wait_for(lambda: r.info("memory")["lazyfree_pending_objects"] == 0, 5, what="lazy free")
        assert r1.dbsize() == 50
        assert tensorget(r1, "c49", "BLOB") == blob
        assert r1.flushall(asynchronous=True) is True
        wait_for(lambda: r.info("memory")["lazyfree_pending_objects"] == 0, 5, what="lazy free")
        assert r.ping()


# --------------------------------------------------------------------------------------------------
# Memory accounting


def test_memory_usage_of_a_tensor_is_its_data(r):
    tensorset(r, "t", "FLOAT", 1024)
    r.set("s", b"x" * 4096)
    tensor_usage, string_usage = r.memory_usage("t"), r.memory_usage("s")
    assert tensor_usage <= 1.1 * string_usage, (tensor_usage, string_usage)
    assert tensor_usage >= 4096, tensor_usage  # the data is counted, not only the key overhead
    tensorset(r, "big", "FLOAT", 250000)
    assert 1_000_000 <= r.memory_usage("big") <= 1_100_000
    tensorset(r, "str", "STRING", 1000)  # 1000 empty strings: 1000 NULs + 1000 offsets
    assert r.memory_usage("str") >= 1000


def _big_set(s, key, *args):
    """TENSORSET on its own connection, closed afterwards: its query buffer must not be measured."""
    c = s.client()
    try:
        assert c.execute_command("AI.TENSORSET", key, *args) == b"OK"
    finally:
        c.connection_pool.disconnect()


def _used(r):
    wait_for(lambda: r.info("clients")["connected_clients"] == 1, 5, what="other clients to go")
    return r.info("memory")["used_memory"]


def _memory_roundtrip(nbytes):
    with running_server() as s:
        r = s.client()
        _big_set(s, "warmup", "UINT8", nbytes)
        r.delete("warmup")
        base = _used(r)
        _big_set(s, "big", "UINT8", nbytes, "BLOB", b"\x05" * nbytes)
        grown = _used(r) - base
        r.delete("big")
        after_del = _used(r) - base
        return grown, after_del


def test_used_memory_follows_a_1mb_tensor():
    nbytes = 1_000_000
    grown, after_del = _memory_roundtrip(nbytes)
    assert nbytes <= grown <= 1.1 * nbytes, grown
    assert abs(after_del) < 64 * 1024, after_del


def test_used_memory_follows_a_1mib_tensor():
    """A power-of-two tensor (1 MiB) must not cost much more than its data either."""
    nbytes = 1 << 20
    grown, after_del = _memory_roundtrip(nbytes)
    assert abs(after_del) < 64 * 1024, after_del
    assert nbytes <= grown <= 1.1 * nbytes, \
        f"storing a 1 MiB tensor grew used_memory by {grown} bytes ({grown / nbytes:.2f}x the data)"


def test_unlink_and_flushall_async_free_tensors():
    nbytes = 1_000_000
    with running_server() as s:
        r = s.client()
        _big_set(s, "warmup", "UINT8", nbytes)
        r.delete("warmup")
        base = _used(r)

        _big_set(s, "a", "UINT8", nbytes, "BLOB", b"\x01" * nbytes)
        assert _used(r) - base >= nbytes
        assert r.unlink("a") == 1
        wait_for(lambda: r.info("memory")["lazyfree_pending_objects"] == 0, 5, what="lazy free")
        wait_for(lambda: _used(r) - base < 64 * 1024, 5, what="memory back after UNLINK")

        for i in range(5):
            _big_set(s, f"k{i}", "FLOAT", nbytes // 4, "BLOB", b"\x02" * nbytes)
        _big_set(s, "str", "STRING", 10000)
        assert r.execute_command("COPY", "k0", "k0copy") == 1
        assert _used(r) - base >= 5 * nbytes
        assert r.flushall(asynchronous=True) is True
        assert r.dbsize() == 0
        wait_for(lambda: r.info("memory")["lazyfree_pending_objects"] == 0, 5, what="lazy free")
        wait_for(lambda: _used(r) - base < 128 * 1024, 5, what="memory back after FLUSHALL ASYNC")
        assert r.info("memory")["lazyfreed_objects"] >= 7
        assert r.ping() and s.alive()
        tensorset(r, "after", "FLOAT", 1, "VALUES", 3)
        assert tensorget(r, "after", "VALUES") == [b"3"]


# --------------------------------------------------------------------------------------------------
# maxmemory


OOM = "OOM command not allowed when used memory > 'maxmemory'."


def test_maxmemory_refuses_tensorset_but_reads_still_work():
    with running_server({"maxmemory-policy": "noeviction"}) as s:
        r = s.client()
        tensorset(r, "keep", "FLOAT", 2, "VALUES", 1, 2)
        tensorset(r, "keep_s", "STRING", 2, "VALUES", "a", "b")
        used = r.info("memory")["used_memory"]
        assert r.config_set("maxmemory", used // 2)
        try:
            with pytest.raises(redis.exceptions.OutOfMemoryError) as e:
                r.execute_command("AI.TENSORSET", "new", "FLOAT", 1, "VALUES", 1)
            assert "OOM " + str(e.value) == OOM
            assert str(raw(s.port, "AI.TENSORSET", "new", "FLOAT", 1)) == OOM
            # overwriting an existing tensor is a denied write as well
            assert str(raw(s.port, "AI.TENSORSET", "keep", "FLOAT", 1, "VALUES", 5)) == OOM
            assert not r.exists("new")
            # reads are not deny-oom
            assert tensorget(r, "keep", "VALUES") == [b"1", b"2"]
            assert tensorget(r, "keep", "META", "BLOB") == \
                [b"dtype", b"FLOAT", b"shape", [2], b"blob", np.array([1, 2], np.float32).tobytes()]
            assert tensorget(r, "keep_s", "VALUES") == [b"a", b"b"]
            assert r.dump("keep") is not None
            # control: a core deny-oom command is refused the same way
            assert str(raw(s.port, "SET", "x", "y")) == OOM
        finally:
            r.config_set("maxmemory", 0)
        tensorset(r, "new", "FLOAT", 1, "VALUES", 1)
        assert tensorget(r, "new", "VALUES") == [b"1"]


# --------------------------------------------------------------------------------------------------
# ACL


def test_acl_key_patterns_apply_to_tensor_commands():
    with running_server() as s:
        r = s.client()
        assert r.execute_command("ACL", "SETUSER", "u", "on", ">pw", "~allowed:*", "+@all") == b"OK"
        assert r.execute_command("ACL", "SETUSER", "v", "on", ">pw", "~*", "+@all", "-ai.tensorset") == b"OK"
        tensorset(r, "other:x", "INT8", 1, "VALUES", 5)
        u = redis.Redis(host="127.0.0.1", port=s.port, username="u", password="pw", socket_timeout=10)
        try:
            assert u.execute_command("AI.TENSORSET", "allowed:x", "FLOAT", 2, "VALUES", 1, 2) == b"OK"
            assert u.execute_command("AI.TENSORGET", "allowed:x", "VALUES") == [b"1", b"2"]
            with pytest.raises(redis.exceptions.NoPermissionError) as e:
                u.execute_command("AI.TENSORSET", "other:y", "FLOAT", 1, "VALUES", 1)
            assert "NOPERM " + str(e.value) == noperm_key_text(r)
            with pytest.raises(redis.exceptions.NoPermissionError):
                u.execute_command("AI.TENSORGET", "other:x")
            with pytest.raises(redis.exceptions.NoPermissionError):
                u.execute_command("AI.TENSORSET", "other:x", "FLOAT", 1, "VALUES", 1)
        finally:
            u.connection_pool.disconnect()
        assert str(raw(s.port, "AI.TENSORSET", "other:z", "FLOAT", 1, auth=("u", "pw"))) == noperm_key_text(r)
        assert str(raw(s.port, "AI.TENSORGET", "other:x", "META", auth=("u", "pw"))) == noperm_key_text(r)
        assert not r.exists("other:y") and not r.exists("other:z")
        assert tensorget(r, "other:x", "VALUES") == [5]  # untouched
        log = r.acl_log()
        denied = {(e["reason"], e["object"]) for e in log if e["username"] == "u"}
        assert ("key", "other:y") in denied and ("key", "other:x") in denied

        # a command denied by name
        assert str(raw(s.port, "AI.TENSORSET", "k", "FLOAT", 1, auth=("v", "pw"))) == \
            noperm_command_text(r, "v", "ai.tensorset")
        assert raw(s.port, "AI.TENSORGET", "other:x", "VALUES", auth=("v", "pw")) == [5]


# --------------------------------------------------------------------------------------------------
# Cluster


def _cluster_config(s):
    s.config["cluster-config-file"] = str(s.dir / "nodes.conf")


def _cluster_ok(s):
    return b"cluster_state:ok" in raw(s.port, "CLUSTER", "INFO")


def test_single_node_cluster_routes_tensor_keys():
    cfg = {"cluster-enabled": "yes", "cluster-require-full-coverage": "no"}
    with running_server(cfg, configure=_cluster_config) as s:
        r = s.client()
        assert (s.dir / "nodes.conf").exists()
        # only half the slots first: a key in an unserved slot is refused by Redis, from key position 1
        assert raw(s.port, "CLUSTER", "ADDSLOTSRANGE", 0, 8191) == "OK"
        wait_for(lambda: _cluster_ok(s), 10, what="cluster_state:ok")
        served = next(f"{{t{i}}}" for i in range(1000) if raw(s.port, "CLUSTER", "KEYSLOT", f"{{t{i}}}") <= 8191)
        unserved = next(f"{{t{i}}}" for i in range(1000) if raw(s.port, "CLUSTER", "KEYSLOT", f"{{t{i}}}") > 8191)
        assert str(raw(s.port, "AI.TENSORSET", unserved + ":a", "FLOAT", 1)) == \
            "CLUSTERDOWN Hash slot not served"
        assert str(raw(s.port, "AI.TENSORGET", unserved + ":a")) == "CLUSTERDOWN Hash slot not served"
        tensorset(r, served + ":a", "FLOAT", 2, "VALUES", 1, 2)

        assert raw(s.port, "CLUSTER", "ADDSLOTSRANGE", 8192, 16383) == "OK"
        wait_for(lambda: _cluster_ok(s), 10, what="cluster_state:ok")
        tensorset(r, "{user1}:a", "FLOAT", 2, "VALUES", 1, 2)
        tensorset(r, "{user1}:b", "STRING", 2, "VALUES", "x", "y")
        tensorset(r, unserved + ":a", "INT16", 1, "VALUES", 3)
        assert tensorget(r, "{user1}:a", "VALUES") == [b"1", b"2"]
        assert tensorget(r, "{user1}:b", "VALUES") == [b"x", b"y"]
        assert tensorget(r, unserved + ":a", "VALUES") == [3]
        assert tensorget(r, served + ":a", "VALUES") == [b"1", b"2"]
        slot = raw(s.port, "CLUSTER", "KEYSLOT", "{user1}:a")
        assert slot == raw(s.port, "CLUSTER", "KEYSLOT", "user1")
        assert raw(s.port, "CLUSTER", "COUNTKEYSINSLOT", slot) == 2
        assert sorted(raw(s.port, "CLUSTER", "GETKEYSINSLOT", slot, 10)) == [b"{user1}:a", b"{user1}:b"]
        assert raw(s.port, "COMMAND", "GETKEYS", "AI.TENSORSET", "k", "FLOAT", 1, "VALUES", 1) == [b"k"]
        assert raw(s.port, "COMMAND", "GETKEYS", "AI.TENSORGET", "{user1}:a", "META") == [b"{user1}:a"]


# --------------------------------------------------------------------------------------------------
# Command table


def _command_info(port, name):
    reply = raw(port, "COMMAND", "INFO", name)
    assert len(reply) == 1 and reply[0] is not None, reply
    info = reply[0]
    return {"name": info[0], "arity": info[1], "flags": set(info[2]), "keys": tuple(info[3:6])}


def test_command_info_flags_and_key_positions(server):
    tset = _command_info(server.port, "ai.tensorset")
    assert tset["name"] == b"ai.tensorset"
    assert tset["arity"] == -1
    assert {"write", "denyoom"} <= tset["flags"]
    assert "readonly" not in tset["flags"]
    assert tset["keys"] == (1, 1, 1)

    tget = _command_info(server.port, "ai.tensorget")
    assert tget["name"] == b"ai.tensorget"
    assert tget["arity"] == -1
    assert "readonly" in tget["flags"]
    assert not {"write", "denyoom"} & tget["flags"]
    assert tget["keys"] == (1, 1, 1)

    # upper-case lookup finds the same lower-case command
    assert _command_info(server.port, "AI.TENSORSET")["name"] == b"ai.tensorset"


def test_command_getkeys_outside_cluster(server):
    assert raw(server.port, "COMMAND", "GETKEYS", "AI.TENSORSET", "k", "FLOAT", 1, "VALUES", 1) == [b"k"]
    assert raw(server.port, "COMMAND", "GETKEYS", "AI.TENSORGET", "k2", "VALUES") == [b"k2"]


def test_the_module_stays_loaded_for_its_data_types_and_shutdown_is_clean():
    """MODULE UNLOAD is refused on every server: a module cannot unregister its data types. Valkey 9
    tries the same for every module at shutdown and logs that refusal; the server still saves and
    exits with status 0 (docs/DECISIONS.md, Commands)."""
    with running_server({"enable-module-command": "yes"}) as s:
        c = s.client()
        with pytest.raises(redis.ResponseError, match="the module exports one or more module-side data types"):
            c.execute_command("MODULE", "UNLOAD", "ai")
        assert c.execute_command("AI.TENSORSET", "t", "FLOAT", 1, "VALUES", 1) == b"OK"
        tries_unload_at_shutdown = (valkey_version(c) or (0,)) >= (9,)
        c.close()
        s.stop(save=True)
        assert s.proc.returncode == 0 and (s.dir / "dump.rdb").exists()
        refused = "Failed to unload module ai: the module exports one or more module-side data types"
        assert (refused in s.log()) == tries_unload_at_shutdown
        s.start()
        assert s.client().execute_command("AI.TENSORGET", "t", "VALUES") == [b"1"]

