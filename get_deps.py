#!/usr/bin/env python3
"""Fetch everything the build and the tests need, from package registries only.

  python3 get_deps.py            system packages, redismodule.h, venv with build+runtime packages
  python3 get_deps.py --test     the same, plus the test packages, and build/venv-client (the
                                 client package's tests on today's redis-py)
  python3 get_deps.py --gpu      torch's and onnxruntime's CUDA builds in .venv (requirements/gpu.txt)

System packages come from Debian (apt-get); redismodule.h comes out of Debian's source package
of the installed redis-server, so the header always matches the server; Python packages are
pinned in requirements/*.txt and installed into .venv, the interpreter the module embeds.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEPS = ROOT / "deps"
VENV = ROOT / ".venv"
# The client (client/redisai_client) is also tested on today's redis-py; .venv keeps redis-py 4.6,
# which redisai-py pins.
CLIENT_VENV = ROOT / "build" / "venv-client"
HEADER = DEPS / "redis" / "redismodule.h"

# Debian packages: what each one is for.
APT_PACKAGES = {
    "redis-server": "the server the module loads into",
    "redis-tools": "redis-cli and redis-benchmark",
    "gcc": "compiles the C shim and the Cython output",
    "g++": "compiles the ONNX allocator (src/onnx_allocator.cpp: it refuses by throwing)",
    "python3-venv": "the embedded interpreter's virtual environment",
    "python3-dev": "Python.h and a shared libpython to link against",
    "make": "builds the newer servers the suite also runs on (opt/server_matrix.py, CI)",
}
DEBIAN_ARCHIVE_KEYRING = "debian-archive-keyring"


def log(msg):
    print(f"[get_deps] {msg}", flush=True)


def run(cmd, **kw):
    log(" ".join(str(c) for c in cmd))
    subprocess.run(cmd, check=True, **kw)


def dpkg_installed(pkg):
    out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                         capture_output=True, text=True)
    return out.returncode == 0 and "install ok installed" in out.stdout


def python_is_embeddable():
    """The running python3 can be embedded: it has a shared libpython and venv."""
    import sysconfig
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    ldlib = sysconfig.get_config_var("LDLIBRARY") or ""
    include = sysconfig.get_paths()["include"]
    try:
        import ensurepip  # noqa: F401  (Debian splits it into python3-venv)
        has_venv = True
    except ImportError:
        has_venv = False
    return (has_venv and ldlib.endswith(".so") and (Path(libdir) / ldlib).exists()
            and (Path(include) / "Python.h").exists())


def install_system_packages():
    wanted = [p for p in APT_PACKAGES if not dpkg_installed(p)]
    # A python3 outside Debian's (pyenv, a custom build) needs no python3-* packages if it is
    # already embeddable; Debian's own python3 does.
    if python_is_embeddable():
        wanted = [p for p in wanted if not p.startswith("python3-")]
    if not wanted:
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update"], env=env)
    run(["apt-get", "install", "-y", "--no-install-recommends", *wanted], env=env)


def debian_archive_lines():
    """deb-src lines for the Debian archives this machine already uses (deb822 and one-line)."""
    lines = []
    srcdir = Path("/etc/apt")
    for f in [srcdir / "sources.list", *sorted((srcdir / "sources.list.d").glob("*.list"))]:
        if not f.exists():
            continue
        for line in f.read_text().splitlines():
            parts = line.split("#", 1)[0].split()
            if parts and parts[0] == "deb" and "debian" in line and "[" not in parts[1]:
                lines.append("deb-src " + " ".join(parts[1:]))
    for f in sorted((srcdir / "sources.list.d").glob("*.sources")):
        for stanza in f.read_text().split("\n\n"):
            fields = {}
            for line in stanza.splitlines():
                if ":" in line and not line.startswith(("#", " ")):
                    k, v = line.split(":", 1)
                    fields[k.strip()] = v.strip()
            if "deb" not in fields.get("Types", "").split():
                continue
            if DEBIAN_ARCHIVE_KEYRING not in fields.get("Signed-By", DEBIAN_ARCHIVE_KEYRING):
                continue
            for uri in fields.get("URIs", "").split():
                for suite in fields.get("Suites", "").split():
                    lines.append(f"deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
                                 f"{uri} {suite} {fields.get('Components', 'main')}")
    return lines


def installed_redis_version():
    out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "redis-server"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def private_apt(lines, work):
    """apt-get options for a private state in `work` knowing only `lines` (deb-src lines), after
    an update: this machine's apt configuration is left alone."""
    tmp = work / "apt"
    (tmp / "lists" / "partial").mkdir(parents=True)
    (tmp / "cache" / "archives" / "partial").mkdir(parents=True)
    (tmp / "sources.list").write_text("\n".join(lines) + "\n")
    opts = ["-o", f"Dir::Etc::sourcelist={tmp / 'sources.list'}",
            "-o", "Dir::Etc::sourceparts=-",
            "-o", f"Dir::State::Lists={tmp / 'lists'}",
            "-o", f"Dir::Cache={tmp / 'cache'}"]
    run(["apt-get", *opts, "update"])
    return opts


def download_source(lines, specs, work):
    """Download a Debian source package into `work`: `specs` are the package names to try in
    order (`name=version` or `name`). Returns its orig tarball."""
    opts = private_apt(lines, work)
    for k, spec in enumerate(specs):
        try:
            run(["apt-get", *opts, "source", "--download-only", spec], cwd=work)
            break
        except subprocess.CalledProcessError:
            if k == len(specs) - 1:
                raise
    name = specs[0].split("=")[0]
    tarballs = sorted(work.glob(f"{name}_*.orig.tar.*"))
    if not tarballs:
        sys.exit(f"get_deps: the {name} source package has no orig tarball")
    return tarballs[0]


