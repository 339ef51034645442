"""The data bucket and its upload notification."""

from __future__ import annotations

import pytest

from tests.stack.rules import (
    LIFECYCLE,
    NOTIFICATION,
    PUBLIC_ACCESS,
    assert_data_bucket,
    assert_upload_notification,
    broken,
    data_bucket,
    of_type,
)


def test_data_bucket__shipped_regions__rules_hold(stack):
    assert_data_bucket(stack)


def test_upload_notification__shipped_regions__waits_for_permission(stack):
    assert_upload_notification(stack)


def test_data_bucket__force_destroy__rule_fails(stacks):
    def empty_on_destroy(plan):
        bucket = [
            b for b in plan.resources if b.urn == data_bucket(stacks["eu-west-1"]).urn
        ]
        bucket[0].inputs["forceDestroy"] = True

    with pytest.raises(AssertionError, match="emptied"):
        assert_data_bucket(broken(stacks["eu-west-1"], empty_on_destroy))


def test_data_bucket__public_acls_allowed__rule_fails(stacks):
    def allow_acls(plan):
        for block in of_type(plan, PUBLIC_ACCESS):
            block.inputs["blockPublicAcls"] = False

    with pytest.raises(AssertionError, match="blockPublicAcls"):
        assert_data_bucket(broken(stacks["us-east-1"], allow_acls))


def test_data_bucket__lifecycle_without_noncurrent_expiry__rule_fails(stacks):
    def keep_old_versions(plan):
        del of_type(plan, LIFECYCLE)[0].inputs["rules"][0][
            "noncurrentVersionExpiration"
        ]

    with pytest.raises((AssertionError, KeyError)):
        assert_data_bucket(broken(stacks["eu-west-1"], keep_old_versions))


def test_upload_notification__no_depends_on__rule_fails(stacks):
    def race(plan):
        of_type(plan, NOTIFICATION)[0].depends_on = []

    with pytest.raises(AssertionError, match="permission"):
        assert_upload_notification(broken(stacks["eu-west-1"], race))
