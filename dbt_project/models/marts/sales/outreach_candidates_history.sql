{#- Every tiered company (surviving lead with a 271 tier) as of D with the facts and
    cadence rules of its follow-up (SPEC §2 "Follow-up cadence"), one snapshot per
    business date run (ADR 0006; delete+insert on as_of_date, config in
    _history__models.yml). The lists of D read D's rows and only render them.
    Follow-ups and contracts of a duplicate CRM record count for its company's
    surviving lead (int_leads__resolved), as in the funnel and rep_performance.
    Rules and their vars (documented in dbt_project.yml):
    - the latest follow-up (occurred_at, then followup_id) gives last_outcome and the
      rep's next_followup_at; a `callback` without one is due
      var('followup_callback_default_days') after that call;
    - customer: a paid contract by D, a status in var('outreach_customer_statuses') or
      an outcome in var('outreach_customer_outcomes'): no routine cadence;
    - cooldown: followed up less than var('followup_cooldown_days') days ago;
    - cadence: var('followup_outcome_cadence_days') of the last outcome, else
      var('followup_cadence_days') of the tier;
    - tiers: prospect_tier splits the prospects (not customers, not lost) 20/70/10 by
      score like lead_scores splits all cleaned leads; outreach_tier, the tier the lists
      use (cadence, priority, matching), is the prospect tier of a prospect when
      var('outreach_prospect_tiers') is true, else lead_tier;
    - var('outreach_no_answer_streak') latest follow-ups in a row without an answer:
      suggest another channel. -#}

{%- set as_of = marts_value_as_of_date() -%}
{%- set callback_days = var('followup_callback_default_days') | int -%}
{%- set cooldown_days = var('followup_cooldown_days') | int -%}
{%- if callback_days < 0 or cooldown_days < 0 -%}
    {{ exceptions.raise_compiler_error("vars followup_callback_default_days and followup_cooldown_days must be >= 0") }}
{%- endif -%}
{%- set prospect_tiers = var('outreach_prospect_tiers') -%}
{%- if prospect_tiers is not boolean -%}
    {{ exceptions.raise_compiler_error("var('outreach_prospect_tiers') must be true or false, got: " ~ prospect_tiers) }}
{%- endif -%}
{%- set outcome_cadence = var('followup_outcome_cadence_days') -%}
{%- if outcome_cadence | length > 0 -%}
    {%- set outcome_cadence_days = marts_value_case_from_map(
        'last_outcome', outcome_cadence, 'null', 'followup_outcome_cadence_days'
    ) -%}
{%- else -%}
    {%- set outcome_cadence_days = 'cast(null as integer)' -%}
{%- endif -%}
{%- set tier_cadence_days = marts_value_case_from_map(
    'outreach_tier', var('followup_cadence_days'), 'null', 'followup_cadence_days'
) -%}
{%- set customer_outcome = marts_value_in_list_var('outcome', 'outreach_customer_outcomes') -%}
{%- set customer_status = marts_value_in_list_var(
    'resolved_leads.lead_status', 'outreach_customer_statuses'
) -%}

with

tiered as (

    select
        lead_id,
        lead_score,
        lead_tier
    from {{ ref('lead_scores_history') }}
    where
        as_of_date = {{ as_of }}
        and lead_tier is not null

),

resolved_leads as (

    select
        lead_id,
        user_id,
        lead_status,
        owner_rep_id,
        created_date,
        surviving_lead_id
    from {{ ref('int_leads__resolved') }}

),

followups as (

    select
        resolved_leads.surviving_lead_id as lead_id,
        followups.followup_id,
        followups.outcome,
        followups.occurred_at,
        followups.occurred_date,
        {{ to_business_date('followups.next_followup_at') }} as next_followup_date
    from {{ ref('stg_crm__followups') }} as followups
    inner join resolved_leads
        on followups.lead_id = resolved_leads.lead_id
    where followups.occurred_date <= {{ as_of }}

),

latest_followups as (

    select
        lead_id,
        outcome,
        next_followup_date,
        row_number() over (
            partition by lead_id
            order by occurred_at desc, followup_id desc
        ) as recency_rank
    from followups

),

company_followups as (

    select
        lead_id,
        max(occurred_date) as last_followup_date,
        count(*) as followups_to_date,
        sum(
            case when {{ customer_outcome }} then 1 else 0 end
        ) as customer_outcomes
    from followups
    group by lead_id

),

no_answer_streaks as (

    select
        lead_id,
        coalesce(
            min(
                case
                    when outcome is null or outcome <> 'no_answer' then recency_rank
                end
            ) - 1,
            count(*)
        ) as no_answer_streak
    from latest_followups
    group by lead_id

),

company_contracts as (

    select
        surviving_lead_id as lead_id,
        min(signed_date) as first_paid_date
    from {{ ref('int_contracts__classified') }}
    where
        is_paid
        and surviving_lead_id is not null
        and signed_date <= {{ as_of }}
    group by surviving_lead_id

),

facts as (

    select
        tiered.lead_id,
        resolved_leads.user_id,
        resolved_leads.owner_rep_id,
        resolved_leads.lead_status,
        resolved_leads.created_date,
        tiered.lead_score,
        tiered.lead_tier,
        company_followups.last_followup_date,
        coalesce(company_followups.followups_to_date, 0) as followups_to_date,
        latest_followups.outcome as last_outcome,
        coalesce(no_answer_streaks.no_answer_streak, 0) as no_answer_streak,
        latest_followups.next_followup_date,
        company_contracts.first_paid_date,
        coalesce(resolved_leads.lead_status = 'lost', false) as is_lost,
        case
            when company_contracts.first_paid_date is not null then 'paid_contract'
            when {{ customer_status }} then 'lead_status'
            when company_followups.customer_outcomes > 0 then 'followup_outcome'
        end as customer_reason,
        {{ marts_value_days_between('company_followups.last_followup_date', as_of) }}
            as days_since_followup
    from tiered
    inner join resolved_leads
        on tiered.lead_id = resolved_leads.lead_id
    left join company_followups
        on tiered.lead_id = company_followups.lead_id
    left join latest_followups
        on
            tiered.lead_id = latest_followups.lead_id
            and latest_followups.recency_rank = 1
    left join no_answer_streaks
        on tiered.lead_id = no_answer_streaks.lead_id
    left join company_contracts
        on tiered.lead_id = company_contracts.lead_id

),

prospects as (

    select
        lead_id,
        row_number() over (order by lead_score desc, lead_id asc) as prospect_rank,
        count(*) over () as prospect_count
    from facts
    where
        customer_reason is null
        and not is_lost

),

prospect_splits as (

    select
        facts.*,
        {{ marts_value_lead_tier('prospects.prospect_rank', 'prospects.prospect_count') }}
            as prospect_tier_split,
        prospects.lead_id is not null as is_prospect
    from facts
    left join prospects
        on facts.lead_id = prospects.lead_id

),

with_tiers as (

    select
        *,
        case when is_prospect then prospect_tier_split end as prospect_tier,
        case
            when {{ 'is_prospect' if prospect_tiers else 'false' }} then prospect_tier_split
            else lead_tier
        end as outreach_tier
    from prospect_splits

),

callbacks as (

    select
        *,
        customer_reason is not null as is_customer,
        case
            when next_followup_date is not null then next_followup_date
            when last_outcome = 'callback'
                then {{ marts_value_add_days('last_followup_date', callback_days) }}
        end as callback_due_date,
        case
            when next_followup_date is not null then 'callback_due'
            when last_outcome = 'callback' then 'callback_undated'
        end as callback_reason_code,
        coalesce(days_since_followup < {{ cooldown_days }}, false) as is_in_cooldown,
        case
            when last_followup_date is not null
                then coalesce({{ outcome_cadence_days }}, {{ tier_cadence_days }})
        end as cadence_days,
        coalesce(
            last_followup_date is not null and {{ outcome_cadence_days }} is not null, false
        ) as is_cadence_from_outcome
    from with_tiers

),

due as (

    select
        *,
        coalesce(not is_lost and callback_due_date <= {{ as_of }}, false) as is_callback_due,
        case
            when not is_lost and callback_due_date <= {{ as_of }}
                then {{ marts_value_days_between('callback_due_date', as_of) }}
        end as callback_overdue_days,
        case when last_followup_date is null then 'never_contacted' else 'cadence_due' end
            as cadence_reason_code,
        {{ marts_value_days_between('created_date', as_of) }} as days_since_created,
        (
            not is_lost
            and not is_customer
            and callback_due_date is null
            and not is_in_cooldown
            and (last_followup_date is null or days_since_followup >= cadence_days)
        ) as is_cadence_due
    from callbacks

),

final as (

    select
        {{ as_of }} as as_of_date,
        cast(lead_id as {{ string_type() }}) as lead_id,
        cast(user_id as {{ string_type() }}) as user_id,
        cast(owner_rep_id as {{ string_type() }}) as owner_rep_id,
        cast(lead_status as {{ string_type() }}) as lead_status,
        cast(created_date as date) as created_date,
        cast(lead_score as integer) as lead_score,
        cast(lead_tier as {{ string_type() }}) as lead_tier,
        cast(prospect_tier as {{ string_type() }}) as prospect_tier,
        cast(outreach_tier as {{ string_type() }}) as outreach_tier,
        cast(is_customer as boolean) as is_customer,
        cast(customer_reason as {{ string_type() }}) as customer_reason,
        cast(first_paid_date as date) as first_paid_date,
        cast(is_lost as boolean) as is_lost,
        cast(followups_to_date as integer) as followups_to_date,
        cast(last_followup_date as date) as last_followup_date,
        cast(days_since_followup as integer) as days_since_followup,
        cast(last_outcome as {{ string_type() }}) as last_outcome,
        cast(no_answer_streak as integer) as no_answer_streak,
        cast(
            no_answer_streak >= {{ var('outreach_no_answer_streak') | int }} as boolean
        ) as is_channel_change_suggested,
        cast(next_followup_date as date) as next_followup_date,
        cast(is_in_cooldown as boolean) as is_in_cooldown,
        cast(callback_due_date as date) as callback_due_date,
        cast(callback_reason_code as {{ string_type() }}) as callback_reason_code,
        cast(is_callback_due as boolean) as is_callback_due,
        cast(callback_overdue_days as integer) as callback_overdue_days,
        cast(cadence_days as integer) as cadence_days,
        cast(is_cadence_from_outcome as boolean) as is_cadence_from_outcome,
        cast(cadence_reason_code as {{ string_type() }}) as cadence_reason_code,
        cast(is_cadence_due as boolean) as is_cadence_due,
        cast(
            case
                when not is_cadence_due then null
                when last_followup_date is null
                    then greatest(coalesce(days_since_created, 0), 0)
                else days_since_followup - cadence_days
            end as integer
        ) as cadence_overdue_days
    from due

)

select * from final
