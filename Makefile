# userops — every entry point a user needs.  `make demo` and `make test` do all set-up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := $(CURDIR)/.venv
BIN       := $(VENV)/bin
PY        := $(BIN)/python
UV_VERSION := 0.13.9
DATE      ?=
# the demo's data folder (USEROPS_DATA_DIR, relative to the project root) and its warehouse
DATA_DIR  := $(abspath $(or $(USEROPS_DATA_DIR),data))
DEMO_DUCKDB := $(DATA_DIR)/warehouse/userops.duckdb
AIRFLOW_PORT ?= 8080
DOCS_PORT ?= 8081
BENCH_ARGS ?=

# Airflow: project-local home (SQLite metadata DB), our dags/ and plugins/.
export AIRFLOW_HOME                        := $(CURDIR)/.airflow
export AIRFLOW__CORE__LOAD_EXAMPLES        := False
export AIRFLOW__CORE__DAGS_FOLDER          := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER       := $(CURDIR)/plugins
export AIRFLOW__CORE__UNIT_TEST_MODE       := False
export DBT_PROFILES_DIR                    := $(CURDIR)/dbt_project
export DBT_SEND_ANONYMOUS_USAGE_STATS      := False
export PYTHONPATH                          := $(CURDIR)/plugins
export AIRFLOW__CORE__DEFAULT_TIMEZONE     := Asia/Shanghai
# every target (and what it starts, e.g. airflow standalone's children) finds the venv's tools
export PATH                                := $(BIN):$(PATH)

.PHONY: help setup demo run check-full test lint fmt airflow docs metrics bench clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# Bootstrap: a stdlib venv with pip, then uv (pinned; the lock pins it too) does the rest.
$(BIN)/uv:
	@test -x $(PY) || python3.11 -m venv $(VENV)
	@$(PY) -m pip --version >/dev/null 2>&1 || $(PY) -m ensurepip >/dev/null
	$(PY) -m pip install -q --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.installed: requirements-dev.lock pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip sync -q --compile-bytecode --python $(PY) requirements-dev.lock
	$(BIN)/uv pip install -q --python $(PY) --no-deps -e .
	@touch $@

$(AIRFLOW_HOME)/airflow.db: $(VENV)/.installed
	@mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate >$(AIRFLOW_HOME)/migrate.log 2>&1 || (cat $(AIRFLOW_HOME)/migrate.log; exit 1)
	$(BIN)/airflow pools set userops_duckdb 1 "DuckDB allows one writer per file" >/dev/null
	@touch $@

setup: $(AIRFLOW_HOME)/airflow.db  ## create .venv from the lock, install userops, migrate Airflow

demo: setup  ## sample data -> nightly DAG for one date on DuckDB -> marts, checks, lists
	$(BIN)/userops demo $(if $(DATE),--date $(DATE),)

run: setup  ## one business day through userops_nightly: make run DATE=YYYY-MM-DD
	@test -n "$(DATE)" || (echo "usage: make run DATE=YYYY-MM-DD"; exit 2)
	$(BIN)/userops run --date $(DATE)

check-full: setup  ## every dbt data test over the whole history: make check-full DATE=YYYY-MM-DD
	@test -n "$(DATE)" || (echo "usage: make check-full DATE=YYYY-MM-DD (the latest date run)"; exit 2)
	$(BIN)/userops check --date $(DATE)

test: setup  ## the whole test suite (DuckDB and PostgreSQL), two workers
	$(BIN)/pytest -n 2 --dist loadfile --durations=30

lint: setup  ## ruff + sqlfluff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@mkdir -p $(CURDIR)/.cache
	cd dbt_project && USEROPS_DUCKDB_PATH=$(CURDIR)/.cache/sqlfluff.duckdb $(BIN)/sqlfluff lint models macros tests

fmt: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

airflow: setup  ## Airflow UI on http://localhost:8080 (airflow standalone; AIRFLOW_PORT=...)
	@echo "Airflow UI: http://localhost:$(AIRFLOW_PORT)  user: admin  password: in $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated (written on the first start)"
	AIRFLOW__API__PORT=$(AIRFLOW_PORT) $(BIN)/airflow standalone

docs: setup  ## build and serve the dbt docs site (lineage) on http://localhost:8081 (DOCS_PORT=...)
	@test -f $(DEMO_DUCKDB) || $(MAKE) demo
	cd dbt_project && USEROPS_DUCKDB_PATH=$(DEMO_DUCKDB) $(BIN)/dbt docs generate --target duckdb --vars "$$($(BIN)/userops dbt-vars --date $(or $(DATE),$(shell TZ=Asia/Shanghai date -d yesterday +%F)))"
	@echo "dbt docs: http://localhost:$(DOCS_PORT)  (Ctrl-C stops the server)"
	cd dbt_project && USEROPS_DUCKDB_PATH=$(DEMO_DUCKDB) $(BIN)/dbt docs serve --port $(DOCS_PORT) --no-browser

metrics: setup  ## example MetricFlow query on the demo warehouse (DAU/WAU/MAU, last 7 days; mf reads target/)
	@test -f $(DEMO_DUCKDB) || $(MAKE) demo
	cd dbt_project && USEROPS_DUCKDB_PATH=$(DEMO_DUCKDB) $(BIN)/dbt parse --target duckdb --quiet --target-path target && USEROPS_DUCKDB_PATH=$(DEMO_DUCKDB) $(BIN)/mf query --metrics dau,wau,mau,stickiness --group-by metric_time__day --order -metric_time__day --limit 7

bench: setup  ## benchmarks that print figures (generator, loads, nights); BENCH_ARGS=--small
	$(PY) benchmarks/run_all.py $(BENCH_ARGS)

clean:  ## remove generated data, Airflow home and dbt artefacts (keeps .venv)
	rm -rf data .airflow .cache dbt_project/target dbt_project/logs
