# Two entry points: `make demo` and `make test`. Both build .venv from scratch when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export TF_CPP_MIN_LOG_LEVEL := 3

.PHONY: demo test install install-test clean

$(BIN)/python:
	@echo "creating $(VENV) ..."
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip

# setuptools prints a boxed "!!" notice (a UserWarning) for every editable install: not news
# on a first run, so it is silenced for pip and its build backend.
QUIET_PIP := PYTHONWARNINGS=ignore::UserWarning $(BIN)/python -m pip install --quiet

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "installing vaecheck into $(VENV) ..."
	@$(QUIET_PIP) -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	@echo "installing vaecheck and its test dependencies into $(VENV) ..."
	@$(QUIET_PIP) -e '.[test]'
	@touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# The demo's model cannot reach its data: vaecheck exits 1 by design, which is the expected result.
# vaecheck lives in .venv, which make cannot activate for the shell: the last line says how to run it.
demo: $(VENV)/.installed
	@$(BIN)/vaecheck sample_models/relu_vae.keras sample_models/standardized.npy; \
	  status=$$?; \
	  if [ $$status -eq 1 ]; then echo "(exit 1: the finding above is what the demo shows)"; fi; \
	  echo "vaecheck is installed in $(VENV): run $(BIN)/vaecheck, or activate it with . $(BIN)/activate"; \
	  if [ $$status -ne 1 ]; then exit $$status; fi

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache
