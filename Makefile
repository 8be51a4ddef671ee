# Products Sync — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test lint bench install clean migrate superuser manage newman postman lock lock-upgrade

# Installs come from the lock files (exact versions, hashes checked): requirements.txt is production,
# requirements-dev.txt adds what `make run`, tests and tools need. Edit the *.in files, then `make lock`.
$(STAMP): requirements.txt requirements-dev.txt
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --require-hashes -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links

# Re-resolve after editing requirements*.in; pins that still fit are kept (use lock-upgrade to move them).
lock: $(STAMP)
	$(PIP_COMPILE) $(LOCK_FLAGS) -o requirements.txt requirements.in
	$(PIP_COMPILE) $(LOCK_FLAGS) -o requirements-dev.txt requirements-dev.in
	$(PIP) install --quiet --require-hashes -r requirements-dev.txt
	@touch $(STAMP)

lock-upgrade:
	$(MAKE) lock LOCK_FLAGS=--upgrade

# Web server, worker, beat and the sandbox shops, all on embedded defaults (SQLite, SQLAlchemy-on-SQLite broker),
# supervised by honcho (Procfile.dev). `prepare` checks the ports first and exits 1 naming a busy one.
run: $(STAMP)
	@export DJANGO_DEBUG=$${DJANGO_DEBUG:-1} PY=$(PY) RUN_PORT=$(PORT) && \
	procs=$$($(PY) -m config.devserver prepare --port $(PORT)) && \
	exec $(VENV)/bin/honcho --no-colour -f Procfile.dev start $$procs

# Any manage.py command in make run's environment: make manage CMD="resync --reference PROD001"
manage: $(STAMP)
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py $(CMD)

# A staff superuser for the admin (asks for the password; make run also made `admin`, see var/admin_password).
superuser: $(STAMP)
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py migrate --noinput --verbosity 0
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py createsuperuser $(ARGS)

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	DJANGO_DEBUG=1 $(PY) -m mypy
	DJANGO_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DJANGO_DEBUG=1 $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null
	DJANGO_DEBUG=1 $(PY) manage.py postman_collection --check
	$(PY) -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

# The Postman collection and environment in docs/postman/, regenerated from the schema.
postman: $(STAMP)
	DJANGO_DEBUG=1 $(PY) manage.py postman_collection

# newman runs docs/postman/ against a fresh make-run-style server (NEWMAN_PORT, default 18200, and the next two).
newman: $(STAMP)
	bash .ci/newman.sh

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	DJANGO_DEBUG=1 $(PY) -m mypy

bench: $(STAMP)
	DJANGO_DEBUG=1 $(PY) -m bench

migrate: $(STAMP)
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py migrate

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
