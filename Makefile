# Postaci: `make run` starts the app on http://127.0.0.1:8000, `make test` runs every test.
# Both install what is missing (Debian packages, a virtualenv, Python packages) and are fast
# the second time.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_PACKAGES := gettext
TEST_PACKAGES := gettext dovecot-imapd chromium postgresql redis-server systemd

# The suite runs against these real servers (started by scripts/ensure-services if down).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postaci
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
# A test database of its own per checkout, so two checkouts can test at the same time.
TEST_DB_NAME ?= test_postaci_$(shell printf '%s' "$(CURDIR)" | md5sum | cut -c1-8)
PYTEST_ARGS ?= -n 2
# The test run is a deployment like production: keys come from the environment (the
# development keys in var/ unless SECRET_KEY / POSTACI_ENCRYPTION_KEY are set already).
TEST_KEYS = SECRET_KEY="$${SECRET_KEY:-$$(cat var/secret_key)}" \
  POSTACI_ENCRYPTION_KEY="$${POSTACI_ENCRYPTION_KEY:-$$(cat var/encryption_key)}"

.PHONY: run test test-sqlite lint format messages extract-messages install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.stamp-run: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.stamp-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.stamp-run

install: $(VENV)/.stamp-run
	@scripts/apt-ensure $(RUN_PACKAGES)

install-dev: $(VENV)/.stamp-dev
	@scripts/apt-ensure $(TEST_PACKAGES)

messages: $(VENV)/.stamp-run
	@$(BIN)/python manage.py compilemessages --ignore=.venv --verbosity 0

# Re-extract the UI strings into the Turkish catalogue (no source locations, so branches that
# add strings in different files merge cleanly); translate the new entries, then `make messages`.
extract-messages: $(VENV)/.stamp-run
	@$(BIN)/python manage.py makemessages --locale tr --no-location --no-obsolete \
	  --ignore=.venv --ignore=var --ignore=tests --ignore=bench --verbosity 0

run: install messages
	$(BIN)/python manage.py local_setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py ensure_admin
	$(BIN)/honcho --procfile Procfile start

test: install-dev messages
	@TEST_DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) scripts/ensure-services
	@$(BIN)/python manage.py local_setup
	$(TEST_KEYS) DATABASE_URL=$(TEST_DATABASE_URL) POSTACI_TEST_DB_NAME=$(TEST_DB_NAME) \
	  TEST_REDIS_URL=$(TEST_REDIS_URL) \
	  $(BIN)/pytest $(PYTEST_ARGS)

# The same suite on the zero-setup SQLite database (Redis still used by the broker tests).
test-sqlite: install-dev messages
	@TEST_REDIS_URL=$(TEST_REDIS_URL) scripts/ensure-services
	@$(BIN)/python manage.py local_setup
	$(TEST_KEYS) DATABASE_URL=sqlite:///$(CURDIR)/var/postaci-test-main.sqlite3 \
	  POSTACI_TEST_DB_NAME=$(CURDIR)/var/postaci-test.sqlite3 TEST_REDIS_URL=$(TEST_REDIS_URL) \
	  $(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.stamp-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.stamp-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var/staticfiles test-results
