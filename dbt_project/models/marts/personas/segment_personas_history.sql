{#- The one-page picture of each RFM segment and lifecycle stage as of D (用户画像),
    one snapshot per business date run (ADR 0006; delete+insert on as_of_date, config
    in _history__models.yml): size and share of the users, their most common industry,
    size band and province among the users whose company is known (ties -> the
    alphabetically first; null when none is), median activity and
    tenure, paying share and median RFM monetary, the predicted value and churn of its
    paying users (user_value_history of D, the predict_value step) and its most common
    need theme (need_theme_segments_history). Users without a segment (no paid order in
    the lookback) form the segment `none`. -#}

{%- set as_of = marts_value_as_of_date() -%}

with

user_profiles as (

    select
        profiles.user_id,
        profiles.industry,
        case when profiles.size_band <> 'unknown' then profiles.size_band end as size_band,
        profiles.province,
        profiles.lifecycle_stage,
        coalesce(profiles.rfm_segment, 'none') as rfm_segment,
        profiles.tenure_days,
        coalesce(profiles.is_paying, false) as is_paying,
        coalesce(activity.active_days_30d, 0) as active_days_30d,
        rfm.monetary_cny,
        predicted.expected_value_cny,
        predicted.churn_probability
    from {{ ref('users_history') }} as profiles
    left join {{ ref('user_activity_history') }} as activity
        on
            profiles.user_id = activity.user_id
            and activity.as_of_date = {{ as_of }}
    left join {{ ref('user_rfm_history') }} as rfm
        on
            profiles.user_id = rfm.user_id
            and rfm.as_of_date = {{ as_of }}
    left join {{ source('predictions', 'user_value_history') }} as predicted
        on
            profiles.user_id = predicted.user_id
            and predicted.as_of_date = {{ as_of }}
    where
        profiles.as_of_date = {{ as_of }}
        and profiles.lifecycle_stage is not null

),

members as (

    {{ marts_value_segment_members('user_profiles', 'user_profiles.*') }}

),

attribute_counts as (

    select
        dimension,
        segment,
        'industry' as attribute_name,
        industry as attribute_value,
        count(*) as member_count
    from members
    where industry is not null
    group by dimension, segment, industry
    union all
    select
        dimension,
        segment,
        'size_band' as attribute_name,
        size_band as attribute_value,
        count(*) as member_count
    from members
    where size_band is not null
    group by dimension, segment, size_band
    union all
    select
        dimension,
        segment,
        'province' as attribute_name,
        province as attribute_value,
        count(*) as member_count
    from members
    where province is not null
    group by dimension, segment, province

),

ranked_attributes as (

    select
        *,
        row_number() over (
            partition by dimension, segment, attribute_name
            order by member_count desc, attribute_value asc
        ) as popularity_rank
    from attribute_counts

),

top_attributes as (

    select
        dimension,
        segment,
        max(case when attribute_name = 'industry' then attribute_value end) as top_industry,
        max(case when attribute_name = 'size_band' then attribute_value end) as top_size_band,
        max(case when attribute_name = 'province' then attribute_value end) as top_province
    from ranked_attributes
    where popularity_rank = 1
    group by dimension, segment

),

figures as (

    select
        dimension,
        segment,
        count(*) as user_count,
        {{ marts_value_median('active_days_30d') }} as median_active_days_30d,
        {{ marts_value_median('tenure_days') }} as median_tenure_days,
        avg(cast(case when is_paying then 1 else 0 end as {{ double_type() }})) as paying_share,
        {{ marts_value_median('monetary_cny') }} as median_monetary_cny,
        {{ marts_value_median('expected_value_cny') }} as median_expected_value_cny,
        -- exact decimal sums: a float sum depends on the order rows arrive in, and the
        -- mart must not depend on that (ADR 0006)
        avg(cast(churn_probability as numeric(18, 12))) as mean_churn_probability
    from members
    group by dimension, segment

),

final as (

    select
        {{ as_of }} as as_of_date,
        cast(figures.dimension as {{ string_type() }}) as dimension,
        cast(figures.segment as {{ string_type() }}) as segment,
        cast(figures.user_count as integer) as user_count,
        cast(
            cast(figures.user_count as {{ double_type() }})
            / sum(figures.user_count) over (partition by figures.dimension) as {{ double_type() }}
        ) as user_share,
        cast(top_attributes.top_industry as {{ string_type() }}) as top_industry,
        cast(top_attributes.top_size_band as {{ string_type() }}) as top_size_band,
        cast(top_attributes.top_province as {{ string_type() }}) as top_province,
        cast(figures.median_active_days_30d as {{ double_type() }}) as median_active_days_30d,
        cast(figures.median_tenure_days as {{ double_type() }}) as median_tenure_days,
        cast(figures.paying_share as {{ double_type() }}) as paying_share,
        cast(figures.median_monetary_cny as {{ double_type() }}) as median_monetary_cny,
        cast(figures.median_expected_value_cny as {{ double_type() }})
            as median_expected_value_cny,
        cast(figures.mean_churn_probability as {{ double_type() }}) as mean_churn_probability,
        cast(needs.theme_id as {{ string_type() }}) as top_need_theme_id,
        cast(needs.theme_label as {{ string_type() }}) as top_need_theme_label,
        cast(needs.segment_share as {{ double_type() }}) as top_need_theme_share
    from figures
    left join top_attributes
        on
            figures.dimension = top_attributes.dimension
            and figures.segment = top_attributes.segment
    left join {{ ref('need_theme_segments_history') }} as needs
        on
            figures.dimension = needs.dimension
            and figures.segment = needs.segment
            and needs.as_of_date = {{ as_of }}
            and needs.theme_rank = 1

)

select * from final
