# Two commands for a newcomer: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: run prod test bench venv messages lint audit audit-index clean

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

## The production processes (gunicorn, Celery worker, Celery beat: Procfile.prod) with
## PORTAL_ENV=production, against the PostgreSQL, Redis and secrets named in the environment
## (README "Production"). Refuses to start without them. No venv step: a production host
## installs requirements.txt when its image is built.
prod:
	@case "$$DATABASE_URL" in postgres://*|postgresql://*) ;; *) echo "make prod: DATABASE_URL must name the PostgreSQL database (postgres://...)" >&2; exit 1;; esac
	@case "$$CACHE_URL" in redis://*|rediss://*) ;; *) echo "make prod: CACHE_URL must name a Redis (redis://...)" >&2; exit 1;; esac
	@case "$$CELERY_BROKER_URL" in redis://*|rediss://*) ;; *) echo "make prod: CELERY_BROKER_URL must name a Redis (redis://...)" >&2; exit 1;; esac
	PORTAL_ENV=production $(BIN)/python manage.py check --deploy
	PORTAL_ENV=production $(BIN)/python manage.py migrate --noinput
	PORTAL_ENV=production $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	PORTAL_ENV=production exec $(BIN)/honcho start -f Procfile.prod

## The whole test suite.
test: venv
	$(BIN)/python manage.py makemigrations --check --dry-run >/dev/null
	PORTAL_VAR_DIR=$(CURDIR)/var/test $(BIN)/pytest $(PYTEST_ARGS)

## Benchmarks, one after the other; each writes its table into README.md. Production-like with
## BENCH_DATABASE_URL (a throw-away PostgreSQL database), BENCH_BROKER_URL and BENCH_CACHE_URL.
bench: venv
	$(BIN)/python -m bench.otp_generate
	$(BIN)/python -m bench.sms_pipeline
	$(BIN)/python -m bench.confirm
	$(BIN)/python -m bench.login
	@# Growth fills 1,000,000 SMS and audit rows with generate_series: PostgreSQL only.
	@case "$$BENCH_DATABASE_URL" in postgres*) $(BIN)/python -m bench.growth --then otp --then confirm ;; \
	  *) echo "bench.growth skipped: it needs BENCH_DATABASE_URL=postgres://..." ;; esac

## Refresh the translation catalogues (needs GNU gettext) and compile them.
messages: venv
	$(BIN)/python manage.py makemessages --locale id --locale en --ignore '.venv/*' --ignore 'tests/*' --ignore 'bench/*' --no-obsolete
	$(BIN)/python locale/en_identity.py
	$(BIN)/python manage.py compilemessages --ignore '.venv/*'

## ruff, and bandit failing on any medium- or high-severity finding (config in pyproject.toml).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/bandit -c pyproject.toml -r . --severity-level medium --quiet

## Known vulnerabilities of the pinned runtime packages (needs network: PyPI's advisory data).
audit: venv
	$(BIN)/pip-audit --requirement requirements.txt --strict

## Weaker stand-in where pip-audit cannot reach its data: every pin is the newest of its
## series, and PyPI lists no vulnerability for the pins that are the newest release.
audit-index: venv
	$(BIN)/python scripts/audit_index.py requirements.txt

clean:
	rm -rf var staticfiles .pytest_cache
