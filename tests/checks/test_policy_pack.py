"""The policy pack runs the same rules on Pulumi's view of a stack."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
from google.protobuf import json_format
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import (
    EnforcementLevel,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    StackValidationArgs,
)
from pulumi_policy.policy import PolicyCustomTimeouts, _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from rollout.checks import run_checks
from rollout.checks.rules import RULES
from rollout.synth.model import StackPlan
from tests.checks.programs import good_program, named, synthesize

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "policy_pack"))

import adapter  # noqa: E402


def analyze_stack(plan: StackPlan) -> set[tuple[str, str, str]]:
    """What Pulumi's policy analyzer reports for ``plan``, through its gRPC servicer.

    The request is built the way the Pulumi engine sends a stack: properties as
    protobuf structs, provider, dependencies and property dependencies by URN.
    """
    by_urn = {r.urn: r for r in plan.resources}
    request = analyzer_pb2.AnalyzeStackRequest()
    for resource in plan.resources:
        item = request.resources.add(
            type=resource.type,
            urn=resource.urn,
            name=resource.name,
            parent=resource.parent,
            dependencies=sorted(
                set(resource.depends_on)
                | {u for urns in resource.property_dependencies.values() for u in urns}
            ),
        )
        props = {**resource.outputs, **resource.inputs, "id": resource.id}
        json_format.ParseDict(props, item.properties)
        item.options.ignoreChanges.extend(resource.options.get("ignore_changes", []))
        item.options.protect = resource.options.get("protect", False)
        for key, urns in resource.property_dependencies.items():
            item.propertyDependencies[key].urns.extend(urns)
        if resource.provider:
            owner = by_urn[resource.provider.rsplit("::", 1)[0]]
            item.provider.type = owner.type
            item.provider.urn = owner.urn
            item.provider.name = owner.name
            json_format.ParseDict(owner.inputs, item.provider.properties)

    servicer = _PolicyAnalyzerServicer(
        "rollout", "0.0.1", adapter.policies(), EnforcementLevel.ADVISORY
    )
    response = servicer.AnalyzeStack(request, None)
    # The analyzer puts the policy's description before the message.
    return {
        (d.policyName, d.urn, d.message.split("\n", 1)[-1])
        for d in response.diagnostics
    }


@pytest.fixture(scope="module")
def good() -> StackPlan:
    return synthesize(good_program())


def as_pulumi_sees_it(plan: StackPlan) -> StackValidationArgs:
    """The plan as Pulumi hands a stack to a policy pack."""
    by_urn = {}
    for resource in plan.resources:
        options = PolicyResourceOptions(
            resource.options.get("protect", False),
            resource.options.get("ignore_changes", []),
            None,
            [],
            PolicyCustomTimeouts(0, 0, 0),
            [],
            None,
        )
        provider = None
        if resource.provider:
            owner = next(
                r for r in plan.resources if resource.provider.startswith(r.urn + "::")
            )
            provider = PolicyProviderResource(
                owner.type, unknown_checking_proxy(owner.inputs), owner.urn, owner.name
            )
        props = {**resource.outputs, **resource.inputs, "id": resource.id}
        by_urn[resource.urn] = PolicyResource(
            resource.type,
            unknown_checking_proxy(props),
            resource.urn,
            resource.name,
            options,
            provider,
            None,
            [],
            {},
        )
    for resource in plan.resources:
        pulumi_view = by_urn[resource.urn]
        sources = {u for urns in resource.property_dependencies.values() for u in urns}
        pulumi_view.dependencies = [
            by_urn[u] for u in sorted(set(resource.depends_on) | sources)
        ]
        pulumi_view.property_dependencies = {
            key: [by_urn[u] for u in urns]
            for key, urns in resource.property_dependencies.items()
        }
    return StackValidationArgs(list(by_urn.values()))


def violations(plan: StackPlan) -> set[tuple[str, str, str]]:
    args = as_pulumi_sees_it(plan)
    found = set()
    for policy in adapter.policies():

        def report(message: str, urn: str | None = None, name=policy.name) -> None:
            found.add((name, urn or "", message))

        policy.validate(args, report)
    return found


def test_policies__one_per_rule__mandatory_for_errors():
    policies = adapter.policies()

    assert [p.name for p in policies] == [r.id.replace(".", "-") for r in RULES]
    levels = {p.name: p.enforcement_level for p in policies}
    assert levels["iam-policy-valid"] == EnforcementLevel.MANDATORY
    assert levels["iam-no-duplicate-grant"] == EnforcementLevel.ADVISORY


def test_pack__good_program__no_violation(good):
    assert violations(good) == set()


def test_pack__broken_plan__reports_what_rollout_check_reports(good):
    plan = copy.deepcopy(good)
    named(plan, "api-handler", "aws:lambda/function:Function").inputs["timeout"] = 60
    named(plan, "data-key").inputs["enableKeyRotation"] = False

    expected = {
        (c.id.replace(".", "-"), c.resource, c.message)
        for c in run_checks([plan])
        if c.status == "fail"
    }

    assert {e[0] for e in expected} == {"functions-api-timeout", "kms-key-rotation"}
    assert violations(plan) == expected
    assert analyze_stack(plan) == expected


def test_analyzer__good_program__no_diagnostic(good):
    assert analyze_stack(good) == set()


def test_pack__values_unknown_during_preview__are_skipped(good):
    plan = copy.deepcopy(good)
    integration = named(plan, "items-get", "aws:apigateway/integration:Integration")
    integration.inputs["uri"] = UNKNOWN_STRING_VALUE

    assert violations(plan) == set()


def test_main__run_by_pulumi__serves_every_rule(monkeypatch):
    import runpy

    import pulumi_policy

    served = {}

    def fake_pack(name, policies, **_):
        served.update(name=name, policies=[p.name for p in policies])

    monkeypatch.setattr(pulumi_policy, "PolicyPack", fake_pack)
    pack_dir = Path(__file__).resolve().parents[2] / "policy_pack"

    runpy.run_path(str(pack_dir / "__main__.py"), run_name="__main__")

    assert served["name"] == "rollout"
    assert served["policies"] == [r.id.replace(".", "-") for r in RULES]
