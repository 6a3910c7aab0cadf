"""Run spec rules: each mistake a user can make, and exactly what they read about it.

The table gives, for a spec and the deployment's options, every finding as (field, code,
message): the field names where to look, the code is stable for tooling, the message says
what is wrong and what would be right. The other tests pin the entry points' options, the
lines of a manifest's findings, how a finding list is summed up, earlier-run bases, the
normalized form, where a spec comes from (console, S3 manifest, API) and the names a run's
resources get.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from bmc import runspec
from bmc.catalog.models import resolve_model
from bmc.errors import ConfigurationError, RunSpecInvalid
from bmc.findings import Finding
from bmc.runspec.bounds import bounds_findings, load_json_text
from bmc.runspec.checker import FieldChecker
from bmc.runspec.evaluation import check_evaluation
from bmc.runspec.model import (
    MAX_MANIFEST_BYTES,
    ParentModel,
    ParentRefusedError,
    ParentResolver,
    as_given,
    is_parent_reference,
)
from bmc.runspec.option_checks import check_serving
from bmc.tenancy import PLATFORM_OWNER, DataScope, Owner, Tenancy
from bmc.tenancy.teams import Team
from moto import mock_aws

NOVA = "amazon.nova-micro-v1"
BUCKET = "datasets-bucket"
TRAIN = f"s3://{BUCKET}/data/train.jsonl"
TEST = f"s3://{BUCKET}/data/test.jsonl"
EVAL_OPTIONS: dict[str, Any] = {
    "region": "us-east-1",
    "datasets_bucket": BUCKET,
    "allowed_judge_models": ["amazon.nova-pro-v1:0"],
}


def base(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"baseModel": NOVA, "customizationType": "FINE_TUNING", "trainingData": TRAIN}
    spec.update(overrides)
    return {key: value for key, value in spec.items() if value is not None}


def ev(**block: Any) -> dict[str, Any]:
    """A spec whose evaluation block has the test set and ``block``."""
    return base(evaluation={"testData": TEST, **block})


def nest(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


Expected = list[tuple[str | None, str, str]]

CASES: list[tuple[str, Any, dict[str, Any], Expected]] = [
    # run name
    (
        "run name of a wrong type",
        base(runName=5),
        {},
        [("runName", "WRONG_TYPE", "runName must be a string, got a number")],
    ),
    (
        "run name with a slash",
        base(runName="a/b"),
        {},
        [
            (
                "runName",
                "INVALID_VALUE",
                "runName must be 1-64 characters: letters, digits, spaces, '.', '_' or '-', with at least one letter or digit; got 'a/b'",
            )
        ],
    ),
    (
        "run name of punctuation only",
        base(runName="._-"),
        {},
        [
            (
                "runName",
                "INVALID_VALUE",
                "runName must be 1-64 characters: letters, digits, spaces, '.', '_' or '-', with at least one letter or digit; got '._-'",
            )
        ],
    ),
    (
        "run name too long",
        base(runName="a" * 65),
        {},
        [
            (
                "runName",
                "INVALID_VALUE",
                f"runName must be 1-64 characters: letters, digits, spaces, '.', '_' or '-', with at least one letter or digit; got '{'a' * 65}'",
            )
        ],
    ),
    # base model
    (
        "base model missing",
        base(baseModel=None),
        {},
        [("baseModel", "MISSING_FIELD", "baseModel is required: the id of the model to customize")],
    ),
    (
        "base model not a string",
        base(baseModel=["x"]),
        {},
        [("baseModel", "WRONG_TYPE", "baseModel must be a model id string, got an array")],
    ),
    (
        "base model unknown",
        base(baseModel="amazon.nova-mega-v9"),
        {},
        [
            (
                "baseModel",
                "UNKNOWN_MODEL",
                "unknown model 'amazon.nova-mega-v9'; did you mean amazon.nova-lite-v1:0:300k, amazon.nova-micro-v1:0:128k, amazon.nova-pro-v1:0:300k? (`bmc models` lists the catalog)",
            )
        ],
    ),
    (
        "base model not allowed",
        base(),
        {"allowed_base_models": ["amazon.nova-lite-v1", "meta.llama3-1-8b-instruct-v1:0", "not-a-model"]},
        [
            (
                "baseModel",
                "MODEL_NOT_ALLOWED",
                "amazon.nova-micro-v1:0:128k is not allowed in this deployment; allowed: amazon.nova-lite-v1:0:300k, meta.llama3-1-8b-instruct-v1:0:128k, not-a-model",
            )
        ],
    ),
    (
        "base model not in the region",
        base(),
        {"region": "us-west-2"},
        [
            (
                "baseModel",
                "MODEL_NOT_IN_REGION",
                "amazon.nova-micro-v1:0:128k cannot be customized in us-west-2; regions: us-east-1",
            )
        ],
    ),
    (
        "base model ARN of another region",
        base(baseModel="arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-micro-v1:0:128k"),
        {"region": "us-east-1"},
        [
            (
                "baseModel",
                "MODEL_NOT_IN_REGION",
                "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-micro-v1:0:128k is a model of us-west-2; this deployment customizes in us-east-1",
            )
        ],
    ),
    (
        "parent without a resolver",
        base(baseModel="run:earlier"),
        {},
        [
            (
                "baseModel",
                "PARENT_NOT_RESOLVED",
                "run:earlier names an earlier run's custom model, which only the deployment's registry can resolve; to check data locally give the foundation model the chain started from",
            )
        ],
    ),
    # customization type
    (
        "type missing",
        base(customizationType=None),
        {},
        [
            (
                "customizationType",
                "MISSING_FIELD",
                "customizationType is required: one of FINE_TUNING, CONTINUED_PRE_TRAINING, DISTILLATION",
            )
        ],
    ),
    (
        "type in another spelling",
        base(customizationType="fine-tuning"),
        {},
        [
            (
                "customizationType",
                "INVALID_VALUE",
                "customizationType must be one of FINE_TUNING, CONTINUED_PRE_TRAINING, DISTILLATION; got 'fine-tuning'; did you mean 'FINE_TUNING'?",
            )
        ],
    ),
    (
        "type unknown",
        base(customizationType="PRETRAINING"),
        {},
        [
            (
                "customizationType",
                "INVALID_VALUE",
                "customizationType must be one of FINE_TUNING, CONTINUED_PRE_TRAINING, DISTILLATION; got 'PRETRAINING'; did you mean 'CONTINUED_PRE_TRAINING'?",
            )
        ],
    ),
    (
        "type not a string",
        base(customizationType=3),
        {},
        [
            (
                "customizationType",
                "WRONG_TYPE",
                "customizationType must be one of FINE_TUNING, CONTINUED_PRE_TRAINING, DISTILLATION, got a number",
            )
        ],
    ),
    (
        "type the model lacks",
        base(customizationType="CONTINUED_PRE_TRAINING"),
        {},
        [
            (
                "customizationType",
                "UNSUPPORTED_CUSTOMIZATION_TYPE",
                "amazon.nova-micro-v1:0:128k does not support CONTINUED_PRE_TRAINING; it supports FINE_TUNING, DISTILLATION",
            )
        ],
    ),
    (
        "validation data the type does not take",
        base(baseModel="amazon.nova-2-lite-v1", validationData=["s3://datasets-bucket/data/v.jsonl"]),
        {},
        [
            (
                "validationData",
                "VALIDATION_DATA_NOT_ALLOWED",
                "amazon.nova-2-lite-v1:0:256k FINE_TUNING does not take validation data",
            )
        ],
    ),
    # data
    (
        "training data missing",
        base(trainingData=None),
        {},
        [("trainingData", "MISSING_FIELD", "trainingData is required: the s3:// URI of a JSONL file")],
    ),
    (
        "training data not a string",
        base(trainingData=7),
        {},
        [("trainingData", "WRONG_TYPE", "trainingData must be an s3:// URI string, got a number")],
    ),
    (
        "training data not s3",
        base(trainingData="https://example.com/a.jsonl"),
        {},
        [
            (
                "trainingData",
                "INVALID_S3_URI",
                "'https://example.com/a.jsonl' is not an S3 URI: it must start with 's3://'",
            )
        ],
    ),
    (
        "training data a prefix",
        base(trainingData="s3://datasets-bucket/data/"),
        {},
        [
            (
                "trainingData",
                "INVALID_S3_URI",
                "'s3://datasets-bucket/data/' names a prefix, not a file: give the URI of the JSONL object",
            )
        ],
    ),
    (
        "training data a bucket",
        base(trainingData="s3://datasets-bucket"),
        {},
        [
            (
                "trainingData",
                "INVALID_S3_URI",
                "'s3://datasets-bucket' names a prefix, not a file: give the URI of the JSONL object",
            )
        ],
    ),
    (
        "training data with dot segments",
        base(trainingData="s3://datasets-bucket/data/../manifests/x.jsonl"),
        {},
        [
            (
                "trainingData",
                "INVALID_S3_URI",
                "'s3://datasets-bucket/data/../manifests/x.jsonl' has a '.' or '..' segment: name the object by its plain key",
            )
        ],
    ),
    (
        "validation data as one string",
        base(validationData="s3://datasets-bucket/data/v.jsonl"),
        {},
        [
            (
                "validationData",
                "WRONG_TYPE",
                'validationData must be a list of s3:// URIs, e.g. ["s3://datasets-bucket/data/v.jsonl"]',
            )
        ],
    ),
    (
        "validation data not a list",
        base(validationData={"a": 1}),
        {},
        [("validationData", "WRONG_TYPE", "validationData must be a list of s3:// URIs, got an object")],
    ),
    (
        "validation data items",
        base(validationData=[5, "s3://datasets-bucket/"]),
        {},
        [
            (
                "validationData[0]",
                "WRONG_TYPE",
                "validationData[0] must be an s3:// URI string, got a number",
            ),
            (
                "validationData[1]",
                "INVALID_S3_URI",
                "'s3://datasets-bucket/' names a prefix, not a file: give the URI of the JSONL object",
            ),
        ],
    ),
    (
        "too many validation files",
        base(validationData=[f"s3://datasets-bucket/data/v{i}.jsonl" for i in range(12)]),
        {},
        [("validationData", "TOO_MANY_VALIDATION_FILES", "12 validation files; Bedrock accepts at most 10")],
    ),
    (
        "data outside the datasets bucket",
        base(
            trainingData="s3://other-bucket/data/t.jsonl",
            validationData=["s3://other-bucket/data/v.jsonl"],
            evaluation={"testData": "s3://other-bucket/data/e.jsonl"},
        ),
        {"datasets_bucket": "datasets-bucket"},
        [
            (
                "trainingData",
                "DATA_OUTSIDE_DATASETS_BUCKET",
                "s3://other-bucket/data/t.jsonl is outside the datasets bucket datasets-bucket, the only bucket the Bedrock service role may read: copy the file there",
            ),
            (
                "validationData[0]",
                "DATA_OUTSIDE_DATASETS_BUCKET",
                "s3://other-bucket/data/v.jsonl is outside the datasets bucket datasets-bucket, the only bucket the Bedrock service role may read: copy the file there",
            ),
            (
                "evaluation.testData",
                "DATA_OUTSIDE_DATASETS_BUCKET",
                "s3://other-bucket/data/e.jsonl is outside the datasets bucket datasets-bucket, the only bucket the Bedrock service role may read: copy the file there",
            ),
        ],
    ),
    (
        "data outside the team prefixes",
        base(
            validationData=["s3://datasets-bucket/support/v.jsonl"],
            evaluation={"testData": "s3://datasets-bucket/manifests/e.jsonl"},
        ),
        {"datasets_bucket": "datasets-bucket", "data_prefixes": ["support/", "shared/"]},
        [
            (
                "trainingData",
                "DATA_NOT_IN_TEAM_PREFIXES",
                "s3://datasets-bucket/data/train.jsonl is outside the data prefixes of this run's owner; allowed: s3://datasets-bucket/support/, s3://datasets-bucket/shared/",
            ),
            (
                "evaluation.testData",
                "DATA_NOT_IN_TEAM_PREFIXES",
                "s3://datasets-bucket/manifests/e.jsonl is under manifests/, which holds manifests, not data; allowed: s3://datasets-bucket/support/, s3://datasets-bucket/shared/",
            ),
        ],
    ),
    (
        "data under manifests with any prefix",
        base(trainingData="s3://datasets-bucket/manifests/t.jsonl"),
        {"datasets_bucket": "datasets-bucket"},
        [
            (
                "trainingData",
                "DATA_NOT_IN_TEAM_PREFIXES",
                "s3://datasets-bucket/manifests/t.jsonl is under manifests/, which holds manifests, not data",
            )
        ],
    ),
    (
        "data with no prefixes allowed",
        base(),
        {"datasets_bucket": "datasets-bucket", "data_prefixes": []},
        [
            (
                "trainingData",
                "DATA_NOT_IN_TEAM_PREFIXES",
                "s3://datasets-bucket/data/train.jsonl is outside the data prefixes of this run's owner; allowed: none",
            )
        ],
    ),
    # hyperparameters
    (
        "hyperparameters not an object",
        base(hyperparameters=[1]),
        {},
        [
            (
                "hyperparameters",
                "WRONG_TYPE",
                "hyperparameters must be an object of name to value, got an array",
            )
        ],
    ),
    (
        "two hyperparameter problems",
        base(hyperparameters={"epochCount": 99, "learningRat": "1"}),
        {},
        [
            (
                "hyperparameters.epochCount",
                "HYPERPARAMETER_OUT_OF_RANGE",
                "epochCount must be between 1 and 5 (inclusive); got 99",
            ),
            (
                "hyperparameters.learningRat",
                "UNKNOWN_HYPERPARAMETER",
                "unknown hyperparameter 'learningRat' for Amazon Nova Micro (amazon.nova-micro-v1:0:128k) FINE_TUNING; did you mean 'learningRate'? Accepted: epochCount, learningRate, learningRateWarmupSteps",
            ),
        ],
    ),
    # distillation
    (
        "distillation block on fine-tuning",
        base(distillation={"teacherModel": "amazon.nova-pro-v1:0"}),
        {},
        [
            (
                "distillation",
                "INVALID_VALUE",
                "distillation applies only to customizationType DISTILLATION, not FINE_TUNING",
            )
        ],
    ),
    (
        "distillation block missing",
        base(customizationType="DISTILLATION"),
        {},
        [
            (
                "distillation",
                "MISSING_FIELD",
                'DISTILLATION needs a distillation block: {"teacherModel": "<model id>", "maxResponseLength": <tokens>}',
            )
        ],
    ),
    (
        "distillation block not an object",
        base(customizationType="DISTILLATION", distillation="nova-pro"),
        {},
        [("distillation", "WRONG_TYPE", "distillation must be an object, got a string")],
    ),
    (
        "distillation teacher missing",
        base(customizationType="DISTILLATION", distillation={"maxResponseLength": 10, "temperature": 1}),
        {},
        [
            (
                "distillation.temperature",
                "UNKNOWN_FIELD",
                "unknown field 'temperature' (known: teacherModel, maxResponseLength)",
            ),
            (
                "distillation.teacherModel",
                "MISSING_FIELD",
                "distillation.teacherModel is required: the teacher's model id",
            ),
        ],
    ),
    (
        "distillation teacher not a string",
        base(customizationType="DISTILLATION", distillation={"teacherModel": 1}),
        {},
        [
            (
                "distillation.teacherModel",
                "WRONG_TYPE",
                "distillation.teacherModel must be a model id string, got a number",
            )
        ],
    ),
    (
        "distillation teacher unknown",
        base(customizationType="DISTILLATION", distillation={"teacherModel": "acme.big-v1"}),
        {},
        [
            (
                "distillation.teacherModel",
                "UNKNOWN_TEACHER",
                "unknown distillation teacher 'acme.big-v1' (`bmc models` lists the catalog)",
            )
        ],
    ),
    (
        "distillation teacher of another student",
        base(
            baseModel="amazon.nova-pro-v1",
            customizationType="DISTILLATION",
            distillation={"teacherModel": "amazon.nova-pro-v1:0"},
        ),
        {},
        [
            (
                "distillation.teacherModel",
                "TEACHER_NOT_SUPPORTED",
                "amazon.nova-pro-v1:0 cannot teach amazon.nova-pro-v1:0:300k; its teachers: amazon.nova-premier-v1:0",
            )
        ],
    ),
    (
        "distillation teacher not in the region",
        base(
            baseModel="meta.llama3-1-8b-instruct-v1:0",
            customizationType="DISTILLATION",
            distillation={"teacherModel": "meta.llama3-1-405b-instruct-v1:0"},
        ),
        {"region": "us-east-1"},
        [
            (
                "baseModel",
                "MODEL_NOT_IN_REGION",
                "meta.llama3-1-8b-instruct-v1:0:128k cannot be customized in us-east-1; regions: us-west-2",
            ),
            (
                "distillation.teacherModel",
                "MODEL_NOT_IN_REGION",
                "meta.llama3-1-405b-instruct-v1:0 is not available in us-east-1; regions: us-west-2",
            ),
        ],
    ),
    (
        "distillation response length out of range",
        base(
            customizationType="DISTILLATION",
            distillation={"teacherModel": "amazon.nova-pro-v1:0", "maxResponseLength": 0},
        ),
        {},
        [
            (
                "distillation.maxResponseLength",
                "INVALID_VALUE",
                "distillation.maxResponseLength must be between 1 and 32768; got 0",
            )
        ],
    ),
    (
        "distillation response length too long",
        base(
            customizationType="DISTILLATION",
            distillation={"teacherModel": "amazon.nova-pro-v1:0", "maxResponseLength": 32769},
        ),
        {},
        [
            (
                "distillation.maxResponseLength",
                "INVALID_VALUE",
                "distillation.maxResponseLength must be between 1 and 32768; got 32769",
            )
        ],
    ),
    (
        "distillation for a model without teachers",
        base(
            baseModel="amazon.nova-2-lite-v1",
            customizationType="DISTILLATION",
            distillation={"teacherModel": "amazon.nova-pro-v1:0"},
        ),
        {},
        [
            (
                "customizationType",
                "UNSUPPORTED_CUSTOMIZATION_TYPE",
                "amazon.nova-2-lite-v1:0:256k does not support DISTILLATION; it supports FINE_TUNING",
            ),
            (
                "distillation.teacherModel",
                "TEACHER_NOT_SUPPORTED",
                "amazon.nova-pro-v1:0 cannot teach amazon.nova-2-lite-v1:0:256k; its teachers: none",
            ),
        ],
    ),
    # serving
    (
        "serving not an object",
        base(serving="provisioned"),
        {},
        [("serving", "WRONG_TYPE", "serving must be an object, got a string")],
    ),
    (
        "serving unknown field and mode",
        base(serving={"mode": "Provisioned", "units": 2}),
        {},
        [
            (
                "serving.units",
                "UNKNOWN_FIELD",
                "unknown field 'units' (known: mode, modelUnits, commitment, ttlHours, idleAction)",
            ),
            (
                "serving.mode",
                "INVALID_VALUE",
                "serving.mode must be one of none, provisioned, on-demand; got 'Provisioned'; did you mean 'provisioned'?",
            ),
        ],
    ),
    (
        "serving units out of range",
        base(serving={"mode": "provisioned", "modelUnits": 101}),
        {},
        [("serving.modelUnits", "INVALID_VALUE", "serving.modelUnits must be between 1 and 100; got 101")],
    ),
    (
        "serving commitment unknown",
        base(serving={"mode": "provisioned", "commitment": "OneYear"}),
        {},
        [
            (
                "serving.commitment",
                "INVALID_VALUE",
                "serving.commitment must be one of none, OneMonth, SixMonths; got 'OneYear' (known: none, OneMonth, SixMonths)",
            )
        ],
    ),
    (
        "serving ttl out of range",
        base(serving={"mode": "provisioned", "ttlHours": 0}),
        {},
        [("serving.ttlHours", "INVALID_VALUE", "serving.ttlHours must be between 1 and 8760; got 0")],
    ),
    (
        "serving idle action unknown",
        base(serving={"mode": "provisioned", "idleAction": "stop"}),
        {},
        [
            (
                "serving.idleAction",
                "INVALID_VALUE",
                "serving.idleAction must be one of notify, delete; got 'stop' (known: notify, delete)",
            )
        ],
    ),
    (
        "commitment without provisioned",
        base(serving={"mode": "on-demand", "commitment": "OneMonth"}),
        {},
        [("serving.commitment", "INVALID_VALUE", "commitment applies only to mode provisioned")],
    ),
    (
        "ttl without serving",
        base(serving={"mode": "none", "ttlHours": 3}),
        {},
        [("serving.ttlHours", "INVALID_VALUE", "ttlHours applies only when the model is served")],
    ),
    (
        "idle delete without serving",
        base(serving={"mode": "none", "idleAction": "delete"}),
        {},
        [("serving.idleAction", "INVALID_VALUE", "idleAction delete applies only when the model is served")],
    ),
    (
        "commitment with idle delete",
        base(serving={"mode": "provisioned", "commitment": "SixMonths", "idleAction": "delete"}),
        {},
        [
            (
                "serving.idleAction",
                "COMMITMENT_WITH_IDLE_DELETE",
                "a throughput committed for SixMonths cannot be deleted before its term, so idleAction delete cannot apply: use notify or set commitment to none",
            )
        ],
    ),
    (
        "commitment with ttl",
        base(serving={"mode": "provisioned", "commitment": "OneMonth", "ttlHours": 5}),
        {},
        [
            (
                "serving.ttlHours",
                "COMMITMENT_WITH_TTL",
                "a throughput committed for OneMonth cannot be deleted before its term, so ttlHours cannot apply: remove ttlHours or set commitment to none",
            )
        ],
    ),
    (
        "on demand for a model without it",
        base(baseModel="amazon.titan-text-lite-v1", serving={"mode": "on-demand"}),
        {},
        [
            (
                "serving.mode",
                "SERVING_NOT_SUPPORTED",
                "amazon.titan-text-lite-v1:0:4k custom models cannot be deployed on demand; use provisioned or none",
            )
        ],
    ),
    (
        "on demand by default for a model without it",
        base(baseModel="amazon.titan-text-lite-v1"),
        {"default_serving": {"mode": "on-demand"}},
        [
            (
                "serving.mode",
                "SERVING_NOT_SUPPORTED",
                "amazon.titan-text-lite-v1:0:4k custom models cannot be deployed on demand (the deployment's default serving mode; set serving.mode); use provisioned or none",
            )
        ],
    ),
    (
        "commitment by default with ttl",
        base(serving={"mode": "provisioned", "ttlHours": 5}),
        {"default_serving": {"mode": "provisioned", "commitment": "OneMonth"}},
        [
            (
                "serving.ttlHours",
                "COMMITMENT_WITH_TTL",
                "a throughput committed for OneMonth cannot be deleted before its term, so ttlHours cannot apply: remove ttlHours or set commitment to none",
            )
        ],
    ),
    # tags
    (
        "tags not an object",
        base(tags=["a"]),
        {},
        [("tags", "WRONG_TYPE", "tags must be an object of tag key to value, got an array")],
    ),
    (
        "too many tags",
        base(tags={f"k{i}": "v" for i in range(49)}),
        {},
        [
            (
                "tags",
                "TOO_MANY_TAGS",
                "49 tags; at most 48 (Bedrock allows 50 per resource and the workflow adds bmc:runId, bmc:prefix)",
            )
        ],
    ),
    (
        "tag keys and values",
        base(
            tags={
                "": "v",
                "a" * 129: "v",
                "bad!key": "v",
                "aws:x": "v",
                "BMC:run": "v",
                "ok": 5,
                "long": "v" * 257,
                "odd": "a#b",
                "fine key": "fine value",
            }
        ),
        {},
        [
            (
                'tags[""]',
                "INVALID_TAG",
                "tag key '' must be 1-128 characters: letters, digits, spaces and . _ : / = + @ -",
            ),
            (
                "tags." + "a" * 129,
                "INVALID_TAG",
                f"tag key '{'a' * 129}' must be 1-128 characters: letters, digits, spaces and . _ : / = + @ -",
            ),
            (
                'tags["bad!key"]',
                "INVALID_TAG",
                "tag key 'bad!key' must be 1-128 characters: letters, digits, spaces and . _ : / = + @ -",
            ),
            ('tags["aws:x"]', "RESERVED_TAG", "tag key 'aws:x': the prefixes aws: and bmc: are reserved"),
            ('tags["BMC:run"]', "RESERVED_TAG", "tag key 'BMC:run': the prefixes aws: and bmc: are reserved"),
            ("tags.ok", "WRONG_TYPE", "tags.ok must be a string, got a number"),
            (
                "tags.long",
                "INVALID_TAG",
                f"tag value '{'v' * 257}' must be at most 256 characters: letters, digits, spaces and . _ : / = + @ -",
            ),
            (
                "tags.odd",
                "INVALID_TAG",
                "tag value 'a#b' must be at most 256 characters: letters, digits, spaces and . _ : / = + @ -",
            ),
        ],
    ),
    # notify, validation options
    (
        "notify not an object",
        base(notify=True),
        {},
        [("notify", "WRONG_TYPE", "notify must be an object, got a boolean")],
    ),
    (
        "notify unknown field and wrong type",
        base(notify={"onFailure": True, "onSuccess": "no"}),
        {},
        [
            ("notify.onFailure", "UNKNOWN_FIELD", "unknown field 'onFailure' (known: onSuccess)"),
            ("notify.onSuccess", "WRONG_TYPE", "notify.onSuccess must be true or false, got a string"),
        ],
    ),
    (
        "validation options not an object",
        base(validation=["X"]),
        {},
        [("validation", "WRONG_TYPE", "validation must be an object, got an array")],
    ),
    (
        "validation allow not a list",
        base(validation={"allow": "X", "deny": []}),
        {},
        [
            ("validation.deny", "UNKNOWN_FIELD", "unknown field 'deny' (known: allow)"),
            (
                "validation.allow",
                "WRONG_TYPE",
                "validation.allow must be an array of finding codes, got a string",
            ),
        ],
    ),
    (
        "validation allow items",
        base(validation={"allow": [1, "NOT_A_CODE", "RESERVED_STRING_MENTION"]}),
        {},
        [
            ("validation.allow[0]", "WRONG_TYPE", "validation.allow[0] must be a finding code, got a number"),
            (
                "validation.allow[1]",
                "INVALID_VALUE",
                "unknown finding code 'NOT_A_CODE'; did you mean NOT_AN_OBJECT?",
            ),
        ],
    ),
    # unknown fields, not an object
    (
        "unknown top-level fields",
        base(modelName="x", **{"cost center": 1}),
        {},
        [
            (
                "modelName",
                "UNKNOWN_FIELD",
                "unknown field 'modelName' (known: runName, baseModel, customizationType, trainingData, validationData, hyperparameters, distillation, serving, tags, notify, evaluation, validation)",
            ),
            (
                '["cost center"]',
                "UNKNOWN_FIELD",
                "unknown field 'cost center' (known: runName, baseModel, customizationType, trainingData, validationData, hyperparameters, distillation, serving, tags, notify, evaluation, validation)",
            ),
        ],
    ),
    (
        "a list instead of an object",
        [base()],
        {},
        [(None, "NOT_AN_OBJECT", "a run spec must be a JSON object, got an array")],
    ),
    (
        "a string instead of an object",
        "spec",
        {},
        [(None, "NOT_AN_OBJECT", "a run spec must be a JSON object, got a string")],
    ),
    (
        "null instead of an object",
        None,
        {},
        [(None, "NOT_AN_OBJECT", "a run spec must be a JSON object, got null")],
    ),
    (
        "deep nesting",
        base(tags={"a": nest(40)}),
        {},
        [
            (
                "tags.a" + "[0]" * 30,
                "INVALID_JSON",
                f"tags.a{'[0]' * 30} is nested more than 32 levels deep",
            )
        ],
    ),
    (
        "a huge integer",
        base(serving={"modelUnits": 10**40}),
        {},
        [
            (
                "serving.modelUnits",
                "INVALID_VALUE",
                "serving.modelUnits is a number of about 41 digits; numbers here are far smaller",
            )
        ],
    ),
    # evaluation block
    (
        "evaluation not an object",
        base(evaluation="s3://x"),
        EVAL_OPTIONS,
        [("evaluation", "WRONG_TYPE", "evaluation must be an object, got a string")],
    ),
    (
        "evaluation without a test set",
        base(evaluation={}),
        EVAL_OPTIONS,
        [
            (
                "evaluation.testData",
                "MISSING_FIELD",
                "evaluation.testData is required: the s3:// URI of a JSONL file",
            )
        ],
    ),
    (
        "evaluation max records too many",
        ev(maxRecords=10_001),
        EVAL_OPTIONS,
        [("evaluation.maxRecords", "INVALID_VALUE", "maxRecords must be between 1 and 10,000, got 10,001")],
    ),
    (
        "evaluation compare not a boolean",
        ev(compareWithBase="yes"),
        EVAL_OPTIONS,
        [
            (
                "evaluation.compareWithBase",
                "WRONG_TYPE",
                "evaluation.compareWithBase must be true or false, got a string",
            )
        ],
    ),
    (
        "evaluation metrics not a list",
        ev(metrics="bleu"),
        EVAL_OPTIONS,
        [
            (
                "evaluation.metrics",
                "WRONG_TYPE",
                "evaluation.metrics must be a list of metric names, got a string",
            )
        ],
    ),
    (
        "evaluation metrics empty",
        ev(metrics=[]),
        EVAL_OPTIONS,
        [
            (
                "evaluation.metrics",
                "EMPTY_VALUE",
                "evaluation.metrics is empty: omit it for every metric (exactMatch, contains, tokenF1, rougeL, bleu, chrF)",
            )
        ],
    ),
    (
        "evaluation metric unknown",
        ev(metrics=["bleu", "rouge"]),
        EVAL_OPTIONS,
        [
            (
                "evaluation.metrics[1]",
                "INVALID_VALUE",
                "evaluation.metrics[1] must be one of exactMatch, contains, tokenF1, rougeL, bleu, chrF; got 'rouge'; did you mean 'rougeL'?",
            )
        ],
    ),
    (
        "evaluation inference not an object",
        ev(inference=5),
        EVAL_OPTIONS,
        [("evaluation.inference", "WRONG_TYPE", "evaluation.inference must be an object, got a number")],
    ),
    (
        "evaluation inference value",
        ev(inference={"maxTokens": 0}),
        EVAL_OPTIONS,
        [
            (
                "evaluation.inference.maxTokens",
                "INVALID_VALUE",
                "inference.maxTokens must be an integer from 1 to 4096",
            )
        ],
    ),
    (
        "evaluation system prompt not a string",
        ev(systemPrompt=1),
        EVAL_OPTIONS,
        [("evaluation.systemPrompt", "WRONG_TYPE", "evaluation.systemPrompt must be a string, got a number")],
    ),
    (
        "evaluation system prompt blank",
        ev(systemPrompt=" \n"),
        EVAL_OPTIONS,
        [
            (
                "evaluation.systemPrompt",
                "EMPTY_VALUE",
                "evaluation.systemPrompt is empty: omit it to send no system prompt",
            )
        ],
    ),
    (
        "evaluation system prompt too long",
        ev(systemPrompt="x" * 32_769),
        EVAL_OPTIONS,
        [
            (
                "evaluation.systemPrompt",
                "VALUE_TOO_LONG",
                "evaluation.systemPrompt is longer than 32,768 characters",
            )
        ],
    ),
    (
        "evaluation judge not an object",
        ev(judge="nova"),
        EVAL_OPTIONS,
        [("evaluation.judge", "WRONG_TYPE", "evaluation.judge must be an object, got a string")],
    ),
    (
        "evaluation judge not allowed",
        ev(judge={"modelId": "amazon.nova-lite-v1:0"}),
        EVAL_OPTIONS,
        [
            (
                "evaluation.judge.modelId",
                "JUDGE_NOT_ALLOWED",
                "amazon.nova-lite-v1:0 is not a judge this deployment may call; allowed: amazon.nova-pro-v1:0",
            )
        ],
    ),
    (
        "evaluation judge with no judges configured",
        ev(judge={"modelId": "amazon.nova-lite-v1:0"}),
        {**EVAL_OPTIONS, "allowed_judge_models": []},
        [
            (
                "evaluation.judge.modelId",
                "JUDGE_NOT_ALLOWED",
                "amazon.nova-lite-v1:0 is not a judge this deployment may call; allowed: none (set the evaluation.judgeModels configuration key)",
            )
        ],
    ),
    (
        "evaluation judge a custom model",
        ev(judge={"modelId": "arn:aws:bedrock:us-east-1:111122223333:custom-model/x"}),
        EVAL_OPTIONS,
        [
            (
                "evaluation.judge.modelId",
                "INVALID_VALUE",
                "'arn:aws:bedrock:us-east-1:111122223333:custom-model/x' is not a foundation model or system inference profile id (a custom model cannot judge)",
            )
        ],
    ),
    (
        "evaluation gate not an object",
        ev(gate=["bleu"]),
        EVAL_OPTIONS,
        [("evaluation.gate", "WRONG_TYPE", "evaluation.gate must be an object, got an array")],
    ),
    (
        "evaluation gate without base",
        ev(compareWithBase=False, gate={"metric": "bleu"}),
        EVAL_OPTIONS,
        [
            (
                "evaluation.gate",
                "GATE_WITHOUT_BASE",
                "a gate compares the custom model with its base model: it needs compareWithBase true",
            )
        ],
    ),
    (
        "evaluation tolerated not a number",
        ev(toleratedFailurePercentage="5"),
        EVAL_OPTIONS,
        [
            (
                "evaluation.toleratedFailurePercentage",
                "WRONG_TYPE",
                "evaluation.toleratedFailurePercentage must be a number, got a string",
            )
        ],
    ),
    (
        "evaluation tolerated above 100",
        ev(toleratedFailurePercentage=100.5),
        EVAL_OPTIONS,
        [
            (
                "evaluation.toleratedFailurePercentage",
                "INVALID_VALUE",
                "evaluation.toleratedFailurePercentage must be between 0 and 100; got 100.5",
            )
        ],
    ),
    (
        "evaluation tolerated below 0",
        ev(toleratedFailurePercentage=-1),
        EVAL_OPTIONS,
        [
            (
                "evaluation.toleratedFailurePercentage",
                "INVALID_VALUE",
                "evaluation.toleratedFailurePercentage must be between 0 and 100; got -1",
            )
        ],
    ),
    (
        "evaluation tolerated not finite",
        ev(toleratedFailurePercentage=float("nan")),
        EVAL_OPTIONS,
        [
            (
                "evaluation.toleratedFailurePercentage",
                "INVALID_VALUE",
                "evaluation.toleratedFailurePercentage must be between 0 and 100; got nan",
            )
        ],
    ),
    (
        "evaluation of a model with no text",
        base(baseModel="amazon.titan-image-generator-v1", evaluation={"testData": TEST}),
        EVAL_OPTIONS,
        [
            (
                "hyperparameters.stepCount",
                "MISSING_HYPERPARAMETER",
                "stepCount is required: an integer between 10 and 40000 (inclusive) or 'auto'",
            ),
            (
                "evaluation",
                "MODEL_NOT_EVALUABLE",
                "amazon.titan-image-generator-v1:0 produces no text to score: its custom models cannot be evaluated",
            ),
        ],
    ),
    (
        "evaluation of a base not invocable here",
        base(baseModel="meta.llama3-2-1b-instruct-v1", evaluation={"testData": TEST}),
        {**EVAL_OPTIONS, "region": "us-east-1"},
        [
            (
                "baseModel",
                "MODEL_NOT_IN_REGION",
                "meta.llama3-2-1b-instruct-v1:0:128k cannot be customized in us-east-1; regions: us-west-2",
            ),
            (
                "evaluation.compareWithBase",
                "BASE_NOT_INVOCABLE",
                "meta.llama3-2-1b-instruct-v1: the base model cannot be invoked on demand in us-east-1 (only us-west-2); set compareWithBase to false to evaluate the custom model alone",
            ),
        ],
    ),
]


@pytest.mark.parametrize(
    ("data", "options", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_each_mistake_gets_exactly_its_findings(
    data: Any, options: dict[str, Any], expected: Expected
) -> None:
    check = runspec.validate_spec(data, **options)
    assert [(f.field, f.code, f.message) for f in check.errors] == expected
    assert check.spec is None and not check.ok


# --- the entry points pass every option on ---------------------------------------------------------

ENTRY_POINT_SPEC = base(serving={"ttlHours": 5})


def _text(data: Any) -> str:
    return json.dumps(data, indent=2)


def test_every_entry_point_applies_the_deployments_options() -> None:
    options: dict[str, Any] = {
        "source": "s3://datasets-bucket/manifests/a.json",
        "default_run_name": "from-the-file-name",
        "default_serving": {"mode": "on-demand", "idleAction": "delete"},
        "region": "us-east-1",
        "datasets_bucket": BUCKET,
    }
    expected = runspec.Serving("on-demand", 1, "none", 5, "delete")
    specs = [
        runspec.load_spec(ENTRY_POINT_SPEC, **options),
        runspec.validate_spec(ENTRY_POINT_SPEC, **options).spec,
        runspec.load_spec_text(_text(ENTRY_POINT_SPEC), **options),
        runspec.parse_spec_text(_text(ENTRY_POINT_SPEC), **options).spec,
    ]
    for spec in specs:
        assert spec is not None
        assert (spec.run_name, spec.serving) == ("from-the-file-name", expected)


@pytest.mark.parametrize(
    ("option", "value", "code"),
    [
        ("allowed_base_models", ["amazon.nova-lite-v1"], "MODEL_NOT_ALLOWED"),
        ("region", "us-west-2", "MODEL_NOT_IN_REGION"),
        ("datasets_bucket", "another-bucket", "DATA_OUTSIDE_DATASETS_BUCKET"),
    ],
)
def test_every_entry_point_refuses_with_the_source_it_was_given(option: str, value: Any, code: str) -> None:
    source = "s3://datasets-bucket/manifests/a.json"
    options = {"source": source, option: value}
    checks = [
        runspec.validate_spec(base(), **options),
        runspec.parse_spec_text(_text(base()), **options),
    ]
    for check in checks:
        assert [(f.file, f.code) for f in check.errors] == [(source, code)]
    loads: list[Callable[[], runspec.RunSpec]] = [
        lambda: runspec.load_spec(base(), **options),
        lambda: runspec.load_spec_text(_text(base()), **options),
    ]
    for load in loads:
        with pytest.raises(RunSpecInvalid) as raised:
            load()
        assert str(raised.value).startswith(f"1 problem in {source}: ")
        assert [f.code for f in raised.value.findings] == [code]


def test_a_spec_without_a_run_name_is_named_after_its_model_and_type() -> None:
    assert runspec.load_spec(base()).run_name == "amazon-nova-micro-v1-fine-tuning"
    assert runspec.load_spec(base(runName="My run 2")).run_name == "My run 2"


def test_invalid_deployment_serving_defaults_name_every_problem() -> None:
    with pytest.raises(ConfigurationError) as raised:
        runspec.serving_defaults({"mode": "none", "ttlHours": 2, "commitment": "OneYear"})
    assert str(raised.value) == (
        "environment variable DEFAULT_SERVING is invalid: commitment must be one of none, OneMonth, "
        "SixMonths; got 'OneYear' (known: none, OneMonth, SixMonths); commitment applies only to mode "
        "provisioned; ttlHours applies only when the model is served"
    )
    assert runspec.serving_defaults(None) == runspec.Serving()
    assert runspec.serving_defaults({}) == runspec.Serving()
    assert runspec.serving_defaults({"mode": "provisioned", "modelUnits": 2}) == runspec.Serving(
        "provisioned", 2
    )


# --- lines and the summary of a manifest's findings ---------------------------------------------------

MANIFEST_TEXT = """{
  "baseModel": "amazon.nova-micro-v1",
  "customizationType": "FINE_TUNING",
  "trainingData": "s3://datasets-bucket/data/t.jsonl",
  "serving": {
    "mode": "provisioned",
    "modelUnits": 0
  },
  "tags": {"a": 1, "a": "b"},
  "hyperparameters": {"epochCount": 9},
  "runName": "x/y"
}
"""


def test_a_manifests_findings_come_in_the_order_of_its_lines() -> None:
    check = runspec.parse_spec_text(MANIFEST_TEXT, source="m.json")
    assert [(f.line, f.field, f.code) for f in check.errors] == [
        (7, "serving.modelUnits", "INVALID_VALUE"),
        (9, "tags.a", "DUPLICATE_KEY"),
        (10, "hyperparameters.epochCount", "HYPERPARAMETER_OUT_OF_RANGE"),
        (11, "runName", "INVALID_VALUE"),
    ]
    assert check.errors[1].message == "tags.a is given more than once; only the last value would count"
    assert check.spec is None


def test_a_duplicated_key_alone_refuses_the_spec() -> None:
    text = _text(base()).replace('"baseModel"', '"runName": "a",\n  "runName": "b",\n  "baseModel"', 1)
    check = runspec.parse_spec_text(text, source="m.json")
    assert [(f.file, f.line, f.field, f.code) for f in check.errors] == [
        ("m.json", 3, "runName", "DUPLICATE_KEY")
    ]
    assert check.spec is None


def test_a_finding_without_a_line_comes_after_those_with_one() -> None:
    text = _text(base(customizationType=None, serving={"modelUnits": 0}))
    check = runspec.parse_spec_text(text, source="m.json")
    assert [(f.line, f.field) for f in check.errors] == [
        (5, "serving.modelUnits"),
        (None, "customizationType"),
    ]


def test_a_field_missing_in_a_block_takes_the_line_of_the_block() -> None:
    text = _text(base(customizationType="DISTILLATION", distillation={"maxResponseLength": 10}))
    (finding,) = runspec.parse_spec_text(text, source="m.json").errors
    assert (finding.field, finding.line) == ("distillation.teacherModel", 5)
    odd_key = _text(base(tags={"cost center": "x" * 300}))
    (finding,) = runspec.parse_spec_text(odd_key, source="m.json").errors
    assert (finding.field, finding.line) == ('tags["cost center"]', 6)


def test_the_summary_counts_every_finding_and_lists_the_first() -> None:
    findings = [
        Finding("m.json", 3, "runName", "INVALID_VALUE", "bad"),
        Finding("m.json", None, None, "NOT_AN_OBJECT", "x"),
        Finding("other.jsonl", 7, None, "C", "y"),
    ]
    assert runspec.describe_findings(findings, "m.json") == (
        "3 problems in m.json: line 3 runName INVALID_VALUE: bad; NOT_AN_OBJECT: x; other.jsonl:7 C: y"
    )
    assert runspec.describe_findings(findings[:1], "m.json") == (
        "1 problem in m.json: line 3 runName INVALID_VALUE: bad"
    )
    assert runspec.describe_findings(findings, "m.json", listed=1) == (
        "3 problems in m.json: line 3 runName INVALID_VALUE: bad; and 2 more"
    )
    assert runspec.describe_findings(findings[:2], "m.json", listed=1, total=40) == (
        "40 problems in m.json: line 3 runName INVALID_VALUE: bad; and 39 more"
    )
    assert runspec.describe_findings(findings[:2], "m.json", listed=5, total=2) == (
        "2 problems in m.json: line 3 runName INVALID_VALUE: bad; NOT_AN_OBJECT: x"
    )


def test_text_that_is_not_a_spec_is_one_located_finding() -> None:
    def only(text: str | bytes) -> tuple[int | None, str, str]:
        (finding,) = runspec.parse_spec_text(text, source="m.json").errors
        assert finding.file == "m.json" and finding.field is None
        return finding.line, finding.code, finding.message

    assert only('{\n  "a": 1,\n}') == (
        3,
        "INVALID_JSON",
        "not valid JSON: Expecting property name enclosed in double quotes (line 3, column 1)",
    )
    assert only(b'{"runName": "caf\xe9"}') == (
        None,
        "INVALID_UTF8",
        "not valid UTF-8 at byte 17: save the manifest as UTF-8",
    )
    assert only('{\n"a":\n' + "9" * 5000 + "}") == (
        3,
        "INVALID_VALUE",
        "a number has more than 4,300 digits; numbers here are far smaller",
    )
    assert only("[" * 100_000 + "]" * 100_000) == (None, "INVALID_JSON", "not valid JSON: nested too deeply")


def test_a_byte_order_mark_is_read_past_in_bytes_and_in_text() -> None:
    text = _text(base())
    for given in ("\ufeff" + text, b"\xef\xbb\xbf" + text.encode()):
        assert runspec.parse_spec_text(given, source="m.json").ok


# --- a base naming an earlier run's model -----------------------------------------------------------

NOVA_ROOT = "amazon.nova-micro-v1:0:128k"
PARENT_ARN = f"arn:aws:bedrock:us-east-1:111122223333:custom-model/{NOVA_ROOT}/abc123"
PARENT_CHAIN = ({"runId": "first", "customizationType": "FINE_TUNING"},)


def resolver(parent_type: str, root: str = NOVA_ROOT) -> ParentResolver:
    def resolve(reference: str) -> tuple[ParentModel, str]:
        return ParentModel(reference, "earlier", PARENT_ARN, parent_type, PARENT_CHAIN), root

    return resolve


def child(**overrides: Any) -> dict[str, Any]:
    return base(baseModel="run:earlier", **overrides)


def test_an_earlier_runs_model_is_the_base_and_its_root_model_sets_the_rules() -> None:
    check = runspec.validate_spec(child(), resolve_parent=resolver("FINE_TUNING"))
    assert check.ok and check.spec is not None
    assert check.spec.base_model == NOVA_ROOT
    assert check.spec.base_model_identifier == PARENT_ARN
    assert check.spec.parent == ParentModel("run:earlier", "earlier", PARENT_ARN, "FINE_TUNING", PARENT_CHAIN)
    assert check.spec.to_dict()["parent"] == {
        "reference": "run:earlier",
        "runId": "earlier",
        "customModelArn": PARENT_ARN,
        "customizationType": "FINE_TUNING",
        "chain": [{"runId": "first", "customizationType": "FINE_TUNING"}],
    }
    assert runspec.validate_spec(child(), resolve_parent=resolver("DISTILLATION")).ok


def test_a_parent_the_resolver_refuses_is_reported_as_it_says() -> None:
    def refuse(reference: str) -> tuple[ParentModel, str]:
        raise ParentRefusedError("PARENT_NOT_READY", f"{reference} is still training")

    check = runspec.validate_spec(child(), resolve_parent=refuse)
    assert [(f.field, f.code, f.message) for f in check.errors] == [
        ("baseModel", "PARENT_NOT_READY", "run:earlier is still training")
    ]


def test_a_chain_the_catalog_does_not_allow_says_what_it_allows() -> None:
    distill = runspec.validate_spec(
        child(customizationType="DISTILLATION", distillation={"teacherModel": "amazon.nova-pro-v1:0"}),
        resolve_parent=resolver("FINE_TUNING"),
    )
    assert [(f.field, f.code, f.message) for f in distill.errors] == [
        (
            "baseModel",
            "CHAIN_NOT_SUPPORTED",
            f"run:earlier is a FINE_TUNING model of {NOVA_ROOT}, which cannot be customized again with "
            "DISTILLATION; it allows FINE_TUNING on a FINE_TUNING/DISTILLATION model (bmc models amazon.nova-micro-v1)",
        )
    ]
    nova_2_arn = "arn:aws:bedrock:us-east-1:111122223333:custom-model/amazon.nova-2-lite-v1:0:256k/abc"
    terminal = runspec.validate_spec(
        base(baseModel=nova_2_arn), resolve_parent=resolver("FINE_TUNING", "amazon.nova-2-lite-v1:0:256k")
    )
    assert [(f.field, f.code, f.message) for f in terminal.errors] == [
        (
            "baseModel",
            "CHAIN_NOT_SUPPORTED",
            f"{nova_2_arn} is a FINE_TUNING model of amazon.nova-2-lite-v1:0:256k, which cannot be customized "
            "again with FINE_TUNING; the catalog allows no further customization (bmc models amazon.nova-2-lite-v1)",
        )
    ]


def test_the_normalized_spec_reads_back_with_its_parent_and_gives_the_reference_back() -> None:
    spec = runspec.validate_spec(child(), resolve_parent=resolver("FINE_TUNING")).spec
    assert spec is not None
    data = json.loads(json.dumps(spec.to_dict()))
    assert runspec.RunSpec.from_dict(data) == spec
    without_chain = {key: value for key, value in data["parent"].items() if key != "chain"}
    assert ParentModel.from_dict(without_chain).chain == ()
    given = as_given(data)
    assert given["baseModel"] == "run:earlier" and "parent" not in given
    assert {key: value for key, value in given.items() if key != "baseModel"} == {
        key: value for key, value in data.items() if key not in ("baseModel", "parent")
    }
    assert as_given({"baseModel": NOVA_ROOT, "parent": {"runId": "x"}}) == {"baseModel": NOVA_ROOT}


@pytest.mark.parametrize(
    ("value", "is_parent"),
    [
        ("run:abc", True),
        (PARENT_ARN, True),
        ("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k", False),
        ("amazon.nova-micro-v1", False),
        ("my-run:abc", False),
    ],
)
def test_a_parent_reference_is_a_run_or_a_custom_model_arn(value: str, is_parent: bool) -> None:
    assert is_parent_reference(value) is is_parent


# --- the normalized form ------------------------------------------------------------------------------


def test_the_normalized_form_writes_every_field() -> None:
    spec = runspec.load_spec(
        base(
            runName="support",
            customizationType="DISTILLATION",
            distillation={"teacherModel": "amazon.nova-pro-v1:0", "maxResponseLength": 800},
            serving={"mode": "provisioned", "modelUnits": 2, "ttlHours": 4, "idleAction": "delete"},
            tags={"team": "ml"},
            notify={"onSuccess": False},
            evaluation={"testData": TEST, "systemPrompt": "Be brief.", "toleratedFailurePercentage": 5},
            validation={"allow": ["RESERVED_STRING_MENTION", "RESERVED_STRING_MENTION"]},
        )
    )
    data = spec.to_dict()
    assert data == {
        "runName": "support",
        "baseModel": NOVA_ROOT,
        "customizationType": "DISTILLATION",
        "trainingData": TRAIN,
        "validationData": [],
        "hyperparameters": dict(spec.hyperparameters),
        "serving": {
            "mode": "provisioned",
            "modelUnits": 2,
            "commitment": "none",
            "ttlHours": 4,
            "idleAction": "delete",
        },
        "tags": {"team": "ml"},
        "notify": {"onSuccess": False},
        "distillation": {"teacherModel": "amazon.nova-pro-v1:0", "maxResponseLength": 800},
        "evaluation": {
            "testData": TEST,
            "maxRecords": 1000,
            "compareWithBase": True,
            "metrics": ["exactMatch", "contains", "tokenF1", "rougeL", "bleu", "chrF"],
            "inference": {"maxTokens": 512, "temperature": 0.0},
            "systemPrompt": "Be brief.",
            "toleratedFailurePercentage": 5.0,
        },
        "validation": {"allow": ["RESERVED_STRING_MENTION"]},
    }
    assert runspec.RunSpec.from_dict(data) == spec
    plain = runspec.load_spec(
        base(customizationType="DISTILLATION", distillation={"teacherModel": "amazon.nova-pro-v1:0"})
    )
    assert plain.to_dict()["distillation"] == {"teacherModel": "amazon.nova-pro-v1:0"}
    assert "validation" not in plain.to_dict() and "evaluation" not in plain.to_dict()


# --- where a spec comes from --------------------------------------------------------------------------

SUPPORT_ROLE = "arn:aws:iam::111122223333:role/support"
TEAMS = Tenancy(
    teams=(
        Team("support", (SUPPORT_ROLE,), ("support/",), ("amazon.nova-lite-v1:0:300k",)),
        Team("ads", ("arn:aws:iam::111122223333:role/ads",), ("ads/",)),
    )
)
DEPLOYMENT_MODELS = ("amazon.nova-micro-v1:0:128k",)


def manifest_input(manifest: dict[str, Any], tenancy: Tenancy = TEAMS) -> runspec.RunInput:
    return runspec.classify_input(
        {"manifest": manifest},
        "m-run",
        tenancy=tenancy,
        datasets_bucket=BUCKET,
        deployment_models=DEPLOYMENT_MODELS,
    )


def test_a_teams_manifest_runs_as_the_team_within_its_prefixes_and_models() -> None:
    run_input = manifest_input(
        {"bucket": BUCKET, "key": "manifests/support/a.json", "versionId": "v1", "etag": "e1"}
    )
    assert run_input.problems == ()
    assert run_input.source == {
        "type": "s3",
        "uri": f"s3://{BUCKET}/manifests/support/a.json",
        "bucket": BUCKET,
        "key": "manifests/support/a.json",
        "versionId": "v1",
        "etag": "e1",
    }
    assert (run_input.location, run_input.default_run_name) == (
        f"s3://{BUCKET}/manifests/support/a.json",
        "a",
    )
    assert run_input.manifest == runspec.ManifestRef(BUCKET, "manifests/support/a.json", "v1", "e1")
    assert run_input.owner == Owner("team:support")
    assert run_input.scope == DataScope(("support/",), ("amazon.nova-lite-v1:0:300k",))
    # A team without its own list of models gets the deployment's; versions that are not text are dropped.
    ads = manifest_input(
        {"bucket": BUCKET, "key": "manifests/ads/x/Weekly Run.JSON", "versionId": 5, "etag": 7}
    )
    assert (ads.owner, ads.scope) == (Owner("team:ads"), DataScope(("ads/",), DEPLOYMENT_MODELS))
    assert ads.manifest == runspec.ManifestRef(BUCKET, "manifests/ads/x/Weekly Run.JSON", None, None)
    assert ads.default_run_name == "weekly-run"


def test_manifests_outside_a_teams_folder_or_the_manifests_prefix_are_refused() -> None:
    def problems(
        manifest: dict[str, Any], tenancy: Tenancy = TEAMS
    ) -> list[tuple[str | None, str | None, str, str]]:
        run_input = manifest_input(manifest, tenancy)
        if run_input.problems:
            assert run_input.owner == PLATFORM_OWNER
        return [(p.file, p.field, p.code, p.message) for p in run_input.problems]

    outside_team = f"s3://{BUCKET}/manifests/a.json"
    assert problems({"bucket": BUCKET, "key": "manifests/a.json"}) == [
        (
            outside_team,
            "manifest",
            "MANIFEST_OUTSIDE_TEAM",
            f"{outside_team} is not under manifests/<team>/ of a configured team (support, ads); a team's "
            "manifests go under its folder",
        )
    ]
    assert problems({"bucket": BUCKET, "key": "manifests/marketing/a.json"})[0][2] == "MANIFEST_OUTSIDE_TEAM"
    for bucket, key in (("other", "manifests/support/a.json"), (BUCKET, "data/manifests/support/a.json")):
        uri = f"s3://{bucket}/{key}"
        assert problems({"bucket": bucket, "key": key}) == [
            (
                uri,
                "manifest",
                "INVALID_MANIFEST_LOCATION",
                f"a manifest must be an object under manifests/ of the datasets bucket {BUCKET}; {uri} is not read",
            )
        ]
    for incomplete in (
        {"bucket": BUCKET},
        {"key": "manifests/a.json"},
        {"bucket": "", "key": "k"},
        {"bucket": BUCKET, "key": 3},
    ):
        assert problems(incomplete) == [
            (
                "execution input",
                "manifest",
                "INVALID_MANIFEST_LOCATION",
                "manifest input needs a bucket and a key",
            )
        ]
    # Without teams, a manifest anywhere under manifests/ is the platform's, with the deployment's models.
    platform = manifest_input({"bucket": BUCKET, "key": "manifests/a.json"}, Tenancy())
    assert (platform.problems, platform.owner, platform.scope) == (
        (),
        PLATFORM_OWNER,
        DataScope(None, DEPLOYMENT_MODELS),
    )


def test_very_long_manifest_locations_are_cut_to_what_s3_allows() -> None:
    run_input = manifest_input({"bucket": BUCKET, "key": "manifests/support/" + "k" * 2000, "versionId": "v"})
    assert run_input.manifest is not None and len(run_input.manifest.key) == 1024


def test_console_and_api_inputs_get_their_owner_and_scope_from_the_deployment_and_the_record() -> None:
    console = runspec.classify_input({"x": 1}, "run-9", tenancy=TEAMS, deployment_models=DEPLOYMENT_MODELS)
    assert console == runspec.RunInput(
        source={"type": "console"},
        location="execution input",
        default_run_name="run-9",
        data={"x": 1},
        scope=DataScope(None, DEPLOYMENT_MODELS),
    )
    record = {
        "owner": {"team": "team:support", "principal": SUPPORT_ROLE},
        "spec": {"baseModel": NOVA_ROOT, "parent": {"reference": "run:z"}},
    }
    api = runspec.classify_input(
        {"x": 1}, "run-9", api_record=record, tenancy=TEAMS, deployment_models=DEPLOYMENT_MODELS
    )
    assert api == runspec.RunInput(
        source={"type": "api"},
        location="execution input",
        default_run_name="run-9",
        data={"baseModel": "run:z"},
        owner=Owner("team:support", SUPPORT_ROLE),
        scope=DataScope(("support/",), ("amazon.nova-lite-v1:0:300k",)),
    )
    broken = runspec.classify_input({"x": 1}, "run-9", api_record={"spec": "text"})
    assert (broken.data, broken.owner, broken.source) == (None, PLATFORM_OWNER, {"type": "api"})


def test_a_run_input_is_checked_with_its_owners_scope() -> None:
    def read(ref: runspec.ManifestRef) -> bytes:
        assert ref == runspec.ManifestRef(BUCKET, "manifests/support/a.json", "v1", None)
        return json.dumps(base(trainingData=f"s3://{BUCKET}/support/t.jsonl")).encode()

    run_input = manifest_input({"bucket": BUCKET, "key": "manifests/support/a.json", "versionId": "v1"})
    with pytest.raises(RunSpecInvalid) as raised:
        runspec.load_run_spec(run_input, read_manifest=read, datasets_bucket=BUCKET, region="us-east-1")
    # The team's own model list applies, whatever the deployment allows.
    assert [(f.file, f.code) for f in raised.value.findings] == [(run_input.location, "MODEL_NOT_ALLOWED")]
    spec = runspec.load_run_spec(
        run_input,
        read_manifest=lambda ref: json.dumps(
            base(
                baseModel="amazon.nova-lite-v1",
                trainingData=f"s3://{BUCKET}/support/t.jsonl",
                serving={"ttlHours": 2},
            )
        ).encode(),
        default_serving={"mode": "on-demand"},
        allowed_base_models=("amazon.nova-micro-v1",),
        region="us-east-1",
        datasets_bucket=BUCKET,
    )
    assert (spec.run_name, spec.serving.mode, spec.serving.ttl_hours) == ("a", "on-demand", 2)

    def elsewhere(ref: runspec.ManifestRef) -> bytes:
        return json.dumps(
            base(trainingData=f"s3://{BUCKET}/ads/t.jsonl", baseModel="amazon.nova-lite-v1")
        ).encode()

    with pytest.raises(RunSpecInvalid) as raised:
        runspec.load_run_spec(run_input, read_manifest=elsewhere, datasets_bucket=BUCKET)
    assert [f.code for f in raised.value.findings] == ["DATA_NOT_IN_TEAM_PREFIXES"]


def test_a_run_input_with_problems_is_refused_before_anything_is_read() -> None:
    run_input = manifest_input({"bucket": BUCKET, "key": "manifests/a.json"})

    def read(ref: runspec.ManifestRef) -> bytes:
        raise AssertionError("a manifest outside its team's folder is not read")

    with pytest.raises(RunSpecInvalid) as raised:
        runspec.load_run_spec(run_input, read_manifest=read)
    assert str(raised.value).startswith(
        f"1 problem in {run_input.location}: manifest MANIFEST_OUTSIDE_TEAM: "
    )


def test_a_console_input_is_checked_as_given_with_the_deployments_options() -> None:
    run_input = runspec.classify_input(base(serving={"mode": "provisioned"}), "run-7")
    spec = runspec.load_run_spec(
        run_input, read_manifest=lambda ref: b"", default_serving={"modelUnits": 3}, region="us-east-1"
    )
    assert (spec.run_name, spec.serving.model_units) == ("run-7", 3)
    judge = {"modelId": "amazon.nova-lite-v1:0"}
    judged = runspec.classify_input(ev(judge=judge), "run-8")
    with pytest.raises(RunSpecInvalid) as raised:
        runspec.load_run_spec(
            judged, read_manifest=lambda ref: b"", allowed_judge_models=("amazon.nova-pro-v1:0",)
        )
    assert [f.code for f in raised.value.findings] == ["JUDGE_NOT_ALLOWED"]

    def refuse(reference: str) -> tuple[ParentModel, str]:
        raise ParentRefusedError("PARENT_NOT_FOUND", f"no run {reference}")

    with pytest.raises(RunSpecInvalid) as raised:
        runspec.load_run_spec(
            runspec.classify_input(child(), "run-9"), read_manifest=lambda ref: b"", resolve_parent=refuse
        )
    assert [(f.code, f.message) for f in raised.value.findings] == [
        ("PARENT_NOT_FOUND", "no run run:earlier")
    ]


# --- names ----------------------------------------------------------------------------------------------


def test_every_resource_of_a_run_is_named_after_its_stem() -> None:
    names = runspec.derive_names("bmc", "run-1", "Support Bot")
    stem = "bmc-support-bot-4e65d3fbe8"  # 4e65d3fbe8: the first 10 hex of sha256("run-1")
    assert names.to_dict() == {
        "jobName": f"{stem}-job",
        "customModelName": f"{stem}-model",
        "clientRequestToken": stem,
        "provisionedModelName": f"{stem}-pt",
        "deploymentName": f"{stem}-serve",
        "scheduleName": f"{stem}-ttl",
    }
    assert runspec.RunNames.from_dict({"clientRequestToken": stem}) == names


def test_a_long_prefix_shortens_the_run_name_so_the_longest_name_fits_bedrocks_63() -> None:
    names = runspec.derive_names("p" * 40, "run-1", "support bot")
    assert names.stem == f"{'p' * 40}-suppo-4e65d3fbe8"
    assert len(names.custom_model_name) == 63
    assert runspec.derive_names("p" * 50, "run-1", "support bot").stem == f"{'p' * 50}-s-4e65d3fbe8"
    assert runspec.derive_names("bmc", "run-1", "x" * 64).stem == f"bmc-{'x' * 30}-4e65d3fbe8"
    assert runspec.derive_names("bmc", "run-1", "___").stem == "bmc-run-4e65d3fbe8"


def test_a_slug_is_lowercase_words_joined_by_single_hyphens() -> None:
    assert runspec.slug("  Hello,  World!! ", 8) == "hello-wo"
    assert runspec.slug("ab-cd", 3) == "ab"  # never ends with a hyphen
    assert runspec.slug("Ünïcode", 10) == "n-code"


def test_an_s3_runs_id_names_the_manifest_and_hashes_its_version() -> None:
    # 19d538159d686f27: the first 16 hex of sha256("b/manifests/Support Bot.json#v1")
    assert (
        runspec.manifest_run_id("b", "manifests/Support Bot.json", "v1") == "m-support-bot-19d538159d686f27"
    )
    assert (
        runspec.manifest_run_id("b", "manifests/Support Bot.json", None) == "m-support-bot-9e150aeb1a5e8fea"
    )
    assert (
        runspec.manifest_run_id("b", f"manifests/{'x' * 80}.json", None) == f"m-{'x' * 30}-a3b6feaee6a34926"
    )
    assert runspec.manifest_run_id("b", "manifests/a/Nightly.JSON", None).startswith("m-nightly-")
    assert runspec.manifest_run_id("b", "manifests/x.json.bak", None).startswith("m-x-json-bak-")


def test_a_run_id_that_cannot_name_resources_says_what_it_must_be() -> None:
    assert runspec.run_id_problem("bad id") == (
        "the run id (execution name) 'bad id' must be 1-80 characters: letters, digits, '.', '_' or '-', "
        "starting with a letter or digit"
    )
    assert runspec.run_id_problem("a" * 80) is None
    assert runspec.run_id_problem("9._-x") is None


# --- bounds on input ------------------------------------------------------------------------------------

HUGE = 2**128  # one bit more than any number a spec holds


def test_numbers_of_more_than_128_bits_are_refused_where_they_are() -> None:
    assert bounds_findings({"a": HUGE - 1, "b": True, "c": [1.5, None, "x"]}, "s") == []
    found = bounds_findings({"a": HUGE, "b": {"c": [-HUGE]}}, "s", {"a": 3, "b.c[0]": 9})
    assert [(f.file, f.line, f.field, f.code, f.message) for f in found] == [
        (
            "s",
            9,
            "b.c[0]",
            "INVALID_VALUE",
            "b.c[0] is a number of about 39 digits; numbers here are far smaller",
        ),
        ("s", 3, "a", "INVALID_VALUE", "a is a number of about 39 digits; numbers here are far smaller"),
    ]
    (alone,) = bounds_findings(HUGE, "s")
    assert (alone.field, alone.message) == (
        None,
        "the input is a number of about 39 digits; numbers here are far smaller",
    )


def test_nesting_deeper_than_32_levels_is_refused_and_findings_stop_at_five() -> None:
    assert bounds_findings(nest(32), "s") == []
    (deep,) = bounds_findings({"k": nest(32)}, "s")
    path = "k" + "[0]" * 31
    assert (deep.field, deep.code, deep.message) == (
        path,
        "INVALID_JSON",
        f"{path} is nested more than 32 levels deep",
    )
    (top,) = bounds_findings(nest(33), "s")
    assert top.field == "[0]" * 32
    assert [f.field for f in bounds_findings([HUGE] * 9, "s")] == ["[8]", "[7]", "[6]", "[5]", "[4]"]


def test_json_text_problems_are_findings_with_their_line() -> None:
    assert load_json_text('{"a": 1}', "s") == ({"a": 1}, None)
    assert load_json_text('{"a": \n\n 1x}', "s") == (
        None,
        Finding("s", 3, None, "INVALID_JSON", "not valid JSON: Expecting ',' delimiter (line 3, column 3)"),
    )
    long_number = "a number has more than 4,300 digits; numbers here are far smaller"
    assert load_json_text("\n\n[" + "1" * 4400 + "]\n\n", "s") == (
        None,
        Finding("s", 3, None, "INVALID_VALUE", long_number),
    )
    assert load_json_text("[" + "1" * 4400 + "]", "s") == (
        None,
        Finding("s", 1, None, "INVALID_VALUE", long_number),
    )


def test_every_field_and_item_of_a_manifest_has_its_line() -> None:
    text = '{\n"a": {},\n"b": [],\n"c": [\n  {"d": 1, "d": 2},\n  [3]\n],\n"e": "x"\n}'
    lines, duplicates = runspec.locate_fields(text)
    assert lines == {"a": 2, "b": 3, "c": 4, "c[0]": 5, "c[0].d": 5, "c[1]": 6, "c[1][0]": 6, "e": 8}
    assert duplicates == [("c[0].d", 5)]
    assert runspec.locate_fields("[" * 100_000 + "]" * 100_000) == ({}, [])


# --- reading a manifest from S3 -------------------------------------------------------------------------


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.create_bucket(Bucket="versioned")
        client.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
        yield client


def _unreadable(ref: runspec.ManifestRef, s3: Any) -> tuple[str, str]:
    with pytest.raises(RunSpecInvalid) as raised:
        runspec.read_manifest_from_s3(ref, s3)
    (finding,) = raised.value.findings
    assert (finding.file, finding.line, finding.field) == (ref.uri, None, None)
    return finding.code, finding.message


def test_a_manifest_is_read_at_the_version_the_event_named(s3: Any) -> None:
    first = s3.put_object(Bucket="versioned", Key="manifests/a.json", Body=b"first")
    s3.put_object(Bucket="versioned", Key="manifests/a.json", Body=b"second")
    ref = runspec.ManifestRef("versioned", "manifests/a.json", first["VersionId"], "stale-etag-ignored")
    assert runspec.read_manifest_from_s3(ref, s3) == b"first"


def test_an_unversioned_manifest_replaced_since_the_event_is_not_read(s3: Any) -> None:
    put = s3.put_object(Bucket=BUCKET, Key="manifests/a.json", Body=b"first")
    assert (
        runspec.read_manifest_from_s3(runspec.ManifestRef(BUCKET, "manifests/a.json", None, put["ETag"]), s3)
        == b"first"
    )
    s3.put_object(Bucket=BUCKET, Key="manifests/a.json", Body=b"second")
    code, message = _unreadable(runspec.ManifestRef(BUCKET, "manifests/a.json", None, put["ETag"]), s3)
    assert code == "MANIFEST_UNREADABLE"
    assert message.startswith("cannot read the manifest: PreconditionFailed: ")
    assert runspec.read_manifest_from_s3(runspec.ManifestRef(BUCKET, "manifests/a.json"), s3) == b"second"


def test_a_missing_manifest_is_unreadable_with_s3s_code(s3: Any) -> None:
    code, message = _unreadable(runspec.ManifestRef(BUCKET, "manifests/gone.json"), s3)
    assert code == "MANIFEST_UNREADABLE"
    assert message.startswith("cannot read the manifest: NoSuchKey: An error occurred (NoSuchKey)")


def test_a_manifest_larger_than_64_kib_is_refused(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="manifests/full.json", Body=b"x" * MAX_MANIFEST_BYTES)
    assert (
        len(runspec.read_manifest_from_s3(runspec.ManifestRef(BUCKET, "manifests/full.json"), s3))
        == MAX_MANIFEST_BYTES
    )
    s3.put_object(Bucket=BUCKET, Key="manifests/big.json", Body=b"x" * (MAX_MANIFEST_BYTES + 1))
    assert _unreadable(runspec.ManifestRef(BUCKET, "manifests/big.json"), s3) == (
        "MANIFEST_TOO_LARGE",
        "the manifest is larger than 65,536 bytes; a run spec is a few hundred bytes",
    )


def test_a_manifest_whose_announced_size_is_too_large_is_refused_without_reading_more() -> None:
    class Body(io.BytesIO):
        def __init__(self, content: bytes) -> None:
            super().__init__(content)
            self.read_sizes: list[int | None] = []

        def read(self, size: int | None = -1) -> bytes:
            self.read_sizes.append(size)
            return super().read(size)

    body = Body(b"{}")

    class Client:
        def get_object(self, **request: Any) -> dict[str, Any]:
            assert request == {"Bucket": BUCKET, "Key": "manifests/a.json", "VersionId": "v"}
            return {"ContentLength": MAX_MANIFEST_BYTES + 1, "Body": body}

    ref = runspec.ManifestRef(BUCKET, "manifests/a.json", "v")
    assert _unreadable(ref, Client())[0] == "MANIFEST_TOO_LARGE"
    assert body.read_sizes == [MAX_MANIFEST_BYTES + 1] and body.closed


# --- what the table leaves out ----------------------------------------------------------------------------


def test_a_choice_in_the_wrong_case_is_matched_whatever_its_case() -> None:
    check = runspec.validate_spec(base(serving={"mode": "provisioned", "commitment": "ONEMONTH"}))
    assert [f.message for f in check.errors] == [
        "serving.commitment must be one of none, OneMonth, SixMonths; got 'ONEMONTH'; did you mean 'OneMonth'?"
    ]


def test_an_evaluation_with_a_judge_and_a_gate_normalizes_both() -> None:
    block = {
        "testData": TEST,
        "judge": {"modelId": "amazon.nova-pro-v1:0", "criteria": "helpfulness"},
        "gate": {"metric": "judge", "minDelta": 0.5},
        "toleratedFailurePercentage": 0,
    }
    spec = runspec.load_spec(base(evaluation=block))
    assert spec.evaluation is not None
    data = spec.to_dict()["evaluation"]
    assert (data["judge"], data["gate"], data["toleratedFailurePercentage"]) == (
        {"modelId": "amazon.nova-pro-v1:0", "criteria": "helpfulness"},
        {"metric": "judge", "minDelta": 0.5, "onFail": "undeploy"},
        0.0,
    )
    assert runspec.RunSpec.from_dict(spec.to_dict()) == spec
    full = runspec.load_spec(ev(toleratedFailurePercentage=100))
    assert full.evaluation is not None and full.evaluation.tolerated_failure_percentage == 100.0


def test_a_model_that_cannot_be_served_cannot_be_evaluated() -> None:
    model = resolve_model(NOVA)
    unservable = dataclasses.replace(model, provisioned_throughput=False, on_demand_deployment=False)
    check = FieldChecker("m.json", {})
    evaluation = check_evaluation(
        check,
        {"testData": TEST},
        TEST,
        model=unservable,
        serving=runspec.Serving(),
        region=None,
        allowed_judges=None,
    )
    assert evaluation is None
    assert [(f.field, f.code, f.message) for f in check.errors] == [
        (
            "evaluation",
            "MODEL_NOT_EVALUABLE",
            f"{NOVA_ROOT} custom models cannot be served, not even for an evaluation",
        )
    ]
    served = FieldChecker("m.json", {})
    kept = check_evaluation(
        served,
        {"testData": TEST},
        TEST,
        model=unservable,
        serving=runspec.Serving("provisioned"),
        region=None,
        allowed_judges=None,
    )
    assert served.errors == [] and kept is not None


def test_a_refused_parent_reads_as_its_message() -> None:
    refused = ParentRefusedError("PARENT_NOT_FOUND", "no run run:x of this team")
    assert (str(refused), refused.code, refused.message) == (
        "no run run:x of this team",
        "PARENT_NOT_FOUND",
        "no run run:x of this team",
    )


def test_a_system_prompt_of_exactly_the_limit_is_accepted() -> None:
    spec = runspec.load_spec(ev(systemPrompt="x" * 32_768))
    assert spec.evaluation is not None and len(spec.evaluation.system_prompt or "") == 32_768


def test_a_judge_refusal_lists_every_allowed_judge() -> None:
    judges = ["amazon.nova-pro-v1:0", "anthropic.claude-3-5-sonnet-20240620-v1:0"]
    check = runspec.validate_spec(ev(judge={"modelId": "amazon.nova-lite-v1:0"}), allowed_judge_models=judges)
    assert [f.message for f in check.errors] == [
        "amazon.nova-lite-v1:0 is not a judge this deployment may call; allowed: amazon.nova-pro-v1:0, "
        "anthropic.claude-3-5-sonnet-20240620-v1:0"
    ]


def test_a_value_that_is_not_json_is_named_by_its_python_type() -> None:
    # Only specs built in code can hold one (a tuple, a set): the message still says what it got.
    check = runspec.validate_spec(base(runName=("a",)))
    assert [f.message for f in check.errors] == ["runName must be a string, got tuple"]


def test_findings_name_the_source_and_the_lines_they_were_given() -> None:
    with pytest.raises(RunSpecInvalid) as raised:
        runspec.load_spec(base(runName="a/b"), source="console")
    assert [(f.file, f.field) for f in raised.value.findings] == [("console", "runName")]
    check = runspec.validate_spec(
        base(runName="a/b", serving={"modelUnits": 0}), source="m.json", lines={"runName": 4, "serving": 7}
    )
    assert [(f.file, f.line, f.field) for f in check.errors] == [
        ("m.json", 4, "runName"),
        ("m.json", 7, "serving.modelUnits"),
    ]


def test_a_manifest_input_that_cannot_be_read_still_names_the_run() -> None:
    incomplete = manifest_input({"bucket": BUCKET})
    assert (incomplete.source, incomplete.location, incomplete.default_run_name, incomplete.manifest) == (
        {"type": "s3"},
        "execution input",
        "m-run",
        None,
    )
    # A key with no folder and no bucket configured: refused, named after the file.
    bare = runspec.classify_input({"manifest": {"bucket": BUCKET, "key": "Support.json"}}, "m-run")
    assert bare.default_run_name == "support"
    assert [p.message for p in bare.problems] == [
        f"a manifest must be an object under manifests/ of the datasets bucket ; s3://{BUCKET}/Support.json is not read"
    ]
    # A file name with no letter or digit gives the run id; a long one is cut to 63 characters.
    assert manifest_input({"bucket": BUCKET, "key": "manifests/support/___.json"}).default_run_name == "m-run"
    long_name = manifest_input({"bucket": BUCKET, "key": f"manifests/support/{'x' * 80}.json"})
    assert long_name.default_run_name == "x" * 63


def test_an_api_runs_team_without_its_own_models_gets_the_deployments() -> None:
    record = {"owner": {"team": "team:ads"}, "spec": base()}
    api = runspec.classify_input(
        {}, "run-9", api_record=record, tenancy=TEAMS, deployment_models=DEPLOYMENT_MODELS
    )
    assert (api.owner, api.scope) == (Owner("team:ads"), DataScope(("ads/",), DEPLOYMENT_MODELS))


def test_a_refused_run_input_names_its_location_and_keeps_its_findings() -> None:
    run_input = manifest_input({"bucket": BUCKET, "key": "manifests/a.json"})
    with pytest.raises(RunSpecInvalid) as raised:
        runspec.load_run_spec(run_input, read_manifest=lambda ref: b"")
    assert list(raised.value.findings) == list(run_input.problems)
    console = runspec.classify_input(base(), "run-1")
    with pytest.raises(RunSpecInvalid) as raised:
        runspec.load_run_spec(console, read_manifest=lambda ref: b"", region="us-west-2")
    assert str(raised.value).startswith("1 problem in execution input: baseModel MODEL_NOT_IN_REGION: ")
    manifest = manifest_input({"bucket": BUCKET, "key": "manifests/support/a.json"})
    text = json.dumps(base(baseModel="amazon.nova-lite-v1", trainingData=f"s3://{BUCKET}/support/t.jsonl"))
    with pytest.raises(RunSpecInvalid) as raised:
        runspec.load_run_spec(manifest, read_manifest=lambda ref: text.encode(), region="us-west-2")
    assert str(raised.value).startswith(
        f"1 problem in {manifest.location}: line 1 baseModel MODEL_NOT_IN_REGION: "
    )


def test_compact_json_and_top_level_arrays_are_located_too() -> None:
    lines, duplicates = runspec.locate_fields('{"a":{"b":[1,\n2,\n3]},\n"c":"x"}')
    assert lines == {"a": 1, "a.b": 1, "a.b[0]": 1, "a.b[1]": 2, "a.b[2]": 3, "c": 4}
    assert duplicates == []
    assert runspec.locate_fields("[1,\n 2]") == ({"[0]": 1, "[1]": 2}, [])


def test_whole_numbers_are_checked_at_both_ends_and_by_type() -> None:
    assert (
        runspec.load_spec(base(serving={"mode": "provisioned", "modelUnits": 100})).serving.model_units == 100
    )
    assert runspec.load_spec(base(serving={"mode": "provisioned", "modelUnits": 1})).serving.model_units == 1
    check = runspec.validate_spec(base(serving={"mode": "provisioned", "modelUnits": "2"}))
    assert [f.message for f in check.errors] == ["serving.modelUnits must be an integer, got a string"]


def test_data_locations_are_all_checked_when_the_training_data_is_missing() -> None:
    check = runspec.validate_spec(
        base(trainingData=None, validationData=["s3://other-bucket/v.jsonl"]), datasets_bucket=BUCKET
    )
    assert [(f.field, f.code) for f in check.errors] == [
        ("trainingData", "MISSING_FIELD"),
        ("validationData[0]", "DATA_OUTSIDE_DATASETS_BUCKET"),
    ]


def test_the_summary_lists_five_findings_by_default() -> None:
    findings = [Finding("m.json", line, None, "C", f"problem {line}") for line in range(1, 7)]
    assert runspec.describe_findings(findings, "m.json").endswith("line 5 C: problem 5; and 1 more")


def test_an_unreadable_manifest_says_so_in_its_message(s3: Any) -> None:
    ref = runspec.ManifestRef(BUCKET, "manifests/gone.json")
    with pytest.raises(RunSpecInvalid) as raised:
        runspec.read_manifest_from_s3(ref, s3)
    assert str(raised.value).startswith(
        f"1 problem in {ref.uri}: MANIFEST_UNREADABLE: cannot read the manifest: NoSuchKey: "
    )


def test_tags_up_to_each_limit_are_accepted() -> None:
    tags = {f"k{i}": "v" for i in range(47)} | {"k" * 128: "v" * 256}
    assert runspec.load_spec(base(tags=tags)).tags == tags


def test_notify_and_validation_options_default_when_their_blocks_are_empty() -> None:
    spec = runspec.load_spec(base(notify={}, validation={}))
    assert (spec.notify_on_success, spec.validation_allow) == (True, ())


def test_every_unknown_finding_code_is_reported() -> None:
    check = runspec.validate_spec(
        base(validation={"allow": ["NOT_A_CODE", "ALSO_WRONG", "RESERVED_STRING_MENTION"]})
    )
    assert [f.field for f in check.errors] == ["validation.allow[0]", "validation.allow[1]"]


def test_validation_files_up_to_the_limit_and_each_one_checked() -> None:
    ten = [f"s3://{BUCKET}/data/v{i}.jsonl" for i in range(10)]
    assert runspec.load_spec(base(validationData=ten)).validation_data == tuple(ten)
    check = runspec.validate_spec(base(validationData=[5] * 12))
    # The count is reported, and the first eleven are checked one by one.
    assert [f.field for f in check.errors] == ["validationData"] + [f"validationData[{i}]" for i in range(11)]
    check = runspec.validate_spec(base(validationData=[None, f"s3://{BUCKET}/x/./v.jsonl"]))
    assert [(f.field, f.code, f.message) for f in check.errors] == [
        (
            "validationData[0]",
            "MISSING_FIELD",
            "validationData[0] is required: the s3:// URI of a JSONL file",
        ),
        (
            "validationData[1]",
            "INVALID_S3_URI",
            f"'s3://{BUCKET}/x/./v.jsonl' has a '.' or '..' segment: name the object by its plain key",
        ),
    ]


def test_a_hyperparameter_that_only_applies_without_validation_data() -> None:
    cohere = base(baseModel="cohere.command-light-text-v14", validationData=[f"s3://{BUCKET}/data/v.jsonl"])
    check = runspec.validate_spec({**cohere, "hyperparameters": {"evalPercentage": 10}}, source="m.json")
    assert [(f.file, f.field, f.code, f.message) for f in check.errors] == [
        (
            "m.json",
            "hyperparameters.evalPercentage",
            "HYPERPARAMETER_NOT_ALLOWED",
            "evalPercentage applies only when no validation data is given; remove it or the validation data",
        )
    ]
    assert "evalPercentage" not in runspec.load_spec(cohere).hyperparameters
    without = {key: value for key, value in cohere.items() if key != "validationData"}
    assert runspec.load_spec(without).hyperparameters["evalPercentage"] == "20"


def test_an_evaluation_keeps_its_inference_settings_and_comparison_choice() -> None:
    spec = runspec.load_spec(ev(inference={"maxTokens": 64, "temperature": 0.5}, compareWithBase=False))
    assert spec.evaluation is not None
    assert spec.evaluation.inference.to_dict() == {"maxTokens": 64, "temperature": 0.5}
    assert spec.evaluation.compare_with_base is False


def test_deployment_serving_defaults_that_are_not_an_object_are_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as raised:
        runspec.serving_defaults(["provisioned"])  # type: ignore[arg-type]
    assert str(raised.value) == (
        "environment variable DEFAULT_SERVING is invalid: serving must be an object, got an array"
    )


def test_a_default_ttl_applies_and_a_commitment_against_it_is_blamed_on_the_commitment() -> None:
    defaults = {"mode": "provisioned", "ttlHours": 5}
    assert runspec.load_spec(base(), default_serving=defaults).serving.ttl_hours == 5
    check = runspec.validate_spec(base(serving={"commitment": "OneMonth"}), default_serving=defaults)
    assert [(f.field, f.code) for f in check.errors] == [("serving.commitment", "COMMITMENT_WITH_TTL")]


def test_a_model_without_provisioned_throughput_cannot_be_served_that_way() -> None:
    no_throughput = dataclasses.replace(resolve_model(NOVA), provisioned_throughput=False)
    check = FieldChecker("m.json", {})
    serving = check_serving(check, {"mode": "provisioned"}, runspec.Serving(), no_throughput, path="serving")
    assert serving.mode == "provisioned"
    assert [(f.field, f.code, f.message) for f in check.errors] == [
        (
            "serving.mode",
            "SERVING_NOT_SUPPORTED",
            f"{NOVA_ROOT} custom models cannot be served with provisioned throughput",
        )
    ]
    on_demand = FieldChecker("m.json", {})
    check_serving(on_demand, {"mode": "on-demand"}, runspec.Serving(), no_throughput, path="serving")
    assert on_demand.errors == []


def test_region_and_teacher_messages_list_every_choice() -> None:
    titan = runspec.validate_spec(base(baseModel="amazon.titan-text-lite-v1"), region="eu-west-1")
    assert [f.message for f in titan.errors] == [
        "amazon.titan-text-lite-v1:0:4k cannot be customized in eu-west-1; regions: us-east-1, us-west-2"
    ]
    student = runspec.validate_spec(
        base(
            customizationType="DISTILLATION",
            distillation={"teacherModel": "meta.llama3-1-405b-instruct-v1:0"},
        )
    )
    assert [f.message for f in student.errors] == [
        "meta.llama3-1-405b-instruct-v1:0 cannot teach amazon.nova-micro-v1:0:128k; its teachers: "
        "amazon.nova-pro-v1:0, amazon.nova-premier-v1:0"
    ]


def test_a_teacher_available_in_the_region_is_accepted() -> None:
    distillation = {"teacherModel": "amazon.nova-pro-v1:0"}
    assert runspec.validate_spec(
        base(customizationType="DISTILLATION", distillation=distillation), region="us-east-1"
    ).ok


def test_a_customization_type_with_spaces_gets_the_exact_spelling() -> None:
    check = runspec.validate_spec(base(customizationType=" fine tuning "))
    assert [f.message for f in check.errors] == [
        "customizationType must be one of FINE_TUNING, CONTINUED_PRE_TRAINING, DISTILLATION; got ' fine tuning '; "
        "did you mean 'FINE_TUNING'?"
    ]


def test_bounds_look_past_every_kind_of_value_and_report_each_place() -> None:
    assert [f.field for f in bounds_findings([HUGE, "x", True, 1.5, None], "s")] == ["[0]"]
    deep = "[0]" * 31
    found = bounds_findings({"a": nest(32), "b": nest(32)}, "s", {f"a{deep}": 12})
    assert [(f.file, f.line, f.field) for f in found] == [("s", None, f"b{deep}"), ("s", 12, f"a{deep}")]


def test_the_size_of_a_huge_number_is_estimated_from_its_bits() -> None:
    # log10(2) as 30103/100000 per bit: the true count or one more ("about").
    (exact,) = bounds_findings(2**288, "s")  # 87 digits
    assert exact.message == "the input is a number of about 87 digits; numbers here are far smaller"
    (over,) = bounds_findings(2**680, "s")  # 205 digits
    assert over.message == "the input is a number of about 206 digits; numbers here are far smaller"


def test_a_spec_out_of_bounds_names_its_source_and_line() -> None:
    text = _text(base(serving={"modelUnits": 2**200}))
    check = runspec.parse_spec_text(text, source="m.json")
    assert [(f.file, f.line, f.field, f.code) for f in check.errors] == [
        ("m.json", 6, "serving.modelUnits", "INVALID_VALUE")
    ]
    given = runspec.validate_spec(base(tags={"a": nest(40)}), source="console")
    assert [f.file for f in given.errors] == ["console"]


def test_json_without_any_whitespace_is_located() -> None:
    assert runspec.locate_fields('{"a":1,"b":[1,2],"c":{"d":3}}') == (
        {"a": 1, "b": 1, "b[0]": 1, "b[1]": 1, "c": 1, "c.d": 1},
        [],
    )
