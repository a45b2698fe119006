"""Expectation suites as code: one suite per dataset, named like the table it checks.

STYLE rule 5: suite ``raw.events__events`` checks table ``raw.events__events``,
which is also the Airflow Asset of that name.  Each suite is defined once, here;
the Data Context is rebuilt from these definitions on every run, so there is no
stored JSON to drift from the code.

Two layers are checked (STYLE rule 11: GX owns contracts on landed data and on
published outputs; warehouse invariants live in dbt):

- **landing contracts** on the raw slice a run loaded (events of the day's
  received partitions, the CRM batches of the day);
- **output contracts** on the marts that feed the outreach lists and BI.

Severity (GX 1.x ``Expectation.severity``): a failed *critical* expectation
fails the gate and stops publishing; a failed *warning* is recorded and shown
but does not block.  Expectations are critical unless a comment explains why
a warning is the right call.

Values that change per run (the business day's window, the previous run's row
count, tolerances from dbt vars) are suite parameters (``{"$PARAMETER": ...}``)
filled in by :func:`suite_parameters`, so a suite reads the same every night.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from userops.load.schema import CRM_KEYS
from userops.quality.gx_runtime import import_gx
from userops.quality.thresholds import QualityThresholds
from userops.tracking_plan import TRACKING_PLAN
from userops.windows import BusinessDay

CRITICAL = "critical"
WARNING = "warning"

#: SPEC §2 lifecycle stages.
LIFECYCLE_STAGES: tuple[str, ...] = ("introduction", "growth", "mature", "dormant", "churned")
#: SPEC §2 RFM segment codes (the eight R/F/M high-low combinations).
RFM_SEGMENTS: tuple[str, ...] = (
    "important_value",
    "important_develop",
    "important_keep",
    "important_winback",
    "general_value",
    "general_develop",
    "general_keep",
    "general_winback",
)
#: SPEC §2 271 tiers.
LEAD_TIERS: tuple[str, ...] = ("A", "B", "C")
REP_TIERS: tuple[str, ...] = ("top", "middle", "bottom")
#: SPEC §1.2 platforms.
PLATFORMS: tuple[str, ...] = ("web", "ios", "android", "miniprogram")

#: A CRM ``updated_at`` as text: ISO date, optional time, fraction and offset (what
#: the extract's ``datetime.fromisoformat`` reads).
#: Anything else cannot be a watermark, so staging would lose the row's version.
TIMESTAMP_TEXT_REGEX = (
    r"^\s*\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"
    r"\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?\s*$"
)
#: An unmasked phone (digits only, optional ``+``): must never reach a mart.
UNMASKED_PHONE_REGEX = r"^\+?[0-9]{7,}$"
#: An unmasked e-mail (no ``*`` in the local part): must never reach a mart.
UNMASKED_EMAIL_REGEX = r"^[^@*\s]+@[^@\s]+$"

# Suite parameter names (filled per run by suite_parameters()).
AS_OF_DATE = "as_of_date"
WINDOW_START_UTC = "window_start_utc"
PARTITIONS_START_UTC = "partitions_start_utc"
PARTITIONS_END_UTC = "partitions_end_utc"
OCCURRED_AT_LATEST_UTC = "occurred_at_latest_utc"
ROW_COUNT_MIN = "row_count_min"
ROW_COUNT_MAX = "row_count_max"
QUARANTINE_MAX_ROWS = "quarantine_max_rows"

#: The expectation whose observed value is a suite's row count (the drift baseline).
ROW_COUNT_EXPECTATION = "expect_table_row_count_to_be_between"


def _param(name: str) -> dict[str, str]:
    return {"$PARAMETER": name}


@dataclass(frozen=True)
class SuiteSpec:
    """One dataset's suite: its name (== table) and how to build its expectations."""

    name: str
    summary: str
    build: Callable[[Any], list[Any]]  # gx.expectations module -> expectations

    @property
    def layer(self) -> str:
        return self.name.split(".", 1)[0]


# --------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------


def _row_count_drift(gxe: Any) -> Any:
    # WARNING, not critical: volumes move for real reasons (a campaign, a holiday, a
    # bulk CRM re-assignment); a jump or a drop is worth a look, never worth holding
    # back the sales lists.  Bounds come from the previous successful run of the
    # suite; on the first run both are None and the expectation only records the count.
    return gxe.ExpectTableRowCountToBeBetween(
        min_value=_param(ROW_COUNT_MIN),
        max_value=_param(ROW_COUNT_MAX),
        severity=WARNING,
        notes="Row count within quality_row_count_tolerance of the previous successful run.",
    )


def _not_null(gxe: Any, *columns: str) -> list[Any]:
    return [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in columns]


