"""A tiny hand-made world for the outreach-list tests: reps, leads, follow-ups, marts.

``World`` builds frames shaped like the staging views and marts the list reads,
with sensible defaults so each test states only what it is about.  The same
frames can be written into a throwaway warehouse (``write_world``) to test the
warehouse path with identical data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import pyarrow as pa

from tests.reference.outreach import CadenceRules, TriggerRules, candidates, triggers
from userops.publish.build import PublishInputs
from userops.warehouse import Warehouse

D = date(2024, 5, 15)


def days_ago(n: int, day: date = D) -> date:
    return day - timedelta(days=n)


#: Column -> SQL type of the hand-made input tables (the documented columns).
TABLES: dict[str, dict[str, str]] = {
    "staging.stg_crm__sales_reps": {
        "rep_id": "varchar", "rep_name": "varchar", "rep_email": "varchar", "team": "varchar",
        "region": "varchar", "hired_at": "timestamp", "is_active": "boolean",
        "daily_capacity": "integer", "updated_at": "timestamp",
    },
    "staging.stg_crm__leads": {
        "lead_id": "varchar", "company_name": "varchar", "company_name_normalized": "varchar",
        "contact_name": "varchar", "phone": "varchar", "email": "varchar", "industry": "varchar",
        "company_size": "integer", "province": "varchar", "city": "varchar",
        "source_channel": "varchar", "user_id": "varchar", "lead_status": "varchar",
        "owner_rep_id": "varchar", "created_at": "timestamp", "created_date": "date",
        "updated_at": "timestamp", "is_deleted": "boolean",
    },
    "staging.stg_crm__followups": {
        "followup_id": "varchar", "lead_id": "varchar", "rep_id": "varchar", "channel": "varchar",
        "outcome": "varchar", "note": "varchar", "next_followup_at": "timestamp",
        "occurred_at": "timestamp", "occurred_date": "date", "updated_at": "timestamp",
    },
    "staging.stg_crm__contracts": {
        "contract_id": "varchar", "lead_id": "varchar", "user_id": "varchar", "plan": "varchar",
        "amount_cny": "numeric(18,2)", "signed_at": "timestamp", "signed_date": "date",
        "starts_at": "timestamp", "ends_at": "timestamp", "contract_status": "varchar",
        "updated_at": "timestamp",
    },
    "marts.users_history": {
        "as_of_date": "date", "user_id": "varchar", "lead_id": "varchar",
        "company_name": "varchar", "owner_rep_id": "varchar", "signup_date": "date",
        "first_active_date": "date", "last_active_date": "date", "tenure_days": "integer",
        "days_since_last_active": "integer", "lifecycle_stage": "varchar",
        "rfm_segment": "varchar", "lead_tier": "varchar", "is_paying": "boolean",
    },
    "marts.user_lifecycle_daily": {
        "user_id": "varchar", "as_of_date": "date", "lifecycle_stage": "varchar",
        "previous_stage": "varchar", "is_stage_changed": "boolean", "tenure_days": "integer",
        "days_since_last_active": "integer", "active_days_30d": "integer",
    },
    "marts.lead_scores_history": {
        "lead_id": "varchar", "user_id": "varchar", "owner_rep_id": "varchar",
        "source_channel": "varchar", "lead_score": "integer", "lead_tier": "varchar",
        "as_of_date": "date",
    },
    "marts.outreach_candidates_history": {
        "as_of_date": "date", "lead_id": "varchar", "user_id": "varchar",
        "owner_rep_id": "varchar", "lead_status": "varchar", "created_date": "date",
        "lead_score": "integer", "lead_tier": "varchar", "prospect_tier": "varchar",
        "outreach_tier": "varchar", "is_customer": "boolean",
        "customer_reason": "varchar", "first_paid_date": "date", "is_lost": "boolean",
        "followups_to_date": "integer", "last_followup_date": "date",
        "days_since_followup": "integer", "last_outcome": "varchar",
        "no_answer_streak": "integer", "is_channel_change_suggested": "boolean",
        "next_followup_date": "date", "is_in_cooldown": "boolean", "callback_due_date": "date",
        "callback_reason_code": "varchar", "is_callback_due": "boolean",
        "callback_overdue_days": "integer", "cadence_days": "integer",
        "is_cadence_from_outcome": "boolean", "cadence_reason_code": "varchar",
        "is_cadence_due": "boolean", "cadence_overdue_days": "integer",
    },
    "marts.outreach_triggers_history": {
        "as_of_date": "date", "user_id": "varchar", "reason_code": "varchar",
        "suggested_action": "varchar", "fired_date": "date", "since_date": "date",
        "lead_id": "varchar", "rfm_segment": "varchar", "previous_segment": "varchar",
        "days_since_last_active": "integer", "recency_days": "integer",
        "active_days_30d": "integer",
    },
    "marts.user_value_history": {
        "as_of_date": "date", "user_id": "varchar", "expected_value_cny": "double precision",
        "churn_probability": "double precision", "horizon_days": "integer",
    },
    "marts.lead_need_themes_history": {
        "as_of_date": "date", "lead_id": "varchar", "top_theme_id": "varchar",
        "top_theme_label": "varchar",
    },
    "marts.user_rfm_history": {
        "as_of_date": "date", "user_id": "varchar", "rfm_segment": "varchar",
        "recency_days": "integer",
    },
    "marts.rep_performance_history": {
        "as_of_date": "date", "rep_id": "varchar", "rep_name": "varchar", "is_active": "boolean",
        "daily_capacity": "integer", "followed_up_leads": "integer", "converted_leads": "integer",
        "conversion_rate": "double precision", "rep_rank": "integer", "rep_tier": "varchar",
    },
}  # fmt: skip

#: Default 271 tiers of the world's active reps by position, when a test names none
#: (the real rule is dbt's rep_performance_history, unit-tested there): 10 reps -> 2/7/1.
_DEFAULT_TOP_SHARE, _DEFAULT_BOTTOM_SHARE = 0.2, 0.1


def _utc(day: date, hour: int = 10) -> datetime:
    """``hour`` o'clock Shanghai time on ``day`` as a naive UTC timestamp (as staging stores it)."""
    return datetime(day.year, day.month, day.day, hour) - timedelta(hours=8)


