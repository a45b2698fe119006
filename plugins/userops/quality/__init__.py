"""Great Expectations suites as code and the nightly validation gate.

``suites`` defines one suite per dataset (named like the table it checks, STYLE
rule 5), ``gate.run_quality_gate`` validates a business day's raw slices and
marts, records every expectation result in ``meta.validation_results``, builds
Data Docs and raises :class:`~userops.quality.gate.QualityGateFailed` when a
critical expectation fails.

Nothing is imported here on purpose: Great Expectations takes seconds to import,
so callers import ``userops.quality.gate`` only inside the task that needs it.
"""
