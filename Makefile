# ipdesk developer commands. `make run` and `make test` are all a new machine needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1:8000
PYTEST_ARGS ?=

.PHONY: run test install lock lock-upgrade system-packages migrate demo lint lint-imports typecheck check messages clean

# Installs the exact versions of requirements/dev.lock, hashes checked, then ipdesk itself
# (its dependencies are all in the lock; the build backend too, hence no build isolation).
# Nothing but python3 and PyPI is needed; `pip check` catches a lock that misses a dependency.
$(STAMP): pyproject.toml requirements/dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check || { \
	  echo "requirements/dev.lock lacks a dependency of pyproject.toml: run make lock" >&2; exit 1; }
	touch $(STAMP)

install: $(STAMP)

# After changing dependencies in pyproject.toml: regenerate requirements/*.lock (keeping every
# pin that still fits) and install them. `make lock-upgrade` moves everything to the newest
# versions pyproject.toml allows. Both need PyPI; `tools/lock.py --check` is what CI runs.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python tools/lock.py
	$(MAKE) install

lock-upgrade:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python tools/lock.py --upgrade
	$(MAKE) install

# Debian packages beyond Python (see tools/system-packages); installs only what is missing.
system-packages:
	tools/system-packages

migrate: install
	$(BIN)/ipdesk migrate --noinput

demo: migrate
	$(BIN)/ipdesk demo

run: demo
	$(BIN)/ipdesk runserver $(HOST)

test: install system-packages
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# The import contracts in pyproject.toml: layers of apps, api/views as leaves, no cycles.
lint-imports: install
	$(BIN)/lint-imports

# Services and selectors of every app, as modules (services.py) or packages (services/).
TYPECHECKED := $(wildcard ipdesk/*/policy.py ipdesk/*/services.py ipdesk/*/services ipdesk/*/selectors.py ipdesk/*/selectors)
typecheck: install
	$(BIN)/mypy $(TYPECHECKED)

check: lint typecheck test

# Regenerate the translation catalogues after changing user-facing text. Each app keeps its
# own catalogue (ipdesk/<app>/locale) so that work on two apps never touches the same file;
# ipdesk/locale holds only the project's own templates and settings.
APPS := $(notdir $(patsubst %/apps.py,%,$(wildcard ipdesk/*/apps.py)))
messages: install
	for app in $(APPS); do \
	  (cd ipdesk/$$app && mkdir -p locale && \
	   ../../$(BIN)/ipdesk makemessages --locale zh_Hans --ignore 'tests/*' --no-obsolete) || exit 1; \
	done
	cd ipdesk && ../$(BIN)/ipdesk makemessages --locale zh_Hans --ignore 'tests/*' \
	  $(foreach app,$(APPS),--ignore '$(app)/*') --no-obsolete
	cd ipdesk && ../$(BIN)/ipdesk compilemessages

clean:
	rm -rf $(VENV) var
