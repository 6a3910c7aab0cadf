"""Configuration validation: every bad value stops synthesis with a message naming the key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from stacks.application import REPO_ROOT, cdk_json_context
from stacks.config import ConfigError, config_keys, load_config
from stacks.foundation_stack import retention_days


def test_cdk_json_defaults_load() -> None:
    config = load_config(cdk_json_context())
    assert config.prefix == "bmc"
    assert config.account is None and config.region is None
    assert not config.network.existing
    assert config.retain_data
    assert config.log_retention_days == 365
    assert config.serving.mode == "none"
    assert config.reconcile_minutes == 15
    assert (config.sweeper.mode, config.sweeper.interval_minutes, config.sweeper.idle_hours) == (
        "delete",
        60,
        24,
    )
    assert config.serving.idle_action == "notify"
    assert config.monthly_budget_usd is None and config.private_endpoints == ()


def test_every_key_is_in_cdk_json_and_the_readme() -> None:
    context = cdk_json_context()
    readme = (REPO_ROOT / "README.md").read_text()
    for key in config_keys():
        assert key in context, key
        assert f"| `{key}`" in readme, f"README configuration table lacks {key}"


def test_command_line_strings_are_decoded() -> None:
    config = load_config(
        {
            "notificationEmails": '["ops@example.com", "ml@example.com"]',
            "logRetentionDays": "90",
            "serving": '{"mode": "provisioned", "modelUnits": 2}',
            "allowedBaseModels": "amazon.nova-micro-v1,meta.llama3-1-8b-instruct-v1:0:128k",
            "keyAdministrators": "arn:aws:iam::123456789012:role/platform/KeyAdmins",
            "apiGatewayCloudWatchRole": "existing",
        }
    )
    assert config.key_administrators == ("arn:aws:iam::123456789012:role/platform/KeyAdmins",)
    assert config.api_gateway_cloudwatch_role == "existing"
    assert config.notification_emails == ("ops@example.com", "ml@example.com")
    assert config.log_retention_days == 90
    assert config.serving.mode == "provisioned" and config.serving.model_units == 2
    # Plain ids are normalised to customization ids from the catalog.
    assert config.allowed_base_models == (
        "amazon.nova-micro-v1:0:128k",
        "meta.llama3-1-8b-instruct-v1:0:128k",
    )


def test_guardrail_options_from_the_command_line() -> None:
    config = load_config(
        {
            "sweeper": '{"mode": "report", "intervalMinutes": 30, "idleHours": 6}',
            "monthlyBudgetUsd": "250.5",
            "privateEndpoints": "bedrock-runtime,bedrock",
        }
    )
    assert (config.sweeper.mode, config.sweeper.interval_minutes, config.sweeper.idle_hours) == (
        "report",
        30,
        6,
    )
    assert config.monthly_budget_usd == 250.5
    assert config.private_endpoints == ("bedrock-runtime", "bedrock")


def test_existing_network() -> None:
    config = load_config(
        {
            "network": {
                "vpcId": "vpc-0123456789abcdef0",
                "subnetIds": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
                "securityGroupId": "sg-0cccccccccccccccc",
            }
        }
    )
    assert config.network.existing
    assert config.network.subnet_ids == ("subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb")


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"prefx": "a"}, "context key 'prefx' is not a known setting (did you mean 'prefix'?)"),
        ({"prefix": "Team_A"}, "context key 'prefix': 'Team_A' is not valid; allowed: 3-20 characters"),
        ({"prefix": "ab"}, "context key 'prefix'"),
        ({"prefix": "team--a"}, "context key 'prefix': 'team--a' is not valid"),
        ({"prefix": "team-"}, "context key 'prefix'"),
        (
            {"account": "12345"},
            "context key 'account': '12345' is not valid; allowed: a 12-digit AWS account id",
        ),
        ({"region": "mars-1"}, "context key 'region'"),
        (
            {"dataRemovalPolicy": "keep"},
            "context key 'dataRemovalPolicy': 'keep' is not valid; allowed: one of retain, destroy",
        ),
        (
            {"logRetentionDays": 42},
            "context key 'logRetentionDays': 42 is not valid; allowed: one of 1, 3, 5",
        ),
        ({"notificationEmails": ["not-an-address"]}, "context key 'notificationEmails[0]'"),
        (
            {"keyAdministrators": ["arn:aws:iam::123456789012:group/admins"]},
            "context key 'keyAdministrators[0]': 'arn:aws:iam::123456789012:group/admins' is not valid; "
            "allowed: an IAM role, user or account root ARN",
        ),
        (
            {"keyAdministrators": ["arn:aws:iam::123456789012:role/admins\n"]},
            "context key 'keyAdministrators[0]'",
        ),
        (
            {"apiGatewayCloudWatchRole": "skip"},
            "context key 'apiGatewayCloudWatchRole': 'skip' is not valid; allowed: one of create, existing",
        ),
        (
            {"notificationEmails": 5},
            "context key 'notificationEmails': 5 is not valid; allowed: a list of strings",
        ),
        ({"allowedBaseModels": ["acme.gpt-9"]}, "context key 'allowedBaseModels[0]'"),
        (
            {"network": {"vpcid": "vpc-0123456789abcdef0"}},
            "context key 'network.vpcid' is not a known setting (did you mean 'vpcId'?)",
        ),
        ({"network": {"vpcId": "vpc-0123456789abcdef0"}}, "context key 'network.subnetIds'"),
        (
            {
                "network": {
                    "vpcId": "vpc-0123456789abcdef0",
                    "subnetIds": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
                }
            },
            "context key 'network.securityGroupId': required with an existing VPC",
        ),
        ({"network": {"subnetIds": ["subnet-0aaaaaaaaaaaaaaaa"]}}, "context key 'network.vpcId': required"),
        ({"network": {"cidr": "10.0.0.0/8"}}, "context key 'network.cidr'"),
        (
            {"network": {"maxAzs": 1}},
            "context key 'network.maxAzs': 1 is not valid; allowed: an integer from 2 to 6",
        ),
        ({"network": "vpc-1"}, "context key 'network': 'vpc-1' is not valid; allowed: an object"),
        (
            {"serving": {"mode": "always"}},
            "context key 'serving.mode': 'always' is not valid; allowed: one of none, provisioned, on-demand",
        ),
        ({"serving": {"modelUnits": 0}}, "context key 'serving.modelUnits'"),
        ({"serving": {"modelUnits": True}}, "context key 'serving.modelUnits'"),
        ({"serving": {"commitment": "OneYear"}}, "context key 'serving.commitment'"),
        ({"serving": {"commitment": "OneMonth", "ttlHours": 4}}, "context key 'serving.ttlHours'"),
        ({"queueHours": -1}, "context key 'queueHours'"),
        ({"reconcileMinutes": 1}, "context key 'reconcileMinutes'"),
        ({"serving": {"idleAction": "stop"}}, "context key 'serving.idleAction': 'stop' is not valid"),
        (
            {"serving": {"commitment": "OneMonth", "idleAction": "delete"}},
            "context key 'serving.idleAction': a committed throughput cannot be deleted",
        ),
        ({"sweeper": {"mode": "purge"}}, "allowed: one of delete, report"),
        ({"sweeper": {"intervalMinutes": 5}}, "context key 'sweeper.intervalMinutes'"),
        ({"sweeper": {"idleHour": 5}}, "context key 'sweeper.idleHour' is not a known setting (did you mean"),
        ({"monthlyBudgetUsd": 0}, "context key 'monthlyBudgetUsd': 0 is not valid"),
        ({"monthlyBudgetUsd": "lots"}, "context key 'monthlyBudgetUsd'"),
        ({"privateEndpoints": ["bedrock-agent"]}, "context key 'privateEndpoints[0]'"),
        ({"privateEndpoints": ["bedrock", "bedrock"]}, "a service is listed twice"),
        ({"prefix": "bmc\n"}, "context key 'prefix'"),  # a trailing newline does not pass
        ({"account": "123456789012\n"}, "context key 'account'"),
        ({"teams": {"Support": {}}}, "context key 'teams.Support': a team name is 2-32 characters"),
        (
            {
                "teams": {
                    "support": {"principals": ["arn:aws:iam::123456789012:role/A"], "datasetPrefixes": ["d"]}
                }
            },
            "context key 'teams.support.datasetPrefixes[0]'",
        ),
        (
            {
                "allowedBaseModels": ["amazon.nova-lite-v1"],
                "teams": {
                    "support": {
                        "principals": ["arn:aws:iam::123456789012:role/A"],
                        "datasetPrefixes": ["d/"],
                        "allowedBaseModels": ["amazon.nova-micro-v1"],
                    }
                },
            },
            "context key 'teams.support.allowedBaseModels[0]'",
        ),
        ({"admins": ["arn:aws:sts::123456789012:assumed-role/Admin/s"]}, "context key 'admins[0]'"),
        (
            {
                "teams": {
                    f"team-{n}": {
                        "principals": [f"arn:aws:iam::123456789012:role/R{n}"],
                        "datasetPrefixes": [f"d{n}/"],
                    }
                    for n in range(30)
                }
            },
            "context key 'teams': the teams and admins take",
        ),
    ],
)
def test_bad_values_name_the_key(context: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(context)
    assert expected in str(raised.value)


def test_cdk_feature_flags_are_not_ours_to_validate() -> None:
    load_config(
        {"@aws-cdk/core:newStyleStackSynthesis": True, "availability-zones:account=1:region=x": ["a"]}
    )


def test_retention_days_map_onto_cloudwatch_values() -> None:
    assert retention_days(365).name == "ONE_YEAR"
    assert retention_days(1).name == "ONE_DAY"
    assert retention_days(3653).name == "TEN_YEARS"


def test_app_reports_a_bad_override_without_traceback(tmp_path: Any) -> None:
    """What `cdk synth -c prefix=Bad_Prefix` does: the CLI passes context through the environment."""
    context = {**cdk_json_context(), "prefix": "Bad_Prefix"}
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Configuration error: context key 'prefix': 'Bad_Prefix' is not valid" in result.stderr
    assert "Traceback" not in result.stderr


def test_teams_and_admins_from_the_command_line() -> None:
    config = load_config(
        {
            "teams": json.dumps(
                {
                    "support": {
                        "principals": ["arn:aws:iam::123456789012:role/ml/SupportML"],
                        "datasetPrefixes": ["datasets/support/"],
                    }
                }
            ),
            "admins": "arn:aws:iam::123456789012:role/PlatformAdmin",
        }
    )
    assert [team.name for team in config.tenancy.teams] == ["support"]
    assert config.tenancy.teams[0].principals == ("arn:aws:iam::123456789012:role/SupportML",)
    assert config.tenancy.admins == ("arn:aws:iam::123456789012:role/PlatformAdmin",)