def _key(gxe: Any, column: str) -> list[Any]:
    return [
        gxe.ExpectColumnValuesToNotBeNull(column=column),
        gxe.ExpectColumnValuesToBeUnique(column=column),
    ]


def _as_of(gxe: Any) -> list[Any]:
    """Every row of a snapshot mart is as of the run's day (its freshness check)."""
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="as_of_date"),
        gxe.ExpectColumnValuesToBeBetween(
            column="as_of_date", min_value=_param(AS_OF_DATE), max_value=_param(AS_OF_DATE)
        ),
    ]


def _as_of_latest(gxe: Any) -> list[Any]:
    """A mart restated as of the latest date run (ADR 0006) is as of the day or later:
    a backfill of an older day leaves it at the latest date."""
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="as_of_date"),
        gxe.ExpectColumnValuesToBeBetween(column="as_of_date", min_value=_param(AS_OF_DATE)),
    ]


def _rate(gxe: Any, column: str) -> Any:
    return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=1)


# --------------------------------------------------------------------------------------
# Landing contracts (raw slices)
# --------------------------------------------------------------------------------------


def _events(gxe: Any) -> list[Any]:
    return [
        *_not_null(gxe, "event_id", "user_id", "event_type", "occurred_at", "received_at"),
        # The loader quarantines unknown types, so one here means the loader broke.
        gxe.ExpectColumnValuesToBeInSet(column="event_type", value_set=sorted(TRACKING_PLAN)),
        # The collector partitions by received date: a row outside its partitions
        # means files were mislabelled and as-of filtering cannot be trusted.
        gxe.ExpectColumnValuesToBeBetween(
            column="received_at",
            min_value=_param(PARTITIONS_START_UTC),
            max_value=_param(PARTITIONS_END_UTC),
            strict_max=True,
        ),
        # Freshness: something was received during the business day.  An empty or
        # stale slice is a collector outage; lists built on it would call active
        # users "dormant".
        gxe.ExpectColumnMaxToBeBetween(column="received_at", min_value=_param(WINDOW_START_UTC)),
        # WARNING: occurred_at is device time; a few phones with wrong clocks are a
        # fact of life the pipeline cannot fix, and staging places events by it only
        # for activity stats.  Visible, not blocking.
        gxe.ExpectColumnValuesToBeBetween(
            column="occurred_at",
            max_value=_param(OCCURRED_AT_LATEST_UTC),
            severity=WARNING,
            notes="occurred_at at most quality_occurred_at_future_tolerance_hours past the day.",
        ),
        # WARNING: the tracking plan does not constrain platform (it is not a quarantine
        # reason); a new app platform should be noticed and added, not block a run.
        gxe.ExpectColumnValuesToBeInSet(
            column="platform", value_set=list(PLATFORMS), severity=WARNING
        ),
        _row_count_drift(gxe),
    ]


def _quarantine(gxe: Any) -> list[Any]:
    return [
        # SPEC 1.2: a bad line is never dropped silently, it lands with a reason and
        # its file/line so it can be traced.
        *_not_null(gxe, "reason", "_source_file", "_line_number"),
        # WARNING: quarantining is the designed behaviour for bad lines; a rate above
        # quality_max_quarantine_rate of the lines read calls for a look at the
        # collector, while the good lines are still worth publishing.
        gxe.ExpectTableRowCountToBeBetween(
            max_value=_param(QUARANTINE_MAX_ROWS),
            severity=WARNING,
            notes="Quarantined lines at most quality_max_quarantine_rate of the lines read.",
        ),
    ]


def _crm(table: str) -> Callable[[Any], list[Any]]:
    key = CRM_KEYS[table]

    def build(gxe: Any) -> list[Any]:
        return [
            # Keys and the watermark column are what staging and the incremental
            # extract stand on; a row without them cannot be versioned or joined.
            *_not_null(gxe, key, "updated_at"),
            gxe.ExpectColumnValuesToMatchRegex(column="updated_at", regex=TIMESTAMP_TEXT_REGEX),
            # The loader replaces re-read versions: one row per (key, updated_at).
            gxe.ExpectCompoundColumnsToBeUnique(column_list=[key, "updated_at"]),
            _row_count_drift(gxe),
        ]

    return build


# --------------------------------------------------------------------------------------
# Output contracts (marts read by BI and by the outreach lists)
# --------------------------------------------------------------------------------------


