# The two commands of the README. Both set up first (idempotent: tools/setup.sh).
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)

.PHONY: table all claims test check setup lock lint
# results/table1.csv (+ table1.md, its figures) on the embedded default: the fast target.
table: setup
	snakemake --cores all report_all

# Everything on the embedded default: table1, transfer, spectrum, convergence and their figures.
all: setup
	snakemake --cores all

# The lint, then the whole test suite over the machine's cores (CI runs exactly this via .ci/run). A test
# module stays on one worker (loadscope, modules in collection order); the end-to-end tests share one reduced
# pipeline, built once (tests/conftest.py), and start first while the other workers take the unit tests.
PYTEST := python -m pytest -q -n auto --dist loadscope --no-loadscope-reorder
test: setup lint
	$(PYTEST)

# The edit loop (about 3 min on 2 cores): the lint and every test but the end-to-end ones.
check: setup lint
	$(PYTEST) -m "not e2e"

setup:
	bash tools/setup.sh $(VENV)

# Fast (seconds): ruff over the Python code, Snakemake's own linter over the Snakefile and rules.
lint: setup
	ruff check src tests workflow/scripts bench
	snakemake --lint

# Regenerate requirements.lock from requirements.in in a scratch venv.
lock:
	rm -rf .lock-venv && python3 -m venv .lock-venv
	.lock-venv/bin/pip install -q -r requirements.in
	(echo "# Generated from requirements.in by \`make lock\` (pip freeze); do not edit by hand."; \
	 .lock-venv/bin/pip freeze --all | grep -viE '^(jessl|lightly|pip==|-e )' | sed -E 's/\+(cpu|cu[0-9]+)$$//') > requirements.lock
	rm -rf .lock-venv

# The papers' claims on the embedded default (results/claims.md): its own target, not part of `all`.
claims: setup
	snakemake --cores all claims
