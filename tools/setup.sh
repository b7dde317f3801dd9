#!/usr/bin/env bash
# Idempotent set-up of a fresh machine (Debian/Ubuntu, Python >= 3.11): the system libraries FFCV
# compiles against, a virtualenv, and the pinned packages of requirements.lock. Re-running it does
# nothing unless the pins changed. Usage: tools/setup.sh [VENV_DIR]   (default .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
PYTHON=${PYTHON:-python3}

say() { printf '[setup] %s\n' "$*" >&2; }

# 1. System libraries for FFCV's C extension (OpenCV, libjpeg-turbo, pkg-config).
if ! pkg-config --exists opencv4 libturbojpeg 2>/dev/null; then
  say "installing libopencv-dev libturbojpeg0-dev pkg-config (apt)"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { say "need root (or sudo) to apt-get install the FFCV libraries"; exit 1; }
    SUDO=sudo
  fi
  $SUDO apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    libopencv-dev libturbojpeg0-dev pkg-config >&2
fi

# 2. Python >= 3.11 and a virtualenv.
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { say "need Python >= 3.11 (set PYTHON=/path/to/python3.11)"; exit 1; }
[ -x "$VENV/bin/python" ] || { say "creating $VENV"; "$PYTHON" -m venv "$VENV"; }

# 3. Pinned packages, only when the pins changed since the last set-up.
want=$(cat requirements.lock requirements-oracle.txt requirements-data.txt pyproject.toml | sha256sum | cut -d' ' -f1)
stamp="$VENV/.jessl-setup"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing requirements.lock into $VENV (first time: a few minutes)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements.lock
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -r requirements-oracle.txt \
    -r requirements-data.txt
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
  echo "$want" > "$stamp"
fi
say "ready: $VENV (activate with: source $VENV/bin/activate)"
