"""Stateful fuzzing: valid commands composed into unusual sequences, checked against a replica and
against restarts.

test_fuzz.py mutates single commands; the crashes of issue 11 were instead combinations of valid
pieces. Here (steps drawn by stateful_fuzz.StepGen from random.Random(seed)):
* every DAG op kind (TENSORSET, TENSORGET, MODELEXECUTE, SCRIPTEXECUTE; LOAD, PERSIST, ROUTING,
  TIMEOUT, the _RO and deprecated DAGRUN forms) over every backend (TORCH, ONNX and ONNX-ML, TF,
  TFLITE) and every output kind (tensor, zero-size, rank 0, STRING, ONNX-ML maps and sequences);
  plain MODELEXECUTE / SCRIPTEXECUTE and the deprecated MODELRUN / SCRIPTRUN;
* redis.execute from scripts of every command family (strings, lists, hashes, sets, streams,
  blocking commands, pub/sub, EVAL / FCALL, CLIENT, WAIT, MULTI, SWAPDB, AI.* themselves);
* server-state changes while a run is in flight, ordered by construction: the run's script waits
  on a gate (a pub/sub subscriber only the test holds), the test sees the client blocked, applies
  the change (CLIENT PAUSE WRITE / ALL, FAILOVER, DEBUG RELOAD, BGREWRITEAOF, BGSAVE, SWAPDB,
  FLUSHALL [ASYNC], FLUSHDB, RESTORE REPLACE or COPY over a key the run uses, DEL), then opens the
  gate; the same changes with no run in flight; SHUTDOWN and restart; FAILOVER (roles swap).

test_stateful_sweep runs each piece once, in a fixed order (what a small random budget may miss:
every model by every run form, every output kind, every script command family, every state change
during a run); test_stateful_fuzz draws its steps from each seed.

After each batch: both servers answer PING and their logs hold no crash report; every reply was a
well-formed answer or error (no leaked internal error); once the master's runs have drained and
WAIT says the replica has everything, the replica holds exactly the master's keyspace (dbs 0 and 1:
tensors by AI.TENSORGET META BLOB VALUES, models by AI.MODELGET META BLOB, scripts by AI.SCRIPTGET,
plain types by their values), and the master loads that same keyspace back from its AOF (DEBUG
LOADAOF: appendonly yes, aof-use-rdb-preamble no) and from an RDB (DEBUG RELOAD). Every
RAI_STATEFUL_FUZZ_RESTART_EVERY batches, and after the last, real restarts instead (each imports
every backend again, the slow part): from the AOF alone, then from the RDB alone, each giving back
exactly the keyspace acknowledged before it.

Environment:
    RAI_STATEFUL_FUZZ_SEEDS          comma-separated seeds (default "1")
    RAI_STATEFUL_FUZZ_STEPS          steps per seed (default 30)
    RAI_STATEFUL_FUZZ_BATCH          steps between two checks (default 15; the sweep too)
    RAI_STATEFUL_FUZZ_RESTART_EVERY  batches between two real-restart checks (default 0: the last only)
    RAI_STATEFUL_FUZZ_SKIP           known bug classes to leave out (comma-separated names of
                                     stateful_fuzz.KNOWN_CLASSES, or "known" for all of them), to
                                     hunt past bugs being fixed elsewhere
A failure names the seed, the batch and every step of it (Python literals), with the servers' log
tails: `RAI_STATEFUL_FUZZ_SEEDS=<seed>` (same STEPS/BATCH/SKIP) replays it.
"""
import os
import random
import select
import time

import pytest
import redis

from resp import Raw
from stateful_fuzz import FUNCTION_SRC, KNOWN_CLASSES, StepGen, restock_commands
from test_fuzz import CRASH_PATTERNS, INTERNAL_ERROR, FuzzServer, good_error, show

