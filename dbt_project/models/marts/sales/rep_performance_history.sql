{#- Sales reps ranked for 271 matching (SPEC §2) as of D, one snapshot per business
    date run (ADR 0006; delete+insert on as_of_date, config in _history__models.yml).
    Conversion over the trailing var('rep_conversion_window_days') days ending D =
    owned companies converted in the window / owned companies followed up in the window
    (0 when none was followed up). A company is a surviving lead (int_leads__resolved):
    a duplicate's follow-ups and contracts count for it, as in the lead funnel, and its
    owner is the surviving lead's owner. Active reps are ranked by conversion desc, then
    rep_id, and split by var('rep_tier_split'): the top and bottom tier sizes are
    rounded half up, the middle takes the rest. Inactive reps keep their figures but no
    rank or tier. -#}

{%- set splits = marts_value_tier_splits("rep_tier_split") -%}
{%- set window_days = var('rep_conversion_window_days') | int -%}
{%- if window_days < 1 -%}
    {{ exceptions.raise_compiler_error("var('rep_conversion_window_days') must be >= 1, got: " ~ window_days) }}
{%- endif -%}
{%- set window_start = marts_value_as_of_date(1 - window_days) -%}
{%- set as_of = marts_value_as_of_date() -%}

with

reps as (

    select
        rep_id,
        rep_name,
        coalesce(is_active, false) as is_active,
        coalesce(daily_capacity, {{ var('outreach_default_daily_capacity') | int }})
            as daily_capacity
    from {{ ref('stg_crm__sales_reps') }}

),

companies as (

    select
        lead_id,
        owner_rep_id,
        converted_date
    from {{ ref('int_leads__progressed') }}
    where
        is_surviving
        and owner_rep_id is not null

),

resolved_leads as (

    select
        lead_id,
        surviving_lead_id
    from {{ ref('int_leads__resolved') }}

),

followups as (

    select lead_id
    from {{ ref('stg_crm__followups') }}
    where occurred_date between {{ window_start }} and {{ as_of }}

),

followed_companies as (

    select distinct resolved_leads.surviving_lead_id as lead_id
    from followups
    inner join resolved_leads
        on followups.lead_id = resolved_leads.lead_id

),

per_rep as (

    select
        companies.owner_rep_id as rep_id,
        count(followed_companies.lead_id) as followed_up_leads,
        sum(
            case
                when
                    companies.converted_date between {{ window_start }} and {{ as_of }}
                    then 1
                else 0
            end
        ) as converted_leads
    from companies
    left join followed_companies
        on companies.lead_id = followed_companies.lead_id
    group by companies.owner_rep_id

),

measured as (

    select
        reps.rep_id,
        reps.rep_name,
        reps.is_active,
        case when reps.daily_capacity < 0 then 0 else reps.daily_capacity end as daily_capacity,
        coalesce(per_rep.followed_up_leads, 0) as followed_up_leads,
        coalesce(per_rep.converted_leads, 0) as converted_leads,
        case
            when coalesce(per_rep.followed_up_leads, 0) > 0
                then
                    cast(per_rep.converted_leads as {{ double_type() }})
                    / per_rep.followed_up_leads
            else 0
        end as conversion_rate
    from reps
    left join per_rep
        on reps.rep_id = per_rep.rep_id

),

ranked as (

    select
        *,
        case
            when is_active
                then row_number() over (
                        partition by is_active order by conversion_rate desc, rep_id asc
                    )
        end as rep_rank,
        sum(case when is_active then 1 else 0 end) over () as active_reps
    from measured

),

sized as (

    select
        *,
        floor(active_reps * {{ splits[0] }} + 0.5) as top_size,
        least(
            floor(active_reps * {{ splits[2] }} + 0.5),
            active_reps - floor(active_reps * {{ splits[0] }} + 0.5)
        ) as bottom_size
    from ranked

),

final as (

    select
        {{ as_of }} as as_of_date,
        cast(rep_id as {{ string_type() }}) as rep_id,
        cast(rep_name as {{ string_type() }}) as rep_name,
        cast(is_active as boolean) as is_active,
        cast(daily_capacity as integer) as daily_capacity,
        cast(followed_up_leads as integer) as followed_up_leads,
        cast(converted_leads as integer) as converted_leads,
        cast(conversion_rate as {{ double_type() }}) as conversion_rate,
        cast(rep_rank as integer) as rep_rank,
        cast(
            case
                when rep_rank is null then null
                when rep_rank <= top_size then 'top'
                when rep_rank > active_reps - bottom_size then 'bottom'
                else 'middle'
            end as {{ string_type() }}
        ) as rep_tier
    from sized

)

select * from final
