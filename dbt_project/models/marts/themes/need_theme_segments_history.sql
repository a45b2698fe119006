{#- Need themes x segments as of D, for planning (根据用户需求进行聚类分析): for every RFM
    segment and lifecycle stage, how many of its users' companies have each need as
    their top theme (lead_need_themes_history of D, through users_history.lead_id),
    and their share of the segment's users with a known need. Users without a segment
    form the segment `none`. One snapshot per business date run (ADR 0006). -#}

{%- set as_of = marts_value_as_of_date() -%}

with

user_needs as (

    select
        profiles.lifecycle_stage,
        needs.top_theme_id as theme_id,
        coalesce(profiles.rfm_segment, 'none') as rfm_segment
    from {{ ref('users_history') }} as profiles
    inner join {{ ref('lead_need_themes_history') }} as needs
        on
            profiles.lead_id = needs.lead_id
            and needs.as_of_date = {{ as_of }}
    where
        profiles.as_of_date = {{ as_of }}
        and profiles.lifecycle_stage is not null
        and needs.top_theme_id is not null

),

members as (

    {{ marts_value_segment_members('user_needs', 'user_needs.theme_id') }}

),

counts as (

    select
        dimension,
        segment,
        theme_id,
        count(*) as user_count
    from members
    group by dimension, segment, theme_id

),

final as (

    select
        {{ as_of }} as as_of_date,
        cast(counts.dimension as {{ string_type() }}) as dimension,
        cast(counts.segment as {{ string_type() }}) as segment,
        cast(counts.theme_id as {{ string_type() }}) as theme_id,
        cast(themes.theme_label as {{ string_type() }}) as theme_label,
        cast(counts.user_count as integer) as user_count,
        cast(
            cast(counts.user_count as {{ double_type() }})
            / sum(counts.user_count) over (partition by counts.dimension, counts.segment)
            as {{ double_type() }}
        ) as segment_share,
        cast(
            row_number() over (
                partition by counts.dimension, counts.segment
                order by counts.user_count desc, counts.theme_id asc
            ) as integer
        ) as theme_rank
    from counts
    left join {{ ref('need_themes') }} as themes
        on counts.theme_id = themes.theme_id

)

select * from final
