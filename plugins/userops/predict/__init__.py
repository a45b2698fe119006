"""Predictive models on top of the marts (future value and churn probability)."""
