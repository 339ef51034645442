"""KMS keys: rotation, root administration, exactly the services that use them."""

from __future__ import annotations

import json

import pytest

from tests.stack.rules import KEY, assert_keys, broken, document, named, of_type


def test_keys__shipped_regions__rules_hold(stack):
    assert_keys(stack)


def test_keys__four_data_keys_per_region(stack):
    purposes = sorted(k.name for k in of_type(stack.plan, KEY) if "keys-" in k.name)
    assert purposes == ["keys-data", "keys-logs", "keys-messaging", "keys-tables"]


def test_keys__logs_key__scoped_to_this_region_log_groups(stack):
    policy = document(named(stack.plan, KEY, "keys-logs"))
    (logs,) = [s for s in policy["Statement"] if s["Sid"] == "CloudWatchLogs"]
    condition = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert condition == f"arn:aws:logs:{stack.plan.region}:123456789012:log-group:*"


def test_keys__extra_service_on_data_key__rule_fails(stacks):
    def add_service(plan):
        key = named(plan, KEY, "keys-data")
        policy = document(key)
        policy["Statement"].append(
            {
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": ["kms:Decrypt"],
                "Resource": "*",
            }
        )
        key.inputs["policy"] = json.dumps(policy)

    with pytest.raises(AssertionError, match="principals"):
        assert_keys(broken(stacks["us-east-1"], add_service))


def test_keys__rotation_off__rule_fails(stacks):
    def no_rotation(plan):
        named(plan, KEY, "keys-tables").inputs["enableKeyRotation"] = False

    with pytest.raises(AssertionError, match="rotation"):
        assert_keys(broken(stacks["eu-west-1"], no_rotation))
