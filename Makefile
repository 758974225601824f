# Two entry points: `make demo` (the main job) and `make check` (every check).
DEMO_OUT ?= out/demo
PYTHON ?= python3
UV_VENV := .tools
UV := $(UV_VENV)/bin/uv
VENV := .venv
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo calendar portal check lint typecheck test install clean bench api-docs

$(UV):
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check "uv>=0.5,<1"

$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --python $(PYTHON)
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/espacefamille demo --out $(DEMO_OUT) $(ARGS)

calendar: install
	$(VENV)/bin/python -m espacefamille.demo.tour $(ARGS)

# The reference family portal on the demo city: http://127.0.0.1:8000 (docs/portal.md).
portal: install
	PYTHONPATH=portal $(VENV)/bin/python -m espacefamille_portal $(ARGS)

lint: install
	$(VENV)/bin/ruff check src tests benchmarks portal
	$(VENV)/bin/ruff format --check src tests benchmarks portal
	$(VENV)/bin/lint-imports

typecheck: install
	$(VENV)/bin/mypy

test: install
	$(VENV)/bin/pytest

check: lint typecheck test

api-docs: install
	$(VENV)/bin/python -m tests.unit.test_public_api

bench: install
	$(VENV)/bin/python benchmarks/run.py $(BENCH)

clean:
	rm -rf out $(VENV) $(UV_VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage
