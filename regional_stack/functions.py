"""The Lambda functions: their roles, log groups, dead-letter queue and code."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from regional_stack.component import (
    Component,
    allow,
    assume_role_policy,
    policy_document,
)
from rollout.naming import Namer

RUNTIME = "python3.12"
ARCHITECTURE = "arm64"
LAMBDA_SERVICE = "lambda.amazonaws.com"

# Actions AWS offers no resource-level permission for: X-Ray's writes and the
# network interfaces a function in a VPC creates. The only "*" resource a role
# may hold, in one statement.
UNSCOPED_ACTIONS = [
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:UnassignPrivateIpAddresses",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
]
# What the item store (get, put, batch writes) and powertools' idempotency
# layer (conditional put, get, update, delete) call.
TABLE_ACTIONS = [
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
]
TABLE_KEY_ACTIONS = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
]


def code_sha256(sha256_hex: str) -> str:
    """The base64 of the sha256 bytes: the form Lambda reports as CodeSha256.

    pulumi-aws documents ``source_code_hash`` as a hash the provider only
    compares with its last value; giving it Lambda's own form means it also
    matches what AWS reports for the code.
    """
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()


@dataclass(frozen=True)
class FunctionRolesArgs:
    namer: Namer
    functions: list[str]


class FunctionRoles(Component):
    """One role per function, made before the keys whose policies name them."""

    def __init__(
        self,
        name: str,
        args: FunctionRolesArgs,
        provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("rollout:functions:FunctionRoles", name, provider, opts)
        self.roles: dict[str, aws.iam.Role] = {
            function: aws.iam.Role(
                f"{name}-{function}",
                name=args.namer(f"{function}-role", "iam_role"),
                assume_role_policy=assume_role_policy(LAMBDA_SERVICE),
                opts=self.child(),
            )
            for function in args.functions
        }
        self.register_outputs({k: r.arn for k, r in self.roles.items()})


@dataclass(frozen=True)
class Code:
    bucket: pulumi.Input[str]
    key: str
    sha256: str


@dataclass(frozen=True)
class FunctionArgs:
    function_name: str
    handler: str
    role: aws.iam.Role
    code: Code
    memory_mb: int
    timeout_s: int
    subnet_ids: list[pulumi.Input[str]]
    security_group_ids: list[pulumi.Input[str]]
    environment: dict[str, pulumi.Input[str]]
    logs_key: aws.kms.Key
    retention_days: int
    # Statements for what the function itself reads and writes: exact ARNs.
    statements: list[dict[str, Any]] = field(default_factory=list)
    # A key to encrypt a dead-letter queue with; None for a function without one.
    dead_letter_key: aws.kms.Key | None = None
    dead_letter_name: str | None = None
    # Resources the code must exist after, such as the uploaded artifact.
    code_dependencies: list[pulumi.Resource] = field(default_factory=list)


class Function(Component):
    def __init__(
        self,
        name: str,
        args: FunctionArgs,
        provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("rollout:functions:Function", name, provider, opts)
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{args.function_name}",
            retention_in_days=args.retention_days,
            kms_key_id=args.logs_key.arn,
            opts=self.child(),
        )

        statements = [
            allow(
                "WriteOwnLogs",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [pulumi.Output.concat(self.log_group.arn, ":log-stream:*")],
            ),
            allow("NoResourceLevelPermissions", UNSCOPED_ACTIONS, ["*"]),
            *args.statements,
        ]
        self.dead_letter_queue: aws.sqs.Queue | None = None
        if args.dead_letter_key is not None:
            self.dead_letter_queue = aws.sqs.Queue(
                f"{name}-dlq",
                name=args.dead_letter_name,
                kms_master_key_id=args.dead_letter_key.arn,
                kms_data_key_reuse_period_seconds=300,
                message_retention_seconds=1209600,
                opts=self.child(),
            )
            statements.append(
                allow(
                    "SendToDeadLetterQueue",
                    ["sqs:SendMessage"],
                    [self.dead_letter_queue.arn],
                )
            )
            statements.append(
                allow(
                    "EncryptDeadLetters",
                    ["kms:Decrypt", "kms:GenerateDataKey"],
                    [args.dead_letter_key.arn],
                )
            )

        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            name=f"{args.function_name}-access",
            role=args.role.id,
            policy=policy_document(statements),
            opts=self.child(),
        )

        # The log group must exist first, or Lambda creates it unencrypted and
        # without retention; and a VPC function's role must already allow the
        # network-interface calls when the function is created.
        self.function = aws.lambda_.Function(
            name,
            name=args.function_name,
            role=args.role.arn,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=args.handler,
            s3_bucket=args.code.bucket,
            s3_key=args.code.key,
            source_code_hash=code_sha256(args.code.sha256),
            memory_size=args.memory_mb,
            timeout=args.timeout_s,
            tracing_config={"mode": "Active"},
            vpc_config={
                "subnet_ids": args.subnet_ids,
                "security_group_ids": args.security_group_ids,
            },
            environment={"variables": args.environment},
            dead_letter_config=(
                {"target_arn": self.dead_letter_queue.arn}
                if self.dead_letter_queue is not None
                else None
            ),
            opts=self.child(
                depends_on=[self.log_group, self.policy, *args.code_dependencies]
            ),
        )
        self.register_outputs({"name": self.function.name, "arn": self.function.arn})


def secret_parameters_env(parameters: dict[str, str]) -> str:
    """``SECRET_PARAMETERS``: secret name -> SSM parameter name, as JSON."""
    return json.dumps(parameters, sort_keys=True)
