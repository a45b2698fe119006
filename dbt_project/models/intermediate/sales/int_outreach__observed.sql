{{ config(materialized='view') }}

{#- Every lead the lists of a published business date D listed, and every lead that was
    due on D (a callback or routine follow-up, outreach_candidates_history) but was not
    listed, with what happened to its company in the following
    var('outreach_outcome_window_days') days: read from the candidates snapshot of the
    window's last day that ran (its last follow-up, outcome and first paid contract as of
    then), so the result depends only on which dates ran and published, never on their
    order. A view: it follows each new publish without a rebuild. -#}

{%- set window_days = var('outreach_outcome_window_days') | int -%}
{%- if window_days < 1 -%}
    {{ exceptions.raise_compiler_error("var('outreach_outcome_window_days') must be >= 1, got: " ~ window_days) }}
{%- endif -%}

with

assignments as (

    select
        business_date,
        lead_id,
        rep_id,
        priority,
        lead_tier,
        reason_code,
        suggested_action,
        assignment,
        assignment_reason
    from {{ source('publishing', 'outreach_assignments') }}

),

deliveries as (

    select
        business_date,
        rep_id,
        coalesce(sent_content_hash = content_hash, false) as was_delivered
    from {{ source('publishing', 'publish_log') }}

),

candidates as (

    select
        as_of_date,
        lead_id,
        lead_tier,
        is_callback_due,
        is_cadence_due,
        callback_reason_code,
        cadence_reason_code,
        last_followup_date,
        last_outcome,
        first_paid_date
    from {{ ref('outreach_candidates_history') }}

),

published_days as (

    select distinct business_date
    from assignments

),

listed as (

    select
        assignments.business_date,
        assignments.lead_id,
        true as is_listed,
        assignments.rep_id,
        assignments.priority,
        assignments.lead_tier,
        assignments.reason_code,
        assignments.suggested_action,
        assignments.assignment,
        assignments.assignment_reason,
        coalesce(deliveries.was_delivered, false) as was_delivered
    from assignments
    left join deliveries
        on
            assignments.business_date = deliveries.business_date
            and assignments.rep_id = deliveries.rep_id

),

unlisted as (

    select
        candidates.as_of_date as business_date,
        candidates.lead_id,
        false as is_listed,
        cast(null as {{ string_type() }}) as rep_id,
        cast(null as integer) as priority,
        candidates.lead_tier,
        case
            when candidates.is_callback_due then candidates.callback_reason_code
            else candidates.cadence_reason_code
        end as reason_code,
        case
            when candidates.is_callback_due then 'scheduled_callback'
            else 'routine_followup'
        end as suggested_action,
        cast(null as {{ string_type() }}) as assignment,  -- noqa: RF04
        cast(null as {{ string_type() }}) as assignment_reason,
        false as was_delivered
    from candidates
    inner join published_days
        on candidates.as_of_date = published_days.business_date
    left join assignments
        on
            candidates.as_of_date = assignments.business_date
            and candidates.lead_id = assignments.lead_id
    where
        (candidates.is_callback_due or candidates.is_cadence_due)
        and assignments.lead_id is null

),

population as (

    select
        *,
        {{ marts_value_add_days('business_date', window_days) }} as window_end
    from listed
    union all
    select
        *,
        {{ marts_value_add_days('business_date', window_days) }} as window_end
    from unlisted

),

observed_days as (

    select
        population.business_date,
        population.lead_id,
        max(candidates.as_of_date) as observed_through
    from population
    inner join candidates
        on
            population.lead_id = candidates.lead_id
            and population.business_date < candidates.as_of_date
            and population.window_end >= candidates.as_of_date
    group by population.business_date, population.lead_id

),

final as (

    select
        population.business_date,
        population.lead_id,
        population.is_listed,
        population.rep_id,
        population.priority,
        population.lead_tier,
        population.reason_code,
        population.suggested_action,
        population.assignment,
        population.assignment_reason,
        population.was_delivered,
        population.window_end,
        observed_days.observed_through,
        coalesce(observed_days.observed_through = population.window_end, false)
            as is_window_complete,
        case
            when observed_days.observed_through is not null
                then coalesce(candidates.last_followup_date > population.business_date, false)
        end as is_followed_up,
        case
            when candidates.last_followup_date > population.business_date
                then candidates.last_followup_date
        end as followup_date,
        case
            when candidates.last_followup_date > population.business_date
                then candidates.last_outcome
        end as followup_outcome,
        case
            when observed_days.observed_through is not null
                then coalesce(candidates.first_paid_date > population.business_date, false)
        end as is_converted
    from population
    left join observed_days
        on
            population.business_date = observed_days.business_date
            and population.lead_id = observed_days.lead_id
    left join candidates
        on
            observed_days.lead_id = candidates.lead_id
            and observed_days.observed_through = candidates.as_of_date

)

select * from final
