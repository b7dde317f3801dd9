#!/usr/bin/env bash
# Build the jessl image (Dockerfile), run the embedded pipeline inside it (its default command,
# `snakemake --cores all`, with no network), and check that the container's results/table1.csv is
# byte-identical to the host's (`make table`). Prints the build and run times and the image size.
#
# BUILD_ONLY=1 stops after the build (to spare the CPU the pipeline run): it prints the build time and
# the image size, then smoke-checks the image offline (`--network none`): the key imports and their
# versions, and `jessl check params.yaml` inside the container.
#
# Usage: tools/container.sh            BUILD_ONLY=1 tools/container.sh
# Env:   ENGINE=podman|docker   default: podman if installed, else docker (podman is apt-installed if
#                               neither is there and we are root)
#        IMAGE=localhost/jessl:latest
#        BASE=IMAGE             what the Dockerfile builds FROM. Default: a local Debian bookworm base
#                               (localhost/jessl-base:bookworm) if built before, else the registry's
#                               debian:bookworm-slim if it can be pulled, else one made here with
#                               debootstrap (minbase) and `import`ed — for machines with no registry.
#        DEBIAN_MIRROR=URL      for debootstrap (default http://deb.debian.org/debian)
#        HOST_REFRESH=1         run `make table` on the host even if results/table1.csv exists
#        OUT=DIR                where the container's results/, logs/ and run.log are copied
#                               (default: ${TMPDIR:-/tmp}/jessl-container-out)
#        KEEP=1                 keep the container after the run
#        BUILD_ONLY=1           build + smoke check only; no host `make table`, no pipeline run
# podman only: the host's pip set-up reaches the build — its extra indexes / find-links / constraints
# (where they are local paths that exist, mounted read-only at the same place), its extra CA bundle
# (mounted where Debian's update-ca-certificates merges it into the image's bundle) and its cache (so
# rebuilds reuse downloads and the built FFCV wheel). None of it is needed: without it pip uses PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
IMAGE=${IMAGE:-localhost/jessl:latest}
BASE_LOCAL=localhost/jessl-base:bookworm
BASE_REMOTE=docker.io/library/debian:bookworm-slim
PROJECT_IN_IMAGE=/home/jessl/jessl

say() { printf '[container] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

apt_install() {
  [ "$(id -u)" -eq 0 ] || die "need $* (apt-get install -y $*) — run as root or install them first"
  say "installing $* (apt)"
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2
}

# --- 1. Engine --------------------------------------------------------------------------------------
if [ -z "${ENGINE:-}" ]; then
  if command -v podman >/dev/null; then ENGINE=podman
  elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then ENGINE=docker
  else apt_install podman runc; ENGINE=podman
  fi
fi
ENG=("$ENGINE")
RUN_OPTS=()  # options for both `build` and `run`
if [ "$ENGINE" = podman ]; then
  # crun (podman's default) fails on some hosts' cgroups/rlimits; runc works where it is installed.
  if command -v runc >/dev/null; then ENG+=(--runtime runc)
  elif [ "$(id -u)" -eq 0 ]; then apt_install runc; ENG+=(--runtime runc)
  fi
fi
# Explicit rlimits: the engine's defaults can exceed what this host lets a process raise to.
nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] && nofile=1048576
RUN_OPTS+=(--ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:4096)
image_exists() { "${ENG[@]}" image inspect "$1" >/dev/null 2>&1; }

# --- 2. Base image ----------------------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/jessl-container.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
if [ -z "${BASE:-}" ]; then
  if image_exists "$BASE_LOCAL"; then
    BASE=$BASE_LOCAL; say "base: $BASE (built earlier)"
  elif timeout 90 "${ENG[@]}" pull -q "$BASE_REMOTE" >/dev/null 2>&1; then
    BASE=$BASE_REMOTE; say "base: $BASE (pulled)"
  else
    say "base: no registry reachable — building $BASE_LOCAL with debootstrap"
    command -v debootstrap >/dev/null || apt_install debootstrap
    [ "$(id -u)" -eq 0 ] || die "debootstrap needs root (or pass BASE=an image you have)"
    t0=$(now)
    debootstrap --variant=minbase bookworm "$TMP/rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
      > "$TMP/debootstrap.log" 2>&1 || { tail -20 "$TMP/debootstrap.log" >&2; die "debootstrap failed"; }
    rm -rf "$TMP/rootfs/var/cache/apt/archives/"*.deb "$TMP/rootfs/var/lib/apt/lists/"*
    tar -C "$TMP/rootfs" -c . | "${ENG[@]}" import - "$BASE_LOCAL" >/dev/null
    rm -rf "$TMP/rootfs"
    say "debootstrap + import: $(secs "$t0" "$(now)") s"
    BASE=$BASE_LOCAL
  fi
