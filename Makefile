# qorgau — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DOMAINS := core accounts registry incidents indicators concealment risk insurance equipment inspections alarms geo integration simulator

.PHONY: demo serve test test-fast lint i18n i18n-check bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/qorgau compile
	touch $(STAMP)

## Install everything, migrate SQLite, generate the demo twin, print logins, serve on :8000
demo: $(STAMP)
	$(BIN)/qorgau demo

serve: $(STAMP)
	$(BIN)/qorgau serve

## The whole suite: unit, API and storage on SQLite and PostgreSQL, brokers, browser
test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/bandit -q -r src -c pyproject.toml
	$(BIN)/qorgau compile  # kernels compiled once, not inside a timed test of each worker
	$(BIN)/pytest -n 2 --dist loadgroup

test-fast: $(STAMP)
	$(BIN)/qorgau compile
	$(BIN)/pytest -n 2 --dist loadgroup -m "not slow and not browser"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/bandit -q -r src -c pyproject.toml

## Extract strings per domain and merge them into kk/ru/en catalogues
i18n: $(STAMP)
	$(BIN)/python -m qorgau.core.i18n_tools update

i18n-check: $(STAMP)
	$(BIN)/python -m qorgau.core.i18n_tools check

bench: $(STAMP)
	for f in benchmarks/*.py; do case $$f in */_*) continue;; esac; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf var test-artifacts .pytest_cache
