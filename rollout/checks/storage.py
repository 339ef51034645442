"""Encryption, S3 and DynamoDB rules."""

from __future__ import annotations

from collections.abc import Iterator

from rollout.checks.base import Graph, Verdict, display, rule, value
from rollout.synth.model import PlannedResource

KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:"
    "BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:"
    "BucketServerSideEncryptionConfigurationV2",
)
VERSIONING = (
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketVersioningV2:BucketVersioningV2",
)
LIFECYCLE = (
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
)
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
TABLE = "aws:dynamodb/table:Table"
SCALING_TARGET = "aws:appautoscaling/target:Target"
QUEUE = "aws:sqs/queue:Queue"
TOPIC = "aws:sns/topic:Topic"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"

_PUBLIC_ACCESS_FLAGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)


def bucket_name(bucket: PlannedResource) -> str:
    return str(value(bucket, "bucket") or bucket.id)


def of_bucket(
    graph: Graph, bucket: PlannedResource, *tokens: str
) -> list[PlannedResource]:
    """The bucket's satellite resources (versioning, encryption, ...) of ``tokens``."""
    names = {bucket_name(bucket), bucket.id}
    return [r for r in graph.of_type(*tokens) if r.inputs.get("bucket") in names]


def _customer_key(graph: Graph, reference, resource: PlannedResource) -> str | None:
    """Why ``reference`` is not a customer-managed key of the resource's region."""
    if not reference:
        return "no KMS key is set"
    target = graph.find(reference, KEY, ALIAS)
    if target is not None and target.type == ALIAS:
        target = graph.find(target.inputs.get("targetKeyId"), KEY)
    if target is None:
        return f"'{reference}' is not a customer-managed key of this stack"
    if graph.region_of(target) != graph.region_of(resource):
        return (
            f"key '{target.name}' is in {graph.region_of(target)}, not "
            f"{graph.region_of(resource)}"
        )
    return None


def _encryption_problem(graph: Graph, resource: PlannedResource) -> str | None:
    inputs = resource.inputs
    if resource.type in BUCKETS:
        rules = [
            r
            for config in of_bucket(graph, resource, *ENCRYPTION)
            for r in config.inputs.get("rules") or []
        ]
        inline = inputs.get("serverSideEncryptionConfiguration") or {}
        if inline.get("rule"):
            rules.append(inline["rule"])
        if not rules:
            return "has no server-side encryption configuration"
        default = rules[0].get("applyServerSideEncryptionByDefault") or {}
        if default.get("sseAlgorithm") not in ("aws:kms", "aws:kms:dsse"):
            return f"uses {default.get('sseAlgorithm')!r}, not aws:kms"
        return _customer_key(graph, default.get("kmsMasterKeyId"), resource)
    if resource.type == TABLE:
        sse = inputs.get("serverSideEncryption") or {}
        if not sse.get("enabled"):
            return "has serverSideEncryption disabled (an AWS-owned key)"
        return _customer_key(graph, sse.get("kmsKeyArn"), resource)
    if resource.type in (QUEUE, TOPIC):
        return _customer_key(graph, inputs.get("kmsMasterKeyId"), resource)
    if resource.type == LOG_GROUP:
        return _customer_key(graph, inputs.get("kmsKeyId"), resource)
    return None


@rule(
    "encryption.customer-managed-key",
    "error",
    "Buckets, tables, queues, topics and log groups use a customer-managed key.",
)
def customer_managed_key(graph: Graph) -> Iterator[Verdict]:
    for resource in graph.of_type(*BUCKETS, TABLE, QUEUE, TOPIC, LOG_GROUP):
        problem = _encryption_problem(graph, resource)
        if problem:
            yield Verdict(
                resource,
                False,
                f"{display(resource)} {problem}; encrypt it with a customer-managed "
                "KMS key of its region",
            )
        else:
            yield Verdict(
                resource, True, f"{display(resource)} uses a customer-managed key"
            )


@rule(
    "s3.bucket-key-enabled",
    "warning",
    "SSE-KMS buckets turn the S3 bucket key on.",
)
def bucket_key_enabled(graph: Graph) -> Iterator[Verdict]:
    for bucket in graph.of_type(*BUCKETS):
        rules = [
            r
            for config in of_bucket(graph, bucket, *ENCRYPTION)
            for r in config.inputs.get("rules") or []
        ]
        if rules and all(r.get("bucketKeyEnabled") for r in rules):
            yield Verdict(bucket, True, f"{display(bucket)} has the bucket key on")
        else:
            yield Verdict(
                bucket,
                False,
                f"{display(bucket)} does not set bucketKeyEnabled=true on its "
                "encryption rule; turn it on",
            )


@rule("kms.key-rotation", "error", "Every symmetric KMS key rotates.")
def key_rotation(graph: Graph) -> Iterator[Verdict]:
    for key in graph.of_type(KEY):
        spec = key.inputs.get("customerMasterKeySpec") or key.inputs.get("keySpec")
        if spec not in (None, "SYMMETRIC_DEFAULT"):
            continue
        if key.inputs.get("enableKeyRotation") is True:
            yield Verdict(key, True, f"{display(key)} rotates")
        else:
            yield Verdict(
                key, False, f"{display(key)} does not rotate; set enableKeyRotation"
            )


