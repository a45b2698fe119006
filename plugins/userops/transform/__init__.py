"""Transformations: running the dbt project (``userops.transform.dbt``)."""
