"""The evaluation gate: does the custom model beat its base by enough to keep it?

``gate = {"metric": name, "minDelta": number, "onFail": "undeploy" | "keep"}``. The gate passes
when the metric's delta (custom - base, in the metric's own units: 0-1, or 0-100 for BLEU and
chrF, 1-5 for the judge) is at least ``minDelta``. It fails when the delta is lower, or when
there is no delta to judge (no record answered by both models). ``onFail: undeploy`` (the
default) tells the workflow to delete the serving; the run ends REJECTED either way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bmc.evaluation.metrics import JUDGE, METRICS
from bmc.findings import FieldError
from bmc.validation import codes

UNDEPLOY = "undeploy"
KEEP = "keep"
ON_FAIL = (UNDEPLOY, KEEP)
GATE_FIELDS = ("metric", "minDelta", "onFail")


@dataclass(frozen=True, slots=True)
class Gate:
    metric: str
    min_delta: float = 0.0
    on_fail: str = UNDEPLOY

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, metrics: tuple[str, ...] = METRICS, judge: bool = False
    ) -> Gate:
        """Read a gate; FieldError (a ValueError) names the field. ``metrics``: those the
        evaluation computes."""
        unknown = sorted(set(data) - set(GATE_FIELDS))
        if unknown:
            raise FieldError(
                f"gate.{unknown[0]}",
                codes.UNKNOWN_FIELD,
                f"gate: unknown field {unknown[0]!r} (fields: {', '.join(GATE_FIELDS)})",
            )
        metric = data.get("metric")
        allowed = (*metrics, JUDGE) if judge else metrics
        if metric not in allowed:
            raise FieldError(
                "gate.metric",
                codes.MISSING_FIELD if metric is None else codes.INVALID_VALUE,
                f"gate.metric must be one of the evaluated metrics: {', '.join(allowed)}",
            )
        min_delta = data.get("minDelta", 0.0)
        if (
            isinstance(min_delta, bool)
            or not isinstance(min_delta, int | float)
            or not math.isfinite(min_delta)
        ):
            raise FieldError(
                "gate.minDelta", codes.INVALID_VALUE, "gate.minDelta must be a number (in the metric's units)"
            )
        on_fail = data.get("onFail", UNDEPLOY)
        if on_fail not in ON_FAIL:
            raise FieldError(
                "gate.onFail", codes.INVALID_VALUE, f"gate.onFail must be one of {', '.join(ON_FAIL)}"
            )
        return cls(metric=str(metric), min_delta=float(min_delta), on_fail=str(on_fail))

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "minDelta": self.min_delta, "onFail": self.on_fail}


@dataclass(frozen=True, slots=True)
class GateDecision:
    passed: bool
    metric: str
    min_delta: float
    delta: float | None
    ci95: list[float] | None
    undeploy: bool  # delete the serving (the gate failed and onFail is undeploy)
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "metric": self.metric,
            "minDelta": self.min_delta,
            "delta": self.delta,
            "ci95": self.ci95,
            "undeploy": self.undeploy,
            "reason": self.reason,
        }


def decide_gate(summary: Mapping[str, Any], gate: Gate) -> GateDecision:
    """Apply ``gate`` to an evaluation summary (see bmc.evaluation.summary)."""
    entry = (summary.get("metrics") or {}).get(gate.metric) or {}
    delta = entry.get("delta")
    ci95 = entry.get("ci95")
    interval = f" (95% CI {ci95[0]:+.4g} to {ci95[1]:+.4g})" if ci95 else ""
    if delta is None:
        passed = False
        reason = f"no {gate.metric} delta: no record was answered by both models"
    elif delta >= gate.min_delta:
        passed = True
        reason = (
            f"{gate.metric} improved by {delta:+.4g}{interval}, at least the required {gate.min_delta:+.4g}"
        )
    else:
        passed = False
        reason = (
            f"{gate.metric} changed by {delta:+.4g}{interval}, less than the required {gate.min_delta:+.4g}"
        )
    return GateDecision(
        passed=passed,
        metric=gate.metric,
        min_delta=gate.min_delta,
        delta=delta,
        ci95=ci95,
        undeploy=not passed and gate.on_fail == UNDEPLOY,
        reason=reason,
    )
