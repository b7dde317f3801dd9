# jessl in a container: Debian bookworm (its python3 is 3.11), the system libraries FFCV compiles
# against, and the project installed by tools/setup.sh — the README's one install path — from the same
# pinned files (requirements.lock; requirements-oracle.txt and requirements-data.txt with --no-deps;
# then `-e .`). Runs as a non-root user; the default command builds results/table1.csv and the figures (`snakemake --cores all`).
#
# Build:   docker build -t jessl .        (or: podman build -t jessl .)
#          tools/container.sh builds it where no registry is reachable (a debootstrapped base passed as
#          --build-arg BASE=…, the host's pip config/cache mounted) and checks the result against the host.
# Run:     docker run --name jessl-run jessl  &&  docker cp jessl-run:/home/jessl/jessl/results .
#          docker run --rm jessl make test        any other command: snakemake -n, jessl audit …, bash
# GPUs:    the torch wheel from PyPI carries its CUDA runtime, so the host needs only the NVIDIA driver
#          (plus the container toolkit):  docker run --gpus all jessl
#          podman run --device nvidia.com/gpu=all jessl   (CDI spec: nvidia-ctk cdi generate)
#          and set pretrain.gpus in params.yaml (or use a config/ profile) to train on them.
ARG BASE=docker.io/library/debian:bookworm-slim
FROM ${BASE}

ENV DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Python 3.11 + a compiler for FFCV's C extension + the libraries it links (OpenCV, libjpeg-turbo).
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      python3 python3-dev python3-venv build-essential git make pkg-config ca-certificates \
      libopencv-dev libturbojpeg0-dev \
 && rm -rf /var/lib/apt/lists/*

ARG UID=1000
RUN useradd --create-home --uid "${UID}" --shell /bin/bash jessl
WORKDIR /home/jessl/jessl

# The pinned packages, in their own layer: it is rebuilt only when a pin (or setup.sh) changes. The venv
# lives outside the project, owned by root (read-only for the user); `-e .` points it at src/ below.
# pip's cache goes to PIP_CACHE_DIR, dropped after the install unless the builder mounts its own there.
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
ARG PIP_CACHE_DIR=/tmp/pip-cache
COPY requirements.lock requirements-oracle.txt requirements-data.txt pyproject.toml ./
COPY tools/setup.sh tools/setup.sh
RUN mkdir -p src \
 && bash tools/setup.sh /opt/venv \
 && rm -rf /tmp/pip-cache \
 && python -c 'import ffcv, torch; from importlib.metadata import version as v; print("torch", torch.__version__, "ffcv", v("ffcv"))'

# The project itself (see .dockerignore: no outputs, no venv, no git), writable by the user.
COPY --chown=jessl:jessl . .
RUN chown jessl:jessl /home/jessl/jessl
USER jessl
# Same pins as the set-up: `make table`/`make test` inside find the venv ready and install nothing.
ENV VENV=/opt/venv

CMD ["snakemake", "--cores", "all"]
