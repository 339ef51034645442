"""Values only AWS can know, filled offline with values of the real shape.

Each id and ARN is derived from a hash of the stack, type and name, so a plan
is stable from one run to the next, and each has the form AWS gives it (an
``arn:aws:<service>:<region>:<account>:...`` of the right service and region,
``vpc-`` plus 17 hex digits, an execute-api invoke URL): a policy document, an
integration URI or a source ARN built from them reads like the real one.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rollout.naming import PLACEHOLDER_ACCOUNT

PARTITION = "aws"
DNS_SUFFIX = "amazonaws.com"


@dataclass(frozen=True)
class Fake:
    """What the fake cloud knows of one resource while it fills its outputs."""

    stack: str
    type: str
    name: str
    inputs: dict[str, Any]
    region: str
    account: str = PLACEHOLDER_ACCOUNT

    def hex(self, length: int, salt: str = "") -> str:
        seed = f"{self.stack}|{self.type}|{self.name}|{salt}".encode()
        return hashlib.sha256(seed).hexdigest()[:length]

    def alnum(self, length: int, salt: str = "") -> str:
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"
        number = int(self.hex(32, salt), 16)
        out = []
        for _ in range(length):
            number, rest = divmod(number, len(digits))
            out.append(digits[rest])
        return "".join(out)

    def uuid(self, salt: str = "") -> str:
        return str(uuid.UUID(self.hex(32, salt)))

    def physical(self, *keys: str) -> str:
        """The resource's name from its inputs, or a Pulumi-style auto-name."""
        for key in keys:
            value = self.inputs.get(key)
            if isinstance(value, str) and value:
                return value
        return f"{self.name}-{self.hex(7)}"

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        where = self.region if region else ""
        account = self.account if service not in ("s3",) else ""
        return f"arn:{PARTITION}:{service}:{where}:{account}:{resource}"


def _ec2(prefix: str, kind: str) -> Callable[[Fake], tuple[str, dict]]:
    def fill(fake: Fake) -> tuple[str, dict]:
        id_ = f"{prefix}-0{fake.hex(16)}"
        return id_, {"arn": fake.arn("ec2", f"{kind}/{id_}"), "ownerId": fake.account}

    return fill


def _vpc(fake: Fake) -> tuple[str, dict]:
    id_, out = _ec2("vpc", "vpc")(fake)
    out.update(
        defaultRouteTableId=f"rtb-0{fake.hex(16, 'rtb')}",
        mainRouteTableId=f"rtb-0{fake.hex(16, 'rtb')}",
        defaultSecurityGroupId=f"sg-0{fake.hex(16, 'sg')}",
        defaultNetworkAclId=f"acl-0{fake.hex(16, 'acl')}",
    )
    return id_, out


def _subnet(fake: Fake) -> tuple[str, dict]:
    id_, out = _ec2("subnet", "subnet")(fake)
    zone = fake.inputs.get("availabilityZone") or f"{fake.region}a"
    out["availabilityZone"] = zone
    return id_, out


def _eip(fake: Fake) -> tuple[str, dict]:
    id_ = f"eipalloc-0{fake.hex(16)}"
    octets = [int(fake.hex(2, str(i)), 16) for i in range(3)]
    public_ip = "3." + ".".join(str(o) for o in octets)
    return id_, {
        "allocationId": id_,
        "publicIp": public_ip,
        "arn": fake.arn("ec2", f"elastic-ip/{id_}"),
    }


def _vpc_endpoint(fake: Fake) -> tuple[str, dict]:
    id_, out = _ec2("vpce", "vpc-endpoint")(fake)
    out["prefixListId"] = f"pl-{fake.hex(8)}"
    return id_, out


def _kms_key(fake: Fake) -> tuple[str, dict]:
    key_id = fake.uuid()
    return key_id, {"keyId": key_id, "arn": fake.arn("kms", f"key/{key_id}")}


