"""The HTML run report: one self-contained page per run (``reports/<runId>/report.html``).

- ``inputs``: the registry record and the run's own JSON reports (validation, metrics,
  evaluation), read only from the run's prefix.
- ``scales`` and ``charts``: chart geometry and inline SVG charts.
- ``sections`` and ``page``: the page, every user-supplied value escaped (``markup``).
- ``cost``: the estimate before training against what the job trained.
- ``writer``: gather, render and store a run's report.
"""

from bmc.report.inputs import ReportInputs, load_inputs, report_key
from bmc.report.page import render_report

__all__ = ["ReportInputs", "load_inputs", "render_report", "report_key"]
