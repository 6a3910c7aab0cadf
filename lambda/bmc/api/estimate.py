"""What a request to create a custom model will cost: the prices it answers with."""

from __future__ import annotations

from bmc.api.models import CostEstimateView
from bmc.aws.bedrock_ops import PROVISIONED
from bmc.catalog.estimate import default_prices, serving_cost
from bmc.runspec import RunSpec


def cost_estimate(spec: RunSpec, run_id: str) -> CostEstimateView:
    """The per-unit prices of the model a request creates (its tokens are counted later)."""
    table = default_prices()
    throughput = serving_cost(spec.base_model, mode=PROVISIONED, model_units=1, prices=table)
    notes = [
        *throughput.notes,
        "Training bills tokens x epochs: once the datasets are validated, the validation report "
        f"(reports/{run_id}/validation.json in the artifacts bucket) has the token count and the training cost.",
    ]
    evaluation_serving = None
    if spec.evaluation is not None:
        # The model is served only while it is evaluated, the cheapest way the catalog allows.
        temporary = spec.model.evaluation_serving
        evaluation_serving = "temporary " + serving_cost(
            spec.base_model,
            mode=temporary.mode,
            model_units=temporary.model_units or 1,
            prices=table,
        ).describe().replace(" until deleted", "")
        notes.append(
            "The evaluation also bills the base model's and the judge's on-demand tokens; the validation "
            "report has the test set's token estimate."
        )
    return CostEstimateView(
        EvaluationServing=evaluation_serving,
        Currency=table.currency,
        PricesAsOf=table.as_of,
        TrainingPer1kTokens=table.training_price(spec.model),
        StoragePerModelMonth=table.storage_per_custom_model_month,
        ThroughputPerModelUnitHour=throughput.price_per_model_unit_hour,
        Notes=notes,
    )
