{#
    Text -> typed values for raw CRM columns. Each macro first normalises the text
    the same way on both engines (full-width -> ASCII, trim, one accepted shape),
    then casts through `safe_cast_text`, so a bad value becomes NULL on DuckDB and
    PostgreSQL alike instead of failing the build.
#}

{#- UTC timestamp from text. Accepts `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS[.f]]`,
    with `T` or spaces between date and time, `/` as date separator, and an optional
    UTC offset or `Z` (converted to UTC). Anything else -> null. -#}
{% macro parse_timestamp_utc(expr) -%}
    {%- set s0 = userops.clean_id(expr) -%}
    {%- set s1 = "replace(" ~ s0 ~ ", '/', '-')" -%}
    {%- set s2 = userops.regex_replace(s1, '^([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ]+', '\\1 ', global=false) -%}
    {%- set s = userops.regex_replace(s2, ' *([Zz]|UTC|utc)$', '+00:00', global=false) -%}
    case
        when {{ userops.regex_like(s, userops.timestamp_text_pattern(with_offset=false)) }}
            then cast({{ userops.safe_cast_text(s, 'timestamp') }} as timestamp)
        when {{ userops.regex_like(s, userops.timestamp_text_pattern(with_offset=true)) }}
            then cast({{ userops.timestamptz_to_utc(userops.safe_cast_text(s, 'timestamptz')) }} as timestamp)
    end
{%- endmacro %}

{#- Boolean from 1/0, true/false, t/f, yes/no, y/n (any case, full-width ok). -#}
{% macro parse_boolean(expr) -%}
    {%- set s = userops.clean_enum(expr) -%}
    case
        when {{ s }} in ('1', 'true', 't', 'yes', 'y') then true
        when {{ s }} in ('0', 'false', 'f', 'no', 'n') then false
    end
{%- endmacro %}

{#- Integer from text with full-width digits, spaces or thousands separators;
    a trailing `.0` (float-typed source column) is accepted. Up to 9 digits. -#}
{% macro parse_integer(expr) -%}
    {%- set s = userops.regex_replace(userops.regex_replace(userops.to_halfwidth(expr), '[[:space:],]+', ''), '[.]0+$', '', global=false) -%}
    case when {{ userops.regex_like(s, '^[+-]?[0-9]{1,9}$') }} then cast({{ userops.safe_cast_text(s, 'integer') }} as integer) end
{%- endmacro %}

{#- Amount as numeric(18,2) from text: full-width digits, spaces, thousands
    separators and a currency sign (¥, ￥, CNY, RMB) are tolerated. -#}
{% macro parse_amount(expr) -%}
    {%- set s = userops.regex_replace(userops.to_halfwidth(expr), '[[:space:],¥￥]+|CNY|cny|RMB|rmb', '') -%}
    case
        when {{ userops.regex_like(s, '^[+-]?[0-9]{1,16}([.][0-9]+)?$') }}
            then cast({{ userops.safe_cast_text(s, 'numeric(18,2)') }} as numeric(18, 2))
    end
{%- endmacro %}