def _kms_alias(fake: Fake) -> tuple[str, dict]:
    name = fake.physical("name")
    return name, {
        "arn": fake.arn("kms", name),
        "targetKeyArn": fake.inputs.get("targetKeyId"),
    }


def _bucket(fake: Fake) -> tuple[str, dict]:
    name = fake.physical("bucket")
    return name, {
        "bucket": name,
        "arn": f"arn:{PARTITION}:s3:::{name}",
        "bucketDomainName": f"{name}.s3.{DNS_SUFFIX}",
        "bucketRegionalDomainName": f"{name}.s3.{fake.region}.{DNS_SUFFIX}",
        "hostedZoneId": "Z3AQBSTGFYJSTF",
        "region": fake.region,
    }


def _bucket_object(fake: Fake) -> tuple[str, dict]:
    key = fake.inputs.get("key") or fake.name
    return key, {
        "etag": fake.hex(32),
        "versionId": fake.alnum(32),
        "arn": f"arn:{PARTITION}:s3:::{fake.inputs.get('bucket', '')}/{key}",
    }


def _by_bucket(fake: Fake) -> tuple[str, dict]:
    return str(fake.inputs.get("bucket") or fake.physical()), {}


def _table(fake: Fake) -> tuple[str, dict]:
    name = fake.physical("name")
    stamp = "2026-01-01T00:00:00.000"
    return name, {
        "arn": fake.arn("dynamodb", f"table/{name}"),
        "streamArn": fake.arn("dynamodb", f"table/{name}/stream/{stamp}"),
        "streamLabel": stamp,
    }


def _scaling_target(fake: Fake) -> tuple[str, dict]:
    resource_id = str(fake.inputs.get("resourceId") or fake.physical())
    return resource_id, {
        "arn": fake.arn("application-autoscaling", f"scalable-target/{fake.alnum(30)}")
    }


def _scaling_policy(fake: Fake) -> tuple[str, dict]:
    name = fake.physical("name")
    resource_id = fake.inputs.get("resourceId", "")
    return name, {
        "arn": fake.arn(
            "autoscaling",
            f"scalingPolicy:{fake.uuid()}:resource/dynamodb/{resource_id}"
            f":policyName/{name}",
        ),
        "alarmArns": [],
    }


def _function(fake: Fake) -> tuple[str, dict]:
    name = fake.physical("name")
    arn = fake.arn("lambda", f"function:{name}")
    invoke = (
        f"arn:{PARTITION}:apigateway:{fake.region}:lambda:path/2015-03-31/functions/"
        f"{arn}/invocations"
    )
    return name, {
        "arn": arn,
        "qualifiedArn": f"{arn}:$LATEST",
        "invokeArn": invoke,
        "qualifiedInvokeArn": invoke,
        "version": "$LATEST",
        "lastModified": "2026-01-01T00:00:00.000+0000",
        "sourceCodeSize": 1048576,
    }


def _permission(fake: Fake) -> tuple[str, dict]:
    return fake.physical("statementId"), {}


def _role(fake: Fake) -> tuple[str, dict]:
    name = fake.physical("name")
    path = fake.inputs.get("path") or "/"
    return name, {
        "arn": f"arn:{PARTITION}:iam::{fake.account}:role{path}{name}",
        "uniqueId": "AROA" + fake.alnum(17).upper(),
        "createDate": "2026-01-01T00:00:00Z",
    }


def _role_policy(fake: Fake) -> tuple[str, dict]:
    name = fake.physical("name")
    return f"{fake.inputs.get('role', '')}:{name}", {"name": name}


def _queue(fake: Fake) -> tuple[str, dict]:
    name = fake.physical("name")
    url = f"https://sqs.{fake.region}.{DNS_SUFFIX}/{fake.account}/{name}"
    return url, {"arn": fake.arn("sqs", name), "url": url}


def _topic(fake: Fake) -> tuple[str, dict]:
    arn = fake.arn("sns", fake.physical("name"))
    return arn, {"arn": arn}


