# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench bench-quick eval clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet '.[dev]'
	sh tools/install-cjk-font.sh
	touch $(STAMP)

run: $(STAMP)
	$(PY) bot.py run

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest -q

bench: $(STAMP)
	$(PY) -m bench.run

bench-quick: $(STAMP)
	$(PY) -m bench.run --quick

# Quality on the labelled development corpus (../shared/figures-dev) -> docs/quality.md
eval: $(STAMP)
	$(PY) -m bench.eval
	$(PY) -m bench.haystack

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
