"""The rules of the regional stack, each a function that reads a synthesized plan.

Each ``assert_*`` raises AssertionError naming the resource that breaks its
rule; the tests run them on the real plans and on deliberately broken copies.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from typing import Any

from rollout.naming import LIMITS, Namer
from rollout.synth.model import PlannedResource, StackPlan

ACCOUNT = "123456789012"
PROVIDER = "pulumi:providers:aws"

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
NAT = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
KEY = "aws:kms/key:Key"
BUCKET = "aws:s3/bucket:Bucket"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:"
    "BucketServerSideEncryptionConfiguration"
)
PUBLIC_ACCESS = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
TABLE = "aws:dynamodb/table:Table"
SCALING_TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
QUEUE = "aws:sqs/queue:Queue"
TOPIC = "aws:sns/topic:Topic"
REST_API = "aws:apigateway/restApi:RestApi"
METHOD = "aws:apigateway/method:Method"
INTEGRATION = "aws:apigateway/integration:Integration"
DEPLOYMENT = "aws:apigateway/deployment:Deployment"
STAGE = "aws:apigateway/stage:Stage"
USAGE_PLAN = "aws:apigateway/usagePlan:UsagePlan"
API_ACCOUNT = "aws:apigateway/account:Account"
CODEBUILD = "aws:codebuild/project:Project"
PARAMETER = "aws:ssm/parameter:Parameter"

# The only actions a role may hold on "*": AWS gives them no resource scope.
UNSCOPED_ACTIONS = {
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:UnassignPrivateIpAddresses",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
}
EXPORTS = {
    "apiUrl",
    "alarmNames",
    "topicArn",
    "itemsTable",
    "idempotencyTable",
    "dataBucket",
    "artifactBucket",
    "region",
    "role",
    "artifactSha256",
}


# -- reading a plan ---------------------------------------------------------


def of_type(plan: StackPlan, type_: str) -> list[PlannedResource]:
    return [r for r in plan.resources if r.type == type_]


def named(plan: StackPlan, type_: str, name: str) -> PlannedResource:
    matches = [r for r in of_type(plan, type_) if r.name == name]
    assert len(matches) == 1, f"{plan.stack}: expected one {type_} '{name}'"
    return matches[0]


def state(resource: PlannedResource, key: str) -> Any:
    """An input, or an output the fake cloud filled in (ids, ARNs)."""
    if key in resource.inputs:
        return resource.inputs[key]
    return resource.outputs.get(key)


def document(resource: PlannedResource, key: str = "policy") -> dict[str, Any]:
    text = resource.inputs.get(key)
    assert isinstance(text, str), f"{resource.name}: {key} is not JSON text"
    return json.loads(text)


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found = doc.get("Statement", [])
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def arn_parts(arn: str) -> dict[str, str]:
    parts = arn.split(":", 5)
    assert len(parts) == 6 and parts[0] == "arn", f"'{arn}' is not an ARN"
    return dict(
        zip(
            ("arn", "partition", "service", "region", "account", "rest"),
            parts,
            strict=True,
        )
    )


def provider_refs(plan: StackPlan) -> dict[str, str]:
    """Region -> the provider reference (``<urn>::<id>``) resources carry."""
    return {p.inputs["region"]: f"{p.urn}::{p.id}" for p in of_type(plan, PROVIDER)}


def account_namer(synth, region: str | None = None) -> Namer:
    return Namer(env=synth.env, region=region or synth.plan.region, account_id=ACCOUNT)


# -- providers ---------------------------------------------------------------


def assert_providers(synth) -> None:
    """One provider per region, used by every resource of that region; no
    default provider; no resource asks for a region other than its provider's."""
    plan = synth.plan
    providers = of_type(plan, PROVIDER)
    regions = [p.inputs.get("region") for p in providers]
    assert len(regions) == len(set(regions)), f"{plan.stack}: providers {regions}"
    refs = provider_refs(plan)
    expected = set(synth.all_regions) if synth.manifest.role == "primary" else set()
    assert set(refs) == expected | {plan.region}, f"{plan.stack}: {sorted(refs)}"

    for provider in providers:
        tags = provider.inputs["defaultTags"]["tags"]
        for key, value in synth.manifest.tags.items():
            assert tags.get(key) == value, f"{provider.name}: tag {key}"

    for resource in plan.resources:
        if not resource.custom or resource.type == PROVIDER:
            continue
        assert "::default" not in resource.provider, f"{resource.name}: default"
        assert resource.region in refs, f"{resource.name}: region {resource.region}"
        assert resource.provider == refs[resource.region], (
            f"{resource.name}: provider {resource.provider} is not the one "
            f"provider of {resource.region}"
        )
        asked = resource.inputs.get("region")
        assert asked in (None, resource.region), f"{resource.name}: region {asked}"
        if resource.region != plan.region:
            assert synth.manifest.role == "primary" and "artifacts" in resource.urn, (
                f"{resource.name} lives in {resource.region}, outside its stack"
            )


