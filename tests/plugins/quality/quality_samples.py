"""Hand-made, contract-shaped data for the quality tests (small on purpose).

``good_frames(day)`` returns one frame per dataset that satisfies every suite for
business day ``day``; tests break one thing at a time.  ``create_warehouse``
lands them in a throwaway warehouse: raw and meta through the loader's own DDL
(``ensure_schemas``), marts through minimal tables with the documented columns.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pyarrow as pa

from userops.config import WarehouseTarget
from userops.load.schema import ensure_schemas
from userops.quality.datasets import crm_batch_id
from userops.warehouse import Warehouse
from userops.windows import BusinessDay

DAY = BusinessDay(date(2026, 3, 1), "Asia/Shanghai")  # window 02-28 16:00Z .. 03-01 16:00Z
N_EVENTS = 40
N_USERS = 6

MART_DDL = {
    "marts.users": (
        "as_of_date date, user_id varchar, lead_id varchar, company_name varchar, "
        "industry varchar, company_size integer, size_band varchar, province varchar, "
        "city varchar, source_channel varchar, owner_rep_id varchar, phone_masked varchar, "
        "email_masked varchar, signup_date date, first_active_date date, "
        "last_active_date date, tenure_days integer, days_since_last_active integer, "
        "lifecycle_stage varchar, rfm_segment varchar, lead_tier varchar, is_paying boolean, "
        "contract_plan varchar"
    ),
    "marts.user_rfm": (
        "as_of_date date, user_id varchar, last_order_date date, recency_days integer, "
        "frequency integer, monetary_cny numeric(18,2), r_score integer, f_score integer, "
        "m_score integer, r_high boolean, f_high boolean, m_high boolean, rfm_segment varchar, "
        "rfm_segment_label_zh varchar, lookback_days integer"
    ),
    "marts.lead_scores": (
        "lead_id varchar, user_id varchar, owner_rep_id varchar, source_channel varchar, "
        "lead_score integer, is_cleaned boolean, lead_tier varchar, as_of_date date"
    ),
    "marts.rep_performance": (
        "as_of_date date, rep_id varchar, rep_name varchar, is_active boolean, "
        "daily_capacity integer, followed_up_leads integer, converted_leads integer, "
        "conversion_rate double precision, rep_rank integer, rep_tier varchar"
    ),
    "marts.user_value": (
        "as_of_date date, user_id varchar, expected_purchases double precision, "
        "p_alive double precision, churn_probability double precision, "
        "expected_value_cny double precision, value_decile integer, model_run_id varchar"
    ),
    "marts.lead_need_themes": (
        "as_of_date date, lead_id varchar, note_count integer, themed_note_count integer, "
        "top_theme_id varchar, top_theme_label varchar, top_theme_note_count integer, "
        "second_theme_id varchar, second_theme_label varchar"
    ),
    "marts.active_users_daily": (
        "activity_date date, dau integer, wau integer, mau integer, stickiness numeric(10,4)"
    ),
    "marts.retention_cohorts": (
        "as_of_date date, cohort_week date, weeks_since_signup integer, cohort_size integer, "
        "retained_users integer, retention_on_rate numeric(10,4), "
        "retention_on_or_after_rate numeric(10,4)"
    ),
}


def _events(day: BusinessDay) -> pd.DataFrame:
    start = day.start_utc.replace(tzinfo=None)
    types = ["signup", "login", "page_view", "search", "order_paid"]
    rows = []
    for i in range(N_EVENTS):
        received = start + timedelta(minutes=30 * i + 5)  # all inside the window
        partition = received.date()
        rows.append(
            {
                "event_id": f"e{i}",
                "user_id": f"u{i % N_USERS}",
                "event_type": types[i % len(types)],
                "occurred_at": received - timedelta(minutes=2),
                "received_at": received,
                "occurred_at_raw": (received - timedelta(minutes=2)).isoformat() + "Z",
                "platform": ["web", "ios", "android", "miniprogram"][i % 4],
                "_partition_date": partition,
                "_source_file": f"dt={partition}/part-0.jsonl",
                "_line_number": i + 1,
                "_batch_id": f"events:{day.day}",
                "_loaded_at": datetime(2026, 3, 2, 2, 30),
            }
        )
    return pd.DataFrame(rows)


def _quarantine(day: BusinessDay) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": pd.Series([], dtype="str"),
            "reason": pd.Series([], dtype="str"),
            "raw_text": pd.Series([], dtype="str"),
            "_partition_date": pd.Series([], dtype="object"),
            "_source_file": pd.Series([], dtype="str"),
            "_line_number": pd.Series([], dtype="int64"),
            "_batch_id": pd.Series([], dtype="str"),
            "_loaded_at": pd.Series([], dtype="datetime64[us]"),
        }
    )


def quarantine_rows(day: BusinessDay, n: int) -> pd.DataFrame:
    partition = day.received_partitions[-1]
    return pd.DataFrame(
        {
            "source": ["events"] * n,
            "reason": ["invalid_json"] * n,
            "raw_text": ["{oops"] * n,
            "_partition_date": [partition] * n,
            "_source_file": [f"dt={partition}/part-0.jsonl"] * n,
            "_line_number": list(range(1000, 1000 + n)),
            "_batch_id": [f"events:{day.day}"] * n,
            "_loaded_at": [datetime(2026, 3, 2, 2, 30)] * n,
        }
    )


def _crm(day: BusinessDay, table: str, key: str, extra: dict[str, list]) -> pd.DataFrame:
    n = len(next(iter(extra.values())))
    return pd.DataFrame(
        {
            key: [f"{table[0]}{i}" for i in range(n)],
            **extra,
            "updated_at": [f"2026-03-01 0{i}:15:00" for i in range(n)],
            "_batch_id": [crm_batch_id(table, day)] * n,
            "_loaded_at": [datetime(2026, 3, 2, 2, 30)] * n,
        }
    )


def _users(day: BusinessDay) -> pd.DataFrame:
    stages = ["introduction", "growth", "mature", "dormant", "churned", "growth"]
    segments = ["important_value", None, "general_keep", "important_winback", None, "general_value"]
    tiers = ["A", "B", "B", "C", None, "B"]
    return pd.DataFrame(
        {
            "as_of_date": [day.day] * N_USERS,
            "user_id": [f"u{i}" for i in range(N_USERS)],
            "lead_id": [f"l{i}" for i in range(N_USERS)],
            "company_name": [f"Company {i}" for i in range(N_USERS)],
            "industry": ["retail"] * N_USERS,
            "company_size": [10 * (i + 1) for i in range(N_USERS)],
            "size_band": ["1-49"] * N_USERS,
            "province": ["Zhejiang"] * N_USERS,
            "city": ["Hangzhou"] * N_USERS,
            "source_channel": ["sem"] * N_USERS,
            "owner_rep_id": ["r1"] * N_USERS,
            "phone_masked": [f"+86138****{1000 + i}" for i in range(N_USERS)],
            "email_masked": [f"u***@example{i}.com" for i in range(N_USERS)],
            "signup_date": [day.day - timedelta(days=10 * i) for i in range(N_USERS)],
            "first_active_date": [day.day - timedelta(days=10 * i) for i in range(N_USERS)],
            "last_active_date": [day.day] * N_USERS,
            "tenure_days": [10 * i for i in range(N_USERS)],
            "days_since_last_active": [0] * N_USERS,
            "lifecycle_stage": stages,
            "rfm_segment": segments,
            "lead_tier": tiers,
            "is_paying": [s is not None for s in segments],
            "contract_plan": ["pro" if s else None for s in segments],
        }
    )


def _user_rfm(day: BusinessDay) -> pd.DataFrame:
    n = 4
    return pd.DataFrame(
        {
            "as_of_date": [day.day] * n,
            "user_id": ["u0", "u2", "u3", "u5"],
            "last_order_date": [day.day - timedelta(days=3 * i) for i in range(n)],
            "recency_days": [3 * i for i in range(n)],
            "frequency": [1, 2, 3, 4],
            "monetary_cny": [100.0, 250.5, 999.99, 40.0],
            "r_score": [5, 4, 2, 1],
            "f_score": [1, 2, 4, 5],
            "m_score": [2, 3, 5, 1],
            "r_high": [True, True, False, False],
            "f_high": [False, False, True, True],
            "m_high": [False, True, True, False],
            "rfm_segment": [
                "general_develop",
                "important_develop",
                "important_keep",
                "general_keep",
            ],
            "rfm_segment_label_zh": [
                "一般发展客户",
                "重要发展客户",
                "重要保持客户",
                "一般保持客户",
            ],
            "lookback_days": [365] * n,
        }
    )


def _lead_scores(day: BusinessDay) -> pd.DataFrame:
    n = 5
    return pd.DataFrame(
        {
            "lead_id": [f"l{i}" for i in range(n)],
            "user_id": [f"u{i}" for i in range(n)],
            "owner_rep_id": ["r1"] * n,
            "source_channel": ["sem"] * n,
            "lead_score": [90, 60, 50, 40, 10],
            "is_cleaned": [True, True, True, True, False],
            "lead_tier": ["A", "B", "B", "B", None],
            "as_of_date": [day.day] * n,
        }
    )


def _rep_performance(day: BusinessDay) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "as_of_date": [day.day] * 4,
            "rep_id": ["r1", "r2", "r3", "r9"],
            "rep_name": ["Ann", "Bo", "Cy", "Di"],
            "is_active": [True, True, True, False],
            "daily_capacity": [10, 8, 5, 10],
            "followed_up_leads": [4, 2, 0, 3],
            "converted_leads": [2, 0, 0, 1],
            "conversion_rate": [0.5, 0.0, 0.0, 1 / 3],
            "rep_rank": [1, 2, 3, None],
            "rep_tier": ["top", "middle", "middle", None],
        }
    )


def _user_value(day: BusinessDay) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "as_of_date": [day.day] * 3,
            "user_id": ["u1", "u2", "u3"],
            "expected_purchases": [3.2, 0.4, 0.0],
            "p_alive": [0.9, 0.35, 1.0],
            "churn_probability": [0.1, 0.65, 0.0],
            "expected_value_cny": [3200.0, 80.5, 0.0],
            "value_decile": [1, 4, 10],
            "model_run_id": ["abc"] * 3,
        }
    )


def _lead_need_themes(day: BusinessDay) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "as_of_date": [day.day] * 3,
            "lead_id": ["l1", "l2", "l3"],
            "note_count": [5, 2, 1],
            "themed_note_count": [4, 1, 0],
            "top_theme_id": ["price_concern", "after_sales", None],
            "top_theme_label": ["价格顾虑", "售后服务", None],
            "top_theme_note_count": [3, 1, None],
            "second_theme_id": ["data_security", None, None],
            "second_theme_label": ["数据安全", None, None],
        }
    )


def _active_users_daily(day: BusinessDay) -> pd.DataFrame:
    n = 5
    dau = [3, 4, 2, 5, 6]
    return pd.DataFrame(
        {
            "activity_date": [day.day - timedelta(days=n - 1 - i) for i in range(n)],
            "dau": dau,
            "wau": [6] * n,
            "mau": [6] * n,
            "stickiness": [round(d / 6, 4) for d in dau],
        }
    )


def _retention_cohorts(day: BusinessDay) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "as_of_date": [day.day] * 3,
            "cohort_week": [date(2026, 2, 16)] * 3,
            "weeks_since_signup": [0, 1, 2],
            "cohort_size": [4] * 3,
            "retained_users": [4, 2, 1],
            "retention_on_rate": [1.0, 0.5, 0.25],
            "retention_on_or_after_rate": [1.0, 0.75, 0.25],
        }
    )


def good_frames(day: BusinessDay = DAY) -> dict[str, pd.DataFrame]:
    """One frame per dataset, each passing its suite for ``day``."""
    return {
        "raw.events__events": _events(day),
        "raw.events__quarantine": _quarantine(day),
        "raw.crm__sales_reps": _crm(
            day, "sales_reps", "rep_id", {"name": ["Ann", "Bo"], "daily_capacity": ["10", "8"]}
        ),
        "raw.crm__leads": _crm(
            day, "leads", "lead_id", {"company_name": [" ACME ", "Foo Ltd", "Bar"]}
        ),
        "raw.crm__followups": _crm(day, "followups", "followup_id", {"lead_id": ["l0", "l1"]}),
        "raw.crm__contracts": _crm(day, "contracts", "contract_id", {"amount": ["1999.00"]}),
        "marts.users": _users(day),
        "marts.user_rfm": _user_rfm(day),
        "marts.lead_scores": _lead_scores(day),
        "marts.rep_performance": _rep_performance(day),
        "marts.user_value": _user_value(day),
        "marts.lead_need_themes": _lead_need_themes(day),
        "marts.active_users_daily": _active_users_daily(day),
        "marts.retention_cohorts": _retention_cohorts(day),
    }


def _arrow(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


#: Dataset -> the table its rows are read from: a current-state mart is validated on
#: the day's snapshot in its history (ADR 0006).
PHYSICAL = {
    "marts.users": "marts.users_history",
    "marts.user_rfm": "marts.user_rfm_history",
    "marts.lead_scores": "marts.lead_scores_history",
    "marts.rep_performance": "marts.rep_performance_history",
    "marts.user_value": "marts.user_value_history",
    "marts.lead_need_themes": "marts.lead_need_themes_history",
}


def write_table(wh: Warehouse, name: str, frame: pd.DataFrame) -> None:
    """Replace the rows of dataset ``name`` with ``frame`` (marts are created if missing)."""
    table = PHYSICAL.get(name, name)
    if name in MART_DDL:
        wh.execute("create schema if not exists marts")
        wh.execute(f"create table if not exists {table} ({MART_DDL[name]})")
    wh.execute(f"delete from {table}")
    wh.bulk_insert(table, _arrow(frame))


def create_warehouse(
    target: WarehouseTarget, frames: dict[str, pd.DataFrame] | None = None
) -> dict[str, pd.DataFrame]:
    """Schemas raw/meta (loader DDL) and marts, filled with ``frames`` (default: good)."""
    frames = good_frames() if frames is None else frames
    if not target.is_duckdb:
        from userops.warehouse import ensure_postgres_database

        ensure_postgres_database(target)
    with Warehouse(target) as wh:
        ensure_schemas(wh)
        for name, frame in frames.items():
            write_table(wh, name, frame)
    return frames
