{#- What each company asks for (lead x D), from the need themes of its follow-up notes
    (marts.followup_note_themes, written by the predict_themes step) that occurred in
    the var('need_theme_window_days') days up to D and were entered by the end of D (as
    of D, whichever run builds it), notes of duplicate leads counted on the surviving
    lead. Themes rank by the number of notes naming them, then by their
    summed share, then by theme_id; unassigned notes count only in note_count. One
    snapshot per business date run (ADR 0006; config in _history__models.yml). -#}

{%- set window = var('need_theme_window_days') | int -%}
{%- if window < 1 -%}
    {{ exceptions.raise_compiler_error("var('need_theme_window_days') must be >= 1, got: " ~ window) }}
{%- endif -%}

with

notes as (

    select
        leads.surviving_lead_id as lead_id,
        note_themes.followup_id,
        note_themes.theme_id,
        note_themes.score
    from {{ source('predictions', 'followup_note_themes') }} as note_themes
    inner join {{ ref('int_leads__survivors_daily') }} as leads
        on
            note_themes.lead_id = leads.lead_id
            and leads.as_of_date = {{ marts_value_as_of_date() }}
    where
        note_themes.occurred_date between {{ marts_value_as_of_date(1 - window) }}
        and {{ marts_value_as_of_date() }}
        and note_themes.note_updated_at < {{ as_of_end_utc() }}

),

lead_notes as (

    select
        lead_id,
        count(distinct followup_id) as note_count,
        count(distinct case when theme_id <> 'unassigned' then followup_id end)
            as themed_note_count
    from notes
    group by lead_id

),

theme_counts as (

    select
        lead_id,
        theme_id,
        count(*) as theme_note_count,
        -- exact decimal sum: a float sum's last bits follow the order rows arrive in
        sum(cast(score as numeric(18, 12))) as theme_score
    from notes
    where theme_id <> 'unassigned'
    group by lead_id, theme_id

),

ranked as (

    select
        *,
        row_number() over (
            partition by lead_id
            order by theme_note_count desc, theme_score desc, theme_id asc
        ) as theme_rank
    from theme_counts

),

final as (

    select
        {{ marts_value_as_of_date() }} as as_of_date,
        cast(lead_notes.lead_id as {{ string_type() }}) as lead_id,
        cast(lead_notes.note_count as integer) as note_count,
        cast(lead_notes.themed_note_count as integer) as themed_note_count,
        cast(leader.theme_id as {{ string_type() }}) as top_theme_id,
        cast(top_labels.theme_label as {{ string_type() }}) as top_theme_label,
        cast(leader.theme_note_count as integer) as top_theme_note_count,
        cast(runner_up.theme_id as {{ string_type() }}) as second_theme_id,
        cast(second_labels.theme_label as {{ string_type() }}) as second_theme_label
    from lead_notes
    left join ranked as leader
        on lead_notes.lead_id = leader.lead_id and leader.theme_rank = 1
    left join ranked as runner_up
        on lead_notes.lead_id = runner_up.lead_id and runner_up.theme_rank = 2
    left join {{ ref('need_themes') }} as top_labels
        on leader.theme_id = top_labels.theme_id
    left join {{ ref('need_themes') }} as second_labels
        on runner_up.theme_id = second_labels.theme_id

)

select * from final
