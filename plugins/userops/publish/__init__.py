"""Outreach lists: build each rep's daily follow-up list, write files, diff, deliver, record.

Modules, one concern each:

- :mod:`userops.publish.rules` -- :class:`PublishParams`, every threshold (fed from dbt vars)
  and the Chinese labels;
- :mod:`userops.publish.build` -- pure pandas: inputs as of D -> due items -> 271
  assignment under capacity -> list rows;
- :mod:`userops.publish.files` -- canonical CSV (the content hash), XLSX, ``manifest.json``;
- :mod:`userops.publish.log` -- ``meta.publish_log``, list diffs, hold rules;
- :mod:`userops.publish.deliver` -- SMTP delivery of lists and alerts;
- :mod:`userops.publish.run` -- :func:`publish_day`, the one entry point the DAG calls.

Nothing here imports Airflow; the DAG task resolves the SMTP connection and passes
an :class:`~userops.publish.deliver.SmtpSettings`.
"""

from __future__ import annotations
