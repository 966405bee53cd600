"""Real redis-server processes with the module, on free loopback ports, in temp dirs.

Every server started here is stopped by its owner (fixtures use it as a context manager), so a
test run never leaves a process behind.
"""
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "install" / "redisai.so"
# RAI_REDIS_SERVER: another server binary to run the suite against (opt/ builds Redis and Valkey).
REDIS_SERVER = os.environ.get("RAI_REDIS_SERVER") or shutil.which("redis-server") or "/usr/bin/redis-server"
# Redis's jemalloc fills freed (and new) memory with junk bytes: a read after free then sees garbage
# and fails loudly instead of passing on stale data.
SERVER_ENV = {**os.environ, "MALLOC_CONF": "junk:true"}


def free_port():
    """A port nobody listens on now (never 6379: the kernel picks from the ephemeral range)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """One redis-server with the module loaded.

    `config` holds extra server directives (name -> value); `module_args` the load-time arguments.
    The data directory survives stop()/start(), so restarts see the same RDB/AOF files.
    """

    def __init__(self, config=None, module_args=("DEBUG_COMMAND", "yes"), dir=None, load_module=True):
        self.config = dict(config or {})
        self.module_args = list(module_args)
        self.load_module = load_module
        self._own_dir = dir is None
        self.dir = Path(dir or tempfile.mkdtemp(prefix="rai-test-"))
        self.port = None
        self.proc = None

    @property
    def logfile(self):
        return self.dir / "redis.log"

    def command_line(self):
        args = [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.dir),
                "--logfile", str(self.logfile), "--save", "", "--appendonly", "no",
                # A test that reads the AOF right after a reply finds the command there: with
                # everysec, Redis postpones the write while a slow background fsync runs.
                "--appendfsync", "always",
                "--enable-debug-command", "yes", "--daemonize", "no"]
        if self.load_module:
            args += ["--loadmodule", str(MODULE), *map(str, self.module_args)]
        for name, value in self.config.items():
            args += [f"--{name}", *str(value).split(" ")] if value != "" else [f"--{name}", ""]
        return args

    def start(self, timeout=60, attempts=5):
        """Start on fresh free ports. Another process may take a port between our pick and the
        bind (another suite on the machine): then redis-server exits with "Address already in use",
        or a stranger answers our PING; either way we pick again."""
        for _ in range(attempts):
            self._pick_ports()
            log_from = len(self.log())
            self.proc = subprocess.Popen(self.command_line(), stdout=subprocess.DEVNULL, env=SERVER_ENV,
                                         stderr=subprocess.STDOUT, cwd=self.dir)
            outcome = self._wait_ready(timeout)
            if outcome == "ready":
                return self
            self.kill()
            if outcome == "exited" and "Address already in use" not in self.log()[log_from:]:
                raise RuntimeError(f"redis-server did not start:\n{self.log()}")
        raise RuntimeError(f"no free ports after {attempts} attempts:\n{self.log()}")

    def _pick_ports(self):
        self.port = free_port()
        if self.config.get("cluster-enabled") == "yes":
            # The bus port (port + 10000 by default) may not exist for an ephemeral port, or be taken.
            self.config["cluster-port"] = next(p for p in iter(free_port, None) if p != self.port)

    def _wait_ready(self, timeout):
        """"ready" once our process (not a stranger on the port) answers and has loaded its data,
        "exited" or "stranger" (another process answers on the port) otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return "exited"
            try:
                if self.client().info("server")["process_id"] != self.proc.pid:
                    return "stranger"
                # The server may still be loading its dataset.
                if self.client().info("persistence").get("loading", 0) == 0:
                    return "ready"
            except (redis.ConnectionError, redis.BusyLoadingError):
                pass
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"redis-server did not start in {timeout}s:\n{self.log()}")

    def client(self, **kw):
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=60, **kw)

    def log(self):
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, save=False):
        """SHUTDOWN (NOSAVE unless save); kill if it does not go."""
        if not self.alive():
            return
        try:
            self.client().shutdown(save=save, nosave=not save)
        except (redis.ConnectionError, redis.ResponseError):
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self):
        """SIGKILL: what a crash or an OOM kill looks like."""
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def restart(self, **kw):
        self.stop(**kw)
        return self.start()

    def cleanup(self):
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()


@contextlib.contextmanager
def running_server(config=None, configure=None, **kw):
    """A started RedisServer that must still be alive at the end; always cleaned up.
    `configure(server)` runs before the start, for settings that need its dir or port."""
    s = RedisServer(config=config, **kw)
    if configure:
        configure(s)
    try:
        s.start()
        yield s
        assert s.alive(), "redis-server died:\n" + s.log()
    finally:
        s.cleanup()


# What a wait may take on a loaded machine (CI beside another CPU-heavy job): a wait's timeout is
# only a bound for a test that is failing anyway, so none is shorter than this.
MIN_WAIT_SECONDS = 60


def wait_for(predicate, timeout=30, interval=0.05, what="condition"):
    deadline = time.monotonic() + max(timeout, MIN_WAIT_SECONDS)
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


# Persistence jobs, waited for by Redis's own counters: rdb_saves and aof_rewrites count started
# jobs; the in-progress flags drop once the parent has reaped the child.
def wait_bgsave(r, saves_before, timeout=30):
    def done():
        info = r.info("persistence")
        return info["rdb_saves"] > saves_before and info["rdb_bgsave_in_progress"] == 0
    wait_for(done, timeout, what="BGSAVE to finish")
    assert r.info("persistence")["rdb_last_bgsave_status"] == "ok"


def wait_aof_rewrite(r, rewrites_before, timeout=30):
    def done():
        info = r.info("persistence")
        return (info["aof_rewrites"] > rewrites_before and info["aof_rewrite_in_progress"] == 0
                and info["aof_rewrite_scheduled"] == 0)
    wait_for(done, timeout, what="BGREWRITEAOF to finish")
    assert r.info("persistence")["aof_last_bgrewrite_status"] == "ok"


def wait_startup_aof(r, timeout=30):
    wait_for(lambda: r.info("persistence")["aof_rewrite_in_progress"] == 0
             and r.info("persistence")["aof_rewrite_scheduled"] == 0, timeout, what="startup AOF")
