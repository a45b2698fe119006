{#
    Number helpers for the activity marts, portable across DuckDB and PostgreSQL.
#}

{#- The integers 0 .. 10^digits - 1 as rows of column `n`, from cross-joined
    digits: a portable spine (no generate_series, whose shape differs between
    the engines). Five digits cover 273 years of days. -#}
{% macro marts_activity_integers(digits=5) -%}
    {%- set values = [] -%}
    {%- for i in range(10) -%}{%- do values.append('select ' ~ i ~ ' as d') -%}{%- endfor -%}
    select
        {% for p in range(digits) -%}
        d{{ p }}.d * {{ 10 ** p }}{% if not loop.last %} + {% endif %}
        {%- endfor %} as n
    from
        {% for p in range(digits) -%}
        ({{ values | join(' union all ') }}) as d{{ p }}{% if not loop.last %} cross join {% endif %}
        {% endfor %}
{%- endmacro %}

{#- `numerator` / `denominator` as numeric(9,6): decimal division on both engines
    (never integer division), rounded the same way. The caller guards zero. -#}
{% macro marts_activity_ratio(numerator, denominator) -%}
    cast(cast({{ numerator }} as numeric(18, 6)) / {{ denominator }} as numeric(9, 6))
{%- endmacro %}
