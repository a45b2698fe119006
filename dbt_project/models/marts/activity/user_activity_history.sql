{#- History of user_activity (ADR 0006): one snapshot per business date run, as of
    that date; a run replaces only its own date (incremental, delete+insert on
    as_of_date; config in _history__models.yml). marts.user_activity is the latest snapshot. -#}
{#- Trailing windows in days, each ending at D inclusive: [D - (w - 1), D]. -#}
{%- set windows = [7, 30, 90] -%}
{#- Mart metric -> daily count column it sums over each window. -#}
{%- set window_sums = [
    ('listings_published', 'listing_published_count'),
    ('feature_uses', 'feature_used_count'),
    ('inquiries', 'inquiry_sent_count'),
    ('orders', 'order_paid_count'),
    ('profile_updates', 'profile_updated_count'),
] -%}

with

lifespans as (

    select
        user_id,
        first_active_date,
        last_active_date
    from {{ ref('int_users__lifespans') }}

),

daily_activity as (

    select
        user_id,
        activity_date,
        login_count,
        {% for _, column in window_sums -%}
            {{ column }},
        {% endfor -%}
        is_active
    from {{ ref('int_users__daily_activity') }}
    where activity_date >= {{ marts_activity_as_of_date(1 - windows | max) }}

),

windowed as (

    select
        user_id,
        {% for w in windows -%}
            sum(
                case
                    when
                        activity_date >= {{ marts_activity_as_of_date(1 - w) }}
                        and is_active
                        then 1
                    else 0
                end
            ) as active_days_{{ w }}d,
        {% endfor -%}
        {% for metric, column in window_sums -%}
            {% for w in windows -%}
                sum(
                    case
                        when activity_date >= {{ marts_activity_as_of_date(1 - w) }}
                            then {{ column }}
                        else 0
                    end
                ) as {{ metric }}_{{ w }}d,
            {% endfor -%}
        {% endfor -%}
        sum(
            case
                when activity_date >= {{ marts_activity_as_of_date(-29) }} and login_count > 0
                    then 1
                else 0
            end
        ) as login_days_30d
    from daily_activity
    group by user_id

),

final as (

    select
        {{ marts_activity_as_of_date() }} as as_of_date,
        lifespans.user_id,
        cast(coalesce(windowed.login_days_30d, 0) as integer) as login_days_30d,
        {% for w in windows -%}
            cast(coalesce(windowed.active_days_{{ w }}d, 0) as integer) as active_days_{{ w }}d,
        {% endfor -%}
        {% for metric, _ in window_sums -%}
            {% for w in windows -%}
                cast(coalesce(windowed.{{ metric }}_{{ w }}d, 0) as integer)
                    as {{ metric }}_{{ w }}d,
            {% endfor -%}
        {% endfor -%}
        lifespans.first_active_date,
        lifespans.last_active_date,
        {{ marts_activity_days_between('lifespans.last_active_date', marts_activity_as_of_date()) }}
            as days_since_last_active
    from lifespans
    left join windowed
        on lifespans.user_id = windowed.user_id

)

select * from final
