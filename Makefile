# Two commands for a newcomer: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: run test bench venv messages lint clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

## Serve the portal on http://127.0.0.1:8000 with a Celery worker (SQLite, filesystem broker, SMS outbox).
run: venv
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_data
	$(BIN)/honcho start -f Procfile

## The whole test suite.
test: venv
	$(BIN)/python manage.py makemigrations --check --dry-run >/dev/null
	PORTAL_VAR_DIR=$(CURDIR)/var/test $(BIN)/pytest $(PYTEST_ARGS)

## Benchmarks, one after the other; each writes its table into README.md. Production-like with
## BENCH_DATABASE_URL (a throw-away PostgreSQL database), BENCH_BROKER_URL and BENCH_CACHE_URL.
bench: venv
	$(BIN)/python -m bench.otp_generate
	$(BIN)/python -m bench.confirm
	$(BIN)/python -m bench.login
# growth (issue 13 item 5): its line goes here, after login

## Refresh the translation catalogues (needs GNU gettext) and compile them.
messages: venv
	$(BIN)/python manage.py makemessages --locale id --locale en --ignore '.venv/*' --ignore 'tests/*' --ignore 'bench/*' --no-obsolete
	$(BIN)/python locale/en_identity.py
	$(BIN)/python manage.py compilemessages --ignore '.venv/*'

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf var staticfiles .pytest_cache
