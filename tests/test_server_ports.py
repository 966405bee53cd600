"""The suite's servers never mistake another process for their own: a port taken between our pick
and the bind (another suite running on the machine) makes RedisServer pick again, for the client
port and for a cluster node's bus port alike."""
import itertools

import pytest

import redis_server
from redis_server import RedisServer, running_server


@pytest.fixture
def stranger():
    """A plain redis-server (no module), standing for another suite's node."""
    with running_server(load_module=False) as s:
        yield s


def picks_taken_port_first(monkeypatch, taken, position):
    """free_port() answers `taken` at call number `position`, real free ports otherwise."""
    real = redis_server.free_port
    calls = itertools.count()
    monkeypatch.setattr(redis_server, "free_port", lambda: taken if next(calls) == position else real())


def assert_is_ours(s, stranger):
    assert s.port != stranger.port
    assert s.client().info("server")["process_id"] == s.proc.pid
    assert b"ai" in [m[b"name"] for m in s.client().module_list()]  # Redis 8 adds its vectorset


def test_client_port_taken_by_a_stranger_is_picked_again(monkeypatch, stranger):
    picks_taken_port_first(monkeypatch, stranger.port, 0)
    s = RedisServer()
    try:
        s.start()
        assert_is_ours(s, stranger)
    finally:
        s.cleanup()


def test_cluster_bus_port_taken_is_picked_again(monkeypatch, stranger):
    picks_taken_port_first(monkeypatch, stranger.port, 1)  # the second pick is the bus port
    s = RedisServer(config={"cluster-enabled": "yes"})
    s.config["cluster-config-file"] = str(s.dir / "nodes.conf")
    try:
        s.start()
        assert_is_ours(s, stranger)
        assert s.config["cluster-port"] != stranger.port
        assert b"cluster_state" in s.client().execute_command("CLUSTER", "INFO")
    finally:
        s.cleanup()
