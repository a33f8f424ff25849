# One-command environment: `make venv` builds .venv once and is a no-op while pyproject.toml is unchanged.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test benchmark bench bench-check lint faults-long

# glibc keeps freed memory instead of returning it to the kernel, so the multi-MB activations of each step are
# not page-faulted in afresh (up to 2x per LIF layer here; docs/performance.md, "Allocator"). Override freely.
export MALLOC_MMAP_THRESHOLD_ ?= 1073741824
export MALLOC_TRIM_THRESHOLD_ ?= 1073741824

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

# Performance suite (docs/performance.md). `bench-check` runs it BENCH_RUNS times in separate processes (the
# level of a whole run moves by up to a third between processes), compares the per-benchmark median of the
# ratios with the stored baseline (fails beyond BENCH_MARGIN); BENCH_CHECK_ARGS=--update rewrites it.
BENCH_RUNS ?= 3
BENCH_DIR ?= .benchmarks
BENCH_BASELINE ?= tests/bench/baseline/cpu-2threads.json
BENCH_MARGIN ?= 0.25
BENCH_CHECK_ARGS ?=

bench: venv
	$(PY) -m pytest tests/bench -m bench --benchmark-enable -q

bench-check: venv
	mkdir -p $(BENCH_DIR)
	rm -f $(BENCH_DIR)/check-*.json
	for i in $$(seq $(BENCH_RUNS)); do \
		$(PY) -m pytest tests/bench -m bench --benchmark-enable -q --benchmark-json=$(BENCH_DIR)/check-$$i.json || exit 1; \
	done
	$(PY) scripts/bench_check.py $(BENCH_DIR)/check-*.json --baseline $(BENCH_BASELINE) --margin $(BENCH_MARGIN) $(BENCH_CHECK_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

# Fault-injection suite (docs/reliability.md): quick mode runs in `make test`; long mode adds the cases marked
# faults_long (and slow) — 20+ kills per training backend, more corruption seeds, more attacks.
faults-long: venv
	$(PY) -m pytest tests/faults -m "faults_long or not faults_long" -q
