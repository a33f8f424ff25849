# One-command environment: `make venv` builds .venv once and is a no-op while pyproject.toml is unchanged.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCK := requirements.lock

.PHONY: venv lock test benchmark publish bench bench-check lint faults-long gpu-check image

# glibc keeps freed memory instead of returning it to the kernel, so the multi-MB activations of each step are
# not page-faulted in afresh (up to 2x per LIF layer here; docs/performance.md, "Allocator"). Override freely.
export MALLOC_MMAP_THRESHOLD_ ?= 1073741824
export MALLOC_TRIM_THRESHOLD_ ?= 1073741824

# The environment is installed from the lock (docs/docker.md, "Locked environment"): every package, dev tools
# included, at one version with its hashes; --no-deps so nothing outside the lock comes in, a check to
# prove the lock complete. scripts/install_lock.py installs it with uv (from the lock), which unpacks the wheels
# in parallel, from the sources pip is configured with (19 s against pip's 73 s here; pip where uv fails). The
# project itself goes in editable, built with the locked setuptools; uv installs it and checks the environment
# (`uv pip check`, as `pip check`) in under a second, pip took 9 s for the two. Bytecode: compileall on every core
# (pip compiling on one core made the whole build 3 min 43 s; docs/pipeline.md, "Time budget").
# The bytecode must be there before the first import: where PYTHONDONTWRITEBYTECODE is set, Python never
# writes it and every process recompiles what it imports (2-5 s more per process here). The packages'
# own test folders (`tests/`, `test/`) are skipped: nothing here imports them, and they are a fifth of the files.
# Like pip, compileall skips what is not Python 3.11 (torch ships a test file in 3.12 syntax), hence `|| true`.
$(STAMP): pyproject.toml $(LOCK) scripts/install_lock.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) scripts/install_lock.py $(LOCK)
	$(PY) -m compileall -q -j 0 -x '/tests?/' $(VENV)/lib > /dev/null || true
	$(PY) -m uv pip install --python $(PY) --quiet --no-deps --no-build-isolation -e .
	$(PY) -m uv pip check --python $(PY)
	touch $(STAMP)

venv: $(STAMP)

# Rewrites the lock from pyproject.toml for Linux x86_64, Python 3.11 (this machine and the Docker image).
# uv keeps every pin of the current lock that still satisfies pyproject.toml; LOCK_ARGS="--upgrade-package
# numpy" moves one package, LOCK_ARGS=--upgrade all of them.
LOCK_ARGS ?=
lock:
	$(PY) -m uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock" --quiet \
		-o $(LOCK) $(LOCK_ARGS)

# The default suite, then the Ray suite (a real loopback Ray instance; marked slow, ~1 min): both gate CI.
test: venv
	$(PY) -m pytest -q
	$(PY) -m pytest -q -m ray tests/scaling

# dvc runs each stage's `python -m pipelines.…` command: the venv comes first on PATH so that is this venv's.
# Beside it, warm-kernels compiles the CPU kernels the runs will use into numba's cache, on the core that the
# single-process fetch and prepare stages leave idle, instead of in both workers of every train stage (about
# 30 s on 2 cores; docs/pipeline.md, "Time budget"). It is only a cache: dvc repro's status is the target's.
benchmark: venv
	$(PY) -m pipelines.commands.warm_kernels & \
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/dvc repro; status=$$?; wait; exit $$status

# The reference `asgl-bench reproduce` checks against by default (pipelines/published/README.md): copy the
# last run's runs.json there when its table is to become the published one.
PUBLISH_PROFILE ?= embedded
publish:
	mkdir -p pipelines/published/$(PUBLISH_PROFILE)
	cp results/runs.json pipelines/published/$(PUBLISH_PROFILE)/runs.json

# Performance suite (docs/performance.md). `bench-check` times the merge base of HEAD and BENCH_BASE (in a
# temporary worktree) against the working tree on this machine, call by call in ABBA/BAAB order across
# BENCH_PROCESSES worker processes per side, and answers pass / fail / inconclusive at BENCH_THRESHOLD.
BENCH_BASE ?= HEAD
BENCH_PROCESSES ?= 4
BENCH_PAIRS ?= 5
BENCH_THRESHOLD ?= 0.10
BENCH_CHECK_ARGS ?=

bench: venv
	$(PY) -m pytest tests/bench -m bench --benchmark-enable -q

bench-check: venv
	$(PY) scripts/bench_check.py --base $(BENCH_BASE) --processes $(BENCH_PROCESSES) --pairs $(BENCH_PAIRS) \
		--threshold $(BENCH_THRESHOLD) $(BENCH_CHECK_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

# On a GPU host: the gpu-marked tests, the Triton kernel against the HBM floor and a few paper-profile training
# steps per dataset, PASS/FAIL per part, in <= 8 minutes (scripts/gpu_check.py; e.g. GPU_CHECK_ARGS="--peak-gbps
# 3350" on an H100 SXM). Without a GPU it stops with one line and a non-zero status.
GPU_CHECK_ARGS ?=
gpu-check: venv
	$(PY) scripts/gpu_check.py $(GPU_CHECK_ARGS)

# The Docker image with its identity: the commit it is built from (environment.json records it; the image has
# no .git) and the project version as its tag (docs/docker.md).
image:
	ASGL_IMAGE_REVISION=$$(git rev-parse HEAD) docker compose build

# Fault-injection suite (docs/reliability.md): quick mode runs in `make test`; long mode adds the cases marked
# faults_long (and slow) — 20+ kills per training backend, more corruption seeds, more attacks.
faults-long: venv
	$(PY) -m pytest tests/faults -m "faults_long or not faults_long" -q
