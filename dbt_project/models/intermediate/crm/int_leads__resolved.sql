{{ config(materialized='table') }}

{#- Lead <-> user identity and duplicate survivorship (documented in
    _crm__models.yml). Duplicate groups are the connected components of leads
    that share a normalised company name, phone, e-mail or platform user id
    (transitively: A~B by phone and B~C by name puts A, B, C in one group),
    found with a recursive walk over a star graph (each lead linked to the
    smallest lead id holding the same key) so edges stay linear in the leads.
    Spark has no UNION in recursive CTEs (ADR 0011): there each lead takes the
    smallest label of its neighbours, var('lead_identity_max_hops') rounds, and the
    run fails unless one more round changes no label (then every label is its
    group's smallest lead id). -#}

{%- set spark = target.type == 'spark' -%}
{%- set hops = var('lead_identity_max_hops') | int -%}

with {%- if not spark %} recursive{% endif %}

leads as (

    select
        lead_id,
        company_name,
        company_name_normalized,
        contact_name,
        phone,
        email,
        industry,
        company_size,
        province,
        city,
        source_channel,
        user_id,
        lead_status,
        owner_rep_id,
        created_at,
        created_date
    from {{ ref('stg_crm__leads') }}
    where
        not is_deleted
        and created_date <= {{ marts_value_as_of_date() }}

),

lead_keys as (

    select
        lead_id,
        'company' as key_type,
        company_name_normalized as key_value
    from leads
    where company_name_normalized is not null
    union all
    select
        lead_id,
        'phone' as key_type,
        phone as key_value
    from leads
    where phone is not null
    union all
    select
        lead_id,
        'email' as key_type,
        email as key_value
    from leads
    where email is not null
    union all
    select
        lead_id,
        'user' as key_type,
        user_id as key_value
    from leads
    where user_id is not null

),

key_anchors as (

    select
        key_type,
        key_value,
        min(lead_id) as anchor_lead_id
    from lead_keys
    group by key_type, key_value

),

star_edges as (

    select
        lead_keys.lead_id as from_lead_id,
        key_anchors.anchor_lead_id as to_lead_id
    from lead_keys
    inner join key_anchors
        on
            lead_keys.key_type = key_anchors.key_type
            and lead_keys.key_value = key_anchors.key_value
    where lead_keys.lead_id <> key_anchors.anchor_lead_id

),

edges as (

    select
        from_lead_id,
        to_lead_id
    from star_edges
    union
    select
        to_lead_id as from_lead_id,
        from_lead_id as to_lead_id
    from star_edges

),

{% if spark -%}
    linked as (

        select
            from_lead_id,
            to_lead_id
        from edges
        union all
        select
            lead_id as from_lead_id,
            lead_id as to_lead_id
        from leads

    ),

    labels_0 as (

        select
            lead_id,
            lead_id as label
        from leads

    ),

    {% for round in range(1, hops + 2) -%}
    labels_{{ round }} as (

        select
            linked.from_lead_id as lead_id,
            min(previous.label) as label
        from linked
        inner join labels_{{ round - 1 }} as previous
            on linked.to_lead_id = previous.lead_id
        group by linked.from_lead_id

    ),

    {% endfor -%}
    unsettled as (

        select count(*) as labels_changed
        from labels_{{ hops }} as settled
        inner join labels_{{ hops + 1 }} as next_round
            on settled.lead_id = next_round.lead_id
        where settled.label <> next_round.label

    ),

    duplicate_groups as (

        select
            labels.lead_id,
            cast(count(*) over (partition by labels.label) as integer) as duplicate_group_size,
            labels.label as duplicate_group_id
        from labels_{{ hops }} as labels
        where (
            select
                assert_true(
                    labels_changed = 0,
                    'duplicate lead groups span more than {{ hops }} hops: '
                    || 'raise the dbt var lead_identity_max_hops'
                )
            from unsettled
        ) is null

    ),

{% else -%}
    reachable (lead_id, reached_lead_id) as (

        select
            lead_id,
            lead_id as reached_lead_id
        from leads
        union
        select
            reachable.lead_id,
            edges.to_lead_id as reached_lead_id
        from reachable
        inner join edges
            on reachable.reached_lead_id = edges.from_lead_id

    ),

    duplicate_groups as (

        select
            lead_id,
            cast(count(*) as integer) as duplicate_group_size,
            min(reached_lead_id) as duplicate_group_id
        from reachable
        group by lead_id

    ),

{% endif -%}
ranked as (

    -- survivorship: registered on the platform first, then a usable contact,
    -- then the most advanced status, then the oldest record, then the lowest id
    select
        leads.lead_id,
        duplicate_groups.duplicate_group_id,
        duplicate_groups.duplicate_group_size,
        (leads.phone is not null or leads.email is not null) as has_valid_contact,
        row_number() over (
            partition by duplicate_groups.duplicate_group_id
            order by
                case when leads.user_id is not null then 0 else 1 end,
                case when leads.phone is not null or leads.email is not null then 0 else 1 end,
                {{ marts_value_lead_status_rank('leads.lead_status') }} desc,
                leads.created_at,
                leads.lead_id asc
        ) as survivor_rank
    from leads
    inner join duplicate_groups
        on leads.lead_id = duplicate_groups.lead_id

),

survivors as (

    select
        duplicate_group_id,
        lead_id as surviving_lead_id
    from ranked
    where survivor_rank = 1

),

contact_matches as (

    -- a lead without an account borrows the account of another lead with the
    -- same phone (preferred) or e-mail; several candidates: the oldest lead wins
    select
        lead_keys.lead_id,
        other.user_id as matched_user_id,
        lead_keys.key_type as match_method,
        row_number() over (
            partition by lead_keys.lead_id
            order by
                case when lead_keys.key_type = 'phone' then 0 else 1 end,
                other.created_at,
                other.lead_id
        ) as match_rank
    from lead_keys
    inner join lead_keys as other_keys
        on
            lead_keys.key_type = other_keys.key_type
            and lead_keys.key_value = other_keys.key_value
            and lead_keys.lead_id <> other_keys.lead_id
    inner join leads as other
        on other_keys.lead_id = other.lead_id
    where
        lead_keys.key_type in ('phone', 'email')
        and other.user_id is not null

),

final as (

    select
        leads.lead_id,
        leads.company_name,
        leads.company_name_normalized,
        leads.contact_name,
        leads.phone,
        leads.email,
        leads.industry,
        leads.company_size,
        leads.province,
        leads.city,
        leads.source_channel,
        leads.lead_status,
        leads.owner_rep_id,
        leads.created_at,
        leads.created_date,
        leads.user_id,
        ranked.has_valid_contact,
        ranked.duplicate_group_id,
        ranked.duplicate_group_size,
        survivors.surviving_lead_id,
        coalesce(leads.user_id, contact_matches.matched_user_id) as resolved_user_id,
        case
            when leads.user_id is not null then 'registered'
            else contact_matches.match_method
        end as user_match_method,
        ranked.survivor_rank = 1 as is_surviving
    from leads
    inner join ranked
        on leads.lead_id = ranked.lead_id
    inner join survivors
        on ranked.duplicate_group_id = survivors.duplicate_group_id
    left join contact_matches
        on
            leads.lead_id = contact_matches.lead_id
            and contact_matches.match_rank = 1

)

select * from final
