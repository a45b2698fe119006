{#- Triggered actions (SPEC §2 "Follow-up cadence", triggers) active on D, one row per
    user x trigger, one snapshot per business date run (ADR 0006; delete+insert on
    as_of_date, config in _history__models.yml). A transition stays actionable for
    var('trigger_window_days') days (until someone follows the lead up; the lists check
    that against outreach_candidates):
    - important_turned_dormant: the user's latest transition into dormant (from an
      active stage) in the window, still dormant on D, in var('winback_segments') on D;
    - segment_changed: the latest change of the user's RFM segment (consecutive snapshots
      of user_rfm_history) into var('winback_segment_changes') in the window, still in
      one of them on D;
    - signup_inactive: signed up var('onboarding_max_days') .. var('onboarding_min_days')
      days before D and not active since the signup day;
    - turned_mature: the latest transition growth -> mature in the window, mature on D.
    lead_id is the company to call: the users mart's lead when it is a candidate, else
    the lowest candidate lead of the user; null when the user has none. -#}

{#- PostgreSQL: hash joins only (macros/postgres_upkeep.sql) -#}
{{ config(pre_hook="{{ pg_hash_joins_only() }}") }}

{%- set as_of = marts_value_as_of_date() -%}
{%- set window_days = var('trigger_window_days') | int -%}
{%- set min_days = var('onboarding_min_days') | int -%}
{%- set max_days = var('onboarding_max_days') | int -%}
{%- if window_days < 1 or min_days < 0 or max_days < min_days -%}
    {{ exceptions.raise_compiler_error("vars: need trigger_window_days >= 1 and 0 <= onboarding_min_days <= onboarding_max_days") }}
{%- endif -%}
{%- set window_start = marts_value_as_of_date(1 - window_days) -%}

with

users as (

    select
        user_id,
        lead_id,
        signup_date,
        last_active_date,
        days_since_last_active,
        lifecycle_stage,
        rfm_segment
    from {{ ref('users_history') }}
    where as_of_date = {{ as_of }}

),

candidates as (

    select
        lead_id,
        user_id
    from {{ ref('outreach_candidates_history') }}
    where as_of_date = {{ as_of }}

),

transitions as (

    select
        user_id,
        as_of_date as fired_date,
        lifecycle_stage,
        previous_stage,
        active_days_30d,
        row_number() over (
            partition by user_id, lifecycle_stage order by as_of_date desc
        ) as recency_rank
    from {{ ref('user_lifecycle_daily') }}
    where
        as_of_date between {{ window_start }} and {{ as_of }}
        and previous_stage is not null
        and previous_stage <> lifecycle_stage
        and (
            (lifecycle_stage = 'dormant' and previous_stage not in ('dormant', 'churned'))
            or (lifecycle_stage = 'mature' and previous_stage = 'growth')
        )

),

segment_snapshots as (

    select
        user_id,
        as_of_date,
        rfm_segment,
        recency_days,
        lag(rfm_segment) over (partition by user_id order by as_of_date) as previous_segment
    from {{ ref('user_rfm_history') }}
    where as_of_date between {{ marts_value_as_of_date(-window_days) }} and {{ as_of }}

),

segment_changes as (

    select
        user_id,
        as_of_date as fired_date,
        previous_segment,
        rfm_segment,
        row_number() over (partition by user_id order by as_of_date desc) as recency_rank
    from segment_snapshots
    where
        as_of_date between {{ window_start }} and {{ as_of }}
        and {{ marts_value_in_list_var('rfm_segment', 'winback_segment_changes') }}
        and previous_segment is not null
        and previous_segment <> rfm_segment

),

segments_on_d as (

    select
        user_id,
        rfm_segment,
        recency_days
    from segment_snapshots
    where as_of_date = {{ as_of }}

),

triggered as (

    select
        transitions.user_id,
        'important_turned_dormant' as reason_code,
        'winback_call' as suggested_action,
        transitions.fired_date,
        transitions.fired_date as since_date,
        users.rfm_segment,
        cast(null as {{ string_type() }}) as previous_segment,
        users.days_since_last_active,
        cast(null as integer) as recency_days,
        cast(null as integer) as active_days_30d
    from transitions
    inner join users
        on transitions.user_id = users.user_id
    where
        transitions.lifecycle_stage = 'dormant'
        and transitions.recency_rank = 1
        and users.lifecycle_stage = 'dormant'
        and {{ marts_value_in_list_var('users.rfm_segment', 'winback_segments') }}

    union all

    select
        segment_changes.user_id,
        'segment_changed' as reason_code,
        'winback_call' as suggested_action,
        segment_changes.fired_date,
        segment_changes.fired_date as since_date,
        segment_changes.rfm_segment,
        segment_changes.previous_segment,
        cast(null as integer) as days_since_last_active,
        segments_on_d.recency_days,
        cast(null as integer) as active_days_30d
    from segment_changes
    inner join segments_on_d
        on segment_changes.user_id = segments_on_d.user_id
    where
        segment_changes.recency_rank = 1
        and {{ marts_value_in_list_var('segments_on_d.rfm_segment', 'winback_segment_changes') }}

    union all

    select
        user_id,
        'signup_inactive' as reason_code,
        'onboarding_call' as suggested_action,
        {{ marts_value_add_days('signup_date', min_days) }} as fired_date,
        signup_date as since_date,
        rfm_segment,
        cast(null as {{ string_type() }}) as previous_segment,
        days_since_last_active,
        cast(null as integer) as recency_days,
        cast(null as integer) as active_days_30d
    from users
    where
        signup_date between {{ marts_value_as_of_date(-max_days) }}
        and {{ marts_value_as_of_date(-min_days) }}
        and (last_active_date is null or last_active_date <= signup_date)

    union all

    select
        transitions.user_id,
        'turned_mature' as reason_code,
        'upsell' as suggested_action,
        transitions.fired_date,
        transitions.fired_date as since_date,
        users.rfm_segment,
        cast(null as {{ string_type() }}) as previous_segment,
        users.days_since_last_active,
        cast(null as integer) as recency_days,
        transitions.active_days_30d
    from transitions
    inner join users
        on transitions.user_id = users.user_id
    where
        transitions.lifecycle_stage = 'mature'
        and transitions.recency_rank = 1
        and users.lifecycle_stage = 'mature'

),

user_leads as (

    select
        user_id,
        lead_id
    from (
        select
            user_id,
            lead_id,
            row_number() over (partition by user_id order by preference, lead_id) as pick
        from (
            select
                users.user_id,
                users.lead_id,
                0 as preference
            from users
            inner join candidates
                on users.lead_id = candidates.lead_id
            union all
            select
                user_id,
                lead_id,
                1 as preference
            from candidates
            where user_id is not null
        ) as lead_options
    ) as ranked
    where pick = 1

),

final as (

    select
        {{ as_of }} as as_of_date,
        cast(triggered.user_id as {{ string_type() }}) as user_id,
        cast(triggered.reason_code as {{ string_type() }}) as reason_code,
        cast(triggered.suggested_action as {{ string_type() }}) as suggested_action,
        cast(triggered.fired_date as date) as fired_date,
        cast(triggered.since_date as date) as since_date,
        cast(user_leads.lead_id as {{ string_type() }}) as lead_id,
        cast(triggered.rfm_segment as {{ string_type() }}) as rfm_segment,
        cast(triggered.previous_segment as {{ string_type() }}) as previous_segment,
        cast(triggered.days_since_last_active as integer) as days_since_last_active,
        cast(triggered.recency_days as integer) as recency_days,
        cast(triggered.active_days_30d as integer) as active_days_30d
    from triggered
    left join user_leads
        on triggered.user_id = user_leads.user_id

)

select * from final
