#!/usr/bin/env bash
# Sets everything up, then runs redis-server with the module on 127.0.0.1:6379 (foreground).
# Extra arguments go to the module as load-time arguments, e.g. THREADS_PER_QUEUE 4.
set -euo pipefail
cd "$(dirname "$0")/.."
bash opt/setup.sh
exec redis-server --bind 127.0.0.1 --port 6379 --loadmodule "$PWD/install/redisai.so" "$@"
