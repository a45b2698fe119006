"""Pandas reference implementations of the marts, one module per area.

Each module holds pure functions over plain DataFrames (no dbt, no warehouse, no
sample generator), written as directly from SPEC §2 as possible so that a mart can
be compared row for row with an independent formulation of the same definition.
"""
