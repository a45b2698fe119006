{#
    Vars that are maps or lists rendered as SQL, with their shape checked at
    compile time: a mistyped threshold fails the run instead of silently scoring
    everybody zero.
#}

{#- `case expr when key then value ... else default end` from a mapping var.
    Keys are compared as text; values are rendered as SQL literals (numbers bare,
    strings quoted). -#}
{% macro marts_value_case_from_map(expr, mapping, default='null', var_name='mapping') -%}
    {%- if mapping is not mapping or mapping | length == 0 -%}
        {{ exceptions.raise_compiler_error(var_name ~ " must be a non-empty mapping, got: " ~ mapping) }}
    {%- endif -%}
    case {{ expr }}
        {%- for key, value in mapping.items() %}
        when '{{ key }}' then {{ marts_value_sql_literal(value) }}
        {%- endfor %}
        else {{ default }}
    end
{%- endmacro %}

{#- Integer points of `expr` from the mapping var `var_name` (lead score weights);
    a value not in the mapping (or null) scores 0. -#}
{% macro marts_value_points_from_var(expr, var_name) -%}
    {{ marts_value_case_from_map(expr, var(var_name), '0', var_name) }}
{%- endmacro %}

{#- A Jinja number or string as an SQL literal. -#}
{% macro marts_value_sql_literal(value) -%}
    {%- if value is number -%}{{ value }}{%- else -%}'{{ value }}'{%- endif -%}
{%- endmacro %}

{#- Rank of a lead status from var('lead_status_rank') (higher = further along the
    sales process; unknown or missing statuses rank 0). Used by lead survivorship. -#}
{% macro marts_value_lead_status_rank(status_expr) -%}
    {{ marts_value_case_from_map(status_expr, var('lead_status_rank'), '0', 'lead_status_rank') }}
{%- endmacro %}

{#- Company size band from var('size_bands'): a list of [band, min_employees]
    pairs; a size gets the band with the largest min_employees it reaches. A
    missing or negative size is 'unknown'. -#}
{% macro marts_value_size_band(size_expr) -%}
    {%- set bands = var('size_bands') -%}
    {%- if bands is string or bands | length == 0 -%}
        {{ exceptions.raise_compiler_error("var('size_bands') must be a list of [band, min_employees]") }}
    {%- endif -%}
    case
        {%- for band in bands | sort(attribute=1, reverse=true) %}
        when {{ size_expr }} >= {{ band[1] | int }} then '{{ band[0] }}'
        {%- endfor %}
        else 'unknown'
    end
{%- endmacro %}

{#- Tier shares from a var (default tier_splits = [A, B, C]; rep_tier_split = [top,
    middle, bottom]): three numbers >= 0 that sum to 1. Returned as their literal
    text so the SQL compares exact decimals. -#}
{% macro marts_value_tier_splits(var_name='tier_splits') -%}
    {%- set splits = var(var_name) -%}
    {%- if splits is string or splits | length != 3 -%}
        {{ exceptions.raise_compiler_error("var('" ~ var_name ~ "') must be [share_1, share_2, share_3], got: " ~ splits) }}
    {%- endif -%}
    {%- set total = splits[0] + splits[1] + splits[2] -%}
    {%- if splits | select('lt', 0) | list | length > 0 or (total - 1) | abs > 0.000001 -%}
        {{ exceptions.raise_compiler_error("var('" ~ var_name ~ "') shares must be >= 0 and sum to 1, got: " ~ splits) }}
    {%- endif -%}
    {{ return(splits | map('string') | list) }}
{%- endmacro %}

{#- var('rfm_flag_method'), validated: mean | median | score. -#}
{% macro marts_value_rfm_flag_method() -%}
    {%- set method = var('rfm_flag_method') | string | trim | lower -%}
    {%- if method not in ('mean', 'median', 'score') -%}
        {{ exceptions.raise_compiler_error("var('rfm_flag_method') must be mean, median or score, got: " ~ method) }}
    {%- endif -%}
    {{ return(method) }}
{%- endmacro %}

{#- `expr in (...)` from the list var `var_name` (one string is a list of one); an
    empty list matches nothing. Null `expr` gives null: wrap in coalesce when needed. -#}
{% macro marts_value_in_list_var(expr, var_name) -%}
    {%- set values = var(var_name) -%}
    {%- if values is string -%}{%- set values = [values] -%}{%- endif -%}
    {%- if values is mapping -%}
        {{ exceptions.raise_compiler_error("var('" ~ var_name ~ "') must be a list, got: " ~ values) }}
    {%- endif -%}
    {%- if values | length == 0 -%}
        (1 = 0)
    {%- else -%}
        {{ expr }} in ({% for v in values %}{{ marts_value_sql_literal(v | string) }}{% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif -%}
{%- endmacro %}

{#- 271 lead tier of the `rank_expr`-th of `count_expr` leads ranked by score (var
    tier_splits [A, B, C]): A up to ceil(n * A), B up to ceil(n * (A + B)), C after. -#}
{% macro marts_value_lead_tier(rank_expr, count_expr) -%}
    {%- set splits = marts_value_tier_splits() -%}
    case
        when {{ rank_expr }} <= ceil({{ count_expr }} * {{ splits[0] }}) then 'A'
        when {{ rank_expr }} <= ceil({{ count_expr }} * ({{ splits[0] }} + {{ splits[1] }})) then 'B'
        else 'C'
    end
{%- endmacro %}
