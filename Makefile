# Classic CNNs in PyTorch. `make book` builds the HTML book, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard chapters/*.ipynb))

.PHONY: help setup data test test-unit test-notebooks book execute sync bench clean

help:
	@echo "make setup           create .venv, install everything, prepare Fashion-MNIST"
	@echo "make test            unit tests, every notebook in quick mode (nbval), the book with -W"
	@echo "make book            build the HTML book into _build/html"
	@echo "make execute         re-run every chapter in full mode and store its outputs"
	@echo "make sync            re-pair the .md and .ipynb twins with jupytext"
	@echo "make bench           data-loading benchmark (ours vs torchvision DataLoader)"

setup: $(STAMP) data

# Re-installs only when the requirements change; a second run is a no-op.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	touch $@

data: $(STAMP)
	$(PY) -m utils

test: test-unit test-notebooks book

test-unit: setup
	$(PY) -m pytest -q tests

test-notebooks: setup
	CNN_COURSE_QUICK=1 $(PY) -m pytest -q --nbval-lax --nbval-current-env --nbval-cell-timeout=300 \
		--durations=0 $(NOTEBOOKS)

book: setup
	rm -rf _build/html
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "The book is at $(CURDIR)/_build/html/index.html"

# Full mode, on whatever device is present: refreshes the stored outputs and results/.
execute: setup
	$(PY) -m utils.execute $(NOTEBOOKS)

sync:
	$(VENV)/bin/jupytext --sync $(NOTEBOOKS)

bench: setup
	$(PY) benchmarks/bench_load_data.py

clean:
	rm -rf _build
