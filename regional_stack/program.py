"""The regional serverless stack: every component of one region, composed.

Exports (names the rollout reads): ``apiUrl``, ``alarmNames``, ``topicArn``,
``itemsTable``, ``idempotencyTable``, ``dataBucket``, ``artifactBucket``,
``region``, ``role``, ``artifactSha256`` and, on the primary,
``artifactBuckets`` (region -> artifact bucket name of every region).
"""

from __future__ import annotations

from dataclasses import dataclass

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

# API Gateway stops waiting for an integration after 29 s: a longer timeout on
# the API handler only lets it run on after the caller got its 504.
API_GATEWAY_TIMEOUT_S = 29

API_HANDLER = "api-handler"
PROCESSOR = "processor"
HANDLERS = {API_HANDLER: "api.handler", PROCESSOR: "processor.handler"}
# Both tables key on "id": the item store's key, and the key and expiry
# attribute powertools' DynamoDB idempotency layer uses by default.
HASH_KEY = "id"
IDEMPOTENCY_TTL = "expiration"
LOG_LEVEL = "INFO"


def main() -> None:
    RegionalStack(StackConfig.load()).build()


@dataclass
class ArtifactSource:
    """Where this region's functions take their code from."""

    bucket: pulumi.Input[str]
    dependencies: list[pulumi.Resource]
    buckets: artifacts.ArtifactBuckets | None


