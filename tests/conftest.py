import pytest

from redis_server import MODULE, RedisServer


def pytest_sessionstart(session):
    if not MODULE.exists():
        raise pytest.UsageError(f"{MODULE} is missing: build it first (bash opt/test.sh does)")


@pytest.fixture(scope="module")
def server():
    """One server per test file; tests that need their own start RedisServer themselves."""
    with RedisServer() as s:
        yield s
        assert s.alive(), "redis-server died during the tests:\n" + s.log()


@pytest.fixture
def r(server):
    """A client on an empty database."""
    client = server.client()
    client.flushall()
    yield client
    client.close()
