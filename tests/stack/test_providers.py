"""Providers: one per region, used by every resource of that region."""

from __future__ import annotations

import pytest

from tests.stack.rules import PROVIDER, assert_providers, broken, of_type


def test_providers__shipped_regions__one_per_region_on_every_resource(stack):
    assert_providers(stack)


def test_providers__primary__one_provider_for_each_artifact_region(stacks):
    plan = stacks["us-east-1"].plan
    regions = sorted(p.inputs["region"] for p in of_type(plan, PROVIDER))
    assert regions == ["ap-southeast-2", "eu-west-1", "us-east-1", "us-west-2"]


def test_providers__resource_on_default_provider__rule_fails(stacks):
    def to_default(plan):
        table = of_type(plan, "aws:dynamodb/table:Table")[0]
        table.provider = "urn:pulumi:x::rollout::pulumi:providers:aws::default::1"

    with pytest.raises(AssertionError, match="default"):
        assert_providers(broken(stacks["eu-west-1"], to_default))


def test_providers__second_provider_for_a_region__rule_fails(stacks):
    def duplicate(plan):
        import copy

        extra = copy.deepcopy(of_type(plan, PROVIDER)[0])
        extra.urn += "-again"
        plan.resources.append(extra)

    with pytest.raises(AssertionError, match="providers"):
        assert_providers(broken(stacks["eu-west-1"], duplicate))


def test_providers__resource_sets_another_region__rule_fails(stacks):
    def other_region(plan):
        of_type(plan, "aws:sqs/queue:Queue")[0].inputs["region"] = "us-west-2"

    with pytest.raises(AssertionError, match="region us-west-2"):
        assert_providers(broken(stacks["eu-west-1"], other_region))
