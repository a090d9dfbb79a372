# ipdesk developer commands. `make run` and `make test` are all a new machine needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1:8000
PYTEST_ARGS ?=

.PHONY: run test install system-packages migrate demo lint typecheck check messages clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

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

# Services and selectors of every app, as modules (services.py) or packages (services/).
TYPECHECKED := $(wildcard ipdesk/*/services.py ipdesk/*/services ipdesk/*/selectors.py ipdesk/*/selectors)
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
