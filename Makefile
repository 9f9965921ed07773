# Two entry points for a fresh machine: `make table2` (the main job) and `make test`.
# Both create or refresh .venv from setup.cfg first.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: venv test table2 table1 clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

table1: $(STAMP)
	$(VENV)/bin/python -m experiments.table1 $(ARGS)

table2: $(STAMP)
	$(VENV)/bin/python -m experiments.table2 $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
