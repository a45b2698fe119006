{#- History of user_rfm (ADR 0006): one snapshot per business date run, as of
    that date; a run replaces only its own date (incremental, delete+insert on
    as_of_date; config in _history__models.yml). marts.user_rfm is the latest snapshot. -#}
{#- RFM as of D (SPEC §2). Every comparison with the mean or median is done in
    exact arithmetic (value * n >= sum, 2 * value >= the two middle values), so a
    user exactly at the mean is "high" on DuckDB and PostgreSQL alike. -#}

{%- set flag_method = marts_value_rfm_flag_method() -%}
{%- set lookback_days = var('rfm_lookback_days') | int -%}
{%- set score_threshold = var('rfm_score_high_threshold') | int -%}

with

paid_orders as (

    select
        order_id,
        user_id,
        paid_date,
        amount_cny
    from {{ ref('int_orders__paid') }}
    where
        paid_date > {{ marts_value_as_of_date(-lookback_days) }}
        and paid_date <= {{ marts_value_as_of_date() }}

),

segments as (

    select
        code,
        label_zh,
        r_high,
        f_high,
        m_high
    from {{ ref('rfm_segments') }}

),

per_user as (

    select
        user_id,
        cast(count(distinct order_id) as integer) as frequency,
        cast(coalesce(sum(amount_cny), 0) as numeric(18, 2)) as monetary_cny,
        max(paid_date) as last_order_date
    from paid_orders
    group by user_id

),

measured as (

    select
        user_id,
        last_order_date,
        {{ marts_value_days_between('last_order_date', marts_value_as_of_date()) }}
            as recency_days,
        frequency,
        monetary_cny
    from per_user

),

positioned as (

    -- quintile of each row position (ntile(5), 5 = best), positions ordered by the
    -- value and then user_id so that reruns give the same positions
    select
        *,
        cast(ntile(5) over (order by recency_days desc, user_id asc) as integer) as r_bucket,
        cast(ntile(5) over (order by frequency asc, user_id asc) as integer) as f_bucket,
        cast(ntile(5) over (order by monetary_cny asc, user_id asc) as integer) as m_bucket,
        row_number() over (order by recency_days desc, user_id asc) as r_position,
        row_number() over (order by frequency asc, user_id asc) as f_position,
        row_number() over (order by monetary_cny asc, user_id asc) as m_position
    from measured

),

tie_groups as (

    -- the middle position of each group of equal values (the lower middle for an
    -- even group: an exact integer half on both engines)
    select
        *,
        {{ marts_value_tie_middle('r_position', 'recency_days') }} as r_middle,
        {{ marts_value_tie_middle('f_position', 'frequency') }} as f_middle,
        {{ marts_value_tie_middle('m_position', 'monetary_cny') }} as m_middle
    from positioned

),

scored as (

    -- equal values get equal scores: every user of a tie group gets the quintile of
    -- the group's middle position (without ties this is plain ntile(5))
    select
        user_id,
        last_order_date,
        recency_days,
        frequency,
        monetary_cny,
        max(case when r_position = r_middle then r_bucket end)
            over (partition by recency_days) as r_score,
        max(case when f_position = f_middle then f_bucket end)
            over (partition by frequency) as f_score,
        max(case when m_position = m_middle then m_bucket end)
            over (partition by monetary_cny) as m_score,
        count(*) over () as scored_users,
        sum(recency_days) over () as recency_total,
        sum(frequency) over () as frequency_total,
        sum(monetary_cny) over () as monetary_total,
        row_number() over (order by recency_days, user_id) as recency_position,
        row_number() over (order by frequency, user_id) as frequency_position,
        row_number() over (order by monetary_cny, user_id) as monetary_position
    from tie_groups

),

middle_positions as (

    -- positions of the middle value(s) (equal when n is odd), as exact integer
    -- halves on both engines (DuckDB's `/` is float division)
    select
        *,
        (scored_users + 1 - mod(scored_users + 1, 2)) / 2 as middle_lo,
        (scored_users + 2 - mod(scored_users, 2)) / 2 as middle_hi
    from scored

),

medians as (

    -- the median is the mean of the middle value(s): kept as their sum and
    -- count so that `value * count >= sum` compares exactly
    select
        sum(case when recency_position in (middle_lo, middle_hi) then recency_days end)
            as recency_middle_sum,
        sum(case when frequency_position in (middle_lo, middle_hi) then frequency end)
            as frequency_middle_sum,
        sum(case when monetary_position in (middle_lo, middle_hi) then monetary_cny end)
            as monetary_middle_sum,
        max(case when middle_lo = middle_hi then 1 else 2 end) as middle_count
    from middle_positions

),

flagged as (

    -- every method's flags; final keeps the ones of var('rfm_flag_method')
    select
        scored.*,
        scored.recency_days * scored.scored_users <= scored.recency_total as r_high_mean,
        scored.frequency * scored.scored_users >= scored.frequency_total as f_high_mean,
        scored.monetary_cny * scored.scored_users >= scored.monetary_total as m_high_mean,
        scored.recency_days * medians.middle_count <= medians.recency_middle_sum
            as r_high_median,
        scored.frequency * medians.middle_count >= medians.frequency_middle_sum
            as f_high_median,
        scored.monetary_cny * medians.middle_count >= medians.monetary_middle_sum
            as m_high_median,
        scored.r_score >= {{ score_threshold }} as r_high_score,
        scored.f_score >= {{ score_threshold }} as f_high_score,
        scored.m_score >= {{ score_threshold }} as m_high_score
    from scored
    cross join medians

),

chosen as (

    select
        user_id,
        last_order_date,
        recency_days,
        frequency,
        monetary_cny,
        r_score,
        f_score,
        m_score,
        r_high_{{ flag_method }} as r_high,
        f_high_{{ flag_method }} as f_high,
        m_high_{{ flag_method }} as m_high
    from flagged

),

final as (

    select
        {{ marts_value_as_of_date() }} as as_of_date,
        cast(chosen.user_id as {{ string_type() }}) as user_id,
        chosen.last_order_date,
        chosen.recency_days,
        chosen.frequency,
        chosen.monetary_cny,
        chosen.r_score,
        chosen.f_score,
        chosen.m_score,
        chosen.r_high,
        chosen.f_high,
        chosen.m_high,
        cast(segments.code as {{ string_type() }}) as rfm_segment,
        cast(segments.label_zh as {{ string_type() }}) as rfm_segment_label_zh,
        cast('{{ flag_method }}' as {{ string_type() }}) as rfm_flag_method,
        cast({{ lookback_days }} as integer) as lookback_days
    from chosen
    left join segments
        on
            chosen.r_high = segments.r_high
            and chosen.f_high = segments.f_high
            and chosen.m_high = segments.m_high

)

select * from final
