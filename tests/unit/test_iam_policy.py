"""The local cloud's policy evaluation follows IAM's rules for the condition operators it supports."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.iam_policy import Request, allows, denies, evaluate, statements_of

ROLE = "arn:aws:iam::123456789012:role/fn"


def allow(**fields: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", **fields}


def test_actions_and_resources_match_wildcards_actions_without_case() -> None:
    statement = allow(Action="S3:Get*", Resource="arn:aws:s3:::bucket/reports/*")
    assert allows([statement], Request("s3:GetObject", "arn:aws:s3:::bucket/reports/a.json"))
    assert not allows([statement], Request("s3:GetObject", "arn:aws:s3:::bucket/jobs/a.json"))
    assert not allows([allow(NotAction="s3:Get*")], Request("s3:GetObject", "x"))


def test_an_explicit_deny_wins_and_nothing_is_an_implicit_deny() -> None:
    deny = {"Effect": "Deny", "Action": "*", "Resource": "*"}
    assert evaluate([allow(), deny], Request("s3:GetObject", "x")) == "Deny"
    assert evaluate([], Request("s3:GetObject", "x")) == "ImplicitDeny"


def test_the_account_root_principal_stands_for_the_accounts_principals() -> None:
    statement = allow(Principal={"AWS": "arn:aws:iam::123456789012:root"})
    assert allows([statement], Request("s3:GetObject", "x", {"AWS": ROLE}))
    assert not allows([statement], Request("s3:GetObject", "x", {"AWS": "arn:aws:iam::210987654321:role/fn"}))
    assert not allows([statement], Request("s3:GetObject", "x", {"Service": "bedrock.amazonaws.com"}))


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({"StringEquals": {"k": ["a", "b"]}}, {"k": "b"}, True),
        ({"StringEquals": {"k": "a"}}, {}, False),  # absent key: a positive operator is false
        ({"StringNotEquals": {"k": "a"}}, {}, True),  # ... and a negated one is true
        ({"StringEqualsIfExists": {"k": "a"}}, {}, True),
        ({"StringLike": {"s3:prefix": ["reports/*"]}}, {"s3:prefix": "reports/x"}, True),
        ({"ArnNotEquals": {"k": "arn:aws:kms:r:1:key/a"}}, {"k": "arn:aws:kms:r:1:key/b"}, True),
        ({"Null": {"k": "true"}}, {}, True),
        ({"Null": {"k": "false"}}, {}, False),
        ({"Bool": {"k": "true"}}, {"k": "True"}, True),
        ({"NumericLessThan": {"s3:TlsVersion": 1.2}}, {"s3:TlsVersion": "1.3"}, False),
        ({"ForAnyValue:StringEquals": {"k": "x"}}, {"k": ["w", "x"]}, True),
        ({"ForAnyValue:StringEquals": {"k": "x"}}, {}, False),
        ({"ForAllValues:StringEquals": {"k": ["x", "y"]}}, {"k": ["x", "z"]}, False),
        ({"ForAllValues:StringEquals": {"k": ["x"]}}, {}, True),
        # Operators of one block, and keys of one operator, must all hold.
        ({"StringEquals": {"a": "1"}, "Null": {"b": "false"}}, {"a": "1"}, False),
    ],
)
def test_condition_operators(condition: dict[str, Any], context: dict[str, Any], expected: bool) -> None:
    assert allows([allow(Condition=condition)], Request("s3:GetObject", "x", context=context)) is expected


def test_unsupported_operators_fail_loudly() -> None:
    with pytest.raises(NotImplementedError, match="DateGreaterThan"):
        allows(
            [allow(Condition={"DateGreaterThan": {"aws:CurrentTime": "2020"}})], Request("s3:GetObject", "x")
        )


def test_documents_are_read_from_json_text_or_objects() -> None:
    text = '{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}}'
    assert denies(statements_of(text), Request("s3:PutObject", "x"))
    assert statements_of(None) == []
