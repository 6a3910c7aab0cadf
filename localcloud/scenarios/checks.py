"""What must hold after every scenario, whatever its story."""

from __future__ import annotations

from localcloud.cloud import LocalCloud
from localcloud.scenarios.scenario import Scenario, ScenarioResult


def check_outcome(cloud: LocalCloud, result: ScenarioResult) -> list[str]:
    """What must hold after every scenario; returns the problems found (empty when all hold)."""
    scenario, record = result.scenario, result.record
    problems = []
    if result.execution["status"] != scenario.expected_execution:
        problems.append(f"execution {result.execution['status']}, expected {scenario.expected_execution}")
    if record["status"] != scenario.expected_status:
        problems.append(f"run status {record['status']}, expected {scenario.expected_status}")
    running = cloud.bedrock.running_jobs()
    if running:
        problems.append(f"jobs still running: {[job.job_name for job in running]}")
    problems += _unowned_serving(cloud, scenario)
    throughputs = [t for t in cloud.bedrock.throughputs() if t.status != "Failed"]
    deployments = [d for d in cloud.bedrock.deployments() if d.status != "Failed"]
    left = {"provisioned": len(throughputs), "on-demand": len(deployments)}
    for kind, count in left.items():
        expected = 1 if scenario.expect_serving_left == kind else 0
        if count != expected:
            problems.append(f"{count} {kind} serving resource(s) left, expected {expected}")
    failed_throughputs = [t for t in cloud.bedrock.throughputs() if t.status == "Failed"]
    if failed_throughputs:
        problems.append(f"failed throughputs not deleted: {[t.name for t in failed_throughputs]}")
    problems += _report_problems(cloud, result)
    notifications = cloud.run_notifications()
    statuses = [n["attributes"]["status"]["Value"] for n in notifications]
    if scenario.expected_execution == "SUCCEEDED":
        if statuses[-1:] not in ([record["status"]], ["IN_SERVICE"], ["COMPLETED"]):
            problems.append(f"success notification missing: {statuses}")
    elif statuses[-1:] != [scenario.expected_status]:
        problems.append(f"failure notification missing or wrong: {statuses}")
    return problems


def _report_problems(cloud: LocalCloud, result: ScenarioResult) -> list[str]:
    """Every run, whatever its outcome, has its HTML report, linked from its last notification."""
    uri = (result.record.get("reports") or {}).get("report")
    expected = f"s3://{cloud.deployment.artifacts_bucket}/reports/{result.run_id}/report.html"
    if uri != expected:
        return [f"report {uri!r} recorded, expected {expected} ({result.record.get('reportProblem')})"]
    head = cloud.client("s3").head_object(
        Bucket=cloud.deployment.artifacts_bucket, Key=f"reports/{result.run_id}/report.html"
    )
    problems = []
    if not str(head.get("ContentType", "")).startswith("text/html"):
        problems.append(f"report served as {head.get('ContentType')}")
    notifications = cloud.run_notifications()
    if not notifications or uri not in notifications[-1]["message"]:
        problems.append("the last notification does not link the report")
    return problems


def _unowned_serving(cloud: LocalCloud, scenario: Scenario) -> list[str]:
    """Nothing may bill that its run does not own as IN_SERVICE (the registry names it there),
    except what the scenario expects the sweeper to report and keep."""
    billing = [(t.arn, t.name) for t in cloud.bedrock.throughputs() if t.status != "Failed"]
    billing += [(d.arn, d.name) for d in cloud.bedrock.deployments() if d.status != "Failed"]
    unowned = []
    for arn, name in billing:
        run_id = cloud.bedrock_tags(arn).get("bmc:runId")
        record = cloud.run_record(run_id) if run_id else None
        serving = (record or {}).get("serving") or {}
        if not (record and record["status"] == "IN_SERVICE" and serving.get("arn") == arn):
            unowned.append((arn, name))
    problems = []
    if len(unowned) != scenario.expect_reported_left:
        problems.append(f"billing without an IN_SERVICE run that owns it: {[n for _, n in unowned]}")
    reported = "".join(n["message"] for n in cloud.sweeper_notifications())
    problems += [
        f"{name} is left but was never reported by the sweeper"
        for arn, name in unowned
        if arn not in reported
    ]
    return problems
