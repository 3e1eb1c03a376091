# The course's commands. `make lab` and `make test` create the environment first if needed.
#   make env         set-up: .venv from requirements.lock (from wheelhouse/ when it exists)
#   make lab         JupyterLab on notebooks/
#   make test        every test and every notebook, offline (README, "How the tests work")
#   make execute     re-run every notebook and store its outputs (authors)
#   make book        the course as a static HTML book, every notebook run afresh (docs/book/)
#   make student     the student edition in student/, without the answers (teachers)
#   make wheelhouse  every locked wheel in wheelhouse/, for set-up with no network (teachers)
#   make bench       the benchmarks (benchmarks/README.md)
#   make lock        re-resolve requirements.lock from pyproject.toml (maintainers)
#   make clean-env   delete .venv
# Longer recipes live in tools/ (offline.sh, execute.py, book.py, make_student.py).
# Set-up needs Python 3.11 on Linux x86-64 (the only platform TensorFlow Federated 0.87.0 ships).

PYTHON ?= python3.11
VENV   ?= .venv
UNAME  ?= $(shell uname -s)/$(shell uname -m)
LAB_ARGS ?=
PYTEST_ARGS ?=
# Set-up installs from the folder $(WHEELHOUSE) with no network when that folder exists (`make
# wheelhouse` fills it); WHEELHOUSE= (empty) installs from the package index even so.
WHEELHOUSE ?= wheelhouse
STUDENT_OUTPUTS ?= keep

BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP_SOURCE = $(if $(wildcard $(WHEELHOUSE)),--no-index --find-links $(WHEELHOUSE))
# What the stamp records (tests/test_wheelhouse.py reads it): where set-up installed from.
INSTALLED_FROM = $(if $(PIP_SOURCE),wheelhouse $(WHEELHOUSE) --no-index,package index)
INCOMPLETE = { echo "$(WHEELHOUSE) lacks a wheel of requirements.lock: run make wheelhouse again (it needs the network) or make with WHEELHOUSE= to install from the package index."; exit 1; }

.PHONY: env lab test execute book student wheelhouse lock clean-env

env: $(STAMP)

# A changed requirements.lock is newer than the stamp: rebuild from scratch, so that the
# environment holds exactly the locked set and nothing left from before. requirements.lock holds
# the sha256 of every file it allows, which turns on pip's hash-checking mode: a download (or a
# wheel in $(WHEELHOUSE)) that differs from the locked files is refused. From a wheelhouse, the
# SOURCE_ONLY packages (see `wheelhouse`) are wheels built from their hash-checked source
# archives, so their hashes cannot be in the lock: they are installed first, by their locked
# version, and the hash-checked install then finds them in place.
$(STAMP): requirements.lock
	@tools/check_setup.sh "$(UNAME)" "$(PYTHON)"
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	@echo "Installing the locked environment (about 2.8 GB on the first run)$(if $(PIP_SOURCE), from $(WHEELHOUSE) with no network)..."
	$(if $(PIP_SOURCE),$(BIN)/python -m pip install --quiet --no-deps $(SOURCE_ONLY_PINS) $(PIP_SOURCE) || $(INCOMPLETE))
	$(BIN)/python -m pip install --quiet --no-deps -r requirements.lock$(if $(PIP_SOURCE), $(PIP_SOURCE) || $(INCOMPLETE))
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .$(if $(PIP_SOURCE), $(PIP_SOURCE))
	printf 'source: %s\nlock-sha256: %s\n' '$(INSTALLED_FROM)' "$$(sha256sum requirements.lock | cut -d' ' -f1)" > $(STAMP)

# JupyterLab refuses to run as root unless told; root is usual in containers.
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# Runs every test, the notebooks included, with no network but loopback (tools/offline.sh), in
# TEST_PROCESSES processes (pytest-xdist; each takes whole files, so that a notebook runs in one
# kernel; TEST_PROCESSES=0 runs everything in one process). See README, "How the tests work".
TEST_PROCESSES ?= 2
test: $(STAMP)
	tools/offline.sh $(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist loadfile $(PYTEST_ARGS)

# Benchmarks (benchmarks/README.md): round time, memory, secure aggregation, the course's run
# time, several TFF workers and the bytes on the driver-worker wire; prints a table and writes
# benchmarks/results.json. About an hour on 2 cores: run it on a quiet machine.
# BENCH_ARGS="--quick" checks it in a few minutes.
BENCH_ARGS ?=
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# For authors: re-run every notebook in place and store its outputs (tools/execute.py).
execute: $(STAMP)
	tools/offline.sh $(BIN)/python tools/execute.py

# The course as a static HTML book (Jupyter Book, docs/book/; see tools/book.py): runs every
# notebook and solution afresh, offline, then writes the site to _build/book/_build/html/ (open
# index.html there). A notebook error or a Sphinx warning fails the build. About 10 minutes on
# 2 cores. (The test run builds it from the notebooks' stored outputs instead: tools/book.py
# --stored-outputs.)
book: $(STAMP)
	tools/offline.sh $(BIN)/python tools/book.py --out _build/book

# For teachers: the student edition in student/, the lessons without the exercises' answers;
# STUDENT_OUTPUTS=clear also clears the outputs (default keep). See tools/make_student.py.
student: $(STAMP)
	$(BIN)/python tools/make_student.py --outputs "$(STUDENT_OUTPUTS)" --out student

# For teachers in rooms with poor internet: download every file of requirements.lock (about
# 0.8 GB, needs the network) into $(WHEELHOUSE), for the lock's platform (Linux x86-64, glibc
# 2.31 or newer, Python 3.11; see tools/make_wheelhouse.sh). Set-up then installs from the folder
# with no network; copy the repository with the folder to share both. Only a complete download
# replaces the folder; `make test` checks it against the lock.
# SOURCE_ONLY: locked packages with no wheel for Python 3.11 (jax 0.4.13, see pyproject.toml, and
# sqlalchemy 1.4.20, which google-vizier pins). The wheelhouse builds pure-Python wheels of them
# from their hash-checked source archives, so that set-up builds nothing and needs no compiler;
# set-up installs those two by version (see $(STAMP) above).
SOURCE_ONLY := jax sqlalchemy
SOURCE_ONLY_PINS = $(foreach p,$(SOURCE_ONLY),$(shell grep -oE '^$(p)==[^ ]+' requirements.lock))
wheelhouse:
	tools/make_wheelhouse.sh $(PYTHON) $(WHEELHOUSE) $(SOURCE_ONLY)

# For maintainers: re-resolve requirements.lock, with the hashes of every file, from
# pyproject.toml: fedlab's dependencies and the dependency group `course` (needs uv and the
# network; the versions already in the lock are kept where they still fit), then copy its pins
# into environment.yml (all but TFF itself, which conda users add by hand).
lock:
	uv pip compile pyproject.toml --group course --generate-hashes \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_31 --output-file requirements.lock
	{ sed -n '1,/^  - pip:$$/p' environment.yml; \
	  grep -E '^[A-Za-z0-9]' requirements.lock | cut -d' ' -f1 | grep -v '^tensorflow-federated==' \
	  | sed 's/^/      - /'; \
	} > environment.yml.new && mv environment.yml.new environment.yml

clean-env:
	rm -rf $(VENV)
