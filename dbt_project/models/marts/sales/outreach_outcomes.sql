{{ config(materialized='view') }}

{#- What happened after each listed row (int_outreach__observed): one row per business
    date x listed lead. A view over the publishing record and the candidates history. -#}

with

observed as (

    select
        business_date,
        lead_id,
        rep_id,
        priority,
        lead_tier,
        reason_code,
        suggested_action,
        assignment,
        assignment_reason,
        was_delivered,
        window_end,
        observed_through,
        is_window_complete,
        is_followed_up,
        followup_date,
        followup_outcome,
        is_converted
    from {{ ref('int_outreach__observed') }}
    where is_listed

),

final as (

    select
        cast(business_date as date) as business_date,
        cast(lead_id as {{ string_type() }}) as lead_id,
        cast(rep_id as {{ string_type() }}) as rep_id,
        cast(priority as integer) as priority,
        cast(lead_tier as {{ string_type() }}) as lead_tier,
        cast(reason_code as {{ string_type() }}) as reason_code,
        cast(suggested_action as {{ string_type() }}) as suggested_action,
        cast(assignment as {{ string_type() }}) as assignment,  -- noqa: RF04
        cast(assignment_reason as {{ string_type() }}) as assignment_reason,
        cast(was_delivered as boolean) as was_delivered,
        cast(window_end as date) as window_end,
        cast(observed_through as date) as observed_through,
        cast(is_window_complete as boolean) as is_window_complete,
        cast(is_followed_up as boolean) as is_followed_up,
        cast(followup_date as date) as followup_date,
        cast(followup_outcome as {{ string_type() }}) as followup_outcome,
        cast(is_converted as boolean) as is_converted
    from observed

)

select * from final
