"""The stack's exports: the names the rollout and the other regions rely on."""

from __future__ import annotations

import pytest

from tests.stack.rules import assert_exports, broken


def test_exports__shipped_regions__every_name_present_and_true(stack):
    assert_exports(stack)


def test_exports__primary__artifact_bucket_of_every_region(stacks):
    buckets = stacks["us-east-1"].plan.outputs["artifactBuckets"]
    assert sorted(buckets) == ["ap-southeast-2", "eu-west-1", "us-east-1", "us-west-2"]
    assert buckets["eu-west-1"] == "rollout-dev-eu-west-1-artifacts-123456789012"


def test_exports__api_url__invoke_url_of_the_stage(stack):
    url = stack.plan.outputs["apiUrl"]
    assert url.startswith("https://") and url.endswith(
        f".execute-api.{stack.plan.region}.amazonaws.com/live"
    )


def test_exports__api_url_missing__rule_fails(stacks):
    def drop(plan):
        plan.outputs.pop("apiUrl")

    with pytest.raises(AssertionError, match="apiUrl"):
        assert_exports(broken(stacks["eu-west-1"], drop))
