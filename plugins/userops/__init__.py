"""userops: the Python package behind every userops DAG (no Airflow at import)."""

__version__ = "0.1.0"
