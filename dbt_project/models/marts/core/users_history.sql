{#- History of users (ADR 0006): one snapshot per business date run, as of
    that date; a run replaces only its own date (incremental, delete+insert on
    as_of_date; config in _history__models.yml). marts.users is the latest snapshot. -#}
{#- The user dimension BI filters on: one row per platform user seen in events up
    to D, with the company behind it (from the surviving CRM lead of the user's
    duplicate group), lifecycle stage, RFM segment, lead tier and paying status.
    Phone and e-mail are masked (SPEC §3); only outreach lists carry them clear. -#}

with

lifespans as (

    select
        user_id,
        signup_date,
        first_active_date
    from {{ ref('int_users__lifespans') }}

),

lifecycle as (

    select
        user_id,
        signup_date,
        last_active_date,
        tenure_days,
        days_since_last_active,
        lifecycle_stage
    from {{ ref('int_users__lifecycle_evaluated') }}

),

resolved_leads as (

    select
        lead_id,
        company_name,
        industry,
        company_size,
        province,
        city,
        source_channel,
        owner_rep_id,
        phone,
        email,
        resolved_user_id,
        surviving_lead_id,
        is_surviving
    from {{ ref('int_leads__resolved') }}

),

user_leads as (

    -- all leads of a user share one duplicate group, hence one surviving lead
    select
        resolved_user_id as user_id,
        min(surviving_lead_id) as lead_id
    from resolved_leads
    where resolved_user_id is not null
    group by resolved_user_id

),

surviving_leads as (

    select * from resolved_leads
    where is_surviving

),

rfm as (

    select
        user_id,
        rfm_segment
    from {{ ref('user_rfm_history') }}
    where as_of_date = {{ marts_value_as_of_date() }}

),

scores as (

    select
        lead_id,
        lead_tier
    from {{ ref('lead_scores_history') }}
    where as_of_date = {{ marts_value_as_of_date() }}

),

covering_contracts as (

    -- paid contracts in force on D, attached to the user or the user's company
    select
        surviving_lead_id,
        account_user_id,
        plan,
        starts_at,
        contract_id
    from {{ ref('int_contracts__classified') }}
    where
        is_paid
        and starts_date <= {{ marts_value_as_of_date() }}
        and (ends_date is null or ends_date >= {{ marts_value_as_of_date() }})

),

user_contracts as (

    select
        lifespans.user_id,
        covering_contracts.contract_id,
        covering_contracts.plan,
        row_number() over (
            partition by lifespans.user_id
            order by covering_contracts.starts_at desc, covering_contracts.contract_id desc
        ) as contract_rank
    from lifespans
    left join user_leads
        on lifespans.user_id = user_leads.user_id
    inner join covering_contracts
        on
            lifespans.user_id = covering_contracts.account_user_id
            or user_leads.lead_id = covering_contracts.surviving_lead_id

),

recent_orders as (

    select distinct user_id
    from {{ ref('int_orders__paid') }}
    where
        paid_date > {{ marts_value_as_of_date(-(var('paying_order_window_days') | int)) }}
        and paid_date <= {{ marts_value_as_of_date() }}

),

final as (

    select
        {{ marts_value_as_of_date() }} as as_of_date,
        cast(lifespans.user_id as {{ string_type() }}) as user_id,
        cast(user_leads.lead_id as {{ string_type() }}) as lead_id,
        cast(surviving_leads.company_name as {{ string_type() }}) as company_name,
        cast(surviving_leads.industry as {{ string_type() }}) as industry,
        cast(surviving_leads.company_size as integer) as company_size,
        cast(
            case when user_leads.lead_id is not null
                    then {{ marts_value_size_band('surviving_leads.company_size') }}
            end as {{ string_type() }}
        ) as size_band,
        cast(surviving_leads.province as {{ string_type() }}) as province,
        cast(surviving_leads.city as {{ string_type() }}) as city,
        cast(surviving_leads.source_channel as {{ string_type() }}) as source_channel,
        cast(surviving_leads.owner_rep_id as {{ string_type() }}) as owner_rep_id,
        cast(
            {{ marts_value_mask_phone('surviving_leads.phone') }} as {{ string_type() }}
        ) as phone_masked,
        cast(
            {{ marts_value_mask_email('surviving_leads.email') }} as {{ string_type() }}
        ) as email_masked,
        cast(coalesce(lifecycle.signup_date, lifespans.signup_date) as date) as signup_date,
        cast(lifespans.first_active_date as date) as first_active_date,
        cast(lifecycle.last_active_date as date) as last_active_date,
        cast(lifecycle.tenure_days as integer) as tenure_days,
        cast(lifecycle.days_since_last_active as integer) as days_since_last_active,
        cast(lifecycle.lifecycle_stage as {{ string_type() }}) as lifecycle_stage,
        cast(rfm.rfm_segment as {{ string_type() }}) as rfm_segment,
        cast(scores.lead_tier as {{ string_type() }}) as lead_tier,
        cast(
            user_contracts.contract_id is not null or recent_orders.user_id is not null as boolean
        ) as is_paying,
        cast(user_contracts.plan as {{ string_type() }}) as contract_plan
    from lifespans
    left join lifecycle
        on lifespans.user_id = lifecycle.user_id
    left join user_leads
        on lifespans.user_id = user_leads.user_id
    left join surviving_leads
        on user_leads.lead_id = surviving_leads.lead_id
    left join rfm
        on lifespans.user_id = rfm.user_id
    left join scores
        on user_leads.lead_id = scores.lead_id
    left join user_contracts
        on
            lifespans.user_id = user_contracts.user_id
            and user_contracts.contract_rank = 1
    left join recent_orders
        on lifespans.user_id = recent_orders.user_id

)

select * from final
