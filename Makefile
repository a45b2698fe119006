# userops — every entry point a user needs.  `make demo` and `make test` do all set-up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := $(CURDIR)/.venv
BIN       := $(VENV)/bin
PY        := $(BIN)/python
UV_VERSION := 0.13.9
DATE      ?=

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
	$(BIN)/uv pip sync -q --python $(PY) requirements-dev.lock
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
	$(BIN)/pytest -n 2 --dist loadfile

lint: setup  ## ruff + sqlfluff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd dbt_project && USEROPS_DUCKDB_PATH=$(CURDIR)/.cache/sqlfluff.duckdb $(BIN)/sqlfluff lint models macros tests

fmt: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

airflow: setup  ## Airflow UI on http://localhost:8080 (airflow standalone)
	@echo "Airflow UI: http://localhost:8080  user: admin  password: in $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated (written on the first start)"
	$(BIN)/airflow standalone

docs: setup  ## build and serve the dbt docs site (lineage) on http://localhost:8081
	@test -f data/warehouse/userops.duckdb || $(MAKE) demo
	cd dbt_project && USEROPS_DUCKDB_PATH=$(CURDIR)/data/warehouse/userops.duckdb $(BIN)/dbt docs generate --target duckdb --vars '{"as_of_date": "$(or $(DATE),$(shell TZ=Asia/Shanghai date -d yesterday +%F))"}' && $(BIN)/dbt docs serve --port 8081

metrics: setup  ## example MetricFlow query on the demo warehouse (DAU/WAU/MAU, last 7 days)
	@test -f data/warehouse/userops.duckdb || $(MAKE) demo
	cd dbt_project && USEROPS_DUCKDB_PATH=$(CURDIR)/data/warehouse/userops.duckdb $(BIN)/dbt parse --target duckdb --quiet && USEROPS_DUCKDB_PATH=$(CURDIR)/data/warehouse/userops.duckdb $(BIN)/mf query --metrics dau,wau,mau,stickiness --group-by metric_time__day --order -metric_time__day --limit 7

bench: setup  ## benchmarks that print figures (generator, loads, dbt)
	$(PY) benchmarks/run_all.py

clean:  ## remove generated data, Airflow home and dbt artefacts (keeps .venv)
	rm -rf data .airflow .cache dbt_project/target dbt_project/logs
