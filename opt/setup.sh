#!/usr/bin/env bash
# Everything before the module can run: Debian packages, redismodule.h, the virtual environment,
# and the build of install/redisai.so. Idempotent; `--test` also installs the test packages.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v python3 >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || { echo "python3 is missing; run as root to install it" >&2; exit 1; }
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3
fi
python3 get_deps.py "$@"
.venv/bin/python setup.py build_ext >build-module.log 2>&1 || { cat build-module.log >&2; exit 1; }
rm -f build-module.log
echo "built install/redisai.so"
