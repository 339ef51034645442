"""The regional serverless stack: every component of one region, composed."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from regional_stack import (
    api,
    artifacts,
    codebuild,
    functions,
    keys,
    monitoring,
    network,
    secrets,
    storage,
    table,
)
from regional_stack.component import allow
from regional_stack.config import StackConfig
from regional_stack.providers import ProviderRegistry
from rollout.naming import Namer

API_HANDLER = "api-handler"
PROCESSOR = "processor"
HANDLERS = {API_HANDLER: "api.handler", PROCESSOR: "processor.handler"}
# The key powertools' DynamoDB idempotency layer reads and expires by default.
IDEMPOTENCY_KEY = "id"
IDEMPOTENCY_TTL = "expiration"


def main() -> None:
    config = StackConfig.load()
    providers = ProviderRegistry(config)
    region = config.region
    provider = providers(region)
    identity = aws.get_caller_identity_output(
        opts=pulumi.InvokeOutputOptions(provider=provider)
    )
    account_id = identity.account_id
    namer = Namer(env=config.env, region=region)

    net = network.Network(
        "network",
        network.NetworkArgs(region, config.cidr, config.az_count, namer),
        provider,
    )
    roles = functions.FunctionRoles(
        "roles", functions.FunctionRolesArgs(namer, list(HANDLERS)), provider
    )
    stack_keys = keys.Keys(
        "keys",
        keys.KeysArgs(
            region=region,
            account_id=account_id,
            namer=namer,
            queue_senders=[roles.roles[PROCESSOR].arn],
            with_secrets=bool(config.secret_names),
        ),
        provider,
    )
    data = storage.DataBucket(
        "data",
        storage.DataBucketArgs(
            bucket_name=account_id.apply(
                lambda account: Namer(config.env, region, account)("data", "s3")
            ),
            key=stack_keys.data,
            processed_expiry_days=config.processed_expiry_days,
        ),
        provider,
    )
    tables = {
        purpose: table.Table(
            purpose,
            table.TableArgs(
                table_name=namer(purpose, "dynamodb"),
                hash_key="id" if purpose == "items" else IDEMPOTENCY_KEY,
                key=stack_keys.tables,
                read=table.Bounds(config.read_capacity.min, config.read_capacity.max),
                write=table.Bounds(
                    config.write_capacity.min, config.write_capacity.max
                ),
                target_utilization=config.target_utilization,
                ttl_attribute=IDEMPOTENCY_TTL if purpose == "idempotency" else None,
            ),
            provider,
        )
        for purpose in ("items", "idempotency")
    }

    code_dependencies: list[pulumi.Resource] = []
    artifact_buckets = None
    if config.is_primary:
        artifact_buckets = artifacts.ArtifactBuckets(
            "artifacts",
            artifacts.ArtifactBucketsArgs(
                env=config.env,
                home_region=region,
                regions=config.artifact_regions,
                account_id=account_id,
                upload=artifacts.Upload(
                    key=config.artifact_key,
                    sha256=config.artifact_sha256,
                    path=config.artifact_path
                    or f".rollout/cache/{config.artifact_sha256}.zip",
                ),
            ),
            providers,
        )
        code_dependencies.append(artifact_buckets.object)
        artifact_bucket = artifact_buckets.bucket_names[region]
    else:
        artifact_bucket = artifacts.artifact_bucket_name(config.env, region, account_id)

    secret_parameters = {name: namer.parameter(name) for name in config.secret_names}
    stack_secrets = None
    if config.secret_names and stack_keys.secrets is not None:
        stack_secrets = secrets.Secrets(
            "secrets",
            secrets.SecretsArgs(
                values={
                    name: (secret_parameters[name], config.secret(name))
                    for name in config.secret_names
                },
                key=stack_keys.secrets,
            ),
            provider,
        )

    functions_ = _functions(
        config,
        namer,
        net,
        roles,
        stack_keys,
        data,
        tables,
        stack_secrets,
        artifact_bucket,
        code_dependencies,
        secret_parameters,
        provider,
    )
    storage.UploadTrigger(
        "uploads",
        storage.UploadTriggerArgs(
            bucket=data.bucket,
            function=functions_[PROCESSOR].function,
            account_id=account_id,
        ),
        provider,
    )
    rest = api.Api(
        "api",
        api.ApiArgs(
            api_name=namer("api", "apigateway"),
            usage_plan_name=namer("usage-plan", "apigateway"),
            function=functions_[API_HANDLER].function,
        ),
        provider,
    )
    alarms = monitoring.Monitoring(
        "monitoring",
        monitoring.MonitoringArgs(
            topic_name=namer("alarms", "sns"),
            key=stack_keys.messaging,
            threshold_percent=config.error_rate_percent,
            alarms=[
                *(
                    monitoring.RateAlarm(
                        label=f"{purpose}-error-rate",
                        alarm_name=namer(f"{purpose}-error-rate", "alarm"),
                        description=f"Error rate of the {purpose} function in percent",
                        namespace="AWS/Lambda",
                        errors=("errors", "Errors"),
                        total=("invocations", "Invocations"),
                        dimensions={"FunctionName": fn.function.name},
                    )
                    for purpose, fn in functions_.items()
                ),
                monitoring.RateAlarm(
                    label="api-5xx-rate",
                    alarm_name=namer("api-5xx-rate", "alarm"),
                    description="Rate of 5XX responses of the REST API in percent",
                    namespace="AWS/ApiGateway",
                    errors=("serverErrors", "5XXError"),
                    total=("requests", "Count"),
                    dimensions={
                        "ApiName": rest.rest_api.name,
                        "Stage": rest.stage.stage_name,
                    },
                ),
            ],
        ),
        provider,
    )

    if config.is_primary and artifact_buckets is not None:
        codebuild.ArtifactBuild(
            "artifact-build",
            codebuild.ArtifactBuildArgs(
                project_name=namer("artifact-build", "codebuild"),
                role_name=namer("codebuild-role", "iam_role"),
                bucket=artifact_buckets.buckets[region].bucket,
                bucket_key=artifact_buckets.keys[region],
                logs_key=stack_keys.logs,
                retention_days=config.retention_days,
                expected_sha256=config.artifact_sha256,
            ),
            provider,
        )

    pulumi.export("region", region)
    pulumi.export("role", config.role)
    pulumi.export("artifactSha256", config.artifact_sha256)
    pulumi.export("apiUrl", rest.invoke_url)
    pulumi.export("alarmNames", alarms.alarm_names)
    pulumi.export("topicArn", alarms.topic.arn)
    pulumi.export("itemsTable", tables["items"].table.name)
    pulumi.export("idempotencyTable", tables["idempotency"].table.name)
    pulumi.export("dataBucket", data.bucket.bucket)
    pulumi.export("artifactBucket", artifact_bucket)
    if artifact_buckets is not None:
        pulumi.export("artifactBuckets", artifact_buckets.bucket_names)


def _functions(
    config: StackConfig,
    namer: Namer,
    net: network.Network,
    roles: functions.FunctionRoles,
    stack_keys: keys.Keys,
    data: storage.DataBucket,
    tables: dict[str, table.Table],
    stack_secrets: secrets.Secrets | None,
    artifact_bucket: pulumi.Input[str],
    code_dependencies: list[pulumi.Resource],
    secret_parameters: dict[str, str],
    provider: aws.Provider,
) -> dict[str, functions.Function]:
    """The API handler and the processor, each with exactly the access it uses."""
    items, idempotency = tables["items"].table, tables["idempotency"].table
    shared_statements = [
        allow(
            "ReadWriteTables",
            functions.TABLE_ACTIONS,
            [items.arn, idempotency.arn],
        ),
        allow(
            "UseTablesKey",
            functions.TABLE_KEY_ACTIONS,
            [stack_keys.tables.arn],
            {
                "StringEquals": {
                    "kms:ViaService": f"dynamodb.{config.region}.amazonaws.com"
                }
            },
        ),
    ]
    if stack_secrets is not None and stack_keys.secrets is not None:
        shared_statements += [
            allow(
                "ReadSecrets",
                ["ssm:GetParameter"],
                [p.arn for _, p in sorted(stack_secrets.parameters.items())],
            ),
            allow("DecryptSecrets", ["kms:Decrypt"], [stack_keys.secrets.arn]),
        ]

    environment = {
        "ITEMS_TABLE": items.name,
        "IDEMPOTENCY_TABLE": idempotency.name,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "SECRET_PARAMETERS": functions.secret_parameters_env(secret_parameters),
    }
    bucket = data.bucket
    extra = {
        API_HANDLER: [],
        # The processor reads (a given version of) an upload and writes its
        # processed copy: nothing else of the bucket.
        PROCESSOR: [
            allow(
                "ReadUploads",
                ["s3:GetObject", "s3:GetObjectVersion"],
                [pulumi.Output.concat(bucket.arn, "/", storage.UPLOADS_PREFIX, "*")],
            ),
            allow(
                "WriteProcessed",
                ["s3:PutObject"],
                [pulumi.Output.concat(bucket.arn, "/", storage.PROCESSED_PREFIX, "*")],
            ),
            allow(
                "UseDataKey",
                ["kms:Decrypt", "kms:GenerateDataKey"],
                [stack_keys.data.arn],
            ),
        ],
    }
    built: dict[str, functions.Function] = {}
    for purpose, handler in HANDLERS.items():
        function_name = namer(purpose, "lambda")
        variables = {
            **environment,
            "POWERTOOLS_SERVICE_NAME": function_name,
        }
        if purpose == PROCESSOR:
            variables["DATA_BUCKET"] = bucket.bucket
        built[purpose] = functions.Function(
            purpose,
            functions.FunctionArgs(
                function_name=function_name,
                handler=handler,
                role=roles.roles[purpose],
                code=functions.Code(
                    artifact_bucket, config.artifact_key, config.artifact_sha256
                ),
                memory_mb=config.memory_mb,
                timeout_s=config.timeout_s,
                subnet_ids=[s.id for s in net.private_subnets],
                security_group_ids=[net.lambda_security_group.id],
                environment=variables,
                logs_key=stack_keys.logs,
                retention_days=config.retention_days,
                statements=[*shared_statements, *extra[purpose]],
                # S3 invokes the processor asynchronously: failures need a queue.
                dead_letter_key=stack_keys.messaging if purpose == PROCESSOR else None,
                dead_letter_name=(
                    namer("processor-dlq", "sqs") if purpose == PROCESSOR else None
                ),
                code_dependencies=code_dependencies,
            ),
            provider,
        )
    return built
