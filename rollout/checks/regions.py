"""Region rules: providers, physical names, and one log retention per region."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from rollout.checks.base import (
    DEFAULT_PROVIDER,
    PROVIDER_PREFIX,
    Graph,
    Verdict,
    display,
    is_known,
    rule,
    value,
)
from rollout.checks.storage import LOG_GROUP

# CloudWatch Logs keeps a group's events for one of these many days.
RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
     1827, 2192, 2557, 2922, 3288, 3653}
)  # fmt: skip


def provider_urn(reference: str) -> str:
    """The provider's URN from a reference ``<provider urn>::<provider id>``."""
    return reference.rsplit("::", 1)[0] if reference.count("::") > 3 else reference


@rule(
    "providers.no-default",
    "error",
    "Every AWS resource names its region's provider; none uses the default one.",
)
def no_default(graph: Graph) -> Iterator[Verdict]:
    for resource in graph.aws_resources():
        if DEFAULT_PROVIDER in resource.provider or not resource.provider:
            yield Verdict(
                resource,
                False,
                f"{display(resource)} uses the default provider; pass the region's "
                "provider explicitly",
            )
        else:
            yield Verdict(
                resource, True, f"{display(resource)} uses an explicit provider"
            )


@rule(
    "providers.one-per-region",
    "error",
    "A stack has exactly one AWS provider per region.",
)
def one_per_region(graph: Graph) -> Iterator[Verdict]:
    first: dict[str, str] = {}
    for provider in graph.of_type(f"{PROVIDER_PREFIX}aws"):
        region = str(provider.inputs.get("region") or provider.region or "")
        if region in first:
            yield Verdict(
                provider,
                False,
                f"{display(provider)} is a second provider for {region or 'no region'}"
                f"; reuse '{first[region]}'",
            )
        else:
            first[region] = provider.name
            yield Verdict(
                provider, True, f"{display(provider)} is the one provider of {region}"
            )


@rule(
    "providers.region-match",
    "error",
    "A resource's provider names a region, and its region input, if set, matches.",
)
def region_match(graph: Graph) -> Iterator[Verdict]:
    regions = {
        provider_urn(p.urn): str(p.inputs.get("region") or "")
        for p in graph.of_type(f"{PROVIDER_PREFIX}aws")
    }
    for resource in graph.aws_resources():
        provider_region = resource.region or regions.get(
            provider_urn(resource.provider), ""
        )
        own = resource.inputs.get("region")
        if not provider_region:
            yield Verdict(
                resource,
                False,
                f"{display(resource)} has a provider that names no region; give "
                "the provider its region",
            )
        elif own is None or not is_known(own):
            yield Verdict(
                resource, True, f"{display(resource)} is in {provider_region}"
            )
        elif own == provider_region:
            yield Verdict(resource, True, f"{display(resource)} is in {own}")
        else:
            yield Verdict(
                resource,
                False,
                f"{display(resource)} sets region {own} on a provider of "
                f"{provider_region}; use the provider of {own}",
            )


@dataclass(frozen=True)
class NameRule:
    key: str
    low: int
    high: int
    pattern: str
    allowed: str


_NAME_RULES: dict[str, NameRule] = {
    "aws:s3/bucket:Bucket": NameRule(
        "bucket",
        3,
        63,
        r"[a-z0-9][a-z0-9.-]*[a-z0-9]",
        "lower-case letters, digits, "
        "dots and hyphens, starting and ending with a letter or digit",
    ),
    "aws:iam/role:Role": NameRule(
        "name", 1, 64, r"[\w+=,.@-]+", "letters, digits and +=,.@_-"
    ),
    "aws:iam/rolePolicy:RolePolicy": NameRule(
        "name", 1, 128, r"[\w+=,.@-]+", "letters, digits and +=,.@_-"
    ),
    "aws:iam/policy:Policy": NameRule(
        "name", 1, 128, r"[\w+=,.@-]+", "letters, digits and +=,.@_-"
    ),
    "aws:lambda/function:Function": NameRule(
        "name", 1, 64, r"[A-Za-z0-9_-]+", "letters, digits, hyphens and underscores"
    ),
    "aws:dynamodb/table:Table": NameRule(
        "name", 3, 255, r"[A-Za-z0-9_.-]+", "letters, digits, '_', '-' and '.'"
    ),
    "aws:sqs/queue:Queue": NameRule(
        "name", 1, 80, r"[A-Za-z0-9_-]+(\.fifo)?", "letters, digits, '_' and '-'"
    ),
    "aws:sns/topic:Topic": NameRule(
        "name", 1, 256, r"[A-Za-z0-9_-]+(\.fifo)?", "letters, digits, '_' and '-'"
    ),
    "aws:cloudwatch/logGroup:LogGroup": NameRule(
        "name", 1, 512, r"[.\-_/#A-Za-z0-9]+", "letters, digits and ._-/#"
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": NameRule(
        "name", 1, 255, r"[\x20-\x7e]+", "printable ASCII"
    ),
    "aws:kms/alias:Alias": NameRule(
        "name",
        7,
        256,
        r"alias/(?!aws/)[A-Za-z0-9/_-]+",
        "'alias/' then letters, digits and /_- (not alias/aws/)",
    ),
    "aws:codebuild/project:Project": NameRule(
        "name", 2, 150, r"[A-Za-z0-9][A-Za-z0-9_-]+", "letters, digits, '_' and '-'"
    ),
    "aws:ec2/securityGroup:SecurityGroup": NameRule(
        "name", 1, 255, r"[\x20-\x7e]+", "printable ASCII"
    ),
    "aws:apigateway/restApi:RestApi": NameRule(
        "name", 1, 1024, r"[\x20-\x7e]+", "printable ASCII"
    ),
}


