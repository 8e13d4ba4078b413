# cx-suite: `make report` builds everything and renders the demo reports; `make test` runs every test.
# Both create .venv with the system's python3 (3.11+) and install the package if needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CONFIG ?= configs/demo.yaml
OUT    ?= reports

.DEFAULT_GOAL := help
.PHONY: help install browser report test nbval-outputs test-slow lint format bench bench-scale demo clean lock

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]" -c requirements.lock
	touch $(STAMP)

install: $(STAMP) ## create .venv and install cx-suite with its tested dependency ranges

# Headless Chromium (Debian package `chromium`) prints the executive summary to PDF in a run, and
# the browser tests open every report in it.
browser: ## install headless Chromium for the summary's PDF and the browser tests (as root; otherwise says how)
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing chromium (headless browser: the summary's PDF and the browser tests) ..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "note: chromium is not installed, so the runs make no PDF and the browser tests are skipped;"; \
		echo "      install it with: sudo apt-get install chromium"; \
	fi

# Demo data is generated from a seed; regenerated when the generator changes.
data/demo/customers.csv: cxlib/data/_synth.py cxlib/data/_demo_folder.py | $(STAMP)
	$(BIN)/cx synth --customers 50000 --seed 42 --out data/demo
data/demo_small/customers.csv: cxlib/data/_synth.py cxlib/data/_demo_folder.py | $(STAMP)
	$(BIN)/cx synth --customers 3000 --seed 42 --out data/demo_small

demo: data/demo/customers.csv data/demo_small/customers.csv ## generate the synthetic demo data

report: $(STAMP) data/demo/customers.csv browser ## install, generate demo data, run all notebooks, publish HTML (and the summary as PDF) to reports/
	$(BIN)/cx run --config $(CONFIG) --out $(OUT)

test: $(STAMP) data/demo_small/customers.csv browser ## install and run every test: ruff lint, pytest (one worker per core, up to 4), nbval over the notebooks
	$(BIN)/ruff check cxlib tests benchmarks notebooks
	$(BIN)/pytest -n auto --maxprocesses 4 --dist loadfile tests
	$(BIN)/pytest --nbval-lax notebooks

nbval-outputs: $(STAMP) data/demo_small/customers.csv ## store the findings cells' outputs that nbval compares (after a deliberate change of results)
	$(BIN)/python -m cxlib.run.nbcheck

test-slow: $(STAMP) data/demo_small/customers.csv ## only the slow statistical checks on the 50,000-customer demo (make test runs them too)
	$(BIN)/pytest -m slow tests

lint: $(STAMP) ## ruff lint and format check (code and notebooks)
	$(BIN)/ruff check cxlib tests benchmarks notebooks
	$(BIN)/ruff format --check cxlib tests benchmarks notebooks

format: $(STAMP) ## apply ruff formatting
	$(BIN)/ruff format cxlib tests benchmarks notebooks

bench: $(STAMP) data/demo/customers.csv ## run the benchmarks and print their figures (not the scale one)
	for b in benchmarks/bench_*.py; do [ $$b = benchmarks/bench_scale.py ] || $(BIN)/python $$b || exit 1; done

bench-scale: $(STAMP) ## the whole suite on the seeded demo at 1M customers against the budgets (benchmarks/README.md; about 15 min)
	PYTHONPATH=. $(BIN)/python benchmarks/bench_scale.py

lock: ## refresh requirements.lock from a fresh install of the ranges in pyproject.toml
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet -e ".[dev]"
	head -3 requirements.lock > requirements.lock.new
	.lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^#' >> requirements.lock.new
	mv requirements.lock.new requirements.lock && rm -rf .lock-venv

clean: ## remove generated data, build output and the reports cx run wrote (never other files; keeps .venv)
	rm -rf data/demo data/demo_small build
	if [ -x $(BIN)/cx ]; then $(BIN)/cx clean --out $(OUT); fi