def _subscription(fake: Fake) -> tuple[str, dict]:
    topic = str(fake.inputs.get("topic") or fake.arn("sns", "topic"))
    arn = f"{topic}:{fake.uuid()}"
    return arn, {"arn": arn}


def _log_group(fake: Fake) -> tuple[str, dict]:
    name = fake.physical("name")
    return name, {"arn": fake.arn("logs", f"log-group:{name}")}


def _alarm(fake: Fake) -> tuple[str, dict]:
    name = fake.physical("name")
    return name, {"arn": fake.arn("cloudwatch", f"alarm:{name}")}


def _rest_api(fake: Fake) -> tuple[str, dict]:
    api_id = fake.alnum(10)
    return api_id, {
        "rootResourceId": fake.alnum(10, "root"),
        "executionArn": fake.arn("execute-api", api_id),
        "arn": f"arn:{PARTITION}:apigateway:{fake.region}::/restapis/{api_id}",
        "createdDate": "2026-01-01T00:00:00Z",
    }


def _api_resource(fake: Fake) -> tuple[str, dict]:
    part = fake.inputs.get("pathPart", "")
    return fake.alnum(6), {"path": f"/{part}"}


def _api_method(prefix: str) -> Callable[[Fake], tuple[str, dict]]:
    """Methods and integrations: AWS ids them by API, resource and verb."""

    def fill(fake: Fake) -> tuple[str, dict]:
        api = fake.inputs.get("restApi", "")
        resource = fake.inputs.get("resourceId", "")
        method = fake.inputs.get("httpMethod", "")
        return f"{prefix}-{api}-{resource}-{method}", {}

    return fill


def _api_deployment(fake: Fake) -> tuple[str, dict]:
    api = fake.inputs.get("restApi", "")
    return fake.alnum(6), {
        "createdDate": "2026-01-01T00:00:00Z",
        "executionArn": fake.arn("execute-api", f"{api}/"),
        "invokeUrl": f"https://{api}.execute-api.{fake.region}.{DNS_SUFFIX}/",
    }


def _api_stage(fake: Fake) -> tuple[str, dict]:
    api = fake.inputs.get("restApi", "")
    stage = fake.inputs.get("stageName", "")
    return f"ags-{api}-{stage}", {
        "arn": (
            f"arn:{PARTITION}:apigateway:{fake.region}::/restapis/{api}/stages/{stage}"
        ),
        "executionArn": fake.arn("execute-api", f"{api}/{stage}"),
        "invokeUrl": f"https://{api}.execute-api.{fake.region}.{DNS_SUFFIX}/{stage}",
    }


def _usage_plan(fake: Fake) -> tuple[str, dict]:
    plan_id = fake.alnum(6)
    return plan_id, {
        "arn": f"arn:{PARTITION}:apigateway:{fake.region}::/usageplans/{plan_id}"
    }


def _codebuild(fake: Fake) -> tuple[str, dict]:
    name = fake.physical("name")
    arn = fake.arn("codebuild", f"project/{name}")
    return arn, {"arn": arn, "name": name}


def _ssm_parameter(fake: Fake) -> tuple[str, dict]:
    name = fake.physical("name")
    resource = f"parameter{name}" if name.startswith("/") else f"parameter/{name}"
    return name, {"arn": fake.arn("ssm", resource), "version": 1}


def _provider(fake: Fake) -> tuple[str, dict]:
    return fake.uuid(), {}


