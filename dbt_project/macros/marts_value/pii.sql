{#
    PII masking for BI (SPEC §3: phone and e-mail masked outside the outreach
    lists). Plain substr/position/length, identical on DuckDB, PostgreSQL and Spark.
#}

{#- `+8613812345678` -> `+86138****5678`: the last 8 digits lose their first 4.
    Anything shorter than 10 characters is fully masked. -#}
{% macro marts_value_mask_phone(expr) -%}
    case
        when {{ expr }} is null then null
        when length({{ expr }}) >= 10
            then substr({{ expr }}, 1, length({{ expr }}) - 8) || '****' || substr({{ expr }}, length({{ expr }}) - 3)
        else '****'
    end
{%- endmacro %}

{#- `alice@example.com` -> `a***@example.com`: first character of the local part,
    then the domain. A value without `@` is fully masked. -#}
{% macro marts_value_mask_email(expr) -%}
    case
        when {{ expr }} is null then null
        when position('@' in {{ expr }}) > 1
            then substr({{ expr }}, 1, 1) || '***' || substr({{ expr }}, position('@' in {{ expr }}))
        else '***'
    end
{%- endmacro %}
