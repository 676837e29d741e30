# The two commands of the contract (make run, make test) and a few for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
RUN_STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck imports unit bench soak clean install install-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)
install-dev: $(STAMP)

## make run: migrate the database, add the example workflows, serve the API on :8000.
run: $(RUN_STAMP)
	$(BIN)/wfa db upgrade
	$(BIN)/wfa db seed
	$(BIN)/wfa serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

# mypy finds the package by its import name through a link, since src/ is mapped onto wfa.
typecheck: $(STAMP)
	mkdir -p .typecheck && ln -sfn ../src .typecheck/wfa
	MYPYPATH=.typecheck $(BIN)/mypy -p wfa

imports: $(STAMP)
	$(BIN)/lint-imports

## make test: every check and every test, with branch coverage.
test: lint typecheck imports
	$(BIN)/python -m pytest --cov --cov-branch --cov-report=term \
	    --cov-fail-under=90 $(PYTEST_ARGS)
	$(BIN)/python -m coverage report --include='src/domain/*' --fail-under=95 --skip-covered

## make bench: every scenario (webhook-1, chain-10, chain-40, retry, timers, map-1000, long-run)
## on the embedded default and on PostgreSQL + Redis as separate processes, beside the
## database's own commit rate; writes bench/results/latest.json and prints the targets.
## QUICK=1: smaller counts, no soak, under 2 minutes. PostgreSQL and Redis come from
## WFA_BENCH_DATABASE_URL / WFA_BENCH_REDIS_URL (else the WFA_TEST_ ones); it is emptied.
bench: $(STAMP)
	$(BIN)/python bench/suite.py $(if $(QUICK),--quick)
	$(if $(QUICK),,$(MAKE) soak)

## make soak: 20,000 webhook runs through one wfa serve; fails when its memory keeps growing
## (resident size after them over 1.2 x that after the first 2,000). About 6-10 minutes.
soak: $(STAMP)
	$(BIN)/python bench/soak.py --runs 20000 --warmup 2000 --concurrency 8 --max-ratio 1.2

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
