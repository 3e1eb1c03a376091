# The course's commands. `make lab` and `make test` create the environment first if needed.
# Set-up needs Python 3.11 on Linux x86-64 (the only platform TensorFlow Federated 0.87.0 ships).

PYTHON ?= python3.11
VENV   ?= .venv
UNAME  ?= $(shell uname -s)/$(shell uname -m)
LAB_ARGS ?=
PYTEST_ARGS ?=

BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: env lab test execute lock clean-env

env: $(STAMP)

# A changed requirements.lock is newer than the stamp: rebuild from scratch, so that the
# environment holds exactly the locked set and nothing left from before.
$(STAMP): requirements.lock
	@[ "$(UNAME)" = "Linux/x86_64" ] || { echo "fedlab needs Linux on x86-64 (TensorFlow Federated 0.87.0 has no other wheels); this machine is $(UNAME). See README.md, 'Supported platforms'."; exit 1; }
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "fedlab needs Python 3.11 (TensorFlow Federated 0.87.0 supports 3.9-3.11): '$(PYTHON)' was not found; install Python 3.11 or run make with PYTHON=/path/to/python3.11."; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || { echo "fedlab needs Python 3.11 (TensorFlow Federated 0.87.0 supports 3.9-3.11): '$(PYTHON)' is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())' 2>/dev/null); run make with PYTHON=/path/to/python3.11."; exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	@echo "Installing the locked environment (about 2.8 GB on the first run)..."
	$(BIN)/python -m pip install --quiet --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# JupyterLab refuses to run as root unless told; root is usual in containers.
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# Runs every test, the notebooks included, with no network but loopback (tests/offline.sh).
test: $(STAMP)
	tests/offline.sh $(BIN)/python -m pytest $(PYTEST_ARGS)

# Benchmarks (benchmarks/README.md): round time, memory, secure aggregation, the course's run
# time and several TFF workers; prints a table and writes benchmarks/results.json. About an
# hour on 2 cores: run it on a quiet machine. BENCH_ARGS="--quick" checks it in a few minutes.
BENCH_ARGS ?=
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# For authors: re-run every notebook in place and store its outputs.
execute: $(STAMP)
	tests/offline.sh $(BIN)/python tests/execute.py notebooks/*.ipynb notebooks/solutions/*.ipynb

# For maintainers: re-resolve requirements.lock from pyproject.toml (needs uv and the network),
# then copy its pins into environment.yml (all but TFF itself, which conda users add by hand).
lock:
	uv pip compile pyproject.toml --python-version 3.11 --python-platform x86_64-manylinux_2_31 --output-file requirements.lock
	{ sed -n '1,/^  - pip:$$/p' environment.yml; \
	  grep -E '^[A-Za-z0-9]' requirements.lock | grep -v '^tensorflow-federated==' | sed 's/^/      - /'; \
	} > environment.yml.new && mv environment.yml.new environment.yml

clean-env:
	rm -rf $(VENV)
