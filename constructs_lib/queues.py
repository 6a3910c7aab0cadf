"""Dead-letter queues: where undelivered events and failed invocations wait for a person."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib.compliance import acknowledge_nag


def dead_letter_queue(scope: Construct, construct_id: str, *, key: kms.IKey, reason: str) -> sqs.Queue:
    """A queue encrypted with ``key``, reachable over TLS only, keeping messages 14 days (the
    longest SQS keeps them). It is the last stop: ``reason`` says why it needs no dead-letter
    queue of its own (the AwsSolutions-SQS3 acknowledgment)."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    acknowledge_nag(queue, "AwsSolutions-SQS3", reason)
    return queue
