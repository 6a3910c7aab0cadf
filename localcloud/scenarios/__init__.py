"""Named runs of the workflow in the local cloud: the demo plays one, the e2e suite plays all.

A scenario says which datasets to upload, the manifest, how the simulated Bedrock behaves
(failure injection), how the run is driven, what happens after it (``after``: a race, a lost
schedule, a resource created by hand) and how many hours then pass (the sweeper runs on its
schedule meanwhile), and the outcome it must reach. The checks that apply to every scenario
(final record, nothing running, nothing billing that its run does not own as IN_SERVICE,
notifications) live in `check_outcome`; the e2e tests add what is specific to each.

The stories are grouped by what they show: ``customization`` (each customization end to end),
``failures`` (what goes wrong during a run), ``evaluation``, ``guardrails`` (the sweeper and the
idle guard) and ``lineage`` (snapshots, chained runs, a base model's lifecycle); ``runs`` holds
what they share.
"""

from __future__ import annotations

from localcloud.scenarios.checks import check_outcome
from localcloud.scenarios.customization import CUSTOMIZATION
from localcloud.scenarios.evaluation import EVALUATIONS
from localcloud.scenarios.failures import FAILURES
from localcloud.scenarios.guardrails import GUARDRAILS
from localcloud.scenarios.lineage import LINEAGE
from localcloud.scenarios.runs import SUPPORT_DATASETS
from localcloud.scenarios.scenario import Dataset, Scenario, ScenarioResult

SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario for scenario in (*CUSTOMIZATION, *FAILURES, *EVALUATIONS, *GUARDRAILS, *LINEAGE)
}

__all__ = ["SCENARIOS", "SUPPORT_DATASETS", "Dataset", "Scenario", "ScenarioResult", "check_outcome"]
