"""A real 3-shard Redis Cluster with the module on every node, and a replica of the first shard:
the `cluster` fixture test_cluster.py and test_client_cluster.py share."""
import contextlib

import pytest
from redis.crc import key_slot

from redis_server import RedisServer, wait_for
from resp import raw

RANGES = [(0, 5460), (5461, 10922), (10923, 16383)]


class Cluster:
    def __init__(self, nodes, replica):
        self.nodes = nodes  # the three masters, nodes[i] serving RANGES[i]
        self.replica = replica  # a replica of nodes[0]
        # one hash tag per shard: tags[i] hashes to a slot that nodes[i] serves
        self.tags = [next(f"{{t{n}}}" for n in range(10000) if lo <= key_slot(f"t{n}".encode()) <= hi)
                     for lo, hi in RANGES]

    def slot(self, key):
        return key_slot(key.encode())

    def owner_index(self, key):
        slot = self.slot(key)
        return next(i for i, (lo, hi) in enumerate(RANGES) if lo <= slot <= hi)

    def owner(self, key):
        return self.nodes[self.owner_index(key)]

    def others(self, key):
        return [n for i, n in enumerate(self.nodes) if i != self.owner_index(key)]

    def moved(self, key):
        return ("error", f"MOVED {self.slot(key)} 127.0.0.1:{self.owner(key).port}")


def _node_state_ok(node):
    info = raw(node.port, "CLUSTER", "INFO")
    if b"cluster_state:ok" not in info or b"cluster_known_nodes:4" not in info:
        return False
    # every node knows who serves every range, so its MOVED replies are complete
    slots = raw(node.port, "CLUSTER", "SLOTS")
    return sorted((s[0], s[1]) for s in slots) == RANGES


def _replica_linked(replica):
    return (b"master_link_status:up" in raw(replica.port, "INFO", "replication")
            and b"myself,slave" in raw(replica.port, "CLUSTER", "NODES"))


@pytest.fixture(scope="module")
def cluster():
    """Three masters with a third of the slots each, and a replica of the first."""
    with contextlib.ExitStack() as stack:
        nodes = []
        for _ in range(4):
            # A node importing torch on a busy machine misses pings for seconds: no test here
            # wants it marked failed (CLUSTERDOWN), so the node timeout is far above that.
            s = RedisServer(config={"cluster-enabled": "yes", "cluster-node-timeout": 60000,
                                    "repl-diskless-sync-delay": 0})
            s.config["cluster-config-file"] = str(s.dir / "nodes.conf")
            stack.callback(s.cleanup)
            s.start()
            nodes.append(s)
        masters, replica = nodes[:3], nodes[3]
        for s, (lo, hi) in zip(masters, RANGES):
            assert raw(s.port, "CLUSTER", "ADDSLOTSRANGE", lo, hi) == "OK"
        for s in nodes[1:]:
            assert raw(nodes[0].port, "CLUSTER", "MEET", "127.0.0.1", s.port, s.config["cluster-port"]) == "OK"
        wait_for(lambda: all(_node_state_ok(n) for n in nodes), 30, 0.1, what="cluster_state:ok on all nodes")
        assert raw(replica.port, "CLUSTER", "REPLICATE", raw(masters[0].port, "CLUSTER", "MYID")) == "OK"
        wait_for(lambda: _replica_linked(replica) and all(_node_state_ok(n) for n in nodes), 30, 0.1,
                 what="the replica of the first shard")
        c = Cluster(masters, replica)
        # the server agrees with redis-py's slot function
        assert [raw(nodes[0].port, "CLUSTER", "KEYSLOT", t) for t in c.tags] == [c.slot(t) for t in c.tags]
        yield c
        for n in nodes:
            assert n.alive(), "redis-server died during the tests:\n" + n.log()
