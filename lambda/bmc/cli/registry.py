"""How ``bmc`` commands find a deployment's run registry and read runs from it.

The table named by ``--registry-table``, else the ``BMC_REGISTRY_TABLE`` environment variable,
else the ``RegistryTableName`` output of the ``<prefix>-foundation`` CloudFormation stack
(``--prefix``, default ``BMC_PREFIX`` or ``bmc``). The first two work without CloudFormation
read access, the last with no configuration at all.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from bmc.cli.common import UsageError

REGISTRY_ENV = "BMC_REGISTRY_TABLE"
PREFIX_ENV = "BMC_PREFIX"
DEFAULT_PREFIX = "bmc"


def add_registry_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--registry-table", metavar="NAME", help=f"the run registry (default: ${REGISTRY_ENV})"
    )
    parser.add_argument(
        "--prefix", metavar="PREFIX", help=f"the deployment's prefix (default: ${PREFIX_ENV} or bmc)"
    )


def registry_table(args: argparse.Namespace, session: Any) -> str:
    explicit = args.registry_table or os.environ.get(REGISTRY_ENV)
    if explicit:
        return str(explicit)
    prefix = args.prefix or os.environ.get(PREFIX_ENV) or DEFAULT_PREFIX
    stack = f"{prefix}-foundation"
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except (ClientError, BotoCoreError) as exc:
        raise UsageError(
            f"cannot find the run registry: no --registry-table, no ${REGISTRY_ENV}, and stack {stack} "
            f"cannot be read ({exc})"
        ) from exc
    for output in stacks[0].get("Outputs", []):
        if output.get("OutputKey") == "RegistryTableName":
            return str(output["OutputValue"])
    raise UsageError(f"stack {stack} has no RegistryTableName output")


class RunReader:
    """Reads runs of one registry table (consistent reads, plain int and float numbers)."""

    def __init__(self, session: Any, table: str) -> None:
        self.client = session.client("dynamodb")
        self.table = table

    def get(self, run_id: str) -> dict[str, Any] | None:
        from boto3.dynamodb.types import TypeDeserializer

        from bmc.aws.registry import from_dynamo

        item = self.client.get_item(TableName=self.table, Key={"runId": {"S": run_id}}, ConsistentRead=True)
        if "Item" not in item:
            return None
        deserializer = TypeDeserializer()
        return {key: from_dynamo(deserializer.deserialize(value)) for key, value in item["Item"].items()}
