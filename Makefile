# lgvq — the user's entry points. `make figures` and `make test` work from a fresh clone with only Python 3.11.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV    ?= .venv
BIN     := $(CURDIR)/$(VENV)/bin
PY      := $(BIN)/python
STAMP   := $(VENV)/.installed
# torch and torchvision first: open_clip_torch needs torchvision, and this pair is known to import together.
TORCH   ?= torch==2.14.1 torchvision==0.29.1
PYTHON  ?= $(shell command -v python3.11 || command -v python3)

# Offline by default: nothing may fetch weights or data at run time.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export MPLBACKEND := Agg
export PATH := $(BIN):$(PATH)

.PHONY: help install figures test check-clean check-export check-readme readme nbtest pytest lab bench gpu-check export clean outputs docs

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

$(STAMP): settings.ini setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m pip check
	@touch $(STAMP)

install: $(STAMP)  ## create .venv/ and install lgvq with its dev tools

SCALE ?= smoke
JOBS  ?= 0
SEEDS ?= 0
RETRAIN ?= 0
figures: $(STAMP)  ## run every experiment notebook (SCALE=tiny|smoke|paper, JOBS=n at a time, 0: auto, SEEDS=n seeds, 0: the notebooks'; RETRAIN=1: train every run here, not load run_store/) and write figures/ + figures/RESULTS.md
	@mkdir -p runs figures
	$(if $(filter 1,$(RETRAIN)),LGVQ_RUN_STORE=none ,)$(PY) -m lgvq.experiments --scale $(SCALE) --jobs $(JOBS) --seeds $(SEEDS) $(if $(ONLY),--only $(ONLY),)

# Each check snapshots the files a tool may rewrite, runs it, and fails if anything changed.
define unchanged
	@before=$$(find $(1) -type f \( -name '*.ipynb' -o -name '*.py' \) -not -path '*/.ipynb_checkpoints/*' -not -path '*/__pycache__/*' | sort | xargs sha1sum); \
	$(2) >/dev/null; \
	after=$$(find $(1) -type f \( -name '*.ipynb' -o -name '*.py' \) -not -path '*/.ipynb_checkpoints/*' -not -path '*/__pycache__/*' | sort | xargs sha1sum); \
	if [ "$$before" != "$$after" ]; then echo "FAIL: $(3)"; diff <(echo "$$before") <(echo "$$after") || true; exit 1; fi; \
	echo "ok: $(4)"
endef

check-clean: $(STAMP)  ## notebooks are clean (nbdev_clean changes nothing)
	$(call unchanged,nbs,$(BIN)/nbdev_clean,notebooks were not clean - nbdev_clean rewrote them; commit the result,notebooks clean)

check-export: $(STAMP)  ## lgvq/ is in sync with the notebooks (nbdev_export changes nothing)
	$(call unchanged,lgvq,$(BIN)/nbdev_export,lgvq/ was out of sync with nbs/ - nbdev_export rewrote it; commit the result,library in sync with notebooks)

readme: $(STAMP)  ## render README.md from nbs/index.ipynb
	$(BIN)/jupyter nbconvert --to markdown --stdout nbs/index.ipynb 2>/dev/null > README.md

check-readme: $(STAMP)  ## README.md is up to date with nbs/index.ipynb
	@$(BIN)/jupyter nbconvert --to markdown --stdout nbs/index.ipynb 2>/dev/null | diff -u README.md - \
	  || { echo "FAIL: README.md is out of date with nbs/index.ipynb - run make readme"; exit 1; }
	@echo "ok: README up to date"

nbtest: $(STAMP)  ## run every notebook's tests (slow and cuda cells skipped)
	$(BIN)/nbdev_test --n_workers 2 --timing --skip_folder_re '^(experiments|[_.].*)$$'

pytest: $(STAMP)  ## pytest tests/
	$(PY) -m pytest tests -q -p no:cacheprovider

test: check-clean check-export check-readme nbtest pytest  ## every check CI runs

export: $(STAMP)  ## nbdev_export + nbdev_clean + README, after editing notebooks
	$(BIN)/nbdev_export
	$(BIN)/nbdev_clean
	$(MAKE) readme

outputs: $(STAMP)  ## save the fast cells' outputs (plots included) into nbs/*.ipynb for readers; slow/cuda cells are not run (NB=nbs/x.ipynb: one)
	$(PY) tools/execute_notebooks.py $(NB)
	$(BIN)/nbdev_clean
	$(MAKE) readme

docs: $(STAMP)  ## render nbs/ (with their committed outputs) to a static HTML site in _docs/ (open _docs/index.html)
	$(PY) tools/render_docs.py

lab: $(STAMP)  ## open JupyterLab on nbs/ with the venv's kernel
	$(BIN)/jupyter lab --notebook-dir=nbs

bench: $(STAMP)  ## run the benchmarks in bench/ (prints ratios, appends to bench/RESULTS.md; GPU tables too where CUDA is present)
	$(PY) -m pip install --quiet -e ".[bench]"
	@for b in bench/[a-z]*.py; do echo "== $$b"; $(PY) $$b; done
	@if $(PY) -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then \
	  echo "== bench/nearest.py --device cuda"; $(PY) bench/nearest.py --device cuda; \
	  echo "== bench/step.py --paper (on the GPU)"; $(PY) bench/step.py --paper; \
	else echo "no CUDA device: the GPU tables are not measured"; fi

gpu-check: $(STAMP)  ## where CUDA is present: the notebooks' #| cuda cells (kernels, losses) against their CPU / float64 references
	$(BIN)/nbdev_test --flags cuda --path nbs/01_kernels.ipynb
	$(BIN)/nbdev_test --flags cuda --path nbs/04_losses.ipynb

clean:  ## remove generated run outputs (not the venv)
	rm -rf runs .cache _proc _docs
