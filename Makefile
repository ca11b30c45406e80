# Two commands on a fresh clone: `make demo` and `make test`. Both are idempotent.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The venv is (re)installed only when the dependency files change.
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
# uv installs the pinned set (constraints.txt) from the same index as pip, downloading in
# parallel: on a fresh clone it takes seconds where pip took minutes. It also compiles the
# installed modules to bytecode, which uv skips by default.
UV := $(BIN)/uv
UV_INSTALL := $(UV) pip install --quiet --compile-bytecode --python $(BIN)/python -c constraints.txt

# Python keeps the bytecode of what it imports (__pycache__, ignored by git), as it does by
# default: where the environment says PYTHONDONTWRITEBYTECODE (some machines and CI images
# do), every process compiled every module it imported, every time. The suite starts some
# hundred Python processes (servers, their workers, command-line runs); importing the app
# took 6.5 s of CPU that way against 2.3 s from bytecode.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test lint install lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt uv
	touch $@

# The onnx extra: the demo serves its attrition models compiled where they verify.
$(STAMP_RUN): pyproject.toml constraints.txt | $(UV)
	$(UV_INSTALL) -e '.[onnx]'
	touch $@

# The test extra is what the tests need; dev is mypy, ruff and the stubs, which make test runs too.
$(STAMP_TEST): pyproject.toml constraints.txt | $(UV)
	$(UV_INSTALL) -e '.[test,dev]'
	touch $@ $(STAMP_RUN)

install: $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/champion demo

lint: $(STAMP_TEST)
	$(BIN)/ruff check src tests benchmarks deploy
	$(BIN)/ruff format --check src tests benchmarks deploy
	$(BIN)/mypy

# One pytest worker per core and one more: the suite runs every storage test on two databases,
# and a worker waiting on a server, a browser or PostgreSQL leaves its core idle, which the
# extra worker uses (on two cores: 788 s against 871 s for .ci/run, run back to back). mypy (one
# core, no cache on a fresh clone) checks beside them. Its report is printed after the
# tests', and either failing fails. PYTEST_ARGS narrows the run, e.g.
# `make test PYTEST_ARGS=tests/api`; WORKERS sets the number of workers.
WORKERS ?= $(shell $(PYTHON) -c 'import os; print(len(os.sched_getaffinity(0)) + 1)')

test: $(STAMP_TEST)
	$(BIN)/ruff check src tests benchmarks deploy
	$(BIN)/ruff format --check src tests benchmarks deploy
	@$(BIN)/mypy > $(VENV)/mypy.log 2>&1 & mypy=$$!; \
	$(BIN)/python -m pytest -n $(WORKERS) $(PYTEST_ARGS); tests=$$?; \
	wait $$mypy; types=$$?; \
	echo "$(BIN)/mypy"; cat $(VENV)/mypy.log; \
	exit $$(( tests != 0 ? tests : types ))

# constraints.txt is the lock: every package of `.[test,dev]` (test carries the postgres, otel,
# s3, onnx and mlflow extras) and uv, pinned once each, resolved by uv from pyproject.toml.
# uv keeps every pin the ranges still allow (the file it writes is its preference); add
# `--upgrade-package NAME` to move one. tests/meta/test_lock.py checks the ranges and pins agree.
lock: | $(UV)
	printf 'uv\n' | $(UV) pip compile pyproject.toml - --extra test --extra dev \
		--python-version 3.11 --output-file constraints.txt

clean:
	rm -rf $(VENV) .champion .champion-demo
