"""Physical names: valid, within limits, unique across regions and envs."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollout.errors import ManifestError
from rollout.manifests import load_project
from rollout.naming import Namer, NamingError
from tests.stack.rules import FUNCTION, assert_names, broken, of_type
from tests.stack.stacks import synthesize


@pytest.fixture(scope="module")
def prod(shipped_root: Path):
    return synthesize(shipped_root, env="prod")


def test_names__two_regions_two_envs__valid_and_unique(stacks, prod):
    plans = [s.plan for s in (*stacks.values(), *prod.values())]
    assert_names(plans)


def test_names__same_region_other_env__differ(stacks, prod):
    dev = of_type(stacks["eu-west-1"].plan, FUNCTION)[0].inputs["name"]
    other = of_type(prod["eu-west-1"].plan, FUNCTION)[0].inputs["name"]
    assert (dev, other) == (
        "rollout-dev-eu-west-1-api-handler",
        "rollout-prod-eu-west-1-api-handler",
    )


def test_names__duplicated_across_stacks__rule_fails(stacks):
    names = of_type(stacks["us-east-1"].plan, FUNCTION)[0].inputs["name"]

    def collide(plan):
        of_type(plan, FUNCTION)[0].inputs["name"] = names

    copy = broken(stacks["eu-west-1"], collide)
    with pytest.raises(AssertionError, match="in dev-us-east-1 and dev-eu-west-1"):
        assert_names([stacks["us-east-1"].plan, copy.plan])


def test_names__over_the_limit__rule_fails(stacks):
    def lengthen(plan):
        of_type(plan, FUNCTION)[0].inputs["name"] = "rollout-" + "x" * 60

    with pytest.raises(AssertionError, match="over 64"):
        assert_names([broken(stacks["eu-west-1"], lengthen).plan])


def test_load_project__env_too_long_for_a_bucket__manifest_error(shipped_root):
    with pytest.raises(ManifestError) as caught:
        load_project(shipped_root, "integration-test-env")
    message = str(caught.value)
    assert "over the 63 that AWS allows for a s3 name" in message
    assert "ap-southeast-2" in message


def test_namer__parameter__lower_case_path():
    namer = Namer(env="dev", region="eu-west-1")
    assert namer.parameter("API_Token") == "/rollout/dev/eu-west-1/api_token"


def test_namer__parameter_with_slash__naming_error():
    with pytest.raises(NamingError, match="parameter name"):
        Namer(env="dev", region="eu-west-1").parameter("a/b")
