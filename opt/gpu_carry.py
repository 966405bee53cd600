"""What the offline GPU machine lacks (../shared/design/GPU.md), gathered here under build/gpu-carry/
for opt/gpu_check.sh to use there:

* bin/: Debian 12's redis-server, redis-cli and redis-benchmark (this machine's), and lib/: the two
  libraries that machine does not have (libjemalloc, liblzf);
* wheels/: the Python packages its interpreter lacks, at the versions requirements/ pins (redis-py
  and hiredis for the tests, Cython and setuptools for the build), fetched from PyPI for its Python.

    .venv/bin/python opt/gpu_carry.py [--python-version 3.12]

then, on the GPU machine: `bash opt/gpu_check.sh`, carrying build/gpu-carry and deps/redis
(redismodule.h). Well under the 64 MiB a carry may hold.
"""
import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CARRY = ROOT / "build" / "gpu-carry"
BINARIES = ("redis-server", "redis-cli", "redis-benchmark")
LIBRARIES = ("libjemalloc.so.2", "liblzf.so.1")
WHEELS = {"test.txt": ("redis", "hiredis"), "build.txt": ("Cython", "setuptools")}


def pinned(names, requirements):
    text = (ROOT / "requirements" / requirements).read_text()
    return [re.search(rf"^({name}==\S+)", text, re.M | re.I).group(1) for name in names]


def library_path(binary, name):
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    return re.search(rf"^\s*{re.escape(name)} => (\S+)", ldd, re.M).group(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--python-version", default="3.12", help="the GPU machine's Python (3.12 there)")
    args = parser.parse_args()
    shutil.rmtree(CARRY, ignore_errors=True)
    for sub in ("bin", "lib", "wheels"):
        (CARRY / sub).mkdir(parents=True)
    for name in BINARIES:
        shutil.copy(shutil.which(name), CARRY / "bin" / name)  # copy follows redis-server's link
    for name in LIBRARIES:
        shutil.copy(library_path(shutil.which("redis-server"), name), CARRY / "lib" / name)
    wheels = [pin for requirements, names in WHEELS.items() for pin in pinned(names, requirements)]
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "--python-version", args.python_version, "--implementation", "cp",
                    "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_17_x86_64",
                    "--platform", "manylinux_2_28_x86_64", "-d", str(CARRY / "wheels"), *wheels], check=True)
    size = sum(p.stat().st_size for p in CARRY.rglob("*") if p.is_file())
    print(f"{CARRY.relative_to(ROOT)}: {', '.join(wheels)}; {size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
