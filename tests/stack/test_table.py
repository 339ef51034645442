"""DynamoDB tables: provisioned, autoscaled, PITR, KMS, idempotency TTL."""

from __future__ import annotations

import pytest

from tests.stack.rules import SCALING_TARGET, TABLE, assert_tables, broken, of_type


def test_tables__shipped_regions__rules_hold(stack):
    assert_tables(stack)


def test_tables__primary__bounds_from_its_own_manifest(stacks):
    targets = of_type(stacks["us-east-1"].plan, SCALING_TARGET)
    read = {
        t.inputs["maxCapacity"]
        for t in targets
        if "Read" in t.inputs["scalableDimension"]
    }
    assert read == {400}


def test_tables__ignore_changes_dropped__rule_fails(stacks):
    def fight_autoscaling(plan):
        of_type(plan, TABLE)[0].options["ignore_changes"] = []

    with pytest.raises(AssertionError, match="autoscaling"):
        assert_tables(broken(stacks["eu-west-1"], fight_autoscaling))


def test_tables__wrong_capacity_bound__rule_fails(stacks):
    def too_small(plan):
        of_type(plan, SCALING_TARGET)[0].inputs["maxCapacity"] = 1

    with pytest.raises(AssertionError):
        assert_tables(broken(stacks["us-east-1"], too_small))
