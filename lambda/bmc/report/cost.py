"""The training cost estimated before the run against what the job actually trained.

Bedrock bills training as tokens x epochs x a per-model price. It does not report a job's
billed token count through its API (neither GetModelCustomizationJob nor GetCustomModel has
one); the authority is the AWS bill. What the run itself knows:

- before training, the validator's token estimate (an upper bound, see catalog/estimate.py) x
  the epochs the hyperparameters ask for: ``estimate`` in validation.json;
- after training, the epochs the job's own training metrics show it ran (metrics.json). The
  tokens billed are the same estimate x those epochs: fewer when a job stopped early, none when
  no job was created.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TrainingCost:
    training_tokens: int | None  # the validator's estimate for one epoch
    price_per_1k_tokens: float | None
    currency: str
    planned_epochs: int | None
    planned_tokens: int | None
    planned_cost: float | None
    trained_epochs: int | None  # None: unknown (the job wrote no metrics)
    trained_tokens: int | None
    trained_cost: float | None
    basis: str  # how the "after" figure was found, in a sentence


def training_cost(
    estimate: Mapping[str, Any] | None,
    metrics_summary: Mapping[str, Any] | None,
    *,
    job_created: bool,
) -> TrainingCost | None:
    """The before/after comparison; None when the run has no estimate (validation never ran)."""
    if not isinstance(estimate, Mapping):
        return None
    tokens = _integer(estimate.get("training_tokens"))
    price = _number(estimate.get("price_per_1k_tokens"))
    planned_epochs = _integer(estimate.get("epochs"))
    if not job_created:
        trained_epochs: int | None = 0
        basis = "No training job was created, so nothing was billed for training."
    elif isinstance(metrics_summary, Mapping) and _integer(metrics_summary.get("epochs")):
        trained_epochs = _integer(metrics_summary.get("epochs"))
        basis = (
            "Token estimate x the epochs in the job's training metrics. Bedrock reports no billed "
            "token count through its API: the AWS bill is the authority."
        )
    else:
        trained_epochs = None
        basis = "The job wrote no training metrics, so the epochs it trained (and billed) are unknown."
    trained_tokens = tokens * trained_epochs if tokens is not None and trained_epochs is not None else None
    return TrainingCost(
        training_tokens=tokens,
        price_per_1k_tokens=price,
        currency=str(estimate.get("currency") or "USD"),
        planned_epochs=planned_epochs,
        planned_tokens=_integer(estimate.get("billed_tokens")),
        planned_cost=_number(estimate.get("training_cost")),
        trained_epochs=trained_epochs,
        trained_tokens=trained_tokens,
        trained_cost=_cost(trained_tokens, price),
        basis=basis,
    )


def _cost(tokens: int | None, price: float | None) -> float | None:
    return round(tokens / 1000 * price, 4) if tokens is not None and price is not None else None


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