SEEDS = [int(s) for s in os.environ.get("RAI_STATEFUL_FUZZ_SEEDS", "1").split(",") if s.strip()]
STEPS = int(os.environ.get("RAI_STATEFUL_FUZZ_STEPS", "30"))
BATCH = int(os.environ.get("RAI_STATEFUL_FUZZ_BATCH", "15"))
RESTART_EVERY = int(os.environ.get("RAI_STATEFUL_FUZZ_RESTART_EVERY", "0"))
_skip = {s.strip() for s in os.environ.get("RAI_STATEFUL_FUZZ_SKIP", "").split(",") if s.strip()}
SKIP = frozenset(KNOWN_CLASSES if "known" in _skip else _skip)
assert SKIP <= set(KNOWN_CLASSES), f"unknown classes in RAI_STATEFUL_FUZZ_SKIP: {SKIP - set(KNOWN_CLASSES)}"

CONFIG = {"appendonly": "yes", "aof-use-rdb-preamble": "no", "repl-diskless-sync-delay": 0,
          "aof-rewrite-incremental-fsync": "yes"}
DEADLINE = 60  # seconds any handshake may take on a loaded machine


class FuzzFailure(AssertionError):
    pass


def _b(x):
    return x if isinstance(x, bytes) else str(x).encode()


def wait_until(predicate, what, timeout=DEADLINE):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (redis.ConnectionError, redis.BusyLoadingError, redis.TimeoutError):
            pass
        time.sleep(0.02)
    raise FuzzFailure(f"timed out waiting for {what}")


# --------------------------------------------------------------------------------------------------
# Keyspace snapshots (what a client can read back)


def read_value(c, key):
    kind = c.type(key)
    try:
        if kind == b"AI_TENSOR":
            v = [c.execute_command("AI.TENSORGET", key, "META", "BLOB")]
            if len(v[0][5]) <= 1 << 16:
                v.append(c.execute_command("AI.TENSORGET", key, "VALUES"))
            return kind, v
        if kind == b"AI__MODEL":
            blob = c.execute_command("AI.MODELGET", key, "BLOB")
            return kind, (c.execute_command("AI.MODELGET", key, "META"),
                          b"".join(blob) if isinstance(blob, list) else blob)
        if kind == b"AI_SCRIPT":
            return kind, c.execute_command("AI.SCRIPTGET", key)
        if kind == b"string":
            return kind, c.get(key)
        if kind == b"list":
            return kind, c.lrange(key, 0, -1)
        if kind == b"hash":
            return kind, sorted(c.hgetall(key).items())
        if kind == b"set":
            return kind, sorted(c.smembers(key))
        if kind == b"zset":
            return kind, c.zrange(key, 0, -1, withscores=True)
        if kind == b"stream":
            return kind, c.xrange(key)
        return kind, None
    except redis.ResponseError as e:
        return kind, ("error", str(e))


def snapshot(server):
    out = {}
    for db in (0, 1):
        c = server.client(db=db)
        for key in sorted(c.scan_iter(count=1000)):
            out[(db, key)] = read_value(c, key)
        c.close()
    return out


def diff(a, b):
    keys = sorted(set(a) | set(b))
    lines = []
    for k in keys:
        if a.get(k) != b.get(k):
            lines.append(f"  {k!r}:\n    master:  {str(a.get(k))[:300]}\n    other:   {str(b.get(k))[:300]}")
    return "\n".join(lines[:20])


# --------------------------------------------------------------------------------------------------
# The two servers


class Pair:
    """A master and a real redis-server replicating it, both with the module and AOF on."""

    def __init__(self):
        self.master = FuzzServer(config=dict(CONFIG)).start()
        self.replica = FuzzServer(config={**CONFIG, "replicaof": f"127.0.0.1 {self.master.port}"}).start()
        self.log_seen = {}
        self.c = self.master.client()
        self.c.function_load(FUNCTION_SRC, replace=True)
        self.wait_replicated()

    def close(self):
        for s in (self.master, self.replica):
            s.cleanup()

    def servers(self):
        return [self.master, self.replica]

    def attach_replica(self):
        self.replica.config["replicaof"] = f"127.0.0.1 {self.master.port}"
        self.master.config.pop("replicaof", None)
        self.replica.client().replicaof("127.0.0.1", self.master.port)

    def wait_replicated(self):
        """The replica is online and has acknowledged everything the master sent."""
        def synced():
            rep = self.c.info("replication")
            if rep.get("connected_slaves", 0) != 1 or rep["slave0"]["state"] != "online":
                return False
            return self.c.execute_command("WAIT", 1, 1000) == 1
        wait_until(synced, "the replica to sync")

    def swap(self):
        self.master, self.replica = self.replica, self.master
        self.c = self.master.client()
        self.attach_replica()


