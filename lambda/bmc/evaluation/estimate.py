"""What an evaluation will use, estimated when the test set is validated (before any spending):
model calls, input tokens (an upper bound, as for training data), the most output tokens the
answers may take, and the temporary serving a run without serving needs for it.

The temporary serving is priced by ``bmc.catalog.estimate.serving_cost``, the one place serving
figures are computed: an on-demand deployment bills the custom model's tokens (bounded here by
the estimated input and the most output), a provisioned throughput bills its hourly rate while
the evaluation runs. A price the table does not have is None, never a guess.
"""

from __future__ import annotations

from typing import Any

from bmc.catalog.estimate import ON_DEMAND, PriceTable, serving_cost
from bmc.catalog.models import Model
from bmc.evaluation.dataset import TestSet
from bmc.runspec.model import RunSpec
from bmc.validation.tokens import estimate_tokens

ESTIMATE_NOTE = (
    "Input tokens are estimated from bytes (an upper bound); output tokens are at most maxTokens per "
    "answer. Base model and judge calls bill at their on-demand prices."
)


def temporary_serving_cost(
    model: Model, *, input_tokens: int, max_output_tokens: int, prices: PriceTable | None = None
) -> dict[str, Any]:
    """The cheapest serving the catalog allows for an evaluation of ``model``, and its cost:
    ``cost`` (the serving's figures), ``tokens_cost`` (on demand: the most the custom model's
    answers bill, None without rates) and a line for people."""
    serving = model.evaluation_serving
    cost = serving_cost(
        model.customization_id,
        mode=serving.mode,
        model_units=serving.model_units or 1,
        commitment="none",
        prices=prices,
    )
    tokens_cost = None
    if serving.mode == ON_DEMAND and None not in (cost.input_per_1k_tokens, cost.output_per_1k_tokens):
        tokens_cost = round(
            input_tokens / 1000 * float(cost.input_per_1k_tokens or 0)
            + max_output_tokens / 1000 * float(cost.output_per_1k_tokens or 0),
            4,
        )
    if serving.mode == ON_DEMAND:
        bound = "" if tokens_cost is None else f"; at most {tokens_cost:,.4f} {cost.currency} for the answers"
        note = f"temporary {cost.describe()}{bound}; deleted after the evaluation"
    else:
        note = f"temporary {cost.describe().replace(' until deleted', '')} while the evaluation runs, then deleted"
    return {**serving.to_dict(), "cost": cost.to_dict(), "tokens_cost": tokens_cost, "note": note}


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
        "temporary_serving": (
            temporary_serving_cost(
                spec.model,
                input_tokens=prompt_tokens,
                max_output_tokens=records * evaluation.inference.max_tokens,
            )
            if spec.serving.mode == "none"
            else None
        ),
        "notes": [ESTIMATE_NOTE],
    }
