"""What an evaluation will use, estimated when the test set is validated (before any spending):
model calls, input tokens (an upper bound, as for training data), the most output tokens the
answers may take, and the temporary serving a run without serving needs for it.

Serving prices: ``temporary_serving_cost`` is the one seam for the temporary serving's cost. The
price table has no serving prices yet, so it names the serving and reports the cost as unknown;
when serving prices are added to the table, it returns their figure.
"""

from __future__ import annotations

from typing import Any

from bmc.catalog.models import Model
from bmc.evaluation.dataset import TestSet
from bmc.runspec.model import RunSpec
from bmc.validation.tokens import estimate_tokens

ESTIMATE_NOTE = (
    "Input tokens are estimated from bytes (an upper bound); output tokens are at most maxTokens per "
    "answer. Base model and judge calls bill at their on-demand prices."
)


def temporary_serving_cost(model: Model) -> dict[str, Any]:
    """The cheapest serving the catalog allows for an evaluation of ``model``, and its cost."""
    serving = model.evaluation_serving
    return {
        **serving.to_dict(),
        "cost": None,
        "note": (
            "No serving prices in the price table: the temporary "
            + (
                "deployment bills per token"
                if serving.mode == "on-demand"
                else "throughput bills per model unit hour"
            )
            + " while the evaluation runs, and is deleted afterwards"
        ),
    }


def evaluation_estimate(spec: RunSpec, test_set: TestSet) -> dict[str, Any] | None:
    """Calls and tokens of the evaluation of ``test_set`` (None when the run has no evaluation)."""
    evaluation = spec.evaluation
    if evaluation is None:
        return None
    records = len(test_set.records)
    answers = 2 if evaluation.compare_with_base else 1
    system = estimate_tokens(len((evaluation.system_prompt or "").encode("utf-8")))
    prompt_tokens = sum(estimate_tokens(len(r.prompt.encode("utf-8"))) + system for r in test_set.records)
    calls = {"custom": records, "base": records if evaluation.compare_with_base else 0}
    if evaluation.judge is not None:
        calls["judge"] = records * answers
    return {
        "records": records,
        "model_calls": calls,
        "input_tokens_per_model": prompt_tokens,
        "max_output_tokens_per_model": records * evaluation.inference.max_tokens,
        "temporary_serving": temporary_serving_cost(spec.model) if spec.serving.mode == "none" else None,
        "notes": [ESTIMATE_NOTE],
    }
