# Two commands: `make run` (the app with real data, a real worker and a real Redis) and `make test` (the suite).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test setup demo lint sdk-venv browser clean

setup:
	scripts/bootstrap.sh

demo: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	$(PY) manage.py compute_morphology

run: demo
	scripts/run.sh

test:
	scripts/test.sh

lint:
	scripts/bootstrap.sh --dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

sdk-venv:
	scripts/make_sdk_venv.sh

clean:
	rm -rf var/db.sqlite3 var/data var/log var/celerybeat-schedule*
