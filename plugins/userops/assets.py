"""Every Airflow Asset of the project, defined once (STYLE rule 5: one name per dataset).

Asset names equal the warehouse table names, which equal the GX suite names, so a
lineage view, a failed expectation and a table in the warehouse read the same.
This module imports only ``airflow.sdk`` and is imported by DAG files alone.
"""

from __future__ import annotations

from airflow.sdk import Asset

RAW_TABLES = (
    "raw.crm__sales_reps",
    "raw.crm__leads",
    "raw.crm__followups",
    "raw.crm__contracts",
    "raw.events__events",
    "raw.events__quarantine",
)

MART_TABLES = (
    "marts.active_users_daily",
    "marts.user_activity",
    "marts.retention_cohorts",
    "marts.growth_accounting",
    "marts.users",
    "marts.user_rfm",
    "marts.user_lifecycle_daily",
    "marts.lifecycle_transitions",
    "marts.lead_funnel",
    "marts.lead_scores",
    "marts.rep_performance",
    "marts.outreach_candidates",
    "marts.outreach_triggers",
)
#: Marts built after the predict steps (dbt tag ``predicted``, task dbt_build_predicted).
PREDICTED_MART_TABLES = (
    "marts.lead_need_themes",
    "marts.need_theme_segments",
    "marts.segment_personas",
    "marts.user_tags",
)


def _asset(name: str) -> Asset:
    return Asset(name=name, uri=f"userops://warehouse/{name.replace('.', '/')}", group="userops")


RAW_CRM = [_asset(n) for n in RAW_TABLES if n.startswith("raw.crm__")]
RAW_EVENTS = [_asset(n) for n in RAW_TABLES if n.startswith("raw.events__")]
MARTS = [_asset(n) for n in MART_TABLES]
USER_VALUE = _asset("marts.user_value")
NOTE_THEMES = _asset("marts.followup_note_themes")
PREDICTED_MARTS = [_asset(n) for n in PREDICTED_MART_TABLES]
OUTREACH_LISTS = Asset(name="outreach.lists", uri="userops://outreach/lists", group="userops")