def _users(gxe: Any) -> list[Any]:
    return [
        *_key(gxe, "user_id"),
        *_as_of(gxe),
        # An empty users mart can only be a broken build; lists would go out empty.
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        gxe.ExpectColumnValuesToNotBeNull(column="lifecycle_stage"),
        gxe.ExpectColumnValuesToBeInSet(column="lifecycle_stage", value_set=list(LIFECYCLE_STAGES)),
        # Null = no paid order in the lookback (in-set checks ignore nulls).
        gxe.ExpectColumnValuesToBeInSet(column="rfm_segment", value_set=list(RFM_SEGMENTS)),
        gxe.ExpectColumnValuesToBeInSet(column="lead_tier", value_set=list(LEAD_TIERS)),
        # SPEC §3: PII is masked outside the outreach lists; BI reads this table.
        gxe.ExpectColumnValuesToNotMatchRegex(column="phone_masked", regex=UNMASKED_PHONE_REGEX),
        gxe.ExpectColumnValuesToNotMatchRegex(column="email_masked", regex=UNMASKED_EMAIL_REGEX),
        _row_count_drift(gxe),
    ]


def _user_rfm(gxe: Any) -> list[Any]:
    scores = ("r_score", "f_score", "m_score")
    return [
        *_key(gxe, "user_id"),
        *_as_of(gxe),
        *_not_null(gxe, *scores, "rfm_segment"),
        *[gxe.ExpectColumnValuesToBeBetween(column=c, min_value=1, max_value=5) for c in scores],
        gxe.ExpectColumnValuesToBeInSet(column="rfm_segment", value_set=list(RFM_SEGMENTS)),
        # Only users with at least one paid order are scored.
        gxe.ExpectColumnValuesToBeBetween(column="frequency", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="recency_days", min_value=0),
        _row_count_drift(gxe),
    ]


def _lead_scores(gxe: Any) -> list[Any]:
    return [
        *_key(gxe, "lead_id"),
        *_as_of(gxe),
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        # Only cleaned leads (surviving, reachable) are tiered; every one of them must be.
        gxe.ExpectColumnValuesToNotBeNull(
            column="lead_tier", row_condition="is_cleaned == True", condition_parser="pandas"
        ),
        gxe.ExpectColumnValuesToBeInSet(column="lead_tier", value_set=list(LEAD_TIERS)),
        _row_count_drift(gxe),
    ]


def _rep_performance(gxe: Any) -> list[Any]:
    active = {"row_condition": "is_active == True", "condition_parser": "pandas"}
    return [
        *_key(gxe, "rep_id"),
        *_as_of(gxe),
        # The lists match leads to reps by these: every active rep is ranked and tiered.
        gxe.ExpectColumnValuesToNotBeNull(column="rep_tier", **active),
        gxe.ExpectColumnValuesToNotBeNull(column="rep_rank", **active),
        gxe.ExpectColumnValuesToBeInSet(column="rep_tier", value_set=list(REP_TIERS)),
        gxe.ExpectColumnValuesToBeBetween(column="daily_capacity", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="conversion_rate", min_value=0),
        # Without one active rep nobody gets a list.
        gxe.ExpectColumnValuesToBeInSet(column="is_active", value_set=[True], mostly=0.000001),
        _row_count_drift(gxe),
    ]


def _user_value(gxe: Any) -> list[Any]:
    # The value model's output (userops.predict.run): probabilities in [0, 1], values
    # and counts >= 0, deciles 1..10, bands from the vars. No minimum row count: a day
    # with fewer than 10 paying users is recorded as not fitted, which is not a defect.
    return [
        *_key(gxe, "user_id"),
        *_as_of(gxe),
        _rate(gxe, "p_alive"),
        _rate(gxe, "churn_probability"),
        gxe.ExpectColumnValuesToBeBetween(column="expected_purchases", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="expected_value_cny", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="value_decile", min_value=1, max_value=10),
        gxe.ExpectColumnValuesToNotBeNull(column="model_run_id"),
        _row_count_drift(gxe),
    ]


def _need_theme_ids() -> list[str]:
    """The named need themes of the seed (userops.predict.themes reads the same file)."""
    from userops.config import DBT_PROJECT_DIR
    from userops.predict.themes import load_seed_themes

    return [t.theme_id for t in load_seed_themes(DBT_PROJECT_DIR / "seeds" / "need_themes.csv")]


def _lead_need_themes(gxe: Any) -> list[Any]:
    # What the lists quote as 客户关注: one row per company, themes from the seed, a
    # theme's notes among the company's themed notes, themed notes among all its notes.
    # No minimum row count: a day without follow-up notes in the window has no rows.
    themes = _need_theme_ids()
    return [
        *_key(gxe, "lead_id"),
        *_as_of(gxe),
        gxe.ExpectColumnValuesToBeInSet(column="top_theme_id", value_set=themes),
        gxe.ExpectColumnValuesToBeInSet(column="second_theme_id", value_set=themes),
        gxe.ExpectColumnValuesToBeBetween(column="note_count", min_value=1),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="note_count", column_B="themed_note_count", or_equal=True
        ),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="themed_note_count",
            column_B="top_theme_note_count",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        gxe.ExpectColumnValuesToNotBeNull(
            column="top_theme_label",
            row_condition="top_theme_id.notnull()",
            condition_parser="pandas",
        ),
        _row_count_drift(gxe),
    ]