# -- network -----------------------------------------------------------------


def assert_network(synth) -> None:
    plan, manifest = synth.plan, synth.manifest
    az_count = manifest.vpc.az_count
    (vpc,) = of_type(plan, VPC)
    network = ipaddress.ip_network(vpc.inputs["cidrBlock"])
    assert network == manifest.cidr, f"VPC {network} is not {manifest.cidr}"

    subnets = of_type(plan, SUBNET)
    private = [s for s in subnets if "-private-" in s.name]
    public = [s for s in subnets if "-public-" in s.name]
    assert len(private) == len(public) == az_count, f"{len(subnets)} subnets"
    blocks = [ipaddress.ip_network(s.inputs["cidrBlock"]) for s in subnets]
    assert all(b.subnet_of(network) for b in blocks), "subnet outside the VPC"
    assert not any(
        a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :]
    ), "overlapping subnets"
    for group in (private, public):
        zones = [s.inputs["availabilityZone"] for s in group]
        assert len(set(zones)) == az_count, f"zones {zones}"
        assert all(z.startswith(plan.region) for z in zones), f"zones {zones}"
    assert not any(s.inputs.get("mapPublicIpOnLaunch") for s in private)

    nats = of_type(plan, NAT)
    public_ids = {s.id for s in public}
    eips = {e.id for e in of_type(plan, EIP)}
    assert len(nats) == az_count, f"{len(nats)} NAT gateways"
    assert {n.inputs["subnetId"] for n in nats} == public_ids, "NAT not public"
    assert {n.inputs["allocationId"] for n in nats} <= eips, "NAT without EIP"

    private_tables = [t for t in of_type(plan, ROUTE_TABLE) if "-private-" in t.name]
    nat_ids = {n.id for n in nats}
    for table in private_tables:
        targets = {r.get("natGatewayId") for r in table.inputs.get("routes", [])}
        assert targets & nat_ids, f"{table.name} routes no traffic to a NAT"
    endpoints = of_type(plan, ENDPOINT)
    services = sorted(e.inputs["serviceName"] for e in endpoints)
    assert services == [
        f"com.amazonaws.{plan.region}.dynamodb",
        f"com.amazonaws.{plan.region}.s3",
    ], f"endpoints {services}"
    table_ids = sorted(t.id for t in private_tables)
    for endpoint in endpoints:
        assert endpoint.inputs["vpcEndpointType"] == "Gateway"
        assert sorted(endpoint.inputs["routeTableIds"]) == table_ids, endpoint.name

    (group,) = of_type(plan, SECURITY_GROUP)
    assert not group.inputs.get("ingress"), "inline ingress on the Lambda group"
    assert not of_type(plan, INGRESS), "an ingress rule exists"
    egress = group.inputs.get("egress") or []
    assert [(e["protocol"], e["fromPort"], e["toPort"]) for e in egress] == [
        ("tcp", 443, 443)
    ], f"egress {egress}"


# -- keys --------------------------------------------------------------------


def key_purpose(key: PlannedResource) -> str:
    return key.name.rsplit("-", 1)[-1]


