# Entry points. Each target installs what it needs on first use (into .venv).
#   make replicate   the main job: data/ + the DVC pipeline on the selection in conf/selection.yaml
#   make test        the default test suite (fast); make test-slow runs the end-to-end tests
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PYTHONPATH := $(CURDIR)/src
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install data replicate test test-slow clean-build

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	# torch first, pinned: any other spec pulls several GB of CUDA wheels
	$(VENV)/bin/pip install -q torch==2.13.0
	$(VENV)/bin/pip install -q -e '.[test]'
	$(VENV)/bin/dvc config --local core.analytics false || true
	touch $(STAMP)

# Materialise the upstream inputs into data/ (DVC remote, then $$UPSTREAM_ROOT, then pinned URLs),
# verifying every sha256. Missing sources are reported, not fatal: the toy default needs none.
data: install
	python -m emovec.corpora.manifest materialise
	@if python -m emovec.corpora.manifest verify >/dev/null 2>&1; then dvc commit -q -f data.dvc && dvc status data.dvc; \
	else echo "data/ is incomplete: upstream-based choices listed above are unavailable"; fi

replicate: data
	dvc repro
	@echo "tables: paper/tables/  figures: paper/figures/"
	@ls paper/tables paper/figures

test: install
	python -m pytest -q

test-slow: install
	python -m pytest -q -m slow

clean-build:
	rm -rf build paper/tables paper/figures