fi

# --- 3. The host's pip set-up, for the build (podman: build-time volumes; docker has none) ----------
BUILD_OPTS=(--network host --build-arg "BASE=$BASE")
if [ "$ENGINE" = podman ]; then
  HOST_PY=$ROOT/.venv/bin/python; [ -x "$HOST_PY" ] || HOST_PY=python3
  if "$HOST_PY" -m pip --version >/dev/null 2>&1; then
    # Writes $TMP/pip.conf and prints one `-v` argument per line.
    mapfile -t mounts < <("$HOST_PY" - "$TMP/pip.conf" <<'PY'
import os, subprocess, sys
from urllib.parse import urlparse

out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
files, env = {}, {}
for line in out.splitlines():
    key, _, value = line.partition("=")
    section, _, name = key.rpartition(".")
    (env if section == ":env:" else files)[name] = value.strip().strip("'\"")
cfg = {**files, **env}  # PIP_* variables win over config files, as in pip
mounts, conf = set(), {}

def local(path):  # a local path or file:// URL that exists → mount it at the same place
    p = (urlparse(path).path if path.startswith("file:") else path).rstrip("/")
    if not (os.path.isabs(p) and os.path.exists(p)):
        return False
    if os.path.basename(p) == "simple":  # a PEP 503 tree: its pages link to ../../files/… beside it
        p = os.path.dirname(p)
    mounts.add(f"{os.path.realpath(p)}:{p}:ro")
    return True

for name in ("index-url", "extra-index-url", "find-links"):
    keep = [v for v in cfg.get(name, "").split() if v.startswith(("http://", "https://")) or local(v)]
    if keep:
        conf[name] = " ".join(keep)
for name in ("constraint",):
    keep = [v for v in cfg.get(name, "").split() if local(v)]
    if keep:
        conf[name] = " ".join(keep)
for name in ("trusted-host", "timeout", "default-timeout", "retries"):
    if cfg.get(name):
        conf[name] = cfg[name]
cert = cfg.get("cert")
if cert and os.path.isfile(cert):
    # Not over the image's own bundle (the ca-certificates package rewrites that): beside it, where
    # update-ca-certificates merges extra CAs into /etc/ssl/certs/ca-certificates.crt.
    mounts.add(f"{os.path.realpath(cert)}:/usr/local/share/ca-certificates/jessl-host-pip.crt:ro")
    conf["cert"] = "/etc/ssl/certs/ca-certificates.crt"
if conf:
    with open(sys.argv[1], "w") as f:
        f.write("[global]\n" + "".join(f"{k} = {v}\n" for k, v in sorted(conf.items())))
    mounts.add(f"{sys.argv[1]}:/etc/pip.conf:ro")
print("\n".join(sorted(mounts)))
PY
    )
    for m in "${mounts[@]}"; do [ -n "$m" ] && BUILD_OPTS+=(-v "$m"); done
    [ -f "$TMP/pip.conf" ] && { say "host pip config for the build:"; sed 's/^/    /' "$TMP/pip.conf" >&2; }
    cache=$("$HOST_PY" -m pip cache dir 2>/dev/null || true)
    if [ -n "$cache" ] && mkdir -p "$cache" 2>/dev/null; then
      BUILD_OPTS+=(-v "$cache:/var/cache/jessl-pip" --build-arg PIP_CACHE_DIR=/var/cache/jessl-pip)
      say "pip cache: $cache"
    fi
  fi
fi

# What decides the table: hashed at build time and again before the comparison.
src_hash() { find Snakefile params.yaml pyproject.toml requirements.lock src workflow config -type f \
               ! -path '*/__pycache__/*' -print0 2>/dev/null | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16; }
SRC_AT_BUILD=$(src_hash)

