"""Pulumi's view of a stack, adapted into the plan the rules read.

``StackValidationArgs`` lists every resource with its properties, options,
provider and dependencies; :func:`to_stack_plan` turns them into
:class:`~rollout.synth.model.PlannedResource` objects, and each rule of
``rollout.checks.rules.RULES`` runs on them unchanged.

During ``pulumi preview`` some values (ids, ARNs of new resources) are not known
yet: they reach the rules as Pulumi's unknown marker, and the rules skip what
depends on them; the analysis at the end of ``pulumi up`` sees them all.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import _is_unknown

from rollout.checks.base import UNKNOWN, Rule
from rollout.checks.rules import RULES
from rollout.synth.model import PlannedResource, StackPlan

ENFORCEMENT = {
    "error": EnforcementLevel.MANDATORY,
    "warning": EnforcementLevel.ADVISORY,
}


def plain(value: Any) -> Any:
    """Properties as plain data; values not known during preview as UNKNOWN."""
    if hasattr(value, "__getitem__") and not isinstance(value, str | bytes):
        try:
            target = value["__target"]
        except (KeyError, IndexError, TypeError):
            target = value
        if isinstance(target, dict):
            return {key: plain(item) for key, item in target.items()}
        if isinstance(target, list):
            return [plain(item) for item in target]
    if _is_unknown(value):
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        # Protobuf carries every number as a double; the plan keeps integers.
        return int(value)
    return value


def _stack_of(urn: str) -> str:
    # urn:pulumi:<stack>::<project>::<type>::<name>
    return urn.split("::", 1)[0].removeprefix("urn:pulumi:")


def to_planned(resource: PolicyResource) -> PlannedResource:
    props = plain(resource.props)
    provider = resource.provider
    if resource.resource_type.startswith("pulumi:providers:"):
        region = props.get("region")
    elif provider is not None:
        region = plain(provider.props).get("region")
    else:
        region = None
    return PlannedResource(
        urn=resource.urn,
        type=resource.resource_type,
        name=resource.name,
        provider=f"{provider.urn}::" if provider is not None else "",
        region=region if isinstance(region, str) else None,
        parent=resource.parent.urn if resource.parent is not None else "",
        custom=not resource.resource_type.startswith(("rollout:", "pulumi:pulumi:")),
        depends_on=[d.urn for d in resource.dependencies],
        options={
            "ignore_changes": list(resource.opts.ignore_changes or []),
            "protect": bool(resource.opts.protect),
        },
        inputs=props,
        outputs=props,
        id=str(props.get("id") or ""),
        property_dependencies={
            key: [d.urn for d in deps]
            for key, deps in resource.property_dependencies.items()
        },
    )


def to_stack_plan(args: StackValidationArgs) -> StackPlan:
    resources = [to_planned(r) for r in args.resources]
    stack = _stack_of(resources[0].urn) if resources else ""
    providers = [r for r in resources if r.type == "pulumi:providers:aws"]
    region = next((p.region for p in providers if p.region), "") or ""
    return StackPlan(stack=stack, region=region, resources=resources)


def policy_for(rule: Rule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for result in rule([to_stack_plan(args)]):
            if result.status == "fail":
                report_violation(result.message, result.resource)

    return StackValidationPolicy(
        name=rule.id.replace(".", "-"),
        description=rule.description,
        validate=validate,
        enforcement_level=ENFORCEMENT[rule.severity],
    )


def policies() -> list[StackValidationPolicy]:
    return [policy_for(rule) for rule in RULES]
