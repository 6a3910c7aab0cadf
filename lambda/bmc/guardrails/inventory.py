"""What Bedrock holds for this deployment: the resources tagged ``bmc:prefix=<prefix>``.

No Bedrock List call filters on tags (botocore: the List operations take names, statuses,
creation times and model ARNs only), so every resource of the four kinds is listed and its
tags are read with ListTagsForResource; the tag, not the name, decides what belongs to the
deployment. Jobs are listed with ``statusEquals=InProgress``: only a running job bills.

A failed call never aborts the inventory: it becomes a problem and the rest is listed, so one
throttled call costs one resource one sweep, not the whole sweep.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from bmc.aws.bedrock_ops import ON_DEMAND, PROVISIONED, BedrockOps
from bmc.errors import BedrockError
from bmc.runspec import WORKFLOW_TAG_KEYS

logger = Logger(child=True)

RUN_ID_TAG, PREFIX_TAG = WORKFLOW_TAG_KEYS
JOB = "job"
CUSTOM_MODEL = "custom-model"
SERVING_KINDS = (PROVISIONED, ON_DEMAND)
JOB_RUNNING = "InProgress"


@dataclass(frozen=True, slots=True)
class Resource:
    """One billed Bedrock resource of the deployment, as its List call and tags describe it."""

    kind: str  # provisioned | on-demand | job | custom-model
    arn: str
    name: str
    status: str
    created: datetime | None
    tags: Mapping[str, str]
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str | None:
        return self.tags.get(RUN_ID_TAG) or None

    @property
    def resource_id(self) -> str:
        """The last part of the ARN (12 characters for throughputs and deployments)."""
        return self.arn.rsplit("/", 1)[-1]

    @property
    def is_serving(self) -> bool:
        return self.kind in SERVING_KINDS

    def describe(self) -> str:
        label = {PROVISIONED: "provisioned throughput", ON_DEMAND: "deployment"}.get(self.kind, self.kind)
        return f"{label} {self.name} ({self.status})"


@dataclass(slots=True)
class Inventory:
    resources: list[Resource] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def of_kind(self, *kinds: str) -> list[Resource]:
        return [resource for resource in self.resources if resource.kind in kinds]


@dataclass(frozen=True, slots=True)
class _Listing:
    kind: str
    operation: str
    items_key: str
    arn_key: str
    name_key: str
    status_key: str
    created_key: str
    filters: Mapping[str, Any] = field(default_factory=dict)


# The List call of each kind and where its summary keeps each fact (botocore's output shapes).
LISTINGS = (
    _Listing(
        PROVISIONED,
        "ListProvisionedModelThroughputs",
        "provisionedModelSummaries",
        "provisionedModelArn",
        "provisionedModelName",
        "status",
        "creationTime",
    ),
    _Listing(
        ON_DEMAND,
        "ListCustomModelDeployments",
        "modelDeploymentSummaries",
        "customModelDeploymentArn",
        "customModelDeploymentName",
        "status",
        "createdAt",
    ),
    _Listing(
        JOB,
        "ListModelCustomizationJobs",
        "modelCustomizationJobSummaries",
        "jobArn",
        "jobName",
        "status",
        "creationTime",
        filters={"statusEquals": JOB_RUNNING},
    ),
    _Listing(
        CUSTOM_MODEL,
        "ListCustomModels",
        "modelSummaries",
        "modelArn",
        "modelName",
        "modelStatus",
        "creationTime",
        filters={"isOwned": True},
    ),
)


def take_inventory(bedrock: BedrockOps, prefix: str) -> Inventory:
    """Every resource of the four kinds whose ``bmc:prefix`` tag is ``prefix``."""
    inventory = Inventory()
    for listing in LISTINGS:
        try:
            summaries = list(_pages(bedrock, listing))
        except BedrockError as exc:
            logger.warning(
                "a Bedrock listing failed", extra={"operation": listing.operation, "error": str(exc)}
            )
            inventory.problems.append(f"{listing.operation}: {exc}")
            continue
        for summary in summaries:
            arn = str(summary[listing.arn_key])
            try:
                tags = _tags(bedrock, arn)
            except BedrockError as exc:
                inventory.problems.append(f"ListTagsForResource {arn}: {exc}")
                continue
            if tags.get(PREFIX_TAG) != prefix:
                continue
            inventory.resources.append(
                Resource(
                    kind=listing.kind,
                    arn=arn,
                    name=str(summary.get(listing.name_key) or arn),
                    status=str(summary.get(listing.status_key) or ""),
                    created=summary.get(listing.created_key),
                    tags=tags,
                    details=summary,
                )
            )
    return inventory


def _pages(bedrock: BedrockOps, listing: _Listing) -> Iterator[Mapping[str, Any]]:
    params: dict[str, Any] = {**listing.filters, "maxResults": 100}
    while True:
        page = bedrock.call(listing.operation, **params)
        yield from page.get(listing.items_key, [])
        token = page.get("nextToken")
        if not token:
            return
        params["nextToken"] = token


def _tags(bedrock: BedrockOps, arn: str) -> dict[str, str]:
    response = bedrock.call("ListTagsForResource", resourceARN=arn)
    return {str(tag["key"]): str(tag["value"]) for tag in response.get("tags", [])}