# --- 4. Build ---------------------------------------------------------------------------------------
say "building $IMAGE (FROM $BASE) with $ENGINE"
t0=$(now)
"${ENG[@]}" build "${BUILD_OPTS[@]}" "${RUN_OPTS[@]}" -t "$IMAGE" . >&2
BUILD_S=$(secs "$t0" "$(now)")
SIZE=$("${ENG[@]}" image inspect --format '{{.Size}}' "$IMAGE")
say "build: $BUILD_S s; image size: $(awk -v s="$SIZE" 'BEGIN { printf "%.2f GB", s / 1e9 }')"

# --- 4b. BUILD_ONLY: a smoke check of the image, offline, instead of the pipeline run ---------------
if [ "${BUILD_ONLY:-0}" = 1 ]; then
  say "smoke check in $IMAGE (no network)"
  smoke=(run --rm --network none "${RUN_OPTS[@]}" "$IMAGE")
  "${ENG[@]}" "${smoke[@]}" python -c 'import sys, torch, torchvision, ffcv, jessl
from importlib.metadata import version as v
print("python", sys.version.split()[0], "torch", torch.__version__, "torchvision", torchvision.__version__,
      "ffcv", v("ffcv"), "jessl", v("jessl"), "cuda build", torch.version.cuda)' \
    || die "smoke check failed: the image's imports"
  "${ENG[@]}" "${smoke[@]}" jessl check params.yaml || die "smoke check failed: jessl check params.yaml"
  printf 'base=%s\nbuild_s=%s\nimage_bytes=%s\n' "$BASE" "$BUILD_S" "$SIZE"
  say "OK: built and smoke-checked (BUILD_ONLY=1: the pipeline was not run)"
  exit 0
fi

# --- 5. The host's table, from the same sources --------------------------------------------------
# `make table` when results/table1.csv is missing, when the host's outputs are stale (snakemake -n has
# jobs to run: comparing against an old table would prove nothing), or with HOST_REFRESH=1.
host_py() { PATH=$ROOT/.venv/bin:$PATH "$@"; }
dry=$(host_py snakemake -n 2>&1 || true)
if [ ! -f results/table1.csv ] || [ "${HOST_REFRESH:-0}" = 1 ] || ! grep -q 'Nothing to be done' <<<"$dry"; then
  say "host: make table"
  t0=$(now); make table >&2; say "host make table: $(secs "$t0" "$(now)") s"
fi
[ "$(src_hash)" = "$SRC_AT_BUILD" ] \
  || say "WARNING: the sources changed since the image was built; a difference below may be that"

# --- 6. Run the pipeline in the container (offline), copy its results out -------------------------
OUT=${OUT:-${TMPDIR:-/tmp}/jessl-container-out}; rm -rf "$OUT/results" "$OUT/logs"; mkdir -p "$OUT"
name=jessl-check-$$
say "running the pipeline in $IMAGE (no network)"
t0=$(now)
rc=0
"${ENG[@]}" run --name "$name" --network none "${RUN_OPTS[@]}" "$IMAGE" >"$OUT/run.log" 2>&1 || rc=$?
RUN_S=$(secs "$t0" "$(now)")
"${ENG[@]}" cp "$name:$PROJECT_IN_IMAGE/results" "$OUT/" 2>/dev/null || true
"${ENG[@]}" cp "$name:$PROJECT_IN_IMAGE/logs" "$OUT/" 2>/dev/null || true
[ "${KEEP:-0}" = 1 ] || "${ENG[@]}" rm -f "$name" >/dev/null
[ "$rc" -eq 0 ] || { tail -40 "$OUT/run.log" >&2; die "pipeline failed in the container (rc=$rc)"; }
say "run: $RUN_S s"

# --- 7. Same table? ---------------------------------------------------------------------------------
printf 'base=%s\nbuild_s=%s\nrun_s=%s\nimage_bytes=%s\nout=%s\n' "$BASE" "$BUILD_S" "$RUN_S" "$SIZE" "$OUT"
if cmp results/table1.csv "$OUT/results/table1.csv"; then
  say "OK: the container's results/table1.csv equals the host's"
else
  diff -u results/table1.csv "$OUT/results/table1.csv" >&2 || true
  die "the container's results/table1.csv differs from the host's"
fi
