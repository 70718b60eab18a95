# Set-up and checks. Every target works from a fresh clone with only Python >= 3.11 and pip.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is pinned on every pip line: an unpinned resolve pulls a multi-GB CUDA build.
TORCH := torch==2.13.0
PIP := $(BIN)/python -m pip install --disable-pip-version-check
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache
export MPLBACKEND ?= Agg

.PHONY: demo test docs bench venv clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "skrepgeom needs Python >= 3.11, got " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --upgrade pip

# The stamps re-install only when pyproject.toml changes.
$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(PIP) $(TORCH)
	$(PIP) $(TORCH) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) $(TORCH)
	$(PIP) $(TORCH) -e ".[test,dask,approx,hf]"
	touch $@

$(VENV)/.installed-docs: pyproject.toml | $(BIN)/python
	$(PIP) $(TORCH)
	$(PIP) $(TORCH) -e ".[docs]"
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(PIP) $(TORCH)
	$(PIP) $(TORCH) -e ".[bench]"
	touch $@

demo: $(VENV)/.installed-base
	$(BIN)/python examples/quickstart.py

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest tests skrepgeom --durations=20

docs: $(VENV)/.installed-docs
	$(BIN)/python -m sphinx -W --keep-going -b html doc doc/_build/html

bench: $(VENV)/.installed-bench
	cd asv_bench && ../$(BIN)/asv machine --yes && ../$(BIN)/asv run --python=same --quick --show-stderr

clean:
	rm -rf $(VENV) .numba_cache doc/_build doc/auto_examples doc/generated