def download_orig_tarball(lines, package, work):
    """Only the orig tarball of the newest `package` in the archive of `lines` (its Debian
    packaging may not be fetchable), checked against the archive's SHA-256. Returns its path."""
    import hashlib
    import urllib.request
    private_apt(lines, work)
    best = None
    for index in (work / "apt" / "lists").glob("*_Sources*"):
        text = subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", str(index)], capture_output=True,
                              check=True).stdout.decode(errors="replace")  # apt keeps it compressed
        for stanza in text.split("\n\n"):
            fields, key = {}, None
            for line in stanza.splitlines():
                if line.startswith(" ") and key:
                    fields[key] += "\n" + line.strip()
                elif ":" in line:
                    key, value = line.split(":", 1)
                    fields[key] = value.strip()
            if fields.get("Package") != package:
                continue
            version = fields["Version"]
            if best is None or subprocess.run(["dpkg", "--compare-versions", version, "gt", best[0]]).returncode == 0:
                best = (version, fields)
    if best is None:
        sys.exit(f"get_deps: no source package {package} in {lines}")
    version, fields = best
    for entry in fields["Checksums-Sha256"].split("\n")[1:]:
        digest, _size, name = entry.split()
        if ".orig.tar." in name:
            uri = lines[0].split("] ")[-1].split()[0] if "]" in lines[0] else lines[0].split()[1]
            url = f"{uri}/{fields['Directory']}/{name}"
            log(f"{url}")
            data = urllib.request.urlopen(url, timeout=300).read()
            if hashlib.sha256(data).hexdigest() != digest:
                sys.exit(f"get_deps: {name}: SHA-256 does not match the archive's")
            (work / name).write_bytes(data)
            return work / name
    sys.exit(f"get_deps: {package} {version} has no orig tarball")


def fetch_redismodule_header():
    version = installed_redis_version()
    stamp = HEADER.with_suffix(".version")
    if HEADER.exists() and stamp.exists() and stamp.read_text() == version:
        return
    lines = debian_archive_lines()
    if not lines:
        sys.exit("get_deps: no Debian archive found in /etc/apt to fetch the redis source from")
    with tempfile.TemporaryDirectory(prefix="rai-apt-") as tmp:
        tarball = download_source(lines, [f"redis={version}", "redis"], Path(tmp))
        with tarfile.open(tarball) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("src/redismodule.h"))
            data = tar.extractfile(member).read()
    HEADER.parent.mkdir(parents=True, exist_ok=True)
    HEADER.write_bytes(data)
    stamp.write_text(version)
    log(f"redismodule.h from redis {version} -> {HEADER.relative_to(ROOT)}")


def ensure_venv(venv, requirement_files):
    """`venv` with exactly these pinned packages (re-installed when the files change)."""
    py = venv / "bin" / "python"
    if not py.exists():
        run([sys.executable, "-m", "venv", str(venv)])
    stamp = venv / ".requirements"
    wanted = "".join((ROOT / "requirements" / r).read_text() for r in requirement_files)
    if stamp.exists() and stamp.read_text() == wanted:
        return
    args = [str(py), "-m", "pip", "install", "--quiet"]
    for r in requirement_files:
        args += ["-r", str(ROOT / "requirements" / r)]
    run(args)
    stamp.write_text(wanted)


# What proves a CUDA build: torch compiled for CUDA, onnxruntime with its CUDA provider (both
# answer on a machine without a GPU too).
GPU_BUILD_CHECK = """
import onnxruntime, torch
assert torch.version.cuda, f"torch {torch.__version__} is a CPU build"
assert "CUDAExecutionProvider" in onnxruntime.get_available_providers(), \\
    f"onnxruntime {onnxruntime.__version__} has no CUDA provider"
print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), onnxruntime {onnxruntime.__version__}")
"""


def ensure_gpu_builds(venv):
    """Replace the CPU builds of torch and onnxruntime in `venv` by requirements/gpu.txt, asking
    PyPI itself (a configured mirror may serve CPU wheels under the same version), then check them."""
    py = str(venv / "bin" / "python")
    stamp = venv / ".gpu-requirements"
    wanted = (ROOT / "requirements" / "gpu.txt").read_text()
    if not (stamp.exists() and stamp.read_text() == wanted):
        run([py, "-m", "pip", "uninstall", "--yes", "--quiet", "torch", "onnxruntime", "onnxruntime-gpu"])
        run([py, "-m", "pip", "install", "--quiet", "--index-url", "https://pypi.org/simple",
             "-r", str(ROOT / "requirements" / "gpu.txt")], env=dict(os.environ, PIP_CONFIG_FILE=os.devnull))
    if subprocess.run([py, "-c", GPU_BUILD_CHECK]).returncode != 0:
        stamp.unlink(missing_ok=True)
        sys.exit("get_deps: the GPU builds did not install (see above); remove .venv to go back to the CPU builds")
    stamp.write_text(wanted)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--test", action="store_true", help="also install the test packages")
    ap.add_argument("--gpu", action="store_true", help="torch's and onnxruntime's CUDA builds")
    args = ap.parse_args()
    if os.geteuid() == 0 and shutil.which("apt-get"):
        install_system_packages()
    else:
        log("not root or no apt-get: assuming the system packages are present")
    fetch_redismodule_header()
    ensure_venv(VENV, ["build.txt", "runtime.txt"] + (["test.txt"] if args.test else []))
    if args.gpu:
        ensure_gpu_builds(VENV)
    if args.test:
        ensure_venv(CLIENT_VENV, ["client-test.txt"])


if __name__ == "__main__":
    main()