def _versioning_enabled(graph: Graph, bucket: PlannedResource) -> bool:
    for versioning in of_bucket(graph, bucket, *VERSIONING):
        config = versioning.inputs.get("versioningConfiguration") or {}
        if config.get("status") == "Enabled":
            return True
    return bool((bucket.inputs.get("versioning") or {}).get("enabled"))


def _lifecycle_rules(graph: Graph, bucket: PlannedResource) -> list[dict]:
    rules = [
        r
        for config in of_bucket(graph, bucket, *LIFECYCLE)
        for r in config.inputs.get("rules") or []
    ]
    return rules + list(bucket.inputs.get("lifecycleRules") or [])


@rule(
    "s3.versioning-for-noncurrent-rules",
    "error",
    "Buckets with noncurrent-version lifecycle rules have versioning enabled.",
)
def versioning_for_noncurrent_rules(graph: Graph) -> Iterator[Verdict]:
    for bucket in graph.of_type(*BUCKETS):
        noncurrent = [
            r
            for r in _lifecycle_rules(graph, bucket)
            if r.get("noncurrentVersionExpiration")
            or r.get("noncurrentVersionTransitions")
            or r.get("noncurrentVersionTransition")
        ]
        if not noncurrent:
            continue
        if _versioning_enabled(graph, bucket):
            yield Verdict(
                bucket, True, f"{display(bucket)} is versioned for its noncurrent rules"
            )
        else:
            yield Verdict(
                bucket,
                False,
                f"{display(bucket)} expires noncurrent versions but versioning is "
                "not enabled; add a BucketVersioning with status Enabled",
            )


@rule(
    "s3.lifecycle-filter-prefix",
    "error",
    "Lifecycle rules select objects with filter.prefix, never a rule-level prefix.",
)
def lifecycle_filter_prefix(graph: Graph) -> Iterator[Verdict]:
    for config in graph.of_type(*LIFECYCLE):
        wrong = [
            str(r.get("id") or index)
            for index, r in enumerate(config.inputs.get("rules") or [])
            if "prefix" in r or not r.get("filter")
        ]
        if wrong:
            yield Verdict(
                config,
                False,
                f"{display(config)} rule(s) {', '.join(wrong)} use a rule-level "
                "prefix or no filter; use filter.prefix",
            )
        else:
            yield Verdict(config, True, f"{display(config)} rules use filter.prefix")


@rule(
    "s3.public-access-blocked",
    "error",
    "Every bucket blocks all four kinds of public access.",
)
def public_access_blocked(graph: Graph) -> Iterator[Verdict]:
    for bucket in graph.of_type(*BUCKETS):
        blocks = of_bucket(graph, bucket, PUBLIC_ACCESS_BLOCK)
        if any(
            all(b.inputs.get(f) is True for f in _PUBLIC_ACCESS_FLAGS) for b in blocks
        ):
            yield Verdict(bucket, True, f"{display(bucket)} blocks public access")
        else:
            yield Verdict(
                bucket,
                False,
                f"{display(bucket)} lacks a BucketPublicAccessBlock with "
                f"{', '.join(_PUBLIC_ACCESS_FLAGS)} all true; add one",
            )


def _scaling_targets(graph: Graph, table: PlannedResource) -> list[PlannedResource]:
    name = value(table, "name") or table.id
    return [
        t
        for t in graph.of_type(SCALING_TARGET)
        if t.inputs.get("serviceNamespace") == "dynamodb"
        and t.inputs.get("resourceId") == f"table/{name}"
    ]


@rule(
    "dynamodb.autoscaled-ignores-capacity",
    "error",
    "Provisioned tables under autoscaling ignore readCapacity/writeCapacity changes.",
)
def autoscaled_ignores_capacity(graph: Graph) -> Iterator[Verdict]:
    for table in graph.of_type(TABLE):
        if table.inputs.get("billingMode", "PROVISIONED") != "PROVISIONED":
            continue
        if not _scaling_targets(graph, table):
            continue
        ignored = set(table.options.get("ignore_changes") or [])
        missing = [k for k in ("readCapacity", "writeCapacity") if k not in ignored]
        if missing:
            yield Verdict(
                table,
                False,
                f"{display(table)} is autoscaled but does not ignore changes to "
                f"{', '.join(missing)}; add them to ignore_changes",
            )
        else:
            yield Verdict(
                table, True, f"{display(table)} leaves capacity to autoscaling"
            )


@rule(
    "dynamodb.autoscaling-bounds",
    "error",
    "Autoscaling targets have 1 <= minCapacity <= maxCapacity.",
)
def autoscaling_bounds(graph: Graph) -> Iterator[Verdict]:
    for target in graph.of_type(SCALING_TARGET):
        low, high = target.inputs.get("minCapacity"), target.inputs.get("maxCapacity")
        if isinstance(low, int | float) and isinstance(high, int | float):
            if 1 <= low <= high:
                yield Verdict(
                    target, True, f"{display(target)} scales from {low} to {high}"
                )
                continue
        yield Verdict(
            target,
            False,
            f"{display(target)} has minCapacity {low} and maxCapacity {high}; "
            "set 1 <= min <= max",
        )


RULES = [
    customer_managed_key,
    bucket_key_enabled,
    key_rotation,
    versioning_for_noncurrent_rules,
    lifecycle_filter_prefix,
    public_access_blocked,
    autoscaled_ignores_capacity,
    autoscaling_bounds,
]