def _active_users_daily(gxe: Any) -> list[Any]:
    return [
        *_key(gxe, "activity_date"),
        # Freshness: the day itself is in the table (BI dashboards read "yesterday").
        gxe.ExpectColumnMaxToBeBetween(column="activity_date", min_value=_param(AS_OF_DATE)),
        gxe.ExpectColumnValuesToBeBetween(column="dau", min_value=0),
        # DAU <= WAU <= MAU: the windows nest.  Null stickiness is allowed (MAU = 0).
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="wau", column_B="dau", or_equal=True),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="mau", column_B="wau", or_equal=True),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="mau", column_B="dau", or_equal=True),
        _rate(gxe, "stickiness"),
        _row_count_drift(gxe),
    ]


def _retention_cohorts(gxe: Any) -> list[Any]:
    return [
        *_as_of_latest(gxe),
        _rate(gxe, "retention_on_rate"),
        _rate(gxe, "retention_on_or_after_rate"),
        _row_count_drift(gxe),
    ]


_SPECS: tuple[SuiteSpec, ...] = (
    SuiteSpec("raw.events__events", "events of the day's received partitions", _events),
    SuiteSpec("raw.events__quarantine", "quarantined lines of the day's partitions", _quarantine),
    *(
        SuiteSpec(f"raw.crm__{t}", f"the day's CRM batch of {t}", _crm(t))
        for t in ("sales_reps", "leads", "followups", "contracts")
    ),
    SuiteSpec("marts.users", "one row per user as of the day", _users),
    SuiteSpec("marts.user_rfm", "RFM scores and segment per paying user", _user_rfm),
    SuiteSpec("marts.lead_scores", "score and 271 tier per lead", _lead_scores),
    SuiteSpec("marts.rep_performance", "conversion, rank and 271 tier per rep", _rep_performance),
    SuiteSpec("marts.user_value", "predicted value and churn probability per user", _user_value),
    SuiteSpec("marts.lead_need_themes", "each company's top need themes", _lead_need_themes),
    SuiteSpec("marts.active_users_daily", "DAU/WAU/MAU per day up to the day", _active_users_daily),
    SuiteSpec("marts.retention_cohorts", "retention per signup cohort", _retention_cohorts),
)

#: Every suite, by name, in validation order (raw before marts).
SUITES: dict[str, SuiteSpec] = {spec.name: spec for spec in _SPECS}
SUITE_NAMES: tuple[str, ...] = tuple(SUITES)


def get_spec(name: str) -> SuiteSpec:
    try:
        return SUITES[name]
    except KeyError:
        raise KeyError(f"no quality suite {name!r}; known: {', '.join(SUITE_NAMES)}") from None


def build_suite(name: str) -> Any:
    """A new (unsaved) ``gx.ExpectationSuite`` for dataset ``name``."""
    gx = import_gx()
    spec = get_spec(name)
    return gx.ExpectationSuite(
        name=spec.name,
        expectations=spec.build(gx.expectations),
        meta={"dataset": spec.name, "layer": spec.layer, "summary": spec.summary},
    )


def row_count_bounds(baseline: int | None, tolerance: float) -> tuple[int | None, int | None]:
    """Allowed row counts around the previous successful run (None, None: no baseline)."""
    if baseline is None:
        return None, None
    return math.floor(baseline * (1 - tolerance)), math.ceil(baseline * (1 + tolerance))


def suite_parameters(
    day: BusinessDay,
    thresholds: QualityThresholds,
    *,
    row_count_baseline: int | None = None,
    lines_read: int | None = None,
) -> dict[str, Any]:
    """Values of every ``$PARAMETER`` the suites use, for one dataset and day."""
    start = day.start_utc.replace(tzinfo=None)
    end = day.end_utc.replace(tzinfo=None)
    partitions = day.received_partitions
    low, high = row_count_bounds(row_count_baseline, thresholds.row_count_tolerance)
    return {
        AS_OF_DATE: datetime(day.day.year, day.day.month, day.day.day),
        WINDOW_START_UTC: start,
        PARTITIONS_START_UTC: datetime.combine(partitions[0], datetime.min.time()),
        PARTITIONS_END_UTC: datetime.combine(partitions[-1], datetime.min.time())
        + timedelta(days=1),
        OCCURRED_AT_LATEST_UTC: end
        + timedelta(hours=thresholds.occurred_at_future_tolerance_hours),
        ROW_COUNT_MIN: low,
        ROW_COUNT_MAX: high,
        QUARANTINE_MAX_ROWS: (
            None if lines_read is None else math.floor(thresholds.max_quarantine_rate * lines_read)
        ),
    }
