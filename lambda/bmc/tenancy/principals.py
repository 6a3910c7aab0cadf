"""IAM principals: the ARNs a deployment's config names and the identities callers sign with.

API Gateway's IAM authorization puts the signer's ARN in ``requestContext.identity.userArn``.
For a role that is the STS session ARN ``arn:aws:sts::<account>:assumed-role/<name>/<session>``,
which carries neither the role's path nor its IAM ARN. Principals are therefore compared on
partition, account, kind and name: ``arn:aws:iam::<account>:role/<path>/<name>`` in the config
matches every session of that role. Role and user names are unique within an account whatever
their path, so nothing else can match.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ROLE = "role"
USER = "user"
ROOT = "root"
FEDERATED_USER = "federated-user"

_PARTITION = r"(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b)"
_ACCOUNT = r"(\d{12})"
_NAME = r"([\w+=,.@-]{1,64})"  # IAM role and user names
_PATH = r"(?:/|/[\x21-\x7e]{0,510}/)"  # IAM paths: "/" or "/division/team/"
_SESSION = r"[\w+=,.@-]{2,64}"
_IAM_PRINCIPAL = re.compile(rf"arn:{_PARTITION}:iam::{_ACCOUNT}:(role|user){_PATH}{_NAME}")
_ASSUMED_ROLE = re.compile(rf"arn:{_PARTITION}:sts::{_ACCOUNT}:assumed-role/{_NAME}/{_SESSION}")
_FEDERATED = re.compile(rf"arn:{_PARTITION}:sts::{_ACCOUNT}:federated-user/{_NAME}")
_ROOT = re.compile(rf"arn:{_PARTITION}:iam::{_ACCOUNT}:root")


@dataclass(frozen=True, slots=True)
class Principal:
    """An IAM identity without the parts that vary between its sessions (path, session name)."""

    partition: str
    account: str
    kind: str  # role, user, root or federated-user
    name: str = ""

    @property
    def arn(self) -> str:
        """The normalized ARN: the IAM ARN without its path (a role session becomes its role)."""
        if self.kind == ROOT:
            return f"arn:{self.partition}:iam::{self.account}:root"
        service = "sts" if self.kind == FEDERATED_USER else "iam"
        return f"arn:{self.partition}:{service}::{self.account}:{self.kind}/{self.name}"


def parse_config_principal(arn: str) -> Principal | None:
    """A role or user ARN as the config names it (``arn:aws:iam::<account>:role/[path/]Name``)."""
    match = _IAM_PRINCIPAL.fullmatch(arn)
    if match is None:
        return None
    partition, account, kind, name = match.groups()
    return Principal(partition, account, kind, name)


def parse_caller_arn(arn: str) -> Principal | None:
    """The principal a signed request comes from, given its ``userArn``; None for other shapes."""
    if config := parse_config_principal(arn):
        return config
    if match := _ASSUMED_ROLE.fullmatch(arn):
        partition, account, name = match.groups()
        return Principal(partition, account, ROLE, name)
    if match := _FEDERATED.fullmatch(arn):
        partition, account, name = match.groups()
        return Principal(partition, account, FEDERATED_USER, name)
    if match := _ROOT.fullmatch(arn):
        partition, account = match.groups()
        return Principal(partition, account, ROOT)
    return None


def caller_principal(identity: Mapping[str, Any] | None) -> Principal | None:
    """The caller of an IAM-authorized REST API request (``requestContext.identity``).

    None when the request carries no IAM identity the API can attribute (the API then refuses
    it): the ARN must parse and its account must be the one API Gateway authenticated.
    """
    if not isinstance(identity, Mapping):
        return None
    user_arn = identity.get("userArn")
    if not isinstance(user_arn, str):
        return None
    principal = parse_caller_arn(user_arn)
    if principal is None:
        return None
    account = identity.get("accountId")
    if isinstance(account, str) and account and account != principal.account:
        return None
    return principal
