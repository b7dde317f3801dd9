#!/usr/bin/env bash
# The prepared device check (bench/gpu_check.py): prints one JSON line. ≤ 5 min on one H200; --dry: CPU, seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" bench/gpu_check.py "$@"