def _name_problem(name: str, spec: NameRule) -> str | None:
    if not spec.low <= len(name) <= spec.high:
        return f"is {len(name)} characters, outside {spec.low}-{spec.high}"
    if not re.fullmatch(spec.pattern, name):
        return f"must hold only {spec.allowed}"
    if spec.key == "bucket" and (".." in name or name.startswith("xn--")):
        return "must not hold '..' or start with 'xn--'"
    return None


def _named(graph: Graph):
    for resource in graph.aws_resources():
        spec = _NAME_RULES.get(resource.type)
        if spec is None:
            continue
        name = resource.inputs.get(spec.key)
        if isinstance(name, str) and is_known(name):
            yield resource, spec, name


@rule(
    "names.aws-limits",
    "error",
    "Physical names are within AWS's length limits and character rules.",
)
def aws_limits(graph: Graph) -> Iterator[Verdict]:
    for resource, spec, name in _named(graph):
        problem = _name_problem(name, spec)
        if problem:
            yield Verdict(
                resource,
                False,
                f"{display(resource)} name '{name}' {problem}; change the name",
            )
        else:
            yield Verdict(resource, True, f"{display(resource)} name '{name}' is valid")


@rule(
    "names.unique-across-regions",
    "error",
    "No two resources of one kind share a physical name, in any region or stack.",
    scope="all",
)
def unique_across_regions(graphs: list[Graph]) -> Iterator[Verdict]:
    owners: dict[tuple[str, str], list[tuple[Graph, object]]] = {}
    for graph in graphs:
        for resource, _, name in _named(graph):
            owners.setdefault((resource.type, name), []).append((graph, resource))
    for (_, name), holders in owners.items():
        for graph, resource in holders:
            others = [f"{g.stack}/{r.name}" for g, r in holders if r is not resource]
            if others:
                yield Verdict(
                    resource,
                    False,
                    f"{display(resource)} in {graph.stack} is named '{name}', as is "
                    f"{', '.join(others)}; put the region in the name",
                )
            else:
                yield Verdict(resource, True, f"{display(resource)} name is unique")


@rule(
    "logs.one-retention-per-region",
    "error",
    "Every log group of a region keeps events for the region's one retention.",
    scope="all",
)
def one_retention_per_region(graphs: list[Graph]) -> Iterator[Verdict]:
    by_region: dict[str, list] = {}
    for graph in graphs:
        for group in graph.of_type(LOG_GROUP):
            by_region.setdefault(graph.region_of(group), []).append(group)
    for region, groups in by_region.items():
        values = [g.inputs.get("retentionInDays") for g in groups]
        counts = {v: values.count(v) for v in values if v}
        usual = max(counts, key=lambda v: counts[v]) if counts else None
        for group, days in zip(groups, values, strict=True):
            name = value(group, "name") or group.name
            if not days or days not in RETENTION_DAYS:
                yield Verdict(
                    group,
                    False,
                    f"{display(group)} '{name}' has retention {days!r}; set one of "
                    "CloudWatch's allowed values",
                )
            elif len(counts) > 1:
                yield Verdict(
                    group,
                    False,
                    f"{display(group)} keeps {days} days where {region} has "
                    f"{sorted(counts)}; use one retention ({usual}) in the region",
                )
            else:
                yield Verdict(
                    group, True, f"{display(group)} keeps {region}'s {days} days"
                )


RULES = [
    no_default,
    one_per_region,
    region_match,
    aws_limits,
    unique_across_regions,
    one_retention_per_region,
]
