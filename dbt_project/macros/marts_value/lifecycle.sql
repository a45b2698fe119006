{#
    The lifecycle rules of SPEC §2, in order (the first rule that matches wins),
    thresholds from vars. One definition, used for D and for D-1 alike.
#}
{% macro marts_value_lifecycle_stage(tenure_days, days_since_last_active, active_days_30d) -%}
    case
        when {{ tenure_days }} < {{ var('lifecycle_introduction_days') | int }} then 'introduction'
        when {{ days_since_last_active }} >= {{ var('lifecycle_churned_days') | int }} then 'churned'
        when {{ days_since_last_active }} >= {{ var('lifecycle_dormant_days') | int }} then 'dormant'
        when {{ tenure_days }} >= {{ var('lifecycle_mature_tenure_days') | int }}
            and {{ active_days_30d }} >= {{ var('lifecycle_mature_active_days') | int }} then 'mature'
        else 'growth'
    end
{%- endmacro %}
