# rlbook: two commands on a fresh machine, `make lab` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
IP ?= 127.0.0.1
PORT ?= 8888
NB ?= notebooks/*.ipynb

# Compile cache shared by tests, notebooks (kernels inherit it) and the CLI.
export JAX_COMPILATION_CACHE_DIR := $(CURDIR)/.jax_cache
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS := 0
export JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES := 0
export JAX_PLATFORMS ?= cpu

# Test workers (one test file or notebook each at a time): XLA compiles on one thread, so two
# workers keep both cores of a laptop busy. TEST_JOBS=0 runs everything in one process.
TEST_JOBS ?= 2
PYTEST_NBVAL := -p no:cacheprovider tests/ notebooks/ --nbval --nbval-current-env \
  --nbval-sanitize-with notebooks/nbval_sanitize.cfg --nbval-cell-timeout=600 \
  --nbval-kernel-startup-timeout=120 --durations=30

.PHONY: venv lab test unit lint format outputs check-sync portable html browser clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (rlbook)" >/dev/null
	touch $(STAMP)

lab: venv
	@TOKEN=$$($(BIN)/python -c "import secrets; print(secrets.token_hex(16))"); \
	EXTRA=""; \
	if [ -z "$${DISPLAY:-}" ] && [ -z "$${WAYLAND_DISPLAY:-}" ]; then EXTRA="$$EXTRA --no-browser"; fi; \
	if [ "$$(id -u)" = "0" ]; then EXTRA="$$EXTRA --allow-root"; fi; \
	echo ""; \
	echo "rlbook is starting. Open this URL in your browser:"; \
	echo "    http://$(IP):$(PORT)/lab/tree/notebooks/00_index.ipynb?token=$$TOKEN"; \
	echo "(on a remote machine: ssh -L $(PORT):localhost:$(PORT) <host>, then open the URL locally)"; \
	echo ""; \
	exec env -u MPLBACKEND $(BIN)/jupyter lab --ip=$(IP) --port=$(PORT) --ServerApp.port_retries=0 \
	  --IdentityProvider.token=$$TOKEN --ServerApp.root_dir=. $$EXTRA notebooks/00_index.ipynb

lint: venv
	$(BIN)/ruff check rlbook tests benchmarks notebooks/*.py
	$(BIN)/ruff format --check rlbook tests benchmarks notebooks/*.py

format: venv
	$(BIN)/ruff check --fix rlbook tests benchmarks notebooks/*.py
	$(BIN)/ruff format rlbook tests benchmarks notebooks/*.py

# Unit tests only (quick): no notebook kernels, no test marked slow.
unit: venv
	env -u MPLBACKEND $(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow" tests/

test: venv lint
	env -u MPLBACKEND timeout 4800 $(BIN)/python -m pytest $(PYTEST_NBVAL) -n $(TEST_JOBS) --dist loadfile

# Regenerate notebook outputs deterministically (all, or one: NB=notebooks/01_learning_in_games.ipynb).
# 00_index lists the registered experiments: regenerate it too after adding one.
outputs: venv
	$(BIN)/jupytext --sync $(NB)
	env -u MPLBACKEND $(BIN)/python -m rlbook.book.execute $(NB)

# Another CPU, simulated: XLA:CPU limited to AVX emits different vector code, as a different machine
# does. A cell whose output changes here depends on the machine: mark it NBVAL_IGNORE_OUTPUT with the
# reason and keep its asserts (see CONTRIBUTING.md). Compile cache off: it must not mix the two.
portable: venv
	XLA_FLAGS=--xla_cpu_max_isa=AVX JAX_ENABLE_COMPILATION_CACHE=false env -u MPLBACKEND timeout 4800 \
	  $(BIN)/python -m pytest -q -p no:cacheprovider $(NB) --nbval --nbval-current-env \
	  --nbval-sanitize-with notebooks/nbval_sanitize.cfg --nbval-cell-timeout=600

check-sync: venv
	$(BIN)/jupytext --sync notebooks/*.ipynb
	git diff --exit-code -- notebooks/

# The static HTML edition from the committed outputs: _build/html/index.html, a page per chapter.
html: venv
	$(BIN)/python -m rlbook.book.html _build/html

# Every chapter in JupyterLab in headless Chromium (Debian's chromium): Run All, no error output, one
# widget moved and redrawn; screenshots in _build/browser/. CHAPTERS="01_learning_in_games 08_smax" or --ci.
CHAPTERS ?=
browser: venv
	env -u MPLBACKEND $(BIN)/python -m rlbook.book.browser $(CHAPTERS)

clean:
	rm -rf .jax_cache _build .pytest_cache
