"""The tracking plan (埋点, SPEC §1.2): the one Python definition of the event types.

The loader quarantines anything else, the GX landing suite checks against it and the
sample generator emits it.  (dbt reads the same list as the ``active_event_types`` var.)
"""

from __future__ import annotations

#: Event types in a fixed order (the generator stores their index as a code).
EVENT_TYPES: tuple[str, ...] = (
    "signup",
    "login",
    "page_view",
    "search",
    "listing_published",
    "listing_updated",
    "profile_updated",
    "inquiry_sent",
    "feature_used",
    "order_paid",
)

TRACKING_PLAN: frozenset[str] = frozenset(EVENT_TYPES)
