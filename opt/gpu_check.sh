#!/usr/bin/env bash
# The GPU check, for a GPU machine without network (../shared/design/GPU.md), given build/gpu-carry
# (opt/gpu_carry.py) and deps/redis: build the module against that machine's Python, whose torch is
# a CUDA build, run the GPU tests (TORCH, scripts and, with onnxruntime's GPU package, ONNX on
# GPU) and the smoke tests, then the worker-scaling benchmark, which adds GPU:0 rows when torch sees
# a device. Everything it reports lands in $OUT (default build/gpu-check).
#   GPU_PYTHON   the interpreter (default /opt/torch/.venv/bin/python3)
#   GPU_BENCH=0  skip the benchmark
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${GPU_PYTHON:-/opt/torch/.venv/bin/python3}
CARRY=$PWD/build/gpu-carry
OUT=${OUT:-$PWD/build/gpu-check}
mkdir -p "$OUT"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# the carried wheels beside the interpreter's own packages, the carried servers through wrappers
# that give them (and only them) their libraries
"$PY" -m pip install --quiet --no-index --no-deps --target "$work/site" "$CARRY"/wheels/*.whl
export PYTHONPATH=$work/site
mkdir "$work/bin"
for b in redis-server redis-cli redis-benchmark; do
    printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' "$CARRY/lib" "$CARRY/bin/$b" >"$work/bin/$b"
    chmod +x "$work/bin/$b"
done
export PATH=$work/bin:$PATH RAI_REDIS_SERVER=$work/bin/redis-server

{
    nvidia-smi -L 2>/dev/null || echo "nvidia-smi: not there"
    "$PY" -c 'import onnxruntime, torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
               "| onnxruntime", onnxruntime.__version__, onnxruntime.get_available_providers())'
    redis-server --version
} 2>&1 | tee "$OUT/diagnostics.txt"
"$PY" setup.py build_ext >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
"$PY" -m pytest -q -p no:cacheprovider -rs tests/test_gpu.py tests/test_smoke.py 2>&1 | tee "$OUT/tests.txt"
status=${PIPESTATUS[0]}
if [ "${GPU_BENCH:-1}" = "1" ]; then
    "$PY" opt/bench_scaling.py --quick --json "$OUT/scaling.json" 2>&1 | tee "$OUT/scaling.txt"
fi
exit "$status"
