"""Small Pulumi programs for the rule tests, synthesized offline in ~0.1 s.

``good_program`` declares one region's worth of every kind of resource the
rules read, the way the shipped stack must: each rule passes on it. Failing
cases change a copy of its plan, or run a small program of their own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import pulumi
import pulumi_aws as aws

from rollout.synth.model import PlannedResource, StackPlan
from rollout.synth.runner import Synthesizer

ACCOUNT = "123456789012"
REGION = "us-east-1"


def synthesize(
    program: Callable[[], None], stack: str = "test-us-east-1", region: str = REGION
) -> StackPlan:
    return Synthesizer("rollout", program).synthesize(stack, region, {})


def _json(document: dict) -> str:
    return json.dumps(document, sort_keys=True)


def _policy(*statements: dict) -> str:
    return _json({"Version": "2012-10-17", "Statement": list(statements)})


def good_program(region: str = REGION, env: str = "test") -> Callable[[], None]:
    """A program for ``region`` that every rule accepts."""

    def program() -> None:
        provider = aws.Provider(f"aws-{region}", region=region)
        opts = pulumi.ResourceOptions(provider=provider)

        def name(purpose: str) -> str:
            return f"rollout-{env}-{region}-{purpose}"

        def with_deps(*deps: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(provider=provider, depends_on=list(deps))

        root = {
            "Sid": "Root",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
        key = aws.kms.Key(
            "data-key",
            enable_key_rotation=True,
            policy=_policy(
                root,
                {
                    "Sid": "Logs",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                },
            ),
            opts=opts,
        )

        bucket = aws.s3.Bucket(
            "data", bucket=name(f"data-{ACCOUNT}"), region=region, opts=opts
        )
        aws.s3.BucketVersioning(
            "data-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=opts,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            "data-encryption",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": key.arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=opts,
        )
        aws.s3.BucketPublicAccessBlock(
            "data-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=opts,
        )
        aws.s3.BucketPolicy(
            "data-policy",
            bucket=bucket.id,
            policy=bucket.arn.apply(
                lambda arn: _policy(
                    {
                        "Sid": "TlsOnly",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [arn, f"{arn}/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                )
            ),
            opts=opts,
        )
        aws.s3.BucketLifecycleConfiguration(
            "data-lifecycle",
            bucket=bucket.id,
            rules=[
                {
                    "id": "processed",
                    "status": "Enabled",
                    "filter": {"prefix": "processed/"},
                    "expiration": {"days": 30},
                    "noncurrent_version_expiration": {"noncurrent_days": 30},
                }
            ],
            opts=opts,
        )

        queue = aws.sqs.Queue(
            "processor-dlq",
            name=name("processor-dlq"),
            kms_master_key_id=key.arn,
            opts=opts,
        )
        topic = aws.sns.Topic(
            "alarms", name=name("alarms"), kms_master_key_id=key.arn, opts=opts
        )
        table = aws.dynamodb.Table(
            "items",
            name=name("items"),
            billing_mode="PROVISIONED",
            hash_key="pk",
            attributes=[{"name": "pk", "type": "S"}],
            read_capacity=5,
            write_capacity=5,
            server_side_encryption={"enabled": True, "kms_key_arn": key.arn},
            opts=pulumi.ResourceOptions(
                provider=provider, ignore_changes=["readCapacity", "writeCapacity"]
            ),
        )
        for dimension in ("Read", "Write"):
            aws.appautoscaling.Target(
                f"items-{dimension.lower()}-target",
                service_namespace="dynamodb",
                resource_id=table.name.apply(lambda n: f"table/{n}"),
                scalable_dimension=f"dynamodb:table:{dimension}CapacityUnits",
                min_capacity=5,
                max_capacity=100,
                opts=opts,
            )

        trust = _policy(
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        )
        xray = {
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        }

        def function(
            purpose: str, timeout: int, grants: Callable[..., list[dict]], *inputs
        ) -> aws.lambda_.Function:
            group = aws.cloudwatch.LogGroup(
                f"{purpose}-logs",
                name=f"/aws/lambda/{name(purpose)}",
                retention_in_days=7,
                kms_key_id=key.arn,
                opts=opts,
            )
            role = aws.iam.Role(
                f"{purpose}-role",
                name=name(f"{purpose}-role"),
                assume_role_policy=trust,
                opts=opts,
            )
            aws.iam.RolePolicy(
                f"{purpose}-policy",
                role=role.id,
                policy=pulumi.Output.all(group.arn, *inputs).apply(
                    lambda values: _policy(
                        {
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                            "Resource": [f"{values[0]}:*"],
                        },
                        xray,
                        *grants(*values[1:]),
                    )
                ),
                opts=opts,
            )
            extra = {}
            if purpose == "processor":
                extra["dead_letter_config"] = {"target_arn": queue.arn}
            return aws.lambda_.Function(
                purpose,
                name=name(purpose),
                role=role.arn,
                runtime="python3.12",
                handler="app.handler",
                s3_bucket=name(f"artifacts-{ACCOUNT}"),
                s3_key="lambda/x.zip",
                timeout=timeout,
                opts=with_deps(group),
                **extra,
            )

        handler = function(
            "api-handler",
            10,
            lambda table_arn: [
                {
                    "Effect": "Allow",
                    "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
                    "Resource": [table_arn],
                }
            ],
            table.arn,
        )
        processor = function(
            "processor",
            60,
            lambda bucket_arn, queue_arn, key_arn: [
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject"],
                    "Resource": [f"{bucket_arn}/*"],
                },
                {
                    "Effect": "Allow",
                    "Action": ["sqs:SendMessage"],
                    "Resource": [queue_arn],
                },
                {
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": [key_arn],
                },
            ],
            bucket.arn,
            queue.arn,
            key.arn,
        )

        permission = aws.lambda_.Permission(
            "processor-s3",
            action="lambda:InvokeFunction",
            function=processor.name,
            principal="s3.amazonaws.com",
            source_arn=bucket.arn,
            source_account=ACCOUNT,
            opts=opts,
        )
        aws.s3.BucketNotification(
            "data-notification",
            bucket=bucket.id,
            lambda_functions=[
                {
                    "lambda_function_arn": processor.arn,
                    "events": ["s3:ObjectCreated:*"],
                    "filter_prefix": "uploads/",
                }
            ],
            opts=with_deps(permission),
        )

        api = aws.apigateway.RestApi("api", name=name("api"), opts=opts)
        items = aws.apigateway.Resource(
            "items",
            rest_api=api.id,
            parent_id=api.root_resource_id,
            path_part="items",
            opts=opts,
        )
        method = aws.apigateway.Method(
            "items-get",
            rest_api=api.id,
            resource_id=items.id,
            http_method="GET",
            authorization="NONE",
            opts=opts,
        )
        integration = aws.apigateway.Integration(
            "items-get",
            rest_api=api.id,
            resource_id=items.id,
            http_method="GET",
            type="AWS_PROXY",
            integration_http_method="POST",
            uri=handler.invoke_arn,
            opts=with_deps(method),
        )
        aws.lambda_.Permission(
            "api-handler-apigw",
            action="lambda:InvokeFunction",
            function=handler.name,
            principal="apigateway.amazonaws.com",
            source_arn=api.execution_arn.apply(lambda arn: f"{arn}/prod/GET/items"),
            opts=opts,
        )
        deployment = aws.apigateway.Deployment(
            "api-deployment",
            rest_api=api.id,
            triggers={
                "redeployment": pulumi.Output.all(
                    method.id, integration.id, integration.uri
                ).apply(lambda v: hashlib.sha256(_json(v).encode()).hexdigest())
            },
            opts=with_deps(method, integration),
        )
        aws.apigateway.Stage(
            "api-stage",
            rest_api=api.id,
            deployment=deployment.id,
            stage_name="prod",
            opts=opts,
        )

        aws.cloudwatch.MetricAlarm(
            "api-handler-error-rate",
            name=name("api-handler-error-rate"),
            comparison_operator="GreaterThanThreshold",
            evaluation_periods=1,
            threshold=1,
            treat_missing_data="notBreaching",
            alarm_actions=[topic.arn],
            metric_queries=[
                {
                    "id": "errors",
                    "metric": {
                        "metric_name": "Errors",
                        "namespace": "AWS/Lambda",
                        "period": 60,
                        "stat": "Sum",
                        "dimensions": {"FunctionName": name("api-handler")},
                    },
                },
                {
                    "id": "invocations",
                    "metric": {
                        "metric_name": "Invocations",
                        "namespace": "AWS/Lambda",
                        "period": 60,
                        "stat": "Sum",
                        "dimensions": {"FunctionName": name("api-handler")},
                    },
                },
                {
                    "id": "rate",
                    "expression": "errors / invocations * 100",
                    "return_data": True,
                },
            ],
            opts=opts,
        )

    return program


def named(plan: StackPlan, name: str, type_: str | None = None) -> PlannedResource:
    """The resource called ``name`` (of ``type_``) in the plan."""
    for resource in plan.resources:
        if resource.name == name and (type_ is None or resource.type == type_):
            return resource
    raise KeyError(name)
