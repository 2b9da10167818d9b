# Two commands for a newcomer: `make run` and `make test`. Everything else is set up by them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test system-deps benchmarks clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

system-deps:
	@bash scripts/system_deps.sh

run: $(STAMP)
	@bash scripts/system_deps.sh --runtime
	@$(PY) scripts/run.py --stop-with-parent

test: $(STAMP) system-deps
	@$(PY) -m ruff check --select F,E9 --quiet cothon opportunities proposals integrations sync_engine demo salesforce_emulator scripts benchmarks
	@$(PY) scripts/run_tests.py

benchmarks: $(STAMP)
	@cd benchmarks && ../$(PY) emulator.py && ../$(PY) push.py && ../$(PY) pull.py --idle-connections 200 && ../$(PY) make_run_pull.py && ../$(PY) logs.py && ../$(PY) validation.py && ../$(PY) quotes.py && ../$(PY) appointments.py && ../$(PY) dashboard.py && ../$(PY) metrics.py && ../$(PY) chaos.py

clean:
	rm -rf var/ staticfiles/ test-artifacts/
