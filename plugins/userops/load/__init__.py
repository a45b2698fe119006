"""Land source slices in the ``raw`` schema idempotently and book-keep them in ``meta``.

- :func:`userops.load.crm.load_crm` — incremental CRM extract (watermark on ``updated_at``);
- :func:`userops.load.events.load_events` — event partitions, bad lines quarantined;
- :class:`userops.load.batches.BatchResult` — what both return (and the DAG's XCom).
"""