# --------------------------------------------------------------------------------------------------
# The fuzzer


class Run:
    def __init__(self, pair, seed):
        self.pair, self.seed = pair, seed
        self.rng = random.Random(seed)
        self.gen = StepGen(self.rng, SKIP)
        self.batch, self.steps, self.prev_steps = 0, [], []

    @property
    def c(self):
        return self.pair.c

    def fail(self, what):
        log = ""
        for name, s in (("master", self.pair.master), ("replica", self.pair.replica)):
            if s.proc is not None and s.proc.poll() is None and not s.alive():
                s.proc.wait(timeout=10)
            log += f"\n--- {name} redis log (tail) ---\n{s.log()[-6000:]}\n--- {name} stderr ---\n{s.stderr()[-3000:]}"
        steps = "\n".join(f"  {i}: {describe(s)}" for i, s in enumerate(self.steps))
        before = "\n".join(f"  {i}: {describe(s)}" for i, s in enumerate(self.prev_steps))
        raise FuzzFailure(f"{what}\nseed {self.seed}, batch {self.batch}, skip {sorted(SKIP)}; the previous "
                          f"batch's steps:\n{before}\nthis batch's steps (after restocking):\n{steps}{log}")

    # ---- invariants

    def check_alive(self):
        for name, s in (("master", self.pair.master), ("replica", self.pair.replica)):
            if not s.alive():
                self.fail(f"the {name} died")
            try:
                s.client().ping()
            except (redis.ConnectionError, redis.TimeoutError) as e:
                self.fail(f"the {name} does not answer PING: {e!r}")
            text = s.log() + s.stderr()
            found = [p.pattern for p in CRASH_PATTERNS if p.search(text)]
            if found:
                self.fail(f"crash markers in the {name}'s output: {found}")

    def check_reply(self, cmd, reply):
        if isinstance(reply, Exception):
            msg = str(reply)
            if not good_error(msg) or INTERNAL_ERROR.search(msg):
                self.fail(f"bad error for {show([_b(a) for a in cmd])}: {msg!r}")
        elif isinstance(reply, list):
            for e in reply:
                self.check_reply(cmd, e)

    def settle(self):
        """Roles sorted out, runs drained, background saves done, the replica up to date."""
        def role(s):
            return s.client().execute_command("ROLE")[0]

        def roles_ok():
            return role(self.pair.master) == b"master" and role(self.pair.replica) == b"slave"
        try:
            # a FAILOVER (ours or a script's) ends with the roles swapped, or aborted
            wait_until(lambda: all(s.client().info("replication").get("master_failover_state") == "no-failover"
                                   for s in self.pair.servers()), "failovers to end")
            if role(self.pair.master) == b"slave" and role(self.pair.replica) == b"master":
                self.pair.swap()
            wait_until(roles_ok, "one master and one replica")
            self.c.execute_command("CLIENT", "UNPAUSE")
            for s in self.pair.servers():  # the run queue drained (abandoned runs finished)
                assert s.client().execute_command("AI.DAGEXECUTE_RO", "ROUTING", "x", "|>", "AI.TENSORSET", "b",
                                                  "FLOAT", 1) == [b"OK"]
            self.pair.wait_replicated()
            wait_until(lambda: all(not s.client().info("persistence")[f] for s in self.pair.servers() for f in
                                   ("rdb_bgsave_in_progress", "aof_rewrite_in_progress", "aof_rewrite_scheduled")),
                       "background saves to finish")
        except (FuzzFailure, redis.RedisError) as e:
            self.check_alive()
            self.fail(f"the servers do not settle: {e!r}")

    def check_replica(self):
        self.settle()
        a, b = snapshot(self.pair.master), snapshot(self.pair.replica)
        if a != b:
            self.fail("the replica's keyspace differs from the master's:\n" + diff(a, b))
        return a

    def restart_master(self, save, expected, how):
        m = self.pair.master
        m.stop(save=save)
        m.start(timeout=DEADLINE * 3)  # loading the models imports every backend again
        self.pair.c = m.client()
        wait_until(lambda: m.client().info("persistence")["loading"] == 0, "the master to load")
        got = snapshot(m)
        if got != expected:
            self.fail(f"after a restart from {how}, the keyspace differs from what was acknowledged:\n"
                      + diff(expected, got))
        self.pair.attach_replica()

    def check_reloads(self):
        """The AOF and an RDB loaded back in the running master (DEBUG LOADAOF, DEBUG RELOAD)."""
        expected = self.check_replica()
        for how in ("LOADAOF", "RELOAD"):
            try:
                self.c.execute_command("DEBUG", how)
            except redis.RedisError as e:
                self.check_alive()
                self.fail(f"DEBUG {how} failed: {e!r}")
            got = snapshot(self.pair.master)
            if got != expected:
                self.fail(f"after DEBUG {how}, the keyspace differs from what was acknowledged:\n"
                          + diff(expected, got))

    def check_restarts(self):
        expected = self.check_replica()
        self.restart_master(False, expected, "the AOF (no RDB preamble)")
        self.settle()  # the replica's full sync (a BGSAVE) is over
        m = self.pair.master
        assert m.client().save()
        m.config["appendonly"] = "no"
        try:
            self.restart_master(False, expected, "the RDB")
        finally:
            m.config["appendonly"] = "yes"
        m.client().config_set("appendonly", "yes")  # a fresh AOF, rewritten from the keyspace
        self.settle()

    def end_batch(self, last):
        self.check_alive()
        self.batch += 1
        if last or (RESTART_EVERY and self.batch % RESTART_EVERY == 0):
            self.check_restarts()
        else:
            self.check_reloads()
        self.check_alive()
        self.prev_steps, self.steps = self.steps, []

    # ---- steps

    def call(self, cmd, client=None):
        try:
            reply = (client or self.c).execute_command(*cmd)
        except redis.ResponseError as e:
            reply = e
        except (redis.ConnectionError, redis.TimeoutError) as e:
            self.check_alive()
            self.fail(f"{show([_b(a) for a in cmd])} got no reply: {e!r}")
        self.check_reply(cmd, reply)
        return reply

    def restock(self):
        for cmd in restock_commands():
            reply = self.call(cmd)
            if isinstance(reply, Exception):
                self.fail(f"restocking failed: {show([_b(a) for a in cmd])} -> {reply}")

    def apply_change(self, change):
        if change[0] == "RESTORE-FROM":
            dump = self.c.dump(change[1])
            if dump is not None:
                self.call(["RESTORE", change[2], 0, dump, "REPLACE"])
        elif change[0] == "FAILOVER":
            self.call(["FAILOVER"])
        else:
            if change == ["DEBUG", "RELOAD"]:
                self.wait_no_bgsave()
            self.call(change)

    def wait_no_bgsave(self):
        """Redis's own bug, module or not (seen on 7.0.15): DEBUG RELOAD zeroes the dirty count
        under a running BGSAVE, whose end then makes it negative, so the next DEBUG LOADAOF is
        propagated: the AOF and the replica get DEBUG LOADAOF, which the next load of that AOF
        runs from inside itself and exits. Not the module's to find: no RELOAD under a BGSAVE."""
        wait_until(lambda: not self.c.info("persistence")["rdb_bgsave_in_progress"], "the BGSAVE to end")

    def after_change(self, change):
        if change[0] == "FAILOVER":
            self.settle()
        elif change[:2] == ["CLIENT", "PAUSE"] and change[3] == "WRITE":
            self.c.execute_command("CLIENT", "UNPAUSE")

    def gated(self, step):
        """Queue the run (its script waits while the gate has a subscriber), see it blocked, apply
        the change, open the gate, wait for the script's 'done', then read the run's reply."""
        port = self.pair.master.port
        gate, done = Raw(port, timeout=DEADLINE), Raw(port, timeout=DEADLINE)
        q = Raw(port, timeout=DEADLINE, name="q%d" % self.gen.n)
        try:
            assert gate.call("SUBSCRIBE", step["gate"])[0] == b"subscribe"
            assert done.call("SUBSCRIBE", step["done"])[0] == b"subscribe"
            q.send(*step["cmd"])
            # blocked, or answered at once (an error before the run was queued)
            wait_until(lambda: select.select([q.sock], [], [], 0)[0] or any(
                cl.get("name") == q.name and "b" in cl["flags"] for cl in self.c.client_list()),
                "the gated run to block its client")
            self.apply_change(step["change"])
            gate.close()
            gate = None
            write_pause = step["change"][:2] == ["CLIENT", "PAUSE"] and step["change"][3] == "WRITE"
            if write_pause:
                # The script's Redis calls and the run's outputs wait while writes are paused: let
                # it run into the pause for a moment (coverage, bounded), then end the pause.
                select.select([done.sock, q.sock], [], [], 1)
                self.after_change(step["change"])
            # the script ran to its end, or the run answered (it failed, or the change ended it)
            if not select.select([done.sock, q.sock], [], [], DEADLINE)[0]:
                self.fail("the gated run neither finished nor answered")
            if not write_pause:
                self.after_change(step["change"])
            try:
                reply = q.read()
            except (OSError, AssertionError) as e:
                self.check_alive()
                if step["change"] == ["FAILOVER"]:
                    return  # a demoted master closes its blocked clients
                self.fail(f"the gated run got no reply: {e!r}")
            if isinstance(reply, tuple):
                reply = redis.ResponseError(reply[1])
            self.check_reply(step["cmd"], reply)
        finally:
            for conn in (gate, done, q):
                if conn is not None:
                    conn.close()

    def do(self, step):
        self.steps.append(step)
        kind = step["kind"]
        if kind == "cmd":
            self.call(step["cmd"], self.pair.replica.client() if step.get("on") == "replica" else None)
        elif kind == "change":
            self.apply_change(step["change"])
            self.after_change(step["change"])
        elif kind == "gated":
            self.gated(step)
        elif kind == "restart":
            expected = self.check_replica()
            self.restart_master(step["save"], expected, "its own files (SHUTDOWN %s)" %
                                ("SAVE" if step["save"] else "NOSAVE"))
            self.settle()
        elif kind == "failover":
            self.settle()
            self.apply_change(["FAILOVER"])
            self.settle()

    def run(self, steps=None, restarts=True):
        """`steps` given: those (in batches), else STEPS drawn ones; real restarts after the last
        batch unless told otherwise."""
        total = len(steps) if steps is not None else STEPS
        n = 0
        while n < total:
            self.restock()
            for _ in range(min(BATCH, total - n)):
                self.do(steps[n] if steps is not None else self.gen.step())
                n += 1
            self.end_batch(last=restarts and n >= total)


def describe(step):
    kind = step["kind"]
    tag = f" [{','.join(sorted(step['classes']))}]" if step["classes"] else ""
    if kind == "cmd":
        return f"cmd{' on the replica' if step.get('on') else ''} {show([_b(a) for a in step['cmd']], 120)}{tag}"
    if kind == "change":
        return f"change {step['change']}{tag}"
    if kind == "gated":
        return f"gated {show([_b(a) for a in step['cmd']], 120)} / change {step['change']}{tag}"
    return f"{kind} {step.get('save', '')}"


@pytest.fixture(scope="module")
def pair():
    p = Pair()
    try:
        yield p
    finally:
        p.close()


def test_stateful_sweep(pair):
    """Every model by every run form, every script output kind, every redis.execute family and
    every state change during a run, once each (in-process AOF and RDB reloads only)."""
    run = Run(pair, "sweep")
    run.run(run.gen.sweep(), restarts=False)


@pytest.mark.parametrize("seed", SEEDS)
def test_stateful_fuzz(pair, seed):
    """Steps drawn from the seed; real AOF and RDB restarts after the last batch."""
    Run(pair, seed).run()
