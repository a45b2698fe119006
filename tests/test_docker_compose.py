"""docker-compose.yml is validated statically (no Docker engine on CI machines)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_SERVICES = {"airflow-api-server", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer"}  # fmt: skip
CELERY_SERVICES = {"airflow-worker": "airflow celery worker",
                   "airflow-flower": "airflow celery flower"}  # fmt: skip


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_present_and_databases_separate():
    services = _compose()["services"]
    assert AIRFLOW_SERVICES | {"airflow-init", "airflow-metadata-db", "warehouse-db"} <= set(
        services
    )
    meta = services["airflow-scheduler"]["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    wh = services["airflow-scheduler"]["environment"]["USEROPS_WAREHOUSE"]
    assert "@airflow-metadata-db:" in meta and "@warehouse-db:" in wh
    assert services["airflow-metadata-db"]["volumes"] != services["warehouse-db"]["volumes"]


def test_airflow_services_run_the_right_commands_after_init():
    services = _compose()["services"]
    for name in AIRFLOW_SERVICES:
        svc = services[name]
        assert svc["command"] == f"airflow {name.removeprefix('airflow-')}"
        assert svc["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert "db migrate" in services["airflow-init"]["command"]
    for name, command in CELERY_SERVICES.items():
        assert services[name]["command"] == command
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_celery_executor_settings_are_the_ones_tested_on_a_real_worker():
    """What tests/integration/test_celery_executor.py needed on a real scheduler and
    worker: the CeleryExecutor, a Redis broker, a database result backend, and psycopg 3
    for both of Airflow's engines (the async one has no asyncpg to fall back to)."""
    env = _compose()["services"]["airflow-worker"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:6379/")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql+psycopg://")
    for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"):
        assert env[key].startswith("postgresql+psycopg://"), key
    assert "redis" in _compose()["services"]
    assert "flower" in _compose()["services"]["airflow-flower"]["profiles"]


def test_mounted_paths_and_volumes_exist():
    compose = _compose()
    declared = set(compose["volumes"])
    for name, svc in compose["services"].items():
        for vol in svc.get("volumes", []):
            src, _dst = vol.split(":")[:2]
            if src.startswith("./"):
                assert (ROOT / src).exists(), f"{name} mounts missing {src}"
            else:
                assert src in declared, f"{name} uses undeclared volume {src}"
        build = svc.get("build")
        if build:
            assert (ROOT / build["context"] / build["dockerfile"]).exists()
    env = compose["services"]["airflow-scheduler"]["environment"]
    mounts = {v.split(":")[1] for v in compose["services"]["airflow-scheduler"]["volumes"]}
    for key in ("AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__CORE__PLUGINS_FOLDER", "DBT_PROFILES_DIR"):
        assert env[key] in mounts, f"{key} points outside the mounted project"


def test_env_example_defines_every_interpolated_variable():
    text = (ROOT / "docker-compose.yml").read_text()
    needed = set(re.findall(r"\$\{(\w+)\}", text))
    example = (ROOT / ".env.example").read_text()
    defined = {line.split("=", 1)[0] for line in example.splitlines() if "=" in line
               and not line.startswith("#")}  # fmt: skip
    assert needed <= defined, needed - defined
    assert "env_file" in str(_compose()["x-airflow-common"])


def test_dockerfile_installs_the_lock():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "requirements.lock" in dockerfile
    assert re.search(r"^FROM apache/airflow:3\.", dockerfile, re.M)
