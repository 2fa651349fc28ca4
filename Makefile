# chainops — every target sets up what it needs first; re-runs skip what is done.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMPS := .stamps

.PHONY: setup demo test test-unit test-integration bench lint wheel clean distclean

setup: $(STAMPS)/venv $(STAMPS)/npm chainops/devnet/contracts/.stamp

$(STAMPS)/venv: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "chainops needs Python >= 3.11")'
	@mkdir -p $(STAMPS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,solana]'
	@touch $@

# `npm ci` rejects this lock (Anvil's other-platform optional packages); install honours it.
# The Anvil binary arrives as an npm optional dependency, so no install script is needed.
$(STAMPS)/npm: tools/package.json tools/package-lock.json
	@mkdir -p $(STAMPS)
	@command -v npm >/dev/null || { echo "npm is required (Node.js >= 18)"; exit 1; }
	cd tools && npm install --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

# The compiled contracts are committed (they ship in the wheel); this only refreshes them.
chainops/devnet/contracts/.stamp: $(STAMPS)/npm $(wildcard contracts/*.sol) scripts/compile_contracts.mjs
	node scripts/compile_contracts.mjs

demo: setup
	$(PY) scripts/demo.py

# One worker per core (at most 4): most tests wait on nodes and subprocesses. Whole files go
# to one worker, in order: the README's blocks run one after another in one folder.
XDIST := -n auto --maxprocesses=4 --dist loadfile

test: setup
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

test-unit: setup
	$(PY) -m pytest $(XDIST) tests/unit $(PYTEST_ARGS)

test-integration: setup
	$(PY) -m pytest $(XDIST) tests/integration $(PYTEST_ARGS)

bench: setup
	$(PY) bench/run.py

lint: setup
	$(VENV)/bin/ruff check chainops tests scripts bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	node scripts/compile_contracts.mjs --check
	$(PY) scripts/extract_abis.py --check

# dist/chainops-<version>-py3-none-any.whl, from a copy of the sources (scripts/build_wheel.py;
# tests/integration/test_wheel_install.py builds it the same way). dist/ ignores itself in git.
wheel: $(STAMPS)/venv
	$(PY) scripts/build_wheel.py

clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache

distclean: clean
	rm -rf $(VENV) $(STAMPS) tools/node_modules
