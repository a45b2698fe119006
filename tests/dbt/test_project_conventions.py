"""Machine-checked dbt conventions (STYLE rules 7 and 13) from ``manifest.json``.

Runs ``dbt parse`` on the real project (every model of every area, not only
staging), then checks names per layer, documentation coverage and that each model
states its grain. Needs no warehouse: parsing does not connect.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from userops.config import DBT_PROJECT_DIR, WarehouseTarget, project_vars
from userops.publish.rules import PublishParams
from userops.quality.thresholds import QualityThresholds, load_thresholds
from userops.transform.dbt import run_dbt

GRAIN = re.compile(r"\bone row per\b", re.IGNORECASE)
STAGING = re.compile(r"^stg_(?P<source>[a-z0-9]+)__[a-z0-9_]+$")
INTERMEDIATE = re.compile(r"^int_[a-z0-9]+(_[a-z0-9]+)*(__[a-z0-9_]+)?$")
MART = re.compile(r"^[a-z][a-z0-9_]*$")


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("dbt_parse")
    target = WarehouseTarget(kind="duckdb", duckdb_path=base / "unused.duckdb")
    run_dbt(["parse"], target, target_path=base / "target", log_path=base / "logs")
    return json.loads((base / "target" / "manifest.json").read_text())


def _models(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["package_name"] == "userops"
    ]


def _layer(node: dict[str, Any]) -> str:
    return Path(node["original_file_path"]).parts[1]  # models/<layer>/...


def test_there_are_models(manifest):
    layers = {_layer(n) for n in _models(manifest)}
    assert {"staging", "marts"} <= layers


def test_model_names_follow_their_layer(manifest):
    bad = []
    for node in _models(manifest):
        name, layer = node["name"], _layer(node)
        parts = Path(node["original_file_path"]).parts
        if layer == "staging":
            m = STAGING.match(name)
            # models/staging/<source>/stg_<source>__<entity>.sql
            if not m or len(parts) != 4 or parts[2] != m["source"]:
                bad.append((name, node["original_file_path"]))
        elif layer == "intermediate":
            if not INTERMEDIATE.match(name):
                bad.append((name, node["original_file_path"]))
        elif layer == "marts":
            if not MART.match(name) or name.startswith(("stg_", "int_")) or "__" in name:
                bad.append((name, node["original_file_path"]))
        else:
            bad.append((name, f"unknown layer {layer}"))
    assert not bad, bad


def test_every_model_and_column_is_described(manifest):
    missing = []
    for node in _models(manifest):
        if not node["description"].strip():
            missing.append(node["name"])
        if not node["columns"]:
            missing.append(f"{node['name']}: no columns documented")
        missing += [
            f"{node['name']}.{col}"
            for col, spec in node["columns"].items()
            if not (spec.get("description") or "").strip()
        ]
    assert not missing, missing


def test_every_model_states_its_grain(manifest):
    missing = [n["name"] for n in _models(manifest) if not GRAIN.search(n["description"])]
    assert not missing, f"descriptions without 'one row per ...': {missing}"


def test_history_marts_mirror_the_current_ones(manifest):
    """Each <mart>_history has the current mart's columns, types and descriptions, and the
    current mart is its latest snapshot (ADR 0006): the two YAML entries cannot drift."""
    models = {n["name"]: n for n in _models(manifest)}
    histories = [name for name in models if name.endswith("_history")]
    assert set(histories) == {
        "users_history", "user_rfm_history", "lead_scores_history", "user_tags_history",
        "user_activity_history", "rep_performance_history", "outreach_candidates_history",
        "outreach_triggers_history", "segment_personas_history", "lead_need_themes_history",
        "need_theme_segments_history",
    }  # fmt: skip
    for name in histories:
        current, history = models[name.removesuffix("_history")], models[name]
        spec = [
            (c, v.get("data_type"), v.get("description")) for c, v in current["columns"].items()
        ]
        mirrored = [
            (c, v.get("data_type"), v.get("description")) for c, v in history["columns"].items()
        ]
        assert spec == mirrored, name
        assert history["config"]["materialized"] == "incremental", name
        assert history["config"]["unique_key"] == "as_of_date", name
        assert current["depends_on"]["nodes"] == [history["unique_id"]], name


def test_marts_enforce_contracts(manifest):
    loose = [
        n["name"]
        for n in _models(manifest)
        if _layer(n) == "marts" and not n["config"].get("contract", {}).get("enforced")
    ]
    assert not loose, loose


def test_models_have_a_tested_key(manifest):
    """Each staging/mart model tests its key: one column with `unique` and `not_null`,
    or a model-level uniqueness test over a column combination."""
    column_tests: dict[tuple[str, str], set[str]] = {}
    model_tests: dict[str, set[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or not node.get("attached_node"):
            continue
        name = (node.get("test_metadata") or {}).get("name", "")
        if node.get("column_name"):
            column_tests.setdefault((node["attached_node"], node["column_name"]), set()).add(name)
        else:
            model_tests.setdefault(node["attached_node"], set()).add(name)
    missing = []
    for node in _models(manifest):
        if _layer(node) not in {"staging", "marts"}:
            continue
        uid = node["unique_id"]
        keyed = any(
            {"unique", "not_null"} <= kinds
            for (attached, _), kinds in column_tests.items()
            if attached == uid
        ) or any("unique" in name for name in model_tests.get(uid, ()))
        if not keyed:
            missing.append(node["name"])
    assert not missing, missing


def test_sources_are_described(manifest):
    sources = [s for s in manifest["sources"].values() if s["package_name"] == "userops"]
    assert sources
    assert all(s["description"].strip() for s in sources)


def test_every_declared_var_is_read_somewhere():
    """A var in dbt_project.yml that nothing reads would do nothing while looking set:
    each must be named (quoted) by a model, macro or test, or by the Python that
    reads project vars (the lists, the gate, the catch-up rule)."""
    root = DBT_PROJECT_DIR.parent
    quoted = re.compile(r"""['"]([a-z][a-z0-9_]*)['"]""")
    named: set[str] = set()
    for folder in ("models", "macros", "tests", "snapshots"):
        for path in (DBT_PROJECT_DIR / folder).rglob("*.sql"):
            named |= set(quoted.findall(path.read_text(encoding="utf-8")))
    for path in (root / "plugins" / "userops").rglob("*.py"):
        named |= set(quoted.findall(path.read_text(encoding="utf-8")))
    named |= {f"quality_{f.name}" for f in dataclasses.fields(QualityThresholds)}
    declared = set(project_vars())
    assert len(declared) > 40  # the file was read
    assert sorted(declared - named) == []


