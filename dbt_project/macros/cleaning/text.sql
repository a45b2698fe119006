{#
    Text cleaning shared by every staging model. All of it is plain SQL that both
    engines evaluate identically (translate, regex_replace, lower, nullif), so
    DuckDB, PostgreSQL and Spark stage the same values.
#}

{#- Full-width ASCII variants (U+FF01..U+FF5E) and the ideographic space (U+3000)
    -> their ASCII counterparts: `１３８` -> `138`, `ＡＢＣ` -> `ABC`. A value without
    any of them is returned as it is, without the translate (costly per row: ~5 µs
    on DuckDB, most of the CRM staging time before this guard). -#}
{% macro to_halfwidth(expr) -%}
    case
        when {{ userops.regex_like(expr, '[！-～　]') }}
            then translate({{ expr }}, '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　', {{ userops.sql_text_literal('!"#$%&' ~ "'" ~ '()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~ ') }})
        else {{ expr }}
    end
{%- endmacro %}

{#- Leading/trailing whitespace (ASCII and ideographic) removed; '' -> null.
    Free text (names, notes) keeps its full-width punctuation: only the ends change. -#}
{% macro clean_text(expr) -%}
    nullif({{ userops.regex_replace(expr, '^[[:space:]　]+|[[:space:]　]+$', '') }}, '')
{%- endmacro %}

{#- Identifiers: full-width -> ASCII, trimmed, '' -> null; case kept. -#}
{% macro clean_id(expr) -%}
    {{ userops.clean_text(userops.to_halfwidth(expr)) }}
{%- endmacro %}

{#- Enumerations (status, channel, plan...): full-width -> ASCII, trimmed, lower-cased. -#}
{% macro clean_enum(expr) -%}
    lower({{ userops.clean_id(expr) }})
{%- endmacro %}

{#- E-mail addresses: full-width -> ASCII, all whitespace removed, lower-cased;
    null unless it looks like local@domain.tld. -#}
{% macro clean_email(expr) -%}
    {%- set e = "lower(" ~ userops.regex_replace(userops.to_halfwidth(expr), '[[:space:]]+', '') ~ ")" -%}
    case when {{ userops.regex_like(e, '^[^@]+@[^@]+[.][^@.]+$') }} then {{ e }} end
{%- endmacro %}

{#- Company name key for de-duplication: full-width -> ASCII, lower-cased, every
    whitespace character removed ("Acme  Co" = "ＡＣＭＥ Co" = "acmeco"). -#}
{% macro normalize_company_name(expr) -%}
    nullif(lower({{ userops.regex_replace(userops.to_halfwidth(expr), '[[:space:]]+', '') }}), '')
{%- endmacro %}

{#- Mainland mobile numbers as `+86` + 11 digits. Full-width digits, spaces, dashes,
    parentheses and a `+86` / `0086` / `86` prefix are tolerated; anything that is
    not 11 digits starting with 1 after that (landlines, short numbers), and any
    number with another international prefix (`+1 415...`, `00852...`), becomes null. -#}
{% macro normalize_phone(expr) -%}
    {%- set dialled = userops.regex_replace(userops.to_halfwidth(expr), '[^0-9+]', '') -%}
    {%- set national = userops.regex_replace(userops.regex_replace(dialled, '^([+]|00)?86(1[0-9]{10})$', '\\2', global=false), '[^0-9]', '') -%}
    case
        when {{ userops.regex_like(dialled, '^([+]|00)') }} and not {{ userops.regex_like(dialled, '^([+]|00)86') }}
            then null
        when {{ userops.regex_like(national, '^1[0-9]{10}$') }} then '+86' || {{ national }}
    end
{%- endmacro %}
