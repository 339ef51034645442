"""Lambda functions and their roles: code, network, logs, DLQ, least privilege."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from regional_stack.functions import code_sha256
from tests.stack.rules import (
    FUNCTION,
    ROLE_POLICY,
    assert_function_access,
    assert_functions,
    assert_identity_policies,
    broken,
    document,
    named,
    set_policy,
)


def test_functions__shipped_regions__rules_hold(stack):
    assert_functions(stack)


def test_identity_policies__shipped_regions__scoped_to_exact_arns(stack):
    assert_identity_policies(stack)


def test_function_access__shipped_regions__only_what_each_uses(stack):
    assert_function_access(stack)


def test_code_sha256__zip_bytes__equals_lambda_code_sha256():
    data = b"PK\x05\x06" + b"\x00" * 18
    expected = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert code_sha256(hashlib.sha256(data).hexdigest()) == expected


def test_functions__secret_parameters_without_secrets__empty_map(stack):
    handler = named(stack.plan, FUNCTION, "api-handler")
    variables = handler.inputs["environment"]["variables"]
    assert json.loads(variables["SECRET_PARAMETERS"]) == {}


def test_functions__log_group_not_depended_on__rule_fails(stacks):
    def race(plan):
        function = named(plan, FUNCTION, "processor")
        function.depends_on = [u for u in function.depends_on if "LogGroup" not in u]

    with pytest.raises(AssertionError, match="log group"):
        assert_functions(broken(stacks["eu-west-1"], race))


def test_functions__dead_letter_queue_on_api_handler__rule_fails(stacks):
    def sync_dlq(plan):
        processor = named(plan, FUNCTION, "processor")
        handler = named(plan, FUNCTION, "api-handler")
        handler.inputs["deadLetterConfig"] = processor.inputs["deadLetterConfig"]

    with pytest.raises(AssertionError):
        assert_functions(broken(stacks["us-east-1"], sync_dlq))


def test_identity_policies__wildcard_action__rule_fails(stacks):
    def widen(plan):
        policy = named(plan, ROLE_POLICY, "processor-policy")
        doc = document(policy)
        doc["Statement"][2]["Action"].append("dynamodb:*")
        set_policy(policy, doc)

    with pytest.raises(AssertionError, match="wildcard action"):
        assert_identity_policies(broken(stacks["eu-west-1"], widen))


def test_identity_policies__star_resource_for_scopable_action__rule_fails(stacks):
    def unscope(plan):
        policy = named(plan, ROLE_POLICY, "api-handler-policy")
        doc = document(policy)
        doc["Statement"].append(
            {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": "*"}
        )
        set_policy(policy, doc)

    with pytest.raises(AssertionError, match="on '\\*'"):
        assert_identity_policies(broken(stacks["eu-west-1"], unscope))


def test_identity_policies__arn_of_another_region__rule_fails(stacks):
    def cross_region(plan):
        policy = named(plan, ROLE_POLICY, "api-handler-policy")
        set_policy(
            policy,
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["dynamodb:GetItem"],
                        "Resource": [
                            "arn:aws:dynamodb:us-west-2:123456789012:table/other"
                        ],
                    }
                ]
            },
        )

    with pytest.raises(AssertionError, match="not in eu-west-1"):
        assert_identity_policies(broken(stacks["eu-west-1"], cross_region))


def test_function_access__api_handler_reads_data_bucket__rule_fails(stacks):
    def overreach(plan):
        processor = document(named(plan, ROLE_POLICY, "processor-policy"))
        policy = named(plan, ROLE_POLICY, "api-handler-policy")
        doc = document(policy)
        doc["Statement"] += [
            s for s in processor["Statement"] if s["Sid"] == "ReadUploads"
        ]
        set_policy(policy, doc)

    with pytest.raises(AssertionError, match="api-handler: bucket True"):
        assert_function_access(broken(stacks["us-east-1"], overreach))


def test_function_access__processor__reads_uploads_writes_processed_only(stack):
    policy = document(named(stack.plan, ROLE_POLICY, "processor-policy"))
    bucket = f"arn:aws:s3:::rollout-dev-{stack.plan.region}-data-123456789012"
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ReadUploads"]["Resource"] == [f"{bucket}/uploads/*"]
    assert by_sid["WriteProcessed"]["Resource"] == [f"{bucket}/processed/*"]
    assert by_sid["WriteProcessed"]["Action"] == ["s3:PutObject"]


def test_functions__timeout_above_29__api_handler_capped_processor_keeps_it(
    project, cli
):
    manifest = project / "regions" / "us-west-2.yaml"
    manifest.write_text(manifest.read_text() + "lambda: {timeout_s: 60}\n")

    result = cli(project, "plan", "--regions", "us-west-2", "--json")

    import json

    west = json.loads(result.stdout)["waves"][-1]["regions"][0]
    timeouts = {
        r["inputs"]["name"]: r["inputs"]["timeout"]
        for r in west["resources"]
        if r["type"] == "aws:lambda/function:Function"
    }
    assert timeouts == {
        "rollout-dev-us-west-2-api-handler": 29,
        "rollout-dev-us-west-2-processor": 60,
    }
    checks = cli(project, "check", "--regions", "us-west-2")
    assert checks.exit_code == 0, checks.stdout