_FILLERS: dict[str, Callable[[Fake], tuple[str, dict]]] = {
    "pulumi:providers:aws": _provider,
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/subnet:Subnet": _subnet,
    "aws:ec2/routeTable:RouteTable": _ec2("rtb", "route-table"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _ec2("rtbassoc", "x"),
    "aws:ec2/route:Route": _ec2("r", "route"),
    "aws:ec2/internetGateway:InternetGateway": _ec2("igw", "internet-gateway"),
    "aws:ec2/natGateway:NatGateway": _ec2("nat", "natgateway"),
    "aws:ec2/eip:Eip": _eip,
    "aws:ec2/securityGroup:SecurityGroup": _ec2("sg", "security-group"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _ec2(
        "sgr", "security-group-rule"
    ),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _ec2(
        "sgr", "security-group-rule"
    ),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:ec2/flowLog:FlowLog": _ec2("fl", "vpc-flow-log"),
    "aws:kms/key:Key": _kms_key,
    "aws:kms/alias:Alias": _kms_alias,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketV2:BucketV2": _bucket,
    "aws:s3/bucketObjectv2:BucketObjectv2": _bucket_object,
    "aws:s3/bucketObject:BucketObject": _bucket_object,
    "aws:dynamodb/table:Table": _table,
    "aws:appautoscaling/target:Target": _scaling_target,
    "aws:appautoscaling/policy:Policy": _scaling_policy,
    "aws:lambda/function:Function": _function,
    "aws:lambda/permission:Permission": _permission,
    "aws:iam/role:Role": _role,
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
    "aws:sqs/queue:Queue": _queue,
    "aws:sns/topic:Topic": _topic,
    "aws:sns/topicSubscription:TopicSubscription": _subscription,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:apigateway/restApi:RestApi": _rest_api,
    "aws:apigateway/resource:Resource": _api_resource,
    "aws:apigateway/method:Method": _api_method("agm"),
    "aws:apigateway/integration:Integration": _api_method("agi"),
    "aws:apigateway/deployment:Deployment": _api_deployment,
    "aws:apigateway/stage:Stage": _api_stage,
    "aws:apigateway/usagePlan:UsagePlan": _usage_plan,
    "aws:codebuild/project:Project": _codebuild,
    "aws:ssm/parameter:Parameter": _ssm_parameter,
}

# Resources that live in S3 and are addressed by their bucket's name.
for _token in (
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketVersioningV2:BucketVersioningV2",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
    "aws:s3/bucketNotification:BucketNotification",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
):
    _FILLERS[_token] = _by_bucket


def fake_resource(fake: Fake) -> tuple[str, dict[str, Any]]:
    """The id and the full state (inputs plus computed outputs) of a resource."""
    filler = _FILLERS.get(fake.type)
    if filler is None:
        # A type without its own shape still gets a stable id and, when its
        # module names an AWS service, an ARN of that service and region.
        service = fake.type.split(":")[1].split("/")[0] if ":" in fake.type else ""
        id_ = fake.physical("name")
        outputs = (
            {"arn": fake.arn(service, id_)} if fake.type.startswith("aws:") else {}
        )
    else:
        id_, outputs = filler(fake)
    return id_, {**fake.inputs, **{k: v for k, v in outputs.items() if v is not None}}


class UnknownInvoke(LookupError):
    """The program called a data source the offline plan cannot answer."""


def fake_invoke(token: str, args: dict[str, Any], region: str, account: str) -> dict:
    """Answers for the data sources the program calls."""
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {
            "accountId": account,
            "arn": f"arn:{PARTITION}:iam::{account}:user/rollout-plan",
            "userId": "AIDA" + "X" * 17,
            "id": account,
        }
    if token in (
        "aws:index/getRegion:getRegion",
        "aws:index/getRegion:getRegionOutput",
    ):
        return {
            "name": region,
            "region": region,
            "id": region,
            "endpoint": f"ec2.{region}.{DNS_SUFFIX}",
            "description": region,
        }
    if token == "aws:index/getPartition:getPartition":
        return {
            "partition": PARTITION,
            "dnsSuffix": DNS_SUFFIX,
            "id": PARTITION,
            "reverseDnsPrefix": "com.amazonaws",
        }
    if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
        letters = "abc"
        return {
            "names": [f"{region}{x}" for x in letters],
            "zoneIds": [
                f"{region[:3]}{region.split('-')[-1]}-az{i + 1}" for i in range(3)
            ],
            "id": region,
            "groupNames": [region],
            "region": region,
        }
    raise UnknownInvoke(
        f"the offline plan cannot answer data source '{token}'; "
        "add its answer to rollout/synth/cloud.py"
    )
