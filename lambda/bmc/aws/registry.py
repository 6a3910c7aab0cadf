"""The run registry: one DynamoDB item per run, keyed by ``runId`` (docs/workflow.md).

Every status change appends ``{status, at, detail}`` to ``statusHistory`` and is a conditional
write: a transition is accepted only from the statuses listed in ``ALLOWED_FROM``, so two
resolvers of one job (an event and the reconciler, a duplicated event, a retried Lambda) can
never both act. Repeating a transition to the status the run already has is harmless: the
fields are written again, the history is not.

DynamoDB stores numbers as Decimal; ``bmc.aws.dynamo`` converts at the boundary, so callers
pass and receive plain ``int`` and ``float``. The statuses, the clock and the binding of a
record to its execution live in ``bmc.aws.run_status`` and are importable from here too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from bmc import settings
from bmc.aws import clients
from bmc.aws.dynamo import UpdateBuilder, condition_failed, from_dynamo, from_item, to_dynamo
from bmc.aws.run_status import (
    ACTIVE_STATUSES,
    ALLOWED_FROM,
    COMPLETED,
    DELETED,
    DEPLOYING,
    EVALUATING,
    FAILED,
    IN_SERVICE,
    PENDING,
    QUEUED,
    REJECTED,
    STATUSES,
    STOPPED,
    TERMINAL_STATUSES,
    TRAINED,
    TRAINING,
    VALIDATING,
    belongs_to,
    execution_start,
    timestamp,
    use_clock,
    utc_now,
)
from bmc.errors import RunNotFound, RunStateConflict
from bmc.tenancy import Owner

__all__ = [  # the statuses, clock and conversions callers import from the registry
    "ACTIVE_STATUSES",
    "ALLOWED_FROM",
    "COMPLETED",
    "CREATED_INDEX",
    "DELETED",
    "DEPLOYING",
    "EVALUATING",
    "FAILED",
    "IN_SERVICE",
    "LISTING_KEY_ATTRIBUTES",
    "PENDING",
    "QUEUED",
    "RECORD_TYPE",
    "REJECTED",
    "STATUSES",
    "STOPPED",
    "TEAM_INDEX",
    "TEAM_LISTING_KEY_ATTRIBUTES",
    "TERMINAL_STATUSES",
    "TRAINED",
    "TRAINING",
    "VALIDATING",
    "Registry",
    "belongs_to",
    "execution_start",
    "from_dynamo",
    "timestamp",
    "to_dynamo",
    "use_clock",
    "utc_now",
]

RECORD_TYPE = "RUN"
CREATED_INDEX = "byCreatedAt"
TEAM_INDEX = "byTeam"
# The attributes of a page boundary (LastEvaluatedKey): table key plus the index's keys.
LISTING_KEY_ATTRIBUTES = frozenset({"runId", "recordType", "createdAt"})
TEAM_LISTING_KEY_ATTRIBUTES = frozenset({"runId", "team", "createdAt"})
# A listing reads at most this many pages per call: a selective status filter cannot make one
# request scan the whole registry; the caller gets a next-page key instead.
MAX_LISTING_PAGES = 10
AWAITING_JOB = "JOB"


@dataclass(frozen=True, slots=True)
class Registry:
    table_name: str
    job_arn_index: str = settings.DEFAULT_JOB_ARN_INDEX
    awaiting_index: str = settings.DEFAULT_AWAITING_INDEX
    created_index: str = CREATED_INDEX
    team_index: str = TEAM_INDEX

    @classmethod
    def from_environment(cls) -> Registry:
        return cls(settings.registry_table(), settings.job_arn_index(), settings.awaiting_index())

    @property
    def _client(self) -> Any:
        return clients.client("dynamodb")

    def _key(self, run_id: str) -> dict[str, Any]:
        return {"runId": {"S": run_id}}

    def _update(
        self, run_id: str, update: UpdateBuilder, condition: str | None, returns: str = "ALL_NEW"
    ) -> dict[str, Any]:
        response = self._client.update_item(
            TableName=self.table_name,
            Key=self._key(run_id),
            ReturnValues=returns,
            **update.request(condition),
        )
        return from_item(response.get("Attributes", {}))

    # --- reads --------------------------------------------------------------------------------

    def _update_if(
        self, run_id: str, update: UpdateBuilder, condition: str, returns: str = "ALL_NEW"
    ) -> dict[str, Any] | None:
        """The conditional update's result, or None when the condition does not hold."""
        try:
            return self._update(run_id, update, condition, returns)
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise

    def get(self, run_id: str) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self.table_name, Key=self._key(run_id), ConsistentRead=True
        )
        item = response.get("Item")
        return from_item(item) if item else None

    def require(self, run_id: str) -> dict[str, Any]:
        item = self.get(run_id)
        if item is None:
            raise RunNotFound(f"run {run_id} is not in the registry")
        return item

    def find_by_job_arn(self, job_arn: str) -> str | None:
        """The run whose customization job has this ARN (index byJobArn), if any."""
        response = self._client.query(
            TableName=self.table_name,
            IndexName=self.job_arn_index,
            KeyConditionExpression="jobArn = :arn",
            ExpressionAttributeValues={":arn": {"S": job_arn}},
            Limit=1,
        )
        items = response.get("Items", [])
        return str(items[0]["runId"]["S"]) if items else None

    def find_by_custom_model_arn(self, team: str, model_arn: str) -> dict[str, Any] | None:
        """The run of one owner (index byTeam) whose custom model has this ARN, if any.

        A filter over the owner's runs rather than an index of its own: it runs once per run
        that names a custom model ARN as its base, and only over that owner's runs.
        """
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": self.team_index,
            "KeyConditionExpression": "team = :team",
            "FilterExpression": "customModelArn = :arn",
            "ExpressionAttributeValues": {":team": {"S": team}, ":arn": {"S": model_arn}},
        }
        while True:
            response = self._client.query(**request)
            items = response.get("Items", [])
            if items:
                return self.get(str(items[0]["runId"]["S"]))  # the index may not project every field
            if "LastEvaluatedKey" not in response:
                return None
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def runs_with_status(self, statuses: Sequence[str]) -> Iterator[dict[str, Any]]:
        """Every run with one of ``statuses``, newest first (index byCreatedAt, all pages)."""
        start: Mapping[str, str] | None = None
        while True:
            runs, start = self.list_runs(limit=100, start_key=start, statuses=statuses)
            yield from runs
            if start is None:
                return

    def awaiting_run_ids(self) -> Iterator[str]:
        """Runs whose job is still awaited (the sparse index byAwaiting holds only those)."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": self.awaiting_index,
            "KeyConditionExpression": "awaiting = :job",
            "ExpressionAttributeValues": {":job": {"S": AWAITING_JOB}},
        }
        while True:
            response = self._client.query(**request)
            for item in response.get("Items", []):
                yield str(item["runId"]["S"])
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def list_runs(
        self,
        *,
        limit: int,
        start_key: Mapping[str, str] | None = None,
        statuses: Sequence[str] = (),
        team: str | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """Runs newest first, optionally only those with one of ``statuses``: every run (index
        byCreatedAt) or one owner's (index byTeam, ``team`` = the owner's team key).

        Returns at most ``limit`` runs and the key to continue from (None after the last run).
        DynamoDB applies ``Limit`` before the filter, so a page is read with the room left.
        """
        if team is None:
            index, partition, value = self.created_index, "recordType", RECORD_TYPE
        else:
            index, partition, value = self.team_index, "team", team
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": index,
            "KeyConditionExpression": "#partition = :partition",
            "ExpressionAttributeNames": {"#partition": partition},
            "ExpressionAttributeValues": {":partition": {"S": value}},
            "ScanIndexForward": False,
        }
        if statuses:
            placeholders = [f":s{index}" for index in range(len(statuses))]
            request["FilterExpression"] = f"#status IN ({', '.join(placeholders)})"
            request["ExpressionAttributeNames"]["#status"] = "status"
            for placeholder, status in zip(placeholders, statuses, strict=True):
                request["ExpressionAttributeValues"][placeholder] = {"S": status}
        if start_key:
            request["ExclusiveStartKey"] = {name: {"S": value} for name, value in start_key.items()}
        runs: list[dict[str, Any]] = []
        last_key: dict[str, str] | None = None
        for _ in range(MAX_LISTING_PAGES):
            response = self._client.query(**request, Limit=limit - len(runs))
            runs += [from_item(item) for item in response.get("Items", [])]
            evaluated = response.get("LastEvaluatedKey")
            last_key = {name: str(value["S"]) for name, value in evaluated.items()} if evaluated else None
            if last_key is None or len(runs) >= limit:
                break
            request["ExclusiveStartKey"] = evaluated
        return runs, last_key

    # --- writes -------------------------------------------------------------------------------

    def create_run(
        self,
        run_id: str,
        *,
        spec: Mapping[str, Any] | None,
        source: Mapping[str, Any],
        names: Mapping[str, Any] | None,
        execution_arn: str,
        owner: Owner,
        execution_started_at: str | None = None,
        lineage: Mapping[str, Any] | None = None,
    ) -> bool:
        """Register a run as PENDING; returns False when it was registered already.

        Every attribute is written only if absent: a retried PrepareRun, or a record the API
        wrote before starting the execution, keeps what it has (its owner and source included).
        Whether an existing record is this execution's is for ``bind_execution`` to say.
        """
        now = timestamp()
        update = UpdateBuilder()
        update.set_if_absent("recordType", RECORD_TYPE)
        update.set_if_absent("createdAt", now)
        update.set_if_absent("updatedAt", now)  # an existing record stays exactly as it is
        update.set_if_absent("status", PENDING)
        update.set_if_absent("statusHistory", [{"status": PENDING, "at": now, "detail": "run registered"}])
        update.set_if_absent("source", dict(source))
        update.set_if_absent("owner", owner.to_dict())
        update.set_if_absent("team", owner.team)
        update.set_if_absent("executionArn", execution_arn)
        if execution_started_at is not None:
            update.set_if_absent("executionStartedAt", execution_started_at)
        update.set_if_absent("reports", {})
        if spec is not None:
            update.set_if_absent("spec", dict(spec))
        if names is not None:
            update.set_if_absent("names", dict(names))
        if lineage is not None:
            update.set_if_absent("lineage", dict(lineage))
        old = self._update(run_id, update, None, returns="ALL_OLD")
        return "createdAt" not in old

    def record_rejected_run(
        self,
        run_id: str,
        *,
        source: Mapping[str, Any],
        execution_arn: str,
        execution_started_at: str | None,
        owner: Owner,
        error: Mapping[str, Any],
    ) -> bool:
        """Register a run whose spec was refused, straight to FAILED with the error kept.

        False, and nothing written, when the run id's record belongs to another execution.
        """
        self.create_run(
            run_id,
            spec=None,
            source=source,
            names=None,
            execution_arn=execution_arn,
            owner=owner,
            execution_started_at=execution_started_at,
        )
        if not self.bind_execution(run_id, execution_arn, execution_started_at):
            return False
        self.transition(
            run_id,
            FAILED,
            detail=f"{error.get('error')}: {error.get('cause')}"[:500],
            fields_if_absent={"error": dict(error)},
        )
        return True

    def bind_execution(self, run_id: str, execution_arn: str, started_at: str | None) -> bool:
        """Bind the record to the execution that started at ``started_at``; False when the
        record belongs to another execution (see ``belongs_to``) or does not exist.

        A conditional write: of two executions with one run id, at most one is ever bound.
        """
        if started_at is None:
            return False
        update = UpdateBuilder()
        update.set("executionStartedAt", started_at)
        arn, bound = update.name("executionArn"), update.name("executionStartedAt")
        status = update.name("status")
        active = ", ".join(update.value(s) for s in sorted(ACTIVE_STATUSES))
        condition = (
            f"{arn} = {update.value(execution_arn)} AND ({bound} = {update.value(started_at)} OR "
            f"(attribute_not_exists({bound}) AND {status} IN ({active})))"
        )
        return self._update_if(run_id, update, condition) is not None

    def transition(
        self,
        run_id: str,
        status: str,
        *,
        detail: str = "",
        fields: Mapping[str, Any] | None = None,
        fields_if_absent: Mapping[str, Any] | None = None,
        remove: Sequence[str] = (),
    ) -> bool:
        """Move the run to ``status`` and write ``fields``; False if it already had that status.

        ``fields`` keys may be dotted paths into maps (``serving.status``). ``fields_if_absent``
        keeps a value already recorded (the first error of a run is the one that counts).
        Raises RunNotFound, or RunStateConflict when the current status does not allow it.
        """
        allowed = ALLOWED_FROM.get(status)
        if allowed is None:
            raise ValueError(f"no transition leads to {status}")
        now = timestamp()

        def build(record_history: bool) -> UpdateBuilder:
            update = UpdateBuilder()
            update.set("status", status)
            update.set("updatedAt", now)
            if record_history:
                update.append("statusHistory", [{"status": status, "at": now, "detail": detail}])
            for path, value in (fields or {}).items():
                update.set(path, value)
            for path, value in (fields_if_absent or {}).items():
                update.set_if_absent(path, value)
            for path in remove:
                update.remove(path)
            return update

        update = build(record_history=True)
        statuses = ", ".join(update.value(s) for s in sorted(allowed))
        condition = f"attribute_exists(runId) AND {update.name('status')} IN ({statuses})"
        if self._update_if(run_id, update, condition) is not None:
            return True
        update = build(record_history=False)
        condition = f"attribute_exists(runId) AND {update.name('status')} = {update.value(status)}"
        if self._update_if(run_id, update, condition) is not None:
            return False
        current = self.require(run_id)
        raise RunStateConflict(f"run {run_id} is {current.get('status')}: it cannot become {status}")

    def update(
        self,
        run_id: str,
        *,
        fields: Mapping[str, Any] | None = None,
        fields_if_absent: Mapping[str, Any] | None = None,
        remove: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Write fields without a status change; returns the updated item."""
        update = UpdateBuilder()
        update.set("updatedAt", timestamp())
        for path, value in (fields or {}).items():
            update.set(path, value)
        for path, value in (fields_if_absent or {}).items():
            update.set_if_absent(path, value)
        for path in remove:
            update.remove(path)
        updated = self._update_if(run_id, update, "attribute_exists(runId)")
        if updated is None:
            raise RunNotFound(f"run {run_id} is not in the registry")
        return updated

    def mark_once(self, run_id: str, attribute: str, value: Any) -> bool:
        """Write a top-level ``attribute`` unless the run has it already; True when this call wrote
        it (of two concurrent callers, exactly one does)."""
        update = UpdateBuilder()
        update.set("updatedAt", timestamp())
        update.set(attribute, value)
        condition = f"attribute_exists(runId) AND attribute_not_exists({update.name(attribute)})"
        return self._update_if(run_id, update, condition) is not None

    def update_lineage(self, run_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Write ``lineage.<key>`` for each key of ``fields``; a record registered before runs
        had lineage gets the map first."""
        nested = {f"lineage.{key}": value for key, value in fields.items()}
        try:
            return self.update(run_id, fields=nested)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) != "ValidationException":
                raise
        self.update(run_id, fields_if_absent={"lineage": {}})
        return self.update(run_id, fields=nested)

    def claim_serving(
        self,
        run_id: str,
        serving: Mapping[str, Any],
        *,
        from_statuses: Sequence[str],
        replaceable: Sequence[str],
    ) -> bool:
        """Record ``serving`` if the run has one of ``from_statuses`` and no serving (or one whose
        status is in ``replaceable``); False otherwise. The condition makes two concurrent
        requests for a throughput create at most one."""
        update = UpdateBuilder()
        update.set("updatedAt", timestamp())
        update.set("serving", dict(serving))
        status = update.name("status")
        allowed = ", ".join(update.value(s) for s in from_statuses)
        serving_status = f"{update.name('serving')}.{update.name('status')}"
        free = ", ".join(update.value(s) for s in replaceable)
        condition = (
            f"attribute_exists(runId) AND {status} IN ({allowed}) AND "
            f"(attribute_not_exists({update.name('serving')}) OR {serving_status} IN ({free}))"
        )
        return self._update_if(run_id, update, condition) is not None

    # --- the task token of AwaitJob -------------------------------------------------------------

    def store_task_token(self, run_id: str, token: str) -> None:
        """Record the token AwaitJob waits on; the run appears in the byAwaiting index."""
        self.update(run_id, fields={"taskToken": token, "awaiting": AWAITING_JOB})

    def claim_task_token(self, run_id: str) -> str | None:
        """Take the token away from the run; None if another resolver took it first.

        The removal is conditional on the token being there, so exactly one caller gets it.
        """
        update = UpdateBuilder()
        update.set("updatedAt", timestamp())
        update.remove("taskToken")
        update.remove("awaiting")
        old = self._update_if(run_id, update, "attribute_exists(taskToken)", returns="UPDATED_OLD")
        token = (old or {}).get("taskToken")
        return token if isinstance(token, str) else None

    def restore_task_token(self, run_id: str, token: str) -> bool:
        """Give back a claimed token whose delivery failed, so a later resolver can retry."""
        update = UpdateBuilder()
        update.set("taskToken", token)
        update.set("awaiting", AWAITING_JOB)
        update.set("updatedAt", timestamp())
        condition = "attribute_exists(runId) AND attribute_not_exists(taskToken)"
        return self._update_if(run_id, update, condition) is not None

    # --- the sweeper (bmc.guardrails) -----------------------------------------------------------

    def claim_if_unchanged(self, run_id: str, seen: Mapping[str, Any], claim: Mapping[str, Any]) -> bool:
        """Record ``claim`` as the run's ``lastSweep`` if its status and serving record are still
        what the sweeper read (``seen``); False when the workflow or the API changed either.

        The sweeper decides from that snapshot; this write voids the decision the moment
        anything it rests on changes, so it never deletes what a running request is creating.
        """
        update = UpdateBuilder()
        update.set("updatedAt", timestamp())
        update.set("lastSweep", dict(claim))
        serving = update.name("serving")
        condition = (
            f"attribute_exists(runId) AND {update.name('status')} = {update.value(seen.get('status'))}"
        )
        if seen.get("serving") is None:
            condition += f" AND attribute_not_exists({serving})"
        else:
            condition += f" AND {serving} = {update.value(seen['serving'])}"
        return self._update_if(run_id, update, condition) is not None

    def record_sweep(
        self, run_id: str, entry: Mapping[str, Any], fields: Mapping[str, Any] | None = None
    ) -> None:
        """Append what the sweeper did to the run's ``sweeps`` and write ``fields``."""
        update = UpdateBuilder()
        update.set("updatedAt", timestamp())
        update.append("sweeps", [dict(entry)])
        for path, value in (fields or {}).items():
            update.set(path, value)
        if self._update_if(run_id, update, "attribute_exists(runId)") is None:
            raise RunNotFound(f"run {run_id} is not in the registry")

    def mark_idle_notified(self, run_id: str, serving_arn: str, at: str) -> bool:
        """Mark the run's serving as reported idle; False if it was already (notify once)."""
        update = UpdateBuilder()
        update.set("serving.idleNotifiedAt", at)
        arn = f"{update.name('serving')}.{update.name('arn')}"
        notified = f"{update.name('serving')}.{update.name('idleNotifiedAt')}"
        condition = f"{arn} = {update.value(serving_arn)} AND attribute_not_exists({notified})"
        return self._update_if(run_id, update, condition) is not None

    def clear_idle_notified(self, run_id: str, serving_arn: str) -> bool:
        """The serving is called again: a later idle period is news again."""
        update = UpdateBuilder()
        update.remove("serving.idleNotifiedAt")
        arn = f"{update.name('serving')}.{update.name('arn')}"
        condition = f"{arn} = {update.value(serving_arn)}"
        return self._update_if(run_id, update, condition) is not None

    def read_state(self, key: str) -> dict[str, Any]:
        """A bookkeeping item (``key`` starts with '#', which no run id may)."""
        item = self.get(key)
        return dict((item or {}).get("state") or {})

    def write_state(self, key: str, state: Mapping[str, Any]) -> None:
        if not key.startswith("#"):
            raise ValueError("bookkeeping keys start with '#' so they can never be a run id")
        update = UpdateBuilder()
        update.set("state", dict(state))
        update.set("updatedAt", timestamp())
        self._update(key, update, None)

    def count_by_status(self) -> dict[str, int]:
        """How many runs have each status (every page of byCreatedAt, the status attribute only)."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": self.created_index,
            "KeyConditionExpression": "recordType = :run",
            "ExpressionAttributeValues": {":run": {"S": RECORD_TYPE}},
            "ProjectionExpression": "#status",
            "ExpressionAttributeNames": {"#status": "status"},
        }
        counts = dict.fromkeys(STATUSES, 0)
        while True:
            response = self._client.query(**request)
            for item in response.get("Items", []):
                status = str(item.get("status", {}).get("S", ""))
                counts[status] = counts.get(status, 0) + 1
            if "LastEvaluatedKey" not in response:
                return counts
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
