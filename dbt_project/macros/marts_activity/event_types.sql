{#
    Event-type metadata of the activity area, kept in one place so the daily
    activity model and its YAML/unit tests agree on names.
#}

{#- Tracking-plan event type -> count column of int_users__daily_activity (SPEC §1.2). -#}
{% macro marts_activity_event_count_columns() -%}
    {{ return([
        ('login', 'login_count'),
        ('page_view', 'page_view_count'),
        ('search', 'search_count'),
        ('listing_published', 'listing_published_count'),
        ('listing_updated', 'listing_updated_count'),
        ('profile_updated', 'profile_updated_count'),
        ('inquiry_sent', 'inquiry_sent_count'),
        ('feature_used', 'feature_used_count'),
        ('order_paid', 'order_paid_count'),
        ('signup', 'signup_count'),
    ]) }}
{%- endmacro %}

{#- SQL list literal of var('active_event_types'), e.g. ('login', 'search'). An
    empty list would make nobody active, which is never what a run means: fail. -#}
{% macro marts_activity_active_event_types_sql() -%}
    {%- set types = var('active_event_types') -%}
    {%- if types is string or types | length == 0 -%}
        {{ exceptions.raise_compiler_error("var('active_event_types') must be a non-empty list") }}
    {%- endif -%}
    ({% for t in types %}'{{ t | trim | lower }}'{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}
