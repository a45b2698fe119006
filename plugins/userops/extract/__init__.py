"""Readers of the two sources (CRM database, event files).

They only read and shape data (Arrow chunks, quarantine reasons); writing to the
warehouse is the job of :mod:`userops.load`, so each side can be tested alone.
"""
