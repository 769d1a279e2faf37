# survey_service: `make run` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV_VERSION := 0.13.8
PY := .venv/bin/python
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := $(HOME)/.local/bin/uv
endif

.PHONY: help venv run migrate demo backup restore test test-unit attack lint format bench clean system-deps browser fonts nginx

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(UV):
	python3 -m pip install --user --quiet "uv==$(UV_VERSION)" || python3 -m pip install --quiet "uv==$(UV_VERSION)"

# One stamp per dependency group (pyproject.toml): `make run` installs only what serving
# needs; `make test`, `make lint` and `make bench` add their group. --inexact: no target
# removes what another installed, so running them in turn syncs each group once.
# --compile-bytecode: every process (each server, worker, CLI run and test subprocess) reads
# the installed packages' bytecode instead of compiling ~1,400 modules again, which costs
# seconds a process where PYTHONDONTWRITEBYTECODE is set (as on this machine kind).
SYNC = $(UV) sync --frozen --python 3.11 --inexact --no-default-groups --compile-bytecode
SERVE_ENV := .venv/.synced-serve

$(SERVE_ENV): pyproject.toml uv.lock | $(UV)
	$(SYNC)
	@touch $@

.venv/.synced-%: pyproject.toml uv.lock | $(UV)
	$(SYNC) --group $*
	@touch $@

venv: .venv/.synced-dev ## the virtual environment from the lock file, with every tool (group dev)

fonts: ## Debian's CJK fonts, HarfBuzz's subsetter and fc-match (one font per face) for the Chinese PDFs (installed when missing)
	@missing=""; \
	  fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing="$$missing fonts-noto-cjk"; \
	  ldconfig -p 2>/dev/null | grep -q "libharfbuzz-subset.so.0" || missing="$$missing libharfbuzz-subset0"; \
	  command -v fc-match >/dev/null || missing="$$missing fontconfig"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null; \
	  fi

system-deps: fonts ## Debian packages: the fonts, and wrk for benchmarks (installed when missing)
	@missing=""; \
	  command -v wrk >/dev/null || missing="$$missing wrk"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null; \
	  fi

browser: ## Debian's chromium for the end-to-end page tests (installed when missing)
	@command -v chromium >/dev/null || { \
	  echo "installing: chromium"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; \
	}

nginx: ## Debian's nginx for the deployment's proxy configuration: its test and bench.load (installed when missing)
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { \
	  echo "installing: nginx-light"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light) >/dev/null; \
	}

run: $(SERVE_ENV) fonts ## migrate, load the shipped forms and serve on 127.0.0.1:8000
	$(PY) -m survey_service serve

migrate: $(SERVE_ENV) ## apply the database migrations
	$(PY) -m survey_service migrate

demo: $(SERVE_ENV) ## fill an empty database with a synthetic city (ARGS="--enterprises 50 --seed 7")
	$(PY) -m survey_service demo $(ARGS)

backup: $(SERVE_ENV) ## export the whole database to a portable archive (FILE=..., else var/backups/)
	$(PY) -m survey_service backup $(if $(FILE),-o $(FILE))

restore: $(SERVE_ENV) ## load an archive into an empty database (FILE=backup.zip; ARGS=--force replaces data)
	@test -n "$(FILE)" || { echo "usage: make restore FILE=backup.zip [ARGS=--force]"; exit 2; }
	$(PY) -m survey_service restore $(FILE) $(ARGS)

# One worker per core (pytest-xdist); a file's tests stay together, so a module's server and
# browser start once. Each worker has its own PostgreSQL databases and SQLite files. The
# project's own bytecode is written (__pycache__, ignored by git) even where
# PYTHONDONTWRITEBYTECODE is set: the suite starts many Python processes.
test: .venv/.synced-test fonts browser nginx ## the whole suite, on SQLite and PostgreSQL, with the pages in Chromium
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -q -p no:cacheprovider -n auto --dist loadfile --durations=15

test-unit: .venv/.synced-test ## the tests that need no database
	$(PY) -m pytest -q tests/unit

attack: .venv/.synced-test ## the release attack on the full 300-enterprise demo city, both databases (minutes)
	SURVEY_ATTACK_DEMO_ENTERPRISES=300 $(PY) -m pytest -q -p no:cacheprovider -o timeout=0 \
	  -k demo_city tests/integration/analytics/test_release_attacks.py

lint: .venv/.synced-lint ## ruff and mypy strict
	.venv/bin/ruff format --check survey_service tests bench
	.venv/bin/ruff check survey_service tests bench
	.venv/bin/mypy

format: .venv/.synced-lint ## format the code
	.venv/bin/ruff format survey_service tests bench
	.venv/bin/ruff check --fix survey_service tests bench

bench: .venv/.synced-bench system-deps nginx ## print every figure beside its baseline
	$(PY) -m bench

clean: ## remove the virtual environment and local data
	rm -rf .venv var
