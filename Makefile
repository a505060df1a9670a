# Two commands: `make demo` (install, ingest the demo corpus, serve) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export UNSTRUCTURED_DISABLE_NOTICE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo serve test lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# The CPU build of torch first, so nothing later pulls a CUDA build.
	$(PIP) install --quiet "torch==2.13.0"
	# llama-cpp-python builds from source once (~7 min); pip caches the wheel afterwards.
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) install --quiet -e ".[local,dev]"
	# PDF partitioning imports unstructured-inference; its declared deps (timm, torchvision)
	# would break transformers, and the modules used need none beyond pyproject's list.
	$(PIP) install --quiet --no-deps "unstructured-inference==1.6.14"
	touch $(STAMP)

install: $(STAMP)
	# The sidebar's browser tests drive the system Chromium (never `playwright install`).
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

demo: install
	$(VENV)/bin/sidekick serve --demo

serve: install
	$(VENV)/bin/sidekick serve

lint: install
	$(VENV)/bin/ruff check .

typecheck: install
	$(VENV)/bin/mypy

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest

bench: install
	$(PY) -m eval.benchmarks.run_all

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
