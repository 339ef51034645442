"""The REST API: routes, proxy integrations, permissions, redeployment, stage."""

from __future__ import annotations

import pytest

from tests.stack.rules import (
    API_ACCOUNT,
    DEPLOYMENT,
    INTEGRATION,
    PERMISSION,
    assert_api,
    broken,
    of_type,
)


def test_api__shipped_regions__rules_hold(stack):
    assert_api(stack)


def test_api__permission_for_any_route__rule_fails(stacks):
    def any_route(plan):
        for permission in of_type(plan, PERMISSION):
            if permission.inputs["principal"] == "apigateway.amazonaws.com":
                permission.inputs["sourceArn"] = (
                    permission.inputs["sourceArn"].split("/live/")[0] + "/*/*"
                )

    with pytest.raises(AssertionError):
        assert_api(broken(stacks["eu-west-1"], any_route))


def test_api__integration_of_another_region__rule_fails(stacks):
    def other_region(plan):
        integration = of_type(plan, INTEGRATION)[0]
        integration.inputs["uri"] = integration.inputs["uri"].replace(
            "eu-west-1", "us-east-1"
        )

    with pytest.raises(AssertionError, match="us-east-1"):
        assert_api(broken(stacks["eu-west-1"], other_region))


def test_api__deployment_without_triggers__rule_fails(stacks):
    def no_triggers(plan):
        of_type(plan, DEPLOYMENT)[0].inputs.pop("triggers")

    with pytest.raises(AssertionError, match="trigger"):
        assert_api(broken(stacks["us-east-1"], no_triggers))


def test_api__account_resource_present__rule_fails(stacks):
    def add_account(plan):
        import copy

        account = copy.deepcopy(of_type(plan, DEPLOYMENT)[0])
        account.type = API_ACCOUNT
        plan.resources.append(account)

    with pytest.raises(AssertionError, match="Account"):
        assert_api(broken(stacks["us-east-1"], add_account))


def test_api__deployment_before_its_methods__rule_fails(stacks):
    def race(plan):
        of_type(plan, DEPLOYMENT)[0].depends_on = []

    with pytest.raises(AssertionError, match="before its methods"):
        assert_api(broken(stacks["eu-west-1"], race))
