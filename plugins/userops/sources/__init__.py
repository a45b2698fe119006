"""Synthetic sources in the SPEC §1 shapes: a CRM database and product-event files.

Entry points live in :mod:`userops.sources.generate` (``GeneratorConfig``,
``generate``, ``append_day``); the other modules are the simulation behind them.
Nothing is imported here so that ``import userops`` stays cheap.
"""
