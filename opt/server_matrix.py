"""Run the suite against another Redis or Valkey server, built from Debian's source package.

No Debian suite carries Redis 7.2 or 7.4; Debian's source packages carry Redis 8.0.x (trixie,
forky, sid), 8.6.x (experimental), Valkey 8.1.1 (trixie) and 9.1.x (forky, sid). This fetches the
chosen one's orig tarball with a private apt state (get_deps.py's way: nothing but Debian's
archive, this machine's apt configuration untouched), builds it with
`make -j<cores> BUILD_TLS=no USE_SYSTEMD=no` into build/servers/<package>-<version>/ (once; about
2 to 3 minutes on 2 cores), then runs pytest with RAI_REDIS_SERVER set to that binary. The
module itself is the one `bash opt/setup.sh` built (install/redisai.so), against Redis 7.0's
redismodule.h: newer servers keep that API.

    .venv/bin/python opt/server_matrix.py redis trixie            # Redis 8.0.x
    .venv/bin/python opt/server_matrix.py valkey sid              # Valkey 9.1.x
    .venv/bin/python opt/server_matrix.py valkey trixie --build-only
    .venv/bin/python opt/server_matrix.py redis experimental -- tests/test_acl.py -x

Exit status: pytest's (or 1 if the fetch or the build failed).
"""
import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from get_deps import download_orig_tarball, log  # noqa: E402  (the project's one way to fetch sources)

SERVERS = ROOT / "build" / "servers"
ARCHIVE = "http://deb.debian.org/debian"
SUITES = ("bookworm", "trixie", "forky", "sid", "experimental")
BINARY = {"redis": "redis-server", "valkey": "valkey-server"}


def build_server(package, suite):
    """The server binary of `package` in Debian `suite`, fetched and built once."""
    line = f"deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] {ARCHIVE} {suite} main"
    with tempfile.TemporaryDirectory(prefix="rai-server-") as tmp:
        tarball = download_orig_tarball([line], package, Path(tmp))
        version = tarball.name.split("_")[1].split(".orig")[0]
        target = SERVERS / f"{package}-{version}"
        binary = target / "src" / BINARY[package]
        if binary.exists():
            log(f"{package} {version} already built: {binary}")
            return binary
        SERVERS.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarball) as tar:
            top = tar.getnames()[0].split("/")[0]
            tar.extractall(SERVERS, filter="data")
        (SERVERS / top).rename(target)
    jobs = str(len(os.sched_getaffinity(0)))
    subprocess.run(["make", f"-j{jobs}", "BUILD_TLS=no", "USE_SYSTEMD=no"], cwd=target, check=True,
                   stdout=subprocess.DEVNULL)
    log(f"built {package} {version}: {binary}")
    return binary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("package", choices=sorted(BINARY))
    parser.add_argument("suite", choices=SUITES)
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("pytest_args", nargs="*", help="after --: what pytest gets (default: tests/)")
    args = parser.parse_args()
    try:
        binary = build_server(args.package, args.suite)
    except (subprocess.CalledProcessError, OSError) as e:
        print(f"server_matrix: {e}", file=sys.stderr)
        return 1
    print(subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout.strip())
    if args.build_only:
        return 0
    env = {**os.environ, "RAI_REDIS_SERVER": str(binary)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *(args.pytest_args or ["tests/"])]
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
