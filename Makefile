# Every target works on a fresh machine: it creates .venv, installs the pinned
# dependencies and pulls the model weights before doing its job.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-quick bench lint format clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)
	$(BIN)/veil models pull

demo: setup
	$(BIN)/python scripts/demo.py out

test: setup
	$(BIN)/python -m pytest

test-quick: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not data"

# The face_recognition anchor of benchmarks/recognize.py: installed without its
# dependencies, because its "dlib" requirement would compile dlib (dlib-bin provides it);
# face_recognition_models imports pkg_resources, which setuptools 81 removed.
ANCHOR := face_recognition==1.3.0 face_recognition_models==0.3.0 setuptools==80.10.2

bench: setup
	$(BIN)/python -m pip install --quiet --no-deps $(ANCHOR)
	cd benchmarks && ../$(BIN)/python detect.py
	cd benchmarks && ../$(BIN)/python recognize.py
	cd benchmarks && ../$(BIN)/python anonymize.py
	cd benchmarks && ../$(BIN)/python cloak.py
	cd benchmarks && ../$(BIN)/python crossmodel.py
	cd benchmarks && OMP_NUM_THREADS=1 ../$(BIN)/python attributes.py
	cd benchmarks && ../$(BIN)/python service.py

lint: $(STAMP)
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks scripts
	$(BIN)/ruff check --fix src tests benchmarks scripts

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache .mypy_cache
