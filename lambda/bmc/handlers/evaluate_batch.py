"""EvaluateBatch: one Distributed Map child (EXPRESS) asks both models, and the judge, about a
batch of test records and writes the answers to the artifacts bucket.

Input: ``{"BatchInput": {"runId", ...BatchSpec}, "Items": [item, ...]}``, exactly what a
Distributed Map with an ItemBatcher delivers (nothing else is accepted: a definition that lost
its batcher must fail here, as it would on AWS). Output: counts and the key written, small
whatever the batch size. Throttling is retried inside (bmc.evaluation.generation); a record that still
fails is recorded as failed. AccessDenied or ResourceNotFound on a model fails the batch.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from bmc import settings
from bmc.aws import clients
from bmc.errors import InvalidTaskInput
from bmc.evaluation.batch import BatchSpec, evaluate_records
from bmc.evaluation.dataset import TestRecord
from bmc.evaluation.generation import Generator
from bmc.evaluation.store import write_records
from bmc.handlers._task import traced_handler

logger = Logger()
tracer = Tracer()


def parse_batch(event: dict[str, Any]) -> tuple[str, BatchSpec, list[TestRecord]]:
    batch_input = event.get("BatchInput")
    items = event.get("Items")
    if not isinstance(batch_input, dict) or not batch_input.get("runId"):
        raise InvalidTaskInput("the batch lacks BatchInput.runId")
    if not isinstance(items, list) or not items:
        raise InvalidTaskInput("the batch holds no Items")
    try:
        spec = BatchSpec.from_dict(batch_input)
        records = [TestRecord.from_item(item) for item in items]
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidTaskInput(f"malformed evaluation batch: {exc}") from exc
    return str(batch_input["runId"]), spec, records


@traced_handler(logger, tracer)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run_id, spec, records = parse_batch(event)
    logger.append_keys(runId=run_id)

    def time_left() -> float:
        return context.get_remaining_time_in_millis() / 1000

    generator = Generator(clients.bedrock_runtime(), time_left=time_left)
    results = evaluate_records(records, spec, generator, time_left=time_left)
    key = write_records(settings.artifacts_bucket(), run_id, results)
    failed = {
        "custom": sum(not r.custom.ok for r in results),
        "base": sum(r.base is not None and not r.base.ok for r in results),
    }
    logger.info(
        "batch evaluated", extra={"records": len(results), "failed": failed, "retries": generator.throttled}
    )
    return {"records": len(results), "failed": failed, "retries": generator.throttled, "key": key}
