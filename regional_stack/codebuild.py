"""A CodeBuild project that rebuilds the Lambda artifact in AWS (primary only).

It reads the project's source archive from the primary's artifact bucket and
writes the zip back under the content-addressed key the functions read.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from regional_stack.component import (
    Component,
    allow,
    assume_role_policy,
    policy_document,
)

SOURCE_KEY = "sources/project.zip"
ARTIFACT_PREFIX = "lambda/"
IMAGE = "aws/codebuild/amazonlinux-aarch64-standard:3.0"

# The source archive is the project itself (lambda_code/ and rollout/). The
# build runs rollout's own build_artifact, the function `rollout` runs locally:
# sources plus the pinned requirements installed for the Lambda platform
# (binary wheels only), zipped with sorted entries, fixed times and modes, so
# both give the same bytes and the same sha256. The build fails when the
# sha256 is not the release's, and uploads nothing then.
BUILDSPEC = """\
version: 0.2
env:
  shell: bash
phases:
  install:
    runtime-versions:
      python: "3.12"
  build:
    commands:
      - >-
        python3 -c 'import pathlib;
        from rollout.artifact import build_artifact;
        print(build_artifact(pathlib.Path(".")).sha256)' > artifact.sha256
      - test "$(cat artifact.sha256)" = "$EXPECTED_SHA256"
      - >-
        aws s3 cp ".rollout/cache/$EXPECTED_SHA256.zip"
        "s3://$ARTIFACT_BUCKET/lambda/$EXPECTED_SHA256.zip"
        --sse aws:kms --sse-kms-key-id "$ARTIFACT_KEY_ARN"
"""


@dataclass(frozen=True)
class ArtifactBuildArgs:
    project_name: str
    role_name: str
    bucket: aws.s3.Bucket
    bucket_key: aws.kms.Key
    logs_key: aws.kms.Key
    retention_days: int
    expected_sha256: str


class ArtifactBuild(Component):
    def __init__(
        self,
        name: str,
        args: ArtifactBuildArgs,
        provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("rollout:codebuild:ArtifactBuild", name, provider, opts)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/codebuild/{args.project_name}",
            retention_in_days=args.retention_days,
            kms_key_id=args.logs_key.arn,
            opts=self.child(),
        )
        role = aws.iam.Role(
            f"{name}-role",
            name=args.role_name,
            assume_role_policy=assume_role_policy("codebuild.amazonaws.com"),
            opts=self.child(),
        )
        bucket_arn = args.bucket.arn
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            name=f"{args.project_name}-access",
            role=role.id,
            policy=policy_document(
                [
                    allow(
                        "WriteOwnLogs",
                        ["logs:CreateLogStream", "logs:PutLogEvents"],
                        [pulumi.Output.concat(log_group.arn, ":log-stream:*")],
                    ),
                    allow(
                        "LocateBucket",
                        ["s3:GetBucketAcl", "s3:GetBucketLocation"],
                        [bucket_arn],
                    ),
                    allow(
                        "ReadSource",
                        ["s3:GetObject", "s3:GetObjectVersion"],
                        [pulumi.Output.concat(bucket_arn, "/", SOURCE_KEY)],
                    ),
                    allow(
                        "WriteArtifact",
                        ["s3:PutObject"],
                        [pulumi.Output.concat(bucket_arn, "/", ARTIFACT_PREFIX, "*")],
                    ),
                    allow(
                        "UseBucketKey",
                        ["kms:Decrypt", "kms:GenerateDataKey"],
                        [args.bucket_key.arn],
                    ),
                ]
            ),
            opts=self.child(),
        )
        self.project = aws.codebuild.Project(
            name,
            name=args.project_name,
            description="Rebuilds the Lambda artifact from the source archive",
            service_role=role.arn,
            encryption_key=args.bucket_key.arn,
            build_timeout=15,
            source={
                "type": "S3",
                "location": pulumi.Output.concat(args.bucket.bucket, "/", SOURCE_KEY),
                "buildspec": BUILDSPEC,
            },
            artifacts={"type": "NO_ARTIFACTS"},
            environment={
                "type": "ARM_CONTAINER",
                "compute_type": "BUILD_GENERAL1_SMALL",
                "image": IMAGE,
                "environment_variables": [
                    {"name": "ARTIFACT_BUCKET", "value": args.bucket.bucket},
                    {"name": "ARTIFACT_KEY_ARN", "value": args.bucket_key.arn},
                    {"name": "EXPECTED_SHA256", "value": args.expected_sha256},
                ],
            },
            logs_config={
                "cloudwatch_logs": {"status": "ENABLED", "group_name": log_group.name}
            },
            opts=self.child(depends_on=[log_group, policy]),
        )
        self.register_outputs({"project": self.project.name})
