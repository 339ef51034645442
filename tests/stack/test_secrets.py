"""Secrets: SSM SecureStrings under the stack's key, readable by the functions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.stack.rules import (
    FUNCTION,
    KEY,
    PARAMETER,
    ROLE_POLICY,
    assert_identity_policies,
    assert_keys,
    assert_secrets,
    broken,
    document,
    named,
    of_type,
)
from tests.stack.stacks import copy_project, synthesize

PARAMETER_NAME = "/rollout/dev/us-east-1/api_token"


@pytest.fixture(scope="module")
def with_secret(tmp_path_factory: pytest.TempPathFactory):
    root = copy_project(tmp_path_factory.mktemp("secrets") / "project")
    manifest = root / "regions" / "us-east-1.yaml"
    text = manifest.read_text() + "secrets:\n  api_token: env:ROLLOUT_API_TOKEN\n"
    manifest.write_text(text)
    return synthesize(Path(root), regions=("us-east-1",))["us-east-1"]


def test_secrets__declared_secret__secure_string_under_secrets_key(with_secret):
    plan = with_secret.plan
    (parameter,) = of_type(plan, PARAMETER)
    assert parameter.inputs["name"] == PARAMETER_NAME
    assert parameter.inputs["type"] == "SecureString"
    assert parameter.inputs["value"] == "[secret]"
    assert parameter.inputs["keyId"] == named(plan, KEY, "keys-secrets").outputs["arn"]


def test_secrets__declared_secret__functions_get_parameter_names(with_secret):
    for function in of_type(with_secret.plan, FUNCTION):
        variables = function.inputs["environment"]["variables"]
        assert json.loads(variables["SECRET_PARAMETERS"]) == {
            "api_token": PARAMETER_NAME
        }


def test_secrets__declared_secret__roles_read_exactly_that_parameter(with_secret):
    plan = with_secret.plan
    (parameter,) = of_type(plan, PARAMETER)
    key = named(plan, KEY, "keys-secrets").outputs["arn"]
    for purpose in ("api-handler", "processor"):
        policy = document(named(plan, ROLE_POLICY, f"{purpose}-policy"))
        by_sid = {s["Sid"]: s for s in policy["Statement"]}
        assert by_sid["ReadSecrets"]["Action"] == ["ssm:GetParameter"]
        assert by_sid["ReadSecrets"]["Resource"] == [parameter.outputs["arn"]]
        assert by_sid["DecryptSecrets"]["Resource"] == [key]
    assert_identity_policies(with_secret)
    assert_keys(with_secret)


def test_secrets__declared_secret__rules_hold(with_secret):
    assert_secrets(with_secret)


def test_secrets__plain_string_parameter__rule_fails(with_secret):
    def plain(plan):
        of_type(plan, PARAMETER)[0].inputs["type"] = "String"

    with pytest.raises(AssertionError, match="not encrypted"):
        assert_secrets(broken(with_secret, plain))


def test_secrets__value_in_clear__rule_fails(with_secret):
    def leak(plan):
        of_type(plan, PARAMETER)[0].inputs["value"] = "hunter2"

    with pytest.raises(AssertionError, match="value in clear"):
        assert_secrets(broken(with_secret, leak))
