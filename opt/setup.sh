#!/usr/bin/env bash
# Everything before the module can run: Debian packages, redismodule.h, the virtual environment,
# and the build of install/redisai.so. Idempotent; `--test` also installs the test packages.
# GPU=1 puts torch's and onnxruntime's CUDA builds in the venv (get_deps.py --gpu) and rebuilds
# against them: `GPU=1 bash opt/start.sh`, `GPU=1 bash opt/test.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v python3 >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || { echo "python3 is missing; run as root to install it" >&2; exit 1; }
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3
fi
build_args=()
if [ "${GPU:-0}" = "1" ]; then
    set -- "$@" --gpu
    build_args=(--force)  # torch's native runner is compiled against the torch now installed
fi
python3 get_deps.py "$@"
.venv/bin/python setup.py build_ext "${build_args[@]}" >build-module.log 2>&1 || { cat build-module.log >&2; exit 1; }
rm -f build-module.log
echo "built install/redisai.so"
