#!/usr/bin/env bash
# Sets everything up (test packages included), then runs the whole test suite.
# Extra arguments go to pytest, e.g. -k tensorset.
set -euo pipefail
cd "$(dirname "$0")/.."
bash opt/setup.sh --test
exec .venv/bin/python -m pytest tests "$@"
