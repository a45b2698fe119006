{{ config(materialized='view') }}

{#- Do the lists work? One row per lead tier x reason code x group over every published
    date whose outcome window is complete: `listed` = rows a rep received (delivered),
    `unlisted` = leads due the same day (callback or routine follow-up) that no list
    held (cut by capacity or matching). Rows built but never delivered (held, backfill)
    are in neither group. Follow-up and conversion rates within
    var('outreach_outcome_window_days') days. -#}

with

observed as (

    select
        lead_tier,
        reason_code,
        business_date,
        is_followed_up,
        is_converted,
        case
            when is_listed and was_delivered then 'listed'
            when not is_listed then 'unlisted'
        end as outreach_group
    from {{ ref('int_outreach__observed') }}
    where is_window_complete

),

grouped as (

    select
        lead_tier,
        reason_code,
        outreach_group,
        count(distinct business_date) as business_dates,
        count(*) as leads,
        sum(case when is_followed_up then 1 else 0 end) as followed_up_leads,
        sum(case when is_converted then 1 else 0 end) as converted_leads
    from observed
    where outreach_group is not null
    group by lead_tier, reason_code, outreach_group

),

final as (

    select
        cast(lead_tier as {{ string_type() }}) as lead_tier,
        cast(reason_code as {{ string_type() }}) as reason_code,
        cast(outreach_group as {{ string_type() }}) as outreach_group,
        cast(business_dates as integer) as business_dates,
        cast(leads as integer) as leads,
        cast(followed_up_leads as integer) as followed_up_leads,
        cast(converted_leads as integer) as converted_leads,
        cast(followed_up_leads as {{ double_type() }}) / leads as followup_rate,
        cast(converted_leads as {{ double_type() }}) / leads as conversion_rate
    from grouped

)

select * from final
