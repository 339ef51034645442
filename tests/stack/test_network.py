"""Network: VPC from the manifest, private subnets behind NAT, gateway endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from regional_stack.network import subnet_cidrs
from rollout.regions import default_cidr
from tests.stack.rules import (
    ENDPOINT,
    SECURITY_GROUP,
    SUBNET,
    VPC,
    assert_network,
    broken,
    of_type,
)
from tests.stack.stacks import copy_project, synthesize


def test_network__shipped_regions__rules_hold(stack):
    assert_network(stack)


def test_network__primary_with_three_zones__three_private_subnets(stacks):
    subnets = of_type(stacks["us-east-1"].plan, SUBNET)
    zones = sorted(s.inputs["availabilityZone"] for s in subnets if "private" in s.name)
    assert zones == ["us-east-1a", "us-east-1b", "us-east-1c"]


def test_subnet_cidrs__smallest_vpc__subnets_fit_and_do_not_overlap():
    private, public = subnet_cidrs("10.70.1.0/24", 3)
    assert private == ["10.70.1.0/27", "10.70.1.32/27", "10.70.1.64/27"]
    assert public == ["10.70.1.128/27", "10.70.1.160/27", "10.70.1.192/27"]


def test_network__endpoint_missing__rule_fails(stacks):
    def drop_endpoint(plan):
        plan.resources.remove(of_type(plan, ENDPOINT)[0])

    with pytest.raises(AssertionError, match="endpoints"):
        assert_network(broken(stacks["eu-west-1"], drop_endpoint))


def test_network__ingress_rule_on_lambda_group__rule_fails(stacks):
    def add_ingress(plan):
        (group,) = of_type(plan, SECURITY_GROUP)
        group.inputs["ingress"] = [{"protocol": "tcp", "fromPort": 22, "toPort": 22}]

    with pytest.raises(AssertionError, match="ingress"):
        assert_network(broken(stacks["eu-west-1"], add_ingress))


def test_network__manifest_without_cidr__vpc_from_region_default(tmp_path: Path):
    root = copy_project(tmp_path / "project")
    (root / "regions" / "eu-west-1.yaml").write_text(
        "region: eu-west-1\nrole: canary\n"
    )
    stack = synthesize(root)["eu-west-1"]
    (vpc,) = of_type(stack.plan, VPC)
    assert vpc.inputs["cidrBlock"] == str(default_cidr("eu-west-1"))
    assert_network(stack)
