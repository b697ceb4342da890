# leadflow: one command to a running demo, one more to a green suite.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
KAFKA := deploy/kafka/kafka.sh


.PHONY: tools help setup kafka-install kafka-start kafka-stop run test test-reliability lint bench clean

help:
	@echo "make run    - start local Kafka, create topics, run the worker (the demo)"
	@echo "make test   - set everything up and run the whole test suite"
	@echo "make lint   - ruff + mypy (strict on streams/)"
	@echo "make bench  - benchmarks (not part of make test)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

setup: $(STAMP) kafka-install tools

# promtool and prometheus (Debian's package) for the alert-rule and scrape tests only:
# `make run` does not need them (nor root).
tools:
	@sh deploy/prometheus/install-promtool.sh >/dev/null

kafka-install:
	@$(KAFKA) install

kafka-start: kafka-install
	@$(KAFKA) start

kafka-stop:
	@$(KAFKA) stop

run: $(STAMP) kafka-start
	@bash scripts/run_demo.sh

test: setup
	$(BIN)/pytest

# The break-things tests alone (they are part of make test too).
test-reliability: setup
	$(BIN)/pytest tests/reliability -s

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# Benchmarks against the local broker (not part of make test); BENCH_ARGS to size them,
# e.g. make bench BENCH_ARGS='--events 200000 --recovery-leads 200000'.
bench: $(STAMP) kafka-start
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean: kafka-stop
	rm -rf .local $(VENV)
