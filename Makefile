# make run   - the main job (sets up .venv, fetches and verifies MNIST, then runs)
# make test  - the test suite (same set-up first)
# Each step is skipped when already done: .venv/.installed and the verified data files are the stamps.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DATA_ROOT ?= data
PROFILE ?= standard

.PHONY: run test data venv clean-runs

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

data: venv
	$(PY) -m lth_utils fetch-data mnist --data-root $(DATA_ROOT)

test: data
	$(PY) -m pytest -q tests

run: data
	$(PY) -m lth_utils imp --iterations 1000 --eval-every 100 --levels 5 --trials 2 --data-root $(DATA_ROOT)

clean-runs:
	rm -rf runs
