"""Synthesize the app and print what `cdk deploy` would create: stacks, resources by type and
the security posture, read from the templates themselves."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from stacks.application import build_app, nag_errors  # noqa: E402
from stacks.config import ConfigError  # noqa: E402


def _resources(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in template.get("Resources", {}).values() if r["Type"] == resource_type]


def posture(templates: dict[str, dict[str, Any]]) -> list[tuple[str, bool]]:
    """Security facts checked on the synthesized templates, each true or false."""
    every = [r for t in templates.values() for r in t.get("Resources", {}).values()]
    of_type = Counter(r["Type"] for r in every)
    buckets = [r for t in templates.values() for r in _resources(t, "AWS::S3::Bucket")]
    kms_buckets = [
        b
        for b in buckets
        if b["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]["SSEAlgorithm"]
        == "aws:kms"
    ]
    policies = [r for t in templates.values() for r in _resources(t, "AWS::S3::BucketPolicy")]
    tls_denies = [p for p in policies if "aws:SecureTransport" in json.dumps(p)]
    keys = [r for t in templates.values() for r in _resources(t, "AWS::KMS::Key")]
    log_groups = [r for t in templates.values() for r in _resources(t, "AWS::Logs::LogGroup")]
    return [
        (f"KMS keys with rotation: {len(keys)}", all(k["Properties"].get("EnableKeyRotation") for k in keys)),
        (f"buckets encrypted with the data key: {len(kms_buckets)} of {len(buckets)} (the access-log bucket uses SSE-S3, as S3 requires)", len(kms_buckets) >= len(buckets) - 1),
        (f"buckets denying non-TLS requests: {len(tls_denies)} of {len(buckets)}", len(tls_denies) == len(buckets)),
        ("public access blocked on every bucket", all("PublicAccessBlockConfiguration" in b["Properties"] for b in buckets)),
        ("no NAT gateway, no internet gateway", of_type["AWS::EC2::NatGateway"] + of_type["AWS::EC2::InternetGateway"] == 0),
        ("log groups encrypted with the data key", all("KmsKeyId" in g["Properties"] for g in log_groups)),
        ("registry encrypted with the data key", all(t["Properties"]["SSESpecification"].get("SSEType") == "KMS" for t in [r for r in every if r["Type"] == "AWS::DynamoDB::Table"])),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--outdir", default=str(REPO_ROOT / "cdk.out"))
    args = parser.parse_args()
    try:
        # A summary reads templates only: the Lambda asset is bundled by `make synth`.
        app, config = build_app({"aws:cdk:bundling-stacks": []}, outdir=args.outdir)
    except ConfigError as config_error:
        print(f"Configuration error: {config_error}", file=sys.stderr)
        return 1
    assembly = app.synth()
    templates = {s.stack_name: json.loads(Path(s.template_full_path).read_text()) for s in assembly.stacks}
    print(
        f"Deployment '{config.prefix}' ({config.region or 'any region'}, {config.account or 'any account'})"
    )
    for name, template in templates.items():
        counts = Counter(r["Type"] for r in template.get("Resources", {}).values())
        print(f"\nStack {name}: {sum(counts.values())} resources")
        for resource_type, count in sorted(counts.items()):
            print(f"  {count:3d}  {resource_type}")
    print("\nSecurity posture")
    checks = posture(templates)
    for text, ok in checks:
        print(f"  [{'ok' if ok else 'NO'}] {text}")
    errors = nag_errors(assembly)
    print(f"  [{'ok' if not errors else 'NO'}] cdk-nag AwsSolutions: {len(errors)} unacknowledged finding(s)")
    for error in errors:
        print(f"       {error}")
    return 0 if all(ok for _, ok in checks) and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