def assert_keys(synth) -> None:
    """Rotation on; root administers; exactly the named principals use the key."""
    plan = synth.plan
    root = f"arn:aws:iam::{ACCOUNT}:root"
    processor_role = next(
        r for r in of_type(plan, ROLE) if r.name.endswith("processor")
    ).outputs["arn"]
    expected = {
        "data": set(),
        "tables": set(),
        "secrets": set(),
        "key": set(),  # the artifact buckets' keys
        "logs": {f"service:logs.{plan.region}.amazonaws.com"},
        "messaging": {"service:cloudwatch.amazonaws.com", f"aws:{processor_role}"},
    }
    keys = of_type(plan, KEY)
    assert keys, "no KMS key"
    for key in keys:
        assert key.inputs.get("enableKeyRotation") is True, f"{key.name}: rotation"
        found = statements(document(key))
        admin = [s for s in found if s.get("Principal") == {"AWS": root}]
        assert len(admin) == 1 and admin[0]["Effect"] == "Allow", (
            f"{key.name}: the account root must administer the key"
        )
        principals: set[str] = set()
        for statement in found:
            if statement in admin:
                continue
            principal = statement["Principal"]
            principals |= {f"service:{p}" for p in as_list(principal.get("Service"))}
            principals |= {f"aws:{p}" for p in as_list(principal.get("AWS"))}
            assert statement["Effect"] == "Allow", key.name
            assert "kms:*" not in as_list(statement["Action"]), key.name
        assert principals == expected[key_purpose(key)], (
            f"{key.name}: principals {sorted(principals)}"
        )


# -- buckets -----------------------------------------------------------------


def _bucket_parts(plan: StackPlan, bucket: PlannedResource) -> dict[str, Any]:
    name = bucket.inputs["bucket"]

    def one(type_: str) -> PlannedResource:
        found = [r for r in of_type(plan, type_) if r.inputs.get("bucket") == name]
        assert len(found) == 1, f"{name}: {len(found)} {type_.rsplit(':', 1)[-1]}"
        return found[0]

    return {
        "versioning": one(VERSIONING),
        "encryption": one(ENCRYPTION),
        "public": one(PUBLIC_ACCESS),
        "policy": one(BUCKET_POLICY),
    }