class RegionalStack:
    """Declares one region's stack, component after component."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.region = config.region
        self.providers = ProviderRegistry(config)
        self.provider = self.providers(config.region)
        self.namer = Namer(env=config.env, region=config.region)
        self.account_id = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(provider=self.provider)
        ).account_id

    def build(self) -> None:
        net = self.network()
        roles = functions.FunctionRoles(
            "roles",
            functions.FunctionRolesArgs(self.namer, list(HANDLERS)),
            self.provider,
        )
        stack_keys = self.keys(roles)
        data = self.data_bucket(stack_keys)
        tables = self.tables(stack_keys)
        source = self.artifact_source()
        stack_secrets = self.secrets(stack_keys)
        built = self.functions(
            net, roles, stack_keys, data, tables, source, stack_secrets
        )
        storage.UploadTrigger(
            "uploads",
            storage.UploadTriggerArgs(
                bucket=data.bucket,
                function=built[PROCESSOR].function,
                account_id=self.account_id,
            ),
            self.provider,
        )
        rest = api.Api(
            "api",
            api.ApiArgs(
                api_name=self.namer("api", "apigateway"),
                usage_plan_name=self.namer("usage-plan", "apigateway"),
                function=built[API_HANDLER].function,
            ),
            self.provider,
        )
        alarms = self.monitoring(stack_keys, built, rest)
        if source.buckets is not None:
            self.artifact_build(source.buckets, stack_keys)
        self.export(rest, alarms, tables, data, source)

    def network(self) -> network.Network:
        config = self.config
        return network.Network(
            "network",
            network.NetworkArgs(self.region, config.cidr, config.az_count, self.namer),
            self.provider,
        )

    def keys(self, roles: functions.FunctionRoles) -> keys.Keys:
        return keys.Keys(
            "keys",
            keys.KeysArgs(
                region=self.region,
                account_id=self.account_id,
                namer=self.namer,
                queue_senders=[roles.roles[PROCESSOR].arn],
                with_secrets=bool(self.config.secret_names),
            ),
            self.provider,
        )

    def data_bucket(self, stack_keys: keys.Keys) -> storage.DataBucket:
        env, region = self.config.env, self.region
        return storage.DataBucket(
            "data",
            storage.DataBucketArgs(
                bucket_name=self.account_id.apply(
                    lambda account: Namer(env, region, account)("data", "s3")
                ),
                key=stack_keys.data,
                processed_expiry_days=self.config.processed_expiry_days,
            ),
            self.provider,
        )

    def tables(self, stack_keys: keys.Keys) -> dict[str, table.Table]:
        config = self.config
        read = table.Bounds(config.read_capacity.min, config.read_capacity.max)
        write = table.Bounds(config.write_capacity.min, config.write_capacity.max)
        ttl = {"items": None, "idempotency": IDEMPOTENCY_TTL}
        return {
            purpose: table.Table(
                purpose,
                table.TableArgs(
                    table_name=self.namer(purpose, "dynamodb"),
                    hash_key=HASH_KEY,
                    key=stack_keys.tables,
                    read=read,
                    write=write,
                    target_utilization=config.target_utilization,
                    ttl_attribute=ttl[purpose],
                ),
                self.provider,
            )
            for purpose in ttl
        }

    def artifact_source(self) -> ArtifactSource:
        """The primary owns every region's artifact bucket and uploads the
        artifact; any other region names its bucket without waiting for it."""
        config = self.config
        if not config.is_primary:
            name = artifacts.artifact_bucket_name(
                config.env, self.region, self.account_id
            )
            return ArtifactSource(name, [], None)

        # A stack file rendered without the path still finds rollout's cache
        # when the program runs from the project root.
        path = config.artifact_path or f".rollout/cache/{config.artifact_sha256}.zip"
        buckets = artifacts.ArtifactBuckets(
            "artifacts",
            artifacts.ArtifactBucketsArgs(
                env=config.env,
                home_region=self.region,
                regions=config.artifact_regions,
                account_id=self.account_id,
                upload=artifacts.Upload(
                    config.artifact_key, config.artifact_sha256, path
                ),
            ),
            self.providers,
        )
        return ArtifactSource(
            buckets.bucket_names[self.region], [buckets.object], buckets
        )

    def secrets(self, stack_keys: keys.Keys) -> secrets.Secrets | None:
        config = self.config
        if not config.secret_names or stack_keys.secrets is None:
            return None
        return secrets.Secrets(
            "secrets",
            secrets.SecretsArgs(
                values={
                    name: (self.namer.parameter(name), config.secret(name))
                    for name in config.secret_names
                },
                key=stack_keys.secrets,
            ),
            self.provider,
        )

    def functions(
        self,
        net: network.Network,
        roles: functions.FunctionRoles,
        stack_keys: keys.Keys,
        data: storage.DataBucket,
        tables: dict[str, table.Table],
        source: ArtifactSource,
        stack_secrets: secrets.Secrets | None,
    ) -> dict[str, functions.Function]:
        """The API handler and the processor, each with exactly the access it uses."""
        config = self.config
        items, idempotency = tables["items"].table, tables["idempotency"].table
        bucket = data.bucket
        shared = [
            allow(
                "ReadWriteTables", functions.TABLE_ACTIONS, [items.arn, idempotency.arn]
            ),
            allow(
                "UseTablesKey",
                functions.TABLE_KEY_ACTIONS,
                [stack_keys.tables.arn],
                {
                    "StringEquals": {
                        "kms:ViaService": f"dynamodb.{self.region}.amazonaws.com"
                    }
                },
            ),
        ]
        if stack_secrets is not None and stack_keys.secrets is not None:
            shared += [
                allow("ReadSecrets", ["ssm:GetParameter"], stack_secrets.arns),
                allow("DecryptSecrets", ["kms:Decrypt"], [stack_keys.secrets.arn]),
            ]
        own = {
            API_HANDLER: [],
            # The processor reads (a given version of) an upload and writes its
            # processed copy: nothing else of the bucket.
            PROCESSOR: [
                allow(
                    "ReadUploads",
                    ["s3:GetObject", "s3:GetObjectVersion"],
                    [
                        pulumi.Output.concat(
                            bucket.arn, "/", storage.UPLOADS_PREFIX, "*"
                        )
                    ],
                ),
                allow(
                    "WriteProcessed",
                    ["s3:PutObject"],
                    [
                        pulumi.Output.concat(
                            bucket.arn, "/", storage.PROCESSED_PREFIX, "*"
                        )
                    ],
                ),
                allow(
                    "UseDataKey",
                    ["kms:Decrypt", "kms:GenerateDataKey"],
                    [stack_keys.data.arn],
                ),
            ],
        }
        parameters = {name: self.namer.parameter(name) for name in config.secret_names}

        built: dict[str, functions.Function] = {}
        for purpose, handler in HANDLERS.items():
            function_name = self.namer(purpose, "lambda")
            environment = {
                "ITEMS_TABLE": items.name,
                "IDEMPOTENCY_TABLE": idempotency.name,
                "POWERTOOLS_SERVICE_NAME": function_name,
                "POWERTOOLS_LOG_LEVEL": LOG_LEVEL,
                "SECRET_PARAMETERS": functions.secret_parameters_env(parameters),
            }
            asynchronous = purpose == PROCESSOR
            if asynchronous:
                environment["DATA_BUCKET"] = bucket.bucket
            built[purpose] = functions.Function(
                purpose,
                functions.FunctionArgs(
                    function_name=function_name,
                    handler=handler,
                    role=roles.roles[purpose],
                    code=functions.Code(
                        source.bucket, config.artifact_key, config.artifact_sha256
                    ),
                    memory_mb=config.memory_mb,
                    timeout_s=(
                        config.timeout_s
                        if asynchronous
                        else min(config.timeout_s, API_GATEWAY_TIMEOUT_S)
                    ),
                    subnet_ids=[s.id for s in net.private_subnets],
                    security_group_ids=[net.lambda_security_group.id],
                    environment=environment,
                    logs_key=stack_keys.logs,
                    retention_days=config.retention_days,
                    statements=[*shared, *own[purpose]],
                    # S3 invokes the processor asynchronously: failed events
                    # need a queue to land in. The API handler answers its caller.
                    dead_letter_key=stack_keys.messaging if asynchronous else None,
                    dead_letter_name=(
                        self.namer("processor-dlq", "sqs") if asynchronous else None
                    ),
                    code_dependencies=source.dependencies,
                ),
                self.provider,
            )
        return built

    def monitoring(
        self,
        stack_keys: keys.Keys,
        built: dict[str, functions.Function],
        rest: api.Api,
    ) -> monitoring.Monitoring:
        namer = self.namer
        function_alarms = [
            monitoring.RateAlarm(
                label=f"{purpose}-error-rate",
                alarm_name=namer(f"{purpose}-error-rate", "alarm"),
                description=f"Error rate of the {purpose} function in percent",
                namespace="AWS/Lambda",
                errors=("errors", "Errors"),
                total=("invocations", "Invocations"),
                dimensions={"FunctionName": function.function.name},
            )
            for purpose, function in built.items()
        ]
        api_alarm = monitoring.RateAlarm(
            label="api-5xx-rate",
            alarm_name=namer("api-5xx-rate", "alarm"),
            description="Rate of 5XX responses of the REST API in percent",
            namespace="AWS/ApiGateway",
            errors=("serverErrors", "5XXError"),
            total=("requests", "Count"),
            dimensions={"ApiName": rest.rest_api.name, "Stage": rest.stage.stage_name},
        )
        return monitoring.Monitoring(
            "monitoring",
            monitoring.MonitoringArgs(
                topic_name=namer("alarms", "sns"),
                key=stack_keys.messaging,
                threshold_percent=self.config.error_rate_percent,
                alarms=[*function_alarms, api_alarm],
            ),
            self.provider,
        )

    def artifact_build(
        self, buckets: artifacts.ArtifactBuckets, stack_keys: keys.Keys
    ) -> None:
        config = self.config
        codebuild.ArtifactBuild(
            "artifact-build",
            codebuild.ArtifactBuildArgs(
                project_name=self.namer("artifact-build", "codebuild"),
                role_name=self.namer("codebuild-role", "iam_role"),
                bucket=buckets.buckets[self.region].bucket,
                bucket_key=buckets.keys[self.region],
                logs_key=stack_keys.logs,
                retention_days=config.retention_days,
                expected_sha256=config.artifact_sha256,
            ),
            self.provider,
        )

    def export(
        self,
        rest: api.Api,
        alarms: monitoring.Monitoring,
        tables: dict[str, table.Table],
        data: storage.DataBucket,
        source: ArtifactSource,
    ) -> None:
        config = self.config
        pulumi.export("region", self.region)
        pulumi.export("role", config.role)
        pulumi.export("artifactSha256", config.artifact_sha256)
        pulumi.export("apiUrl", rest.invoke_url)
        pulumi.export("alarmNames", alarms.alarm_names)
        pulumi.export("topicArn", alarms.topic.arn)
        pulumi.export("itemsTable", tables["items"].table.name)
        pulumi.export("idempotencyTable", tables["idempotency"].table.name)
        pulumi.export("dataBucket", data.bucket.bucket)
        pulumi.export("artifactBucket", source.bucket)
        if source.buckets is not None:
            pulumi.export("artifactBuckets", source.buckets.bucket_names)