@dataclass
class World:
    """Hand-made inputs of one business day ``day``."""

    day: date = D
    reps: list[dict[str, Any]] = field(default_factory=list)
    leads: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    contracts: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    lifecycle: list[dict[str, Any]] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)
    #: duplicate lead id -> its company's surviving lead id (every other lead survives)
    duplicates_of: dict[str, str] = field(default_factory=dict)
    #: dbt vars of the cadence rules set for this world (the candidates mart's vars)
    rules: dict[str, Any] = field(default_factory=dict)
    #: rows of marts.user_value_history (the value model's predictions)
    values: list[dict[str, Any]] = field(default_factory=list)
    needs: list[dict[str, Any]] = field(default_factory=list)

    def rep(
        self,
        rep_id: str,
        *,
        active: bool = True,
        capacity: int | None = 10,
        tier: str | None = None,
        **kw: Any,
    ) -> World:
        """A rep; active reps rank in the order they are added (``tier`` overrides the
        positional default tier).  ``capacity`` is the CRM value; the mart's copy is 20
        when it is missing, as var outreach_default_daily_capacity says."""
        self.reps.append(
            {
                "rep_id": rep_id,
                "rep_name": kw.get("name", f"销售{rep_id}"),
                "rep_email": kw.get("email", f"{rep_id.lower()}@example.com"),
                "team": "east", "region": "华东", "hired_at": datetime(2023, 1, 1),
                "is_active": active, "daily_capacity": capacity, "updated_at": datetime(2024, 1, 1),
                "_tier": tier,
            }
        )  # fmt: skip
        return self

    def rep_performance(self) -> list[dict[str, Any]]:
        """Rows of marts.rep_performance_history for the world's day."""
        active = [r for r in self.reps if r["is_active"]]
        n = len(active)
        top = int(n * _DEFAULT_TOP_SHARE + 0.5)
        bottom = min(int(n * _DEFAULT_BOTTOM_SHARE + 0.5), n - top)
        rank = {r["rep_id"]: i for i, r in enumerate(active, start=1)}
        rows = []
        for r in self.reps:
            k = rank.get(r["rep_id"])
            default = (
                None
                if k is None
                else "top"
                if k <= top
                else "bottom"
                if k > n - bottom
                else "middle"
            )
            capacity = 20 if r["daily_capacity"] is None else max(r["daily_capacity"], 0)
            rows.append(
                {
                    "as_of_date": self.day, "rep_id": r["rep_id"], "rep_name": r["rep_name"],
                    "is_active": bool(r["is_active"]), "daily_capacity": capacity,
                    "followed_up_leads": 0, "converted_leads": 0, "conversion_rate": 0.0,
                    "rep_rank": k, "rep_tier": (r["_tier"] or default) if k else None,
                }
            )  # fmt: skip
        return rows

    def lead(
        self,
        lead_id: str,
        owner: str | None,
        *,
        tier: str | None = "B",
        status: str = "contacted",
        user_id: str | None = None,
        created: date = date(2024, 1, 2),
        deleted: bool = False,
    ) -> World:
        self.leads.append(
            {
                "lead_id": lead_id, "company_name": f"{lead_id} 科技有限公司",
                "company_name_normalized": f"{lead_id} 科技", "contact_name": f"联系人{lead_id}",
                "phone": "+8613800000000", "email": f"{lead_id.lower()}@corp.example.cn",
                "industry": "制造", "company_size": 50, "province": "浙江", "city": "杭州",
                "source_channel": "sem", "user_id": user_id, "lead_status": status,
                "owner_rep_id": owner, "created_at": _utc(created), "created_date": created,
                "updated_at": _utc(created), "is_deleted": deleted,
            }
        )  # fmt: skip
        if tier is not None:
            self.scores.append(
                {"lead_id": lead_id, "user_id": user_id, "owner_rep_id": owner,
                 "source_channel": "sem", "lead_score": 50, "lead_tier": tier,
                 "as_of_date": self.day}
            )  # fmt: skip
        return self

    def value(self, user_id: str, expected_value_cny: float, churn_probability: float) -> World:
        """A row of marts.user_value_history: the value model's prediction for a user."""
        self.values.append(
            {"as_of_date": self.day, "user_id": user_id, "expected_value_cny": expected_value_cny,
             "churn_probability": churn_probability, "horizon_days": 365}
        )  # fmt: skip
        return self

    def need(self, lead_id: str, theme_id: str, label: str, on: date | None = None) -> World:
        """A row of marts.lead_need_themes_history: a company's top need theme."""
        self.needs.append(
            {"as_of_date": on or self.day, "lead_id": lead_id, "top_theme_id": theme_id,
             "top_theme_label": label}
        )  # fmt: skip
        return self

    def segment(self, user_id: str, on: date, segment: str, recency_days: int = 40) -> World:
        """A row of marts.user_rfm_history: ``user_id``'s RFM segment as of ``on``."""
        self.segments.append(
            {
                "as_of_date": on,
                "user_id": user_id,
                "rfm_segment": segment,
                "recency_days": recency_days,
            }
        )
        return self

    def duplicate(self, lead_id: str, of: str, owner: str | None = None, **kw: Any) -> World:
        """A duplicate CRM record of lead ``of``'s company (never scored, like in dbt)."""
        self.lead(lead_id, owner, tier=None, **kw)
        self.duplicates_of[lead_id] = of
        return self

    def resolved(self) -> list[dict[str, Any]]:
        """Rows of intermediate.int_leads__resolved: lead -> surviving lead."""
        return [
            {
                "lead_id": r["lead_id"],
                "surviving_lead_id": self.duplicates_of.get(r["lead_id"], r["lead_id"]),
            }
            for r in self.leads
        ]

    def followup(
        self,
        lead_id: str,
        on: date,
        *,
        rep_id: str = "R1",
        next_on: date | None = None,
        outcome: str | None = "interested",
    ) -> World:
        n = len(self.followups) + 1
        self.followups.append(
            {
                "followup_id": f"F{n:04d}", "lead_id": lead_id, "rep_id": rep_id,
                "channel": "phone", "outcome": outcome, "note": "",
                "next_followup_at": _utc(next_on, 9) if next_on else None,
                "occurred_at": _utc(on, 10 + n % 8), "occurred_date": on,
                "updated_at": _utc(on, 18),
            }
        )  # fmt: skip
        return self

    def contract(
        self, lead_id: str | None, signed: date, *, amount: float = 9800.0,
        status: str = "active", user_id: str | None = None,
    ) -> World:  # fmt: skip
        n = len(self.contracts) + 1
        self.contracts.append(
            {
                "contract_id": f"C{n:04d}", "lead_id": lead_id, "user_id": user_id, "plan": "pro",
                "amount_cny": amount, "signed_at": _utc(signed), "signed_date": signed,
                "starts_at": _utc(signed), "ends_at": _utc(signed + timedelta(days=365)),
                "contract_status": status, "updated_at": _utc(signed),
            }
        )  # fmt: skip
        return self

    def user(
        self,
        user_id: str,
        *,
        lead_id: str | None = None,
        stage: str = "growth",
        segment: str | None = None,
        signup: date = date(2024, 1, 2),
        last_active: date | None = D,
    ) -> World:
        self.users.append(
            {
                "as_of_date": self.day, "user_id": user_id, "lead_id": lead_id,
                "company_name": None, "owner_rep_id": None, "signup_date": signup,
                "first_active_date": signup, "last_active_date": last_active,
                "tenure_days": (self.day - signup).days,
                "days_since_last_active": (self.day - last_active).days if last_active else None,
                "lifecycle_stage": stage, "rfm_segment": segment, "lead_tier": None,
                "is_paying": segment is not None,
            }
        )  # fmt: skip
        return self

    def stage(
        self, user_id: str, on: date, stage: str, previous: str | None, active_days_30d: int = 3
    ) -> World:
        self.lifecycle.append(
            {
                "user_id": user_id, "as_of_date": on, "lifecycle_stage": stage,
                "previous_stage": previous, "is_stage_changed": previous != stage,
                "tenure_days": 100, "days_since_last_active": 0,
                "active_days_30d": active_days_30d,
            }
        )  # fmt: skip
        return self

    def candidates(self) -> pd.DataFrame:
        """Rows of marts.outreach_candidates_history for the world's day: the pandas
        reference of the mart (tests/reference/outreach.py, compared with the real mart
        on both warehouses in tests/dbt) over the world's CRM rows."""
        return candidates(
            leads=self._frame("staging.stg_crm__leads", self.leads),
            followups=self._frame("staging.stg_crm__followups", self.followups),
            contracts=self._frame("staging.stg_crm__contracts", self.contracts),
            resolved=pd.DataFrame(self.resolved(), columns=["lead_id", "surviving_lead_id"]),
            scores=self._frame("marts.lead_scores_history", self.scores),
            day=self.day,
            rules=CadenceRules.from_vars(self.rules),
        )

    def triggers(self, candidates: pd.DataFrame) -> pd.DataFrame:
        """Rows of marts.outreach_triggers_history for the world's day (the pandas
        reference of the mart, compared with the real one in tests/dbt)."""
        return triggers(
            users=self._frame("marts.users_history", self.users),
            lifecycle=self._frame("marts.user_lifecycle_daily", self.lifecycle),
            segments=self._frame("marts.user_rfm_history", self.segments),
            candidates=candidates,
            day=self.day,
            rules=TriggerRules.from_vars(self.rules),
        )

    @staticmethod
    def _frame(table: str, rows: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=list(TABLES[table])).astype(object)

    def frames(self) -> dict[str, pd.DataFrame]:
        """Table name -> frame with exactly the documented columns."""
        candidates = self.candidates()
        data = {
            "staging.stg_crm__sales_reps": self.reps,
            "staging.stg_crm__leads": self.leads,
            "staging.stg_crm__followups": self.followups,
            "staging.stg_crm__contracts": self.contracts,
            "marts.users_history": self.users,
            "marts.user_lifecycle_daily": self.lifecycle,
            "marts.lead_scores_history": self.scores,
            "marts.rep_performance_history": self.rep_performance(),
            "marts.outreach_candidates_history": candidates,
            "marts.outreach_triggers_history": self.triggers(candidates),
            "marts.user_rfm_history": self.segments,
            "marts.user_value_history": self.values,
            "marts.lead_need_themes_history": self.needs,
        }
        return {t: self._frame(t, rows) for t, rows in data.items()}

    def inputs(self) -> PublishInputs:
        f = self.frames()
        return PublishInputs(
            reps=f["marts.rep_performance_history"].merge(
                f["staging.stg_crm__sales_reps"][["rep_id", "rep_email"]], on="rep_id", how="left"
            ),
            candidates=f["marts.outreach_candidates_history"],
            contacts=f["staging.stg_crm__leads"],
            users=f["marts.users_history"],
            lifecycle=f["marts.user_lifecycle_daily"],
            triggers=f["marts.outreach_triggers_history"],
            values=f["marts.user_value_history"],
            needs=f["marts.lead_need_themes_history"],
        )


_ARROW = {
    "varchar": pa.string(), "timestamp": pa.timestamp("us"), "date": pa.date32(),
    "boolean": pa.bool_(), "integer": pa.int32(), "numeric(18,2)": pa.decimal128(18, 2),
    "double precision": pa.float64(),
}  # fmt: skip


def write_world(wh: Warehouse, world: World) -> None:
    """(Re)create the input tables in ``wh`` and bulk-load the world into them."""
    from decimal import Decimal

    wh.execute("create schema if not exists staging")
    wh.execute("create schema if not exists marts")
    for table, frame in world.frames().items():
        cols = TABLES[table]
        wh.execute(f"drop table if exists {table}")
        wh.execute(f"create table {table} ({', '.join(f'{c} {t}' for c, t in cols.items())})")
        arrays = {}
        for col, sql_type in cols.items():
            values = [None if pd.isna(v) else v for v in frame[col].tolist()]
            if sql_type.startswith("numeric"):
                values = [
                    None if v is None else Decimal(str(v)).quantize(Decimal("0.01")) for v in values
                ]
            arrays[col] = pa.array(values, type=_ARROW[sql_type])
        wh.bulk_insert(table, pa.table(arrays))


# -- a real SMTP server ------------------------------------------------------------------
