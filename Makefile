# One virtual environment (.venv) holds everything; `make demo` and `make test` create it on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install demo test check lint bench

install: $(VENV)/.installed

# torch==2.13.0 first: on this project's machines that CPU build installs from local disk;
# an unpinned torch (pulled in by torch-geometric / stable-baselines3) would fetch a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,ray]'
	touch $@

demo: install
	$(PY) evaluate.py

test: install
	$(PY) -m pytest -q

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy jssp agents

check: lint test

bench: install
	$(PY) benchmarks/bench_rules.py
	$(PY) benchmarks/bench_env.py
	$(PY) benchmarks/bench_startup.py
