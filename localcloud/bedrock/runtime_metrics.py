"""Runtime metrics the simulated Bedrock publishes, as Bedrock does after serving requests.

Bedrock puts ``Invocations`` (and token counts, latency...) in CloudWatch's ``AWS/Bedrock``
namespace with the dimension ``ModelId``; for a provisioned throughput the value is its ARN.
The simulator publishes to moto's CloudWatch the same way, so the idle-serving guard reads
real metric data. AWS does not document the ``ModelId`` value of an on-demand custom model
deployment; the simulator uses the ARN, and the guard accepts any value containing the id.
"""

from __future__ import annotations

from datetime import datetime

import boto3

NAMESPACE = "AWS/Bedrock"


def publish_invocations(model_id: str, count: int, *, at: datetime, region: str) -> None:
    """``count`` invocations of ``model_id`` at ``at`` (a sum over that minute)."""
    boto3.client("cloudwatch", region_name=region).put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [{"Name": "ModelId", "Value": model_id}],
                "Timestamp": at,
                "Value": float(count),
                "Unit": "Count",
            }
        ],
    )
