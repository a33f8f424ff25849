# One-command environment: `make venv` builds .venv once and is a no-op while pyproject.toml is unchanged.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test benchmark bench bench-check lint faults-long

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1 torchaudio==2.11.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

test: venv
	$(PY) -m pytest -q

# dvc runs each stage's `python -m pipelines.…` command: the venv comes first on PATH so that is this venv's.
benchmark: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/dvc repro

# Performance suite (docs/performance.md). `bench-check` runs it, writes pytest-benchmark JSON and compares the
# ratios to x.clone() with the stored baseline (fails beyond BENCH_MARGIN); BENCH_CHECK_ARGS=--update rewrites it.
BENCH_JSON ?= .benchmarks/current.json
BENCH_BASELINE ?= tests/bench/baseline/cpu-2threads.json
BENCH_MARGIN ?= 0.25
BENCH_CHECK_ARGS ?=

bench: venv
	$(PY) -m pytest tests/bench -m bench --benchmark-enable -q

bench-check: venv
	$(PY) -m pytest tests/bench -m bench --benchmark-enable -q --benchmark-json=$(BENCH_JSON)
	$(PY) scripts/bench_check.py $(BENCH_JSON) --baseline $(BENCH_BASELINE) --margin $(BENCH_MARGIN) $(BENCH_CHECK_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

# Fault-injection suite (docs/reliability.md): quick mode runs in `make test`; long mode adds the cases marked
# faults_long (and slow) — 20+ kills per training backend, more corruption seeds, more attacks.
faults-long: venv
	$(PY) -m pytest tests/faults -m "faults_long or not faults_long" -q
