"""The Great Expectations runtime: quiet logging and a per-run Data Context.

Why an *ephemeral* context built in code rather than a file project
(``great_expectations.yml``):

- the suites are Python (``userops.quality.suites``), the single source of
  truth; a file context would also persist them as JSON that can drift;
- a file context rewrites ``great_expectations.yml`` whenever a data source is
  added, so two gate runs at once (a backfill next to the nightly run) would
  race on one file; an ephemeral context shares nothing but the result files;
- everything GX writes lands under the run's ``output_dir``, never in the repo.

Only the validation results are persisted (JSON under ``<output_dir>/gx/validations``),
because they are the source Data Docs render from: the index keeps the recent
nights, not just the last run.  Their key is (suite, business date), so rerunning
a date replaces its page instead of adding one (STYLE rule 4).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from great_expectations.data_context import AbstractDataContext

#: Name of the one Data Docs site.
DATA_DOCS_SITE = "userops"
#: Name of the pandas data source every dataset is validated through.
DATASOURCE = "userops"
#: Validation results listed on the Data Docs index (about ten nights of suites).
INDEX_RESULTS_LIMIT = 150

#: Loggers that print internal details at INFO/DEBUG (GX registers hundreds of
#: docstrings at import and logs every metric); our task logs stay readable.
_NOISY_LOGGERS = ("great_expectations", "tzlocal", "numexpr")


def quiet_gx_logging(level: int = logging.WARNING) -> None:
    """Raise GX's loggers to ``level``; call before the first GX import."""
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(level)


def import_gx() -> Any:
    """``great_expectations``, imported with its logging quietened first."""
    quiet_gx_logging()
    import great_expectations as gx

    return gx


def data_docs_dir(output_dir: Path) -> Path:
    """Where the Data Docs site of ``output_dir`` lives (``index.html`` inside)."""
    return output_dir / "data_docs"


def validation_report_path(output_dir: Path) -> Path:
    """The offline validation report of ``output_dir`` (``userops.quality.offline_report``).

    Next to the Data Docs, which need internet (their CSS, JS and icons come from
    CDNs); this page does not.  Cheap to import: the CLI prints it.
    """
    return data_docs_dir(output_dir) / "validation.html"


def validations_dir(output_dir: Path) -> Path:
    """Where the validation results behind the Data Docs are kept."""
    return output_dir / "gx" / "validations"


def _in_memory(class_name: str) -> dict[str, Any]:
    return {"class_name": class_name, "store_backend": {"class_name": "InMemoryStoreBackend"}}


def make_context(output_dir: Path | None = None) -> AbstractDataContext:
    """A fresh ephemeral Data Context.

    With ``output_dir`` the validation results are written to
    :func:`validations_dir` and a Data Docs site is configured at
    :func:`data_docs_dir`; without it (unit tests) nothing touches the disk.
    """
    gx = import_gx()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        ProgressBarsConfig,
    )

    results_backend: dict[str, Any] = {"class_name": "InMemoryStoreBackend"}
    sites: dict[str, Any] = {}
    if output_dir is not None:
        output_dir = output_dir.resolve()
        results_backend = {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(validations_dir(output_dir)),
        }
        sites[DATA_DOCS_SITE] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(data_docs_dir(output_dir)),
            },
            "site_index_builder": {
                "class_name": "DefaultSiteIndexBuilder",
                "validation_results_limit": INDEX_RESULTS_LIMIT,
            },
        }
    config = DataContextConfig(
        expectations_store_name="expectations_store",
        validation_results_store_name="validation_results_store",
        checkpoint_store_name="checkpoint_store",
        stores={
            "expectations_store": _in_memory("ExpectationsStore"),
            "validation_results_store": {
                "class_name": "ValidationResultsStore",
                "store_backend": results_backend,
            },
            "checkpoint_store": _in_memory("CheckpointStore"),
            "validation_definition_store": _in_memory("ValidationDefinitionStore"),
        },
        data_docs_sites=sites,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)
