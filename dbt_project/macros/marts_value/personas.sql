{#- The users of `relation` once per persona grouping (segment_personas,
    need_theme_segments): dimension 'rfm_segment' with the RFM segment, and
    'lifecycle_stage' with the stage, each row with `columns` of the relation. The
    relation's rfm_segment must already say 'none' for users without one. -#}
{% macro marts_value_segment_members(relation, columns) -%}
    {%- for dimension in ['rfm_segment', 'lifecycle_stage'] %}
    select
        '{{ dimension }}' as dimension,
        {{ relation }}.{{ dimension }} as segment,
        {{ columns }}
    from {{ relation }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
