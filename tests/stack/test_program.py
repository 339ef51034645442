"""The stack's exports: the names the rollout and the other regions rely on."""

from __future__ import annotations

import pytest

from tests.stack.rules import (
    assert_alarms,
    assert_api,
    assert_artifact_buckets,
    assert_data_bucket,
    assert_exports,
    assert_function_access,
    assert_functions,
    assert_identity_policies,
    assert_keys,
    assert_names,
    assert_network,
    assert_providers,
    assert_secrets,
    assert_tables,
    assert_upload_notification,
    broken,
)
from tests.stack.stacks import synthesize


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


@pytest.fixture(scope="module")
def every_region(shipped_root):
    return synthesize(
        shipped_root, regions=("us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2")
    )


def test_stack__every_shipped_region__every_rule_holds(every_region):
    for synth in every_region.values():
        for rule in (
            assert_providers,
            assert_network,
            assert_keys,
            assert_data_bucket,
            assert_upload_notification,
            assert_tables,
            assert_functions,
            assert_identity_policies,
            assert_function_access,
            assert_api,
            assert_alarms,
            assert_artifact_buckets,
            assert_secrets,
            assert_exports,
        ):
            rule(synth)
    assert_names([s.plan for s in every_region.values()])