def assert_secured_bucket(plan: StackPlan, bucket: PlannedResource) -> None:
    """Versioning on, SSE-KMS with a key of the bucket's region and the bucket
    key, every public access block, and a policy denying requests without TLS."""
    parts = _bucket_parts(plan, bucket)
    status = parts["versioning"].inputs["versioningConfiguration"]["status"]
    assert status == "Enabled", f"{bucket.name}: versioning {status}"

    (rule,) = parts["encryption"].inputs["rules"]
    default = rule["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms", bucket.name
    assert rule.get("bucketKeyEnabled") is True, f"{bucket.name}: bucket key"
    key_arn = arn_parts(default["kmsMasterKeyId"])
    assert (key_arn["service"], key_arn["region"]) == ("kms", bucket.region)

    public = parts["public"].inputs
    for flag in (
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
    ):
        assert public.get(flag) is True, f"{bucket.name}: {flag}"

    arn = bucket.outputs["arn"]
    denies = [
        s
        for s in statements(document(parts["policy"]))
        if s["Effect"] == "Deny"
        and s.get("Principal") == "*"
        and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert denies, f"{bucket.name}: no TLS-only deny"
    assert set(as_list(denies[0]["Resource"])) == {arn, f"{arn}/*"}, bucket.name


def data_bucket(synth) -> PlannedResource:
    name = account_namer(synth)("data", "s3")
    found = [b for b in of_type(synth.plan, BUCKET) if b.inputs["bucket"] == name]
    assert len(found) == 1, f"no data bucket {name}"
    return found[0]


def assert_data_bucket(synth) -> None:
    plan, days = synth.plan, synth.manifest.s3.processed_expiry_days
    bucket = data_bucket(synth)
    assert not bucket.inputs.get("forceDestroy"), "the data bucket is emptied"
    assert_secured_bucket(plan, bucket)

    name = bucket.inputs["bucket"]
    (lifecycle,) = [r for r in of_type(plan, LIFECYCLE) if r.inputs["bucket"] == name]
    (rule,) = lifecycle.inputs["rules"]
    assert rule["status"] == "Enabled" and rule["filter"] == {"prefix": "processed/"}
    assert rule["expiration"]["days"] == days, "current versions"
    assert rule["noncurrentVersionExpiration"]["noncurrentDays"] == days


def assert_upload_notification(synth) -> None:
    """uploads/ goes to the processor, only after S3 may invoke it."""
    plan = synth.plan
    bucket = data_bucket(synth)
    processor = named(plan, FUNCTION, "processor")
    (notification,) = of_type(plan, NOTIFICATION)
    assert notification.inputs["bucket"] == bucket.inputs["bucket"]
    (target,) = notification.inputs["lambdaFunctions"]
    assert target["lambdaFunctionArn"] == processor.outputs["arn"]
    assert target["filterPrefix"] == "uploads/"

    by_urn = plan.by_urn()
    permissions = [by_urn[u] for u in notification.depends_on if u in by_urn]
    permissions = [p for p in permissions if p.type == PERMISSION]
    assert permissions, "the notification does not wait for the permission"
    (permission,) = permissions
    assert permission.inputs["principal"] == "s3.amazonaws.com"
    assert permission.inputs["sourceArn"] == bucket.outputs["arn"]
    assert permission.inputs["sourceAccount"] == ACCOUNT
    assert permission.inputs["function"] == processor.inputs["name"]


# -- tables ------------------------------------------------------------------


def assert_tables(synth) -> None:
    plan, settings = synth.plan, synth.manifest.dynamodb
    tables = {t.name: t for t in of_type(plan, TABLE)}
    assert set(tables) == {"items", "idempotency"}, sorted(tables)
    tables_key = named(plan, KEY, "keys-tables").outputs["arn"]
    targets = of_type(plan, SCALING_TARGET)
    policies = of_type(plan, SCALING_POLICY)
    for table in tables.values():
        inputs = table.inputs
        assert inputs["billingMode"] == "PROVISIONED", table.name
        assert set(table.options["ignore_changes"]) >= {
            "readCapacity",
            "writeCapacity",
        }, f"{table.name}: autoscaling's changes would be undone"
        assert inputs["pointInTimeRecovery"] == {"enabled": True}, table.name
        assert inputs["serverSideEncryption"] == {
            "enabled": True,
            "kmsKeyArn": tables_key,
        }, table.name
        resource_id = f"table/{inputs['name']}"
        for dimension, bounds in (
            ("Read", settings.read_capacity),
            ("Write", settings.write_capacity),
        ):
            scalable = f"dynamodb:table:{dimension}CapacityUnits"
            (target,) = [
                t
                for t in targets
                if t.inputs["resourceId"] == resource_id
                and t.inputs["scalableDimension"] == scalable
            ]
            assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (
                bounds.min,
                bounds.max,
            ), target.name
            (policy,) = [
                p
                for p in policies
                if p.inputs["resourceId"] == resource_id
                and p.inputs["scalableDimension"] == scalable
            ]
            assert policy.inputs["policyType"] == "TargetTrackingScaling"
            config = policy.inputs["targetTrackingScalingPolicyConfiguration"]
            assert config["targetValue"] == settings.target_utilization
            metric = config["predefinedMetricSpecification"]["predefinedMetricType"]
            assert metric == f"DynamoDB{dimension}CapacityUtilization", metric

    idempotency = tables["idempotency"].inputs
    assert idempotency["hashKey"] == "id"
    assert idempotency["ttl"] == {"enabled": True, "attributeName": "expiration"}


# -- functions ---------------------------------------------------------------


def assert_functions(synth) -> None:
    plan, manifest = synth.plan, synth.manifest
    by_urn = plan.by_urn()
    artifact_bucket = account_namer(synth)("artifacts", "s3")
    code_hash = base64.b64encode(bytes.fromhex(synth.artifact.sha256)).decode()
    private_subnets = sorted(
        s.id for s in of_type(plan, SUBNET) if "-private-" in s.name
    )
    (group,) = of_type(plan, SECURITY_GROUP)
    tables = {t.name: t.inputs["name"] for t in of_type(plan, TABLE)}
    logs_key = named(plan, KEY, "keys-logs").outputs["arn"]
    expected = {"api-handler": "api.handler", "processor": "processor.handler"}

    functions = {f.name: f for f in of_type(plan, FUNCTION)}
    assert set(functions) == set(expected), sorted(functions)
    for purpose, function in functions.items():
        inputs = function.inputs
        assert inputs["handler"] == expected[purpose]
        assert inputs["runtime"] == "python3.12" and inputs["architectures"] == [
            "arm64"
        ]
        assert inputs["s3Bucket"] == artifact_bucket, inputs["s3Bucket"]
        assert inputs["s3Key"] == synth.artifact.ref.key
        assert inputs["sourceCodeHash"] == code_hash
        assert inputs["tracingConfig"] == {"mode": "Active"}
        assert inputs["memorySize"] == manifest.lambda_.memory_mb
        assert inputs["timeout"] == manifest.lambda_.timeout_s
        assert sorted(inputs["vpcConfig"]["subnetIds"]) == private_subnets
        assert inputs["vpcConfig"]["securityGroupIds"] == [group.id]

        variables = inputs["environment"]["variables"]
        keys = {
            "ITEMS_TABLE",
            "IDEMPOTENCY_TABLE",
            "POWERTOOLS_SERVICE_NAME",
            "POWERTOOLS_LOG_LEVEL",
            "SECRET_PARAMETERS",
        }
        if purpose == "processor":
            keys.add("DATA_BUCKET")
            assert variables["DATA_BUCKET"] == data_bucket(synth).inputs["bucket"]
        assert set(variables) == keys, f"{purpose}: {sorted(variables)}"
        assert variables["ITEMS_TABLE"] == tables["items"]
        assert variables["IDEMPOTENCY_TABLE"] == tables["idempotency"]
        assert isinstance(json.loads(variables["SECRET_PARAMETERS"]), dict)

        log_group = named(plan, LOG_GROUP, f"{purpose}-logs")
        assert log_group.inputs["name"] == f"/aws/lambda/{inputs['name']}"
        assert log_group.inputs["retentionInDays"] == manifest.logs.retention_days
        assert log_group.inputs["kmsKeyId"] == logs_key
        assert log_group.urn in function.depends_on, (
            f"{purpose} is not created after its log group"
        )
        if manifest.role == "primary":
            uploads = [by_urn[u] for u in function.depends_on if u in by_urn]
            assert any(u.type == OBJECT for u in uploads), "code before upload"

    queues = of_type(plan, QUEUE)
    assert len(queues) == 1, f"{len(queues)} queues"
    (queue,) = queues
    messaging_key = named(plan, KEY, "keys-messaging").outputs["arn"]
    assert queue.inputs["kmsMasterKeyId"] == messaging_key
    assert functions["processor"].inputs["deadLetterConfig"] == {
        "targetArn": queue.outputs["arn"]
    }
    assert not functions["api-handler"].inputs.get("deadLetterConfig")


# -- IAM ---------------------------------------------------------------------


def assert_identity_policies(synth) -> None:
    """Inline policies only; no wildcard action; "*" only for the actions AWS
    cannot scope, once per role; every other resource an exact ARN here."""
    plan = synth.plan
    forbidden = [
        r
        for r in plan.resources
        if r.type.startswith("aws:iam/") and r.type not in (ROLE, ROLE_POLICY)
    ]
    assert not forbidden, f"{[r.type for r in forbidden]}"

    roles = of_type(plan, ROLE)
    for role in roles:
        assert not role.inputs.get("managedPolicyArns"), f"{role.name}: managed"
        trust = statements(document(role, "assumeRolePolicy"))
        assert len(trust) == 1 and trust[0]["Action"] == "sts:AssumeRole"

    policies = of_type(plan, ROLE_POLICY)
    assert {p.inputs["role"] for p in policies} == {r.inputs["name"] for r in roles}, (
        "a role without its inline policy"
    )
    for policy in policies:
        text = policy.inputs["policy"]
        assert text == json.dumps(json.loads(text), sort_keys=True), (
            f"{policy.name}: keys not sorted"
        )
        unscoped = 0
        for statement in statements(document(policy)):
            actions = as_list(statement["Action"])
            assert statement["Effect"] == "Allow", policy.name
            for action in actions:
                assert action != "*" and not action.endswith(":*"), (
                    f"{policy.name}: wildcard action {action}"
                )
            resources = as_list(statement["Resource"])
            if "*" in resources:
                unscoped += 1
                assert resources == ["*"], f"{policy.name}: '*' mixed with ARNs"
                assert set(actions) <= UNSCOPED_ACTIONS, (
                    f"{policy.name}: {sorted(set(actions) - UNSCOPED_ACTIONS)} on '*'"
                )
                continue
            for resource in resources:
                parts = arn_parts(resource)
                rest = parts["rest"]
                if parts["service"] == "s3":
                    # Objects of one bucket ("bucket/*") are still that bucket's.
                    assert parts["region"] == "", resource
                    assert "*" not in rest.split("/")[0], resource
                    continue
                assert parts["region"] == plan.region, (
                    f"{policy.name}: {resource} is not in {plan.region}"
                )
                assert parts["account"] == ACCOUNT, resource
                # The streams of one log group are the only other wildcard.
                assert "*" not in rest or (
                    rest.endswith(":log-stream:*") and rest.count("*") == 1
                ), f"{policy.name}: {resource} is a wildcard"
        assert unscoped <= 1, f"{policy.name}: '*' in {unscoped} statements"


def assert_function_access(synth) -> None:
    """Each function may reach exactly its own log group, tables, bucket, queue."""
    plan = synth.plan
    tables = sorted(t.outputs["arn"] for t in of_type(plan, TABLE))
    bucket = data_bucket(synth).outputs["arn"]
    (queue,) = of_type(plan, QUEUE)
    for purpose in ("api-handler", "processor"):
        policy = named(plan, ROLE_POLICY, f"{purpose}-policy")
        found = statements(document(policy))
        resources = {r for s in found for r in as_list(s["Resource"])}
        log_group = named(plan, LOG_GROUP, f"{purpose}-logs").outputs["arn"]
        assert f"{log_group}:log-stream:*" in resources, purpose
        assert set(tables) <= resources, purpose
        touches_bucket = any(r.startswith(bucket) for r in resources)
        touches_queue = queue.outputs["arn"] in resources
        assert touches_bucket == touches_queue == (purpose == "processor"), (
            f"{purpose}: bucket {touches_bucket}, queue {touches_queue}"
        )


# -- API ---------------------------------------------------------------------


def assert_api(synth) -> None:
    plan = synth.plan
    assert not of_type(plan, API_ACCOUNT), "an apigateway.Account in the stack"
    (api,) = of_type(plan, REST_API)
    handler = named(plan, FUNCTION, "api-handler")
    methods = of_type(plan, METHOD)
    integrations = of_type(plan, INTEGRATION)
    resources = {
        r.id: r.inputs["pathPart"]
        for r in of_type(plan, "aws:apigateway/resource:Resource")
    }
    routes = sorted(
        (m.inputs["httpMethod"], resources[m.inputs["resourceId"]]) for m in methods
    )
    assert routes == [("GET", "{id}"), ("POST", "items")], routes

    invoke_arn = handler.outputs["invokeArn"]
    assert arn_parts(invoke_arn)["region"] == plan.region
    for integration in integrations:
        assert integration.inputs["type"] == "AWS_PROXY"
        assert integration.inputs["integrationHttpMethod"] == "POST"
        assert integration.inputs["uri"] == invoke_arn, integration.inputs["uri"]

    (stage,) = of_type(plan, STAGE)
    assert stage.inputs["xrayTracingEnabled"] is True
    stage_name = stage.inputs["stageName"]
    execution = api.outputs["executionArn"]
    source_arns = sorted(
        p.inputs["sourceArn"]
        for p in of_type(plan, PERMISSION)
        if p.inputs["principal"] == "apigateway.amazonaws.com"
    )
    assert source_arns == [
        f"{execution}/{stage_name}/GET/items/*",
        f"{execution}/{stage_name}/POST/items",
    ], source_arns

    (deployment,) = of_type(plan, DEPLOYMENT)
    assert deployment.inputs.get("triggers"), "no redeployment trigger"
    needed = {r.urn for r in methods + integrations}
    assert needed <= set(deployment.depends_on), "deployment before its methods"
    assert stage.inputs["deployment"] == deployment.id
    (usage,) = of_type(plan, USAGE_PLAN)
    assert usage.inputs["apiStages"] == [{"apiId": api.id, "stage": stage_name}]


# -- monitoring --------------------------------------------------------------


def assert_alarms(synth) -> None:
    plan = synth.plan
    (topic,) = of_type(plan, TOPIC)
    messaging_key = named(plan, KEY, "keys-messaging").outputs["arn"]
    assert topic.inputs["kmsMasterKeyId"] == messaging_key
    alarms = of_type(plan, ALARM)
    assert len(alarms) == 3, f"{len(alarms)} alarms"
    for alarm in alarms:
        inputs = alarm.inputs
        for field in ("metricName", "namespace", "statistic", "period", "dimensions"):
            assert field not in inputs, f"{alarm.name}: top-level {field}"
        queries = inputs["metricQueries"]
        for query in queries:
            assert re.match(r"^[a-z][A-Za-z0-9_]*$", query["id"]), query["id"]
        returned = [q for q in queries if q.get("returnData")]
        assert len(returned) == 1, f"{alarm.name}: {len(returned)} results"
        metrics = {q["id"]: q["metric"]["metricName"] for q in queries if "metric" in q}
        errors, total = returned[0]["expression"].replace("* 100", "").split("/")
        pair = (metrics[errors.strip()], metrics[total.strip()])
        assert pair in {("Errors", "Invocations"), ("5XXError", "Count")}, pair
        assert returned[0]["expression"].endswith("* 100")
        assert inputs["treatMissingData"] == "notBreaching"
        assert inputs["threshold"] == synth.manifest.alarms.error_rate_percent
        assert inputs["alarmActions"] == [topic.outputs["arn"]], alarm.name


# -- artifacts ----------------------------------------------------------------


def assert_artifact_buckets(synth) -> None:
    plan = synth.plan
    buckets = {
        b.inputs["bucket"]: b
        for b in of_type(plan, BUCKET)
        if "-artifacts-" in b.inputs["bucket"]
    }
    if synth.manifest.role != "primary":
        assert not buckets, "a secondary stack owns artifact buckets"
        assert not of_type(plan, CODEBUILD) and not of_type(plan, OBJECT)
        return

    refs = provider_refs(plan)
    expected = {
        account_namer(synth, r)("artifacts", "s3"): r for r in synth.all_regions
    }
    assert set(buckets) == set(expected), sorted(buckets)
    for name, bucket in buckets.items():
        region = expected[name]
        assert bucket.region == region and bucket.provider == refs[region], name
        assert bucket.inputs.get("forceDestroy") is True, f"{name} not emptied"
        assert_secured_bucket(plan, bucket)

    (upload,) = of_type(plan, OBJECT)
    home = account_namer(synth)("artifacts", "s3")
    assert upload.inputs["bucket"] == home
    assert upload.inputs["key"] == synth.artifact.ref.key
    # The plan does not depend on where the project is checked out: the zip is
    # named by its hash under the cache, and apply sets its absolute path.
    sha = synth.artifact.sha256
    assert upload.inputs["source"] == {"asset": f".rollout/cache/{sha}.zip"}
    (build,) = of_type(plan, CODEBUILD)
    assert build.inputs["source"]["location"].startswith(f"{home}/")


# -- exports and names ----------------------------------------------------------


def assert_exports(synth) -> None:
    plan, outputs = synth.plan, synth.plan.outputs
    expected = set(EXPORTS)
    if synth.manifest.role == "primary":
        expected.add("artifactBuckets")
    assert set(outputs) == expected, sorted(set(outputs) ^ expected)
    (stage,) = of_type(plan, STAGE)
    assert outputs["apiUrl"] == stage.outputs["invokeUrl"]
    assert sorted(outputs["alarmNames"]) == sorted(
        a.inputs["name"] for a in of_type(plan, ALARM)
    )
    assert outputs["topicArn"] == of_type(plan, TOPIC)[0].outputs["arn"]
    assert outputs["dataBucket"] == data_bucket(synth).inputs["bucket"]
    assert outputs["artifactBucket"] == account_namer(synth)("artifacts", "s3")
    assert outputs["region"] == plan.region
    assert outputs["artifactSha256"] == synth.artifact.sha256
    if synth.manifest.role == "primary":
        assert outputs["artifactBuckets"] == {
            r: account_namer(synth, r)("artifacts", "s3") for r in synth.all_regions
        }


# Input keys that hold a physical name, per kind of limit.
NAME_KEYS = {
    BUCKET: ("bucket", "s3"),
    ROLE: ("name", "iam_role"),
    FUNCTION: ("name", "lambda"),
    TABLE: ("name", "dynamodb"),
    QUEUE: ("name", "sqs"),
    TOPIC: ("name", "sns"),
    ALARM: ("name", "alarm"),
    CODEBUILD: ("name", "codebuild"),
    REST_API: ("name", "apigateway"),
}


def physical_names(plan: StackPlan) -> list[tuple[str, str, str]]:
    """(type, kind, name) of every named resource of the plan."""
    found = []
    for resource in plan.resources:
        if resource.type in NAME_KEYS:
            key, kind = NAME_KEYS[resource.type]
            found.append((resource.type, kind, resource.inputs[key]))
    return found


def assert_names(plans: list[StackPlan]) -> None:
    """Names valid, lower-case, within AWS's limits and unique across plans."""
    seen: dict[tuple[str, str], str] = {}
    for plan in plans:
        for type_, kind, name in physical_names(plan):
            assert name == name.lower(), name
            assert len(name) <= LIMITS[kind], f"{name}: over {LIMITS[kind]}"
            if kind == "s3":
                assert len(name) >= 3 and ACCOUNT in name, name
            # Artifact buckets of other regions are named alike in every env's
            # primary only; within one plan set each name belongs to one stack.
            other = seen.setdefault((type_, name), plan.stack)
            assert other == plan.stack, f"{name} in {other} and {plan.stack}"


# -- deliberately broken variants ---------------------------------------------------


def broken(synth, change) -> Any:
    """A copy of ``synth`` whose plan ``change(plan)`` has edited in place."""
    import copy
    import dataclasses

    plan = copy.deepcopy(synth.plan)
    change(plan)
    return dataclasses.replace(synth, plan=plan)


def set_policy(resource: PlannedResource, doc: dict[str, Any], key="policy") -> None:
    resource.inputs[key] = json.dumps(doc, sort_keys=True)


def assert_secrets(synth) -> None:
    """Each declared secret: a SecureString under the secrets key, value secret."""
    plan = synth.plan
    parameters = {p.inputs["name"]: p for p in of_type(plan, PARAMETER)}
    namer = account_namer(synth)
    expected = {namer.parameter(name) for name in synth.manifest.secrets}
    assert set(parameters) == expected, sorted(parameters)
    if not expected:
        return
    key = named(plan, KEY, "keys-secrets").outputs["arn"]
    for name, parameter in parameters.items():
        assert parameter.inputs["type"] == "SecureString", f"{name}: not encrypted"
        assert parameter.inputs["keyId"] == key, f"{name}: key"
        assert parameter.inputs["value"] == "[secret]", f"{name}: value in clear"
