# The commands of the README: `make demo`, `make test` and `make lab`. Each builds .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lab bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/scorebench demo --out demo-out

test: lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m mypy scoring simulator rollout connectors

# JupyterLab on notebooks/ with the venv's kernel (kernel "python3" runs .venv/bin/python). Extra server
# options go in LAB_ARGS, e.g. `make lab LAB_ARGS="--no-browser --port 8899"`.
KERNEL_SPEC := $(VENV)/share/jupyter/kernels/python3/kernel.json
LAB_ARGS ?=
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

$(KERNEL_SPEC): | $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (scorebench)"

lab: $(STAMP) $(KERNEL_SPEC)
	$(BIN)/python -m jupyterlab --ServerApp.root_dir=notebooks $(ROOT_FLAG) $(LAB_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_scoring.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache .hypothesis
