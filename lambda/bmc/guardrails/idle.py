"""Invocation counts of servings, from CloudWatch's ``AWS/Bedrock`` namespace.

Bedrock publishes ``Invocations`` with the dimension ``ModelId``. For a provisioned throughput
the value is the provisioned model's ARN (as community tooling reads it); for an on-demand
custom model deployment AWS does not say whether it is the deployment's ARN or its bare id.
The guard therefore counts every ``ModelId`` value that contains the resource's 12-character
id (the last part of its ARN), plus the ARN itself: whichever form Bedrock uses, the serving's
invocations are found, and no other resource's id contains that token.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

NAMESPACE = "AWS/Bedrock"
METRIC = "Invocations"
DIMENSION = "ModelId"
_MAX_QUERIES_PER_CALL = 500  # GetMetricData's limit


@dataclass(frozen=True, slots=True)
class InvocationCounter:
    """Counts invocations of servings over a window ending at ``now``."""

    cloudwatch: Any
    now: datetime
    window: timedelta

    def model_ids(self) -> list[str]:
        """Every ``ModelId`` value with ``Invocations`` data (ListMetrics covers two weeks)."""
        values: list[str] = []
        params: dict[str, Any] = {
            "Namespace": NAMESPACE,
            "MetricName": METRIC,
            "Dimensions": [{"Name": DIMENSION}],
        }
        while True:
            page = self.cloudwatch.list_metrics(**params)
            for metric in page.get("Metrics", []):
                values += [d["Value"] for d in metric.get("Dimensions", []) if d.get("Name") == DIMENSION]
            if not page.get("NextToken"):
                return sorted(set(values))
            params["NextToken"] = page["NextToken"]

    def counts(self, servings: Sequence[tuple[str, str]]) -> dict[str, float]:
        """Invocations in the window per serving ARN, for ``(arn, resource id)`` pairs."""
        known = self.model_ids()
        queries: list[tuple[str, str]] = []  # (serving ARN, ModelId value)
        for arn, resource_id in servings:
            values = {arn, *(value for value in known if resource_id and resource_id in value)}
            queries += [(arn, value) for value in sorted(values)]
        totals = {arn: 0.0 for arn, _ in servings}
        for start in range(0, len(queries), _MAX_QUERIES_PER_CALL):
            batch = queries[start : start + _MAX_QUERIES_PER_CALL]
            for index, value in self._sums(value for _, value in batch):
                totals[batch[index][0]] += value
        return totals

    def _sums(self, model_ids: Iterable[str]) -> list[tuple[int, float]]:
        seconds = max(60, int(self.window.total_seconds()) // 60 * 60)
        request: dict[str, Any] = {
            "MetricDataQueries": [
                {
                    "Id": f"m{index}",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": NAMESPACE,
                            "MetricName": METRIC,
                            "Dimensions": [{"Name": DIMENSION, "Value": model_id}],
                        },
                        "Period": seconds,
                        "Stat": "Sum",
                    },
                    "ReturnData": True,
                }
                for index, model_id in enumerate(model_ids)
            ],
            "StartTime": self.now - self.window,
            "EndTime": self.now,
        }
        sums: list[tuple[int, float]] = []
        while True:
            response = self.cloudwatch.get_metric_data(**request)
            for result in response.get("MetricDataResults", []):
                sums.append((int(str(result["Id"])[1:]), float(sum(result.get("Values", [])))))
            if not response.get("NextToken"):
                return sums
            request["NextToken"] = response["NextToken"]
