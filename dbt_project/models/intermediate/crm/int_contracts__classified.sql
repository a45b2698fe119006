{{ config(materialized='table') }}

{#- Each contract attached to its account (the surviving lead of its company,
    else its platform user) and classified for the funnel: the account's first
    paid contract converts it; a later paid contract (renewal) or any paid
    enterprise contract signs it. -#}

with

contracts as (

    select
        contract_id,
        lead_id,
        user_id,
        plan,
        amount_cny,
        signed_at,
        signed_date,
        starts_at,
        ends_at,
        contract_status
    from {{ ref('stg_crm__contracts') }}
    where signed_date <= {{ marts_value_as_of_date() }}

),

resolved_leads as (

    select
        lead_id,
        resolved_user_id,
        surviving_lead_id
    from {{ ref('int_leads__resolved') }}

),

user_accounts as (

    -- every lead of a user's company shares one group, so one surviving lead
    select
        resolved_user_id as user_id,
        min(surviving_lead_id) as surviving_lead_id
    from resolved_leads
    where resolved_user_id is not null
    group by resolved_user_id

),

attached as (

    select
        contracts.contract_id,
        contracts.lead_id,
        contracts.user_id,
        coalesce(contract_leads.surviving_lead_id, user_accounts.surviving_lead_id)
            as surviving_lead_id,
        coalesce(contracts.user_id, contract_leads.resolved_user_id) as account_user_id,
        contracts.plan,
        contracts.amount_cny,
        contracts.signed_at,
        contracts.signed_date,
        contracts.starts_at,
        {{ to_business_date('contracts.starts_at') }} as starts_date,
        contracts.ends_at,
        {{ to_business_date('contracts.ends_at') }} as ends_date,
        contracts.contract_status,
        -- paid = not cancelled and a positive amount
        (
            coalesce(contracts.contract_status, 'cancelled') <> 'cancelled'
            and coalesce(contracts.amount_cny, 0) > 0
        ) as is_paid
    from contracts
    left join resolved_leads as contract_leads
        on contracts.lead_id = contract_leads.lead_id
    left join user_accounts
        on contracts.user_id = user_accounts.user_id

),

keyed as (

    select
        *,
        -- the most specific identity known: the company, else the platform user, else itself
        case
            when surviving_lead_id is not null then 'lead:' || surviving_lead_id
            when account_user_id is not null then 'user:' || account_user_id
            else 'contract:' || contract_id
        end as account_key
    from attached

),

sequenced as (

    select
        *,
        case
            when is_paid
                then cast(row_number() over (
                        partition by account_key, is_paid
                        order by signed_at, contract_id
                    ) as integer)
        end as paid_contract_seq
    from keyed

),

final as (

    select
        contract_id,
        lead_id,
        user_id,
        account_key,
        surviving_lead_id,
        account_user_id,
        plan,
        amount_cny,
        signed_at,
        signed_date,
        starts_at,
        starts_date,
        ends_at,
        ends_date,
        contract_status,
        is_paid,
        paid_contract_seq,
        coalesce(paid_contract_seq = 1, false) as is_conversion,
        coalesce(paid_contract_seq > 1, false) as is_renewal,
        coalesce(is_paid and plan = 'enterprise', false) as is_enterprise,
        coalesce(paid_contract_seq > 1 or (is_paid and plan = 'enterprise'), false)
            as is_signing
    from sequenced

)

select * from final