def test_publish_and_gate_thresholds_are_all_declared():
    """The lists and the gate have no defaults in code: every var they read is in the file."""
    declared = project_vars()
    assert sorted(set(PublishParams.VAR_NAMES) - set(declared)) == []
    assert PublishParams.from_vars().to_dict()["tier_weights"] == dict(
        sorted(declared["outreach_tier_weights"].items())
    )
    assert load_thresholds().max_quarantine_rate == declared["quality_max_quarantine_rate"]


def test_day_keyed_models_carry_the_postgres_upkeep(manifest):
    """Every incremental model keyed by business date indexes the date and refreshes
    statistics on PostgreSQL (macros/postgres_upkeep.sql, ADR 0007): without them a
    night's delete, reads and tests scan every stored date."""
    keyed, missing = [], []
    for node in _models(manifest):
        config = node["config"]
        if config.get("materialized") != "incremental" or config.get("unique_key") != "as_of_date":
            continue
        keyed.append(node["name"])
        hooks = " ".join(hook["sql"] for hook in config.get("post-hook", []))
        if "pg_day_index('as_of_date')" not in hooks or "pg_analyze()" not in hooks:
            missing.append(node["name"])
    assert {"users_history", "user_lifecycle_daily", "int_users__purchase_summary"} <= set(keyed)
    assert missing == []
