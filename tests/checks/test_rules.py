"""Every rule: passing on a good program, failing on a broken variant of it.

Failing cases change a copy of the good plan (one input, option or dependency)
or synthesize a small program of their own, and assert the rule's id and the
resource it names.
"""

from __future__ import annotations

import copy
import json

import pulumi
import pulumi_aws as aws
import pytest

from rollout.checks import CheckResult, run_checks
from rollout.checks.rules import RULES, RULES_BY_ID
from rollout.synth.model import PlannedResource, StackPlan
from tests.checks.programs import good_program, named, synthesize

_DELETE = object()


@pytest.fixture(scope="module")
def good() -> StackPlan:
    return synthesize(good_program())


@pytest.fixture(scope="module")
def good_west() -> StackPlan:
    return synthesize(good_program("eu-west-1"), "test-eu-west-1", "eu-west-1")


def changed(
    plan: StackPlan, resource_name: str, type_: str | None = None, **inputs
) -> StackPlan:
    """A deep copy of ``plan`` with inputs of resource ``resource_name`` replaced."""
    plan = copy.deepcopy(plan)
    resource = named(plan, resource_name, type_)
    for key, value in inputs.items():
        if value is _DELETE:
            resource.inputs.pop(key, None)
        else:
            resource.inputs[key] = value
    return plan


def edited_policy(plan: StackPlan, name: str, edit) -> StackPlan:
    """A copy of ``plan`` with ``edit(document)`` applied to resource's policy."""
    plan = copy.deepcopy(plan)
    resource = named(plan, name)
    document = json.loads(resource.inputs["policy"])
    edit(document)
    resource.inputs["policy"] = json.dumps(document)
    return plan


def failures(rule_id: str, *plans: StackPlan) -> list[CheckResult]:
    return [r for r in RULES_BY_ID[rule_id](list(plans)) if r.status == "fail"]


def failing_names(rule_id: str, *plans: StackPlan) -> list[str]:
    return sorted(r.resource.rsplit("::", 1)[-1] for r in failures(rule_id, *plans))


def test_rules__ids__are_unique_and_dotted():
    ids = [r.id for r in RULES]

    assert len(ids) == len(set(ids))
    assert all("." in i and i == i.lower() for i in ids)
    assert {r.severity for r in RULES} <= {"error", "warning"}


@pytest.mark.parametrize("rule_id", [r.id for r in RULES])
def test_rule__good_program__evaluates_and_passes(
    good: StackPlan, good_west: StackPlan, rule_id: str
):
    results = RULES_BY_ID[rule_id]([good, good_west])

    assert results, f"{rule_id} evaluated nothing on the good program"
    assert [r.message for r in results if r.status == "fail"] == []
    assert {r.id for r in results} == {rule_id}


def test_run_checks__good_program__every_rule_reports(good: StackPlan):
    results = run_checks([good])

    assert {r.id for r in results} == {r.id for r in RULES}
    assert all(r.region == "us-east-1" for r in results)


# Providers and regions


def test_no_default__resource_without_provider__fails():
    def program() -> None:
        aws.s3.Bucket("orphan", bucket="rollout-test-us-east-1-orphan")

    assert failing_names("providers.no-default", synthesize(program)) == ["orphan"]


def test_one_per_region__two_providers_for_one_region__fails_the_second():
    def program() -> None:
        for index in (1, 2):
            provider = aws.Provider(f"aws-{index}", region="us-east-1")
            aws.sqs.Queue(f"q{index}", opts=pulumi.ResourceOptions(provider=provider))

    assert failing_names("providers.one-per-region", synthesize(program)) == ["aws-2"]


def test_region_match__region_input_of_another_region__fails(good):
    plan = changed(good, "data", "aws:s3/bucket:Bucket", region="eu-west-1")

    assert failing_names("providers.region-match", plan) == ["data"]


def test_region_match__provider_without_region__fails():
    def program() -> None:
        provider = aws.Provider("aws")
        aws.sqs.Queue("jobs", opts=pulumi.ResourceOptions(provider=provider))

    [failure] = failures("providers.region-match", synthesize(program))
    assert failure.resource.endswith("::jobs")
    assert "names no region" in failure.message


# Names


def test_aws_limits__bucket_name_with_capitals__fails(good):
    plan = changed(good, "data", "aws:s3/bucket:Bucket", bucket="Rollout_Data")

    [failure] = failures("names.aws-limits", plan)
    assert failure.resource.endswith("::data")
    assert "Rollout_Data" in failure.message


def test_aws_limits__function_name_over_64__fails(good):
    plan = changed(good, "processor", "aws:lambda/function:Function", name="p" * 65)

    assert failing_names("names.aws-limits", plan) == ["processor"]


def test_unique_across_regions__same_name_in_two_stacks__fails_both():
    def program() -> None:
        provider = aws.Provider("aws", region=pulumi.get_stack().split("-", 1)[1])
        aws.sqs.Queue(
            "jobs", name="rollout-jobs", opts=pulumi.ResourceOptions(provider=provider)
        )

    east = synthesize(program, "test-us-east-1", "us-east-1")
    west = synthesize(program, "test-eu-west-1", "eu-west-1")

    failed = failures("names.unique-across-regions", east, west)
    assert sorted(f.region for f in failed) == ["eu-west-1", "us-east-1"]
    assert all(f.resource.endswith("::jobs") for f in failed)


# Logs


def test_one_retention__two_retentions_in_a_region__fails(good):
    plan = changed(good, "processor-logs", retentionInDays=14)

    names = failing_names("logs.one-retention-per-region", plan)
    assert "processor-logs" in names


def test_one_retention__no_retention__fails(good):
    plan = changed(good, "api-handler-logs", retentionInDays=_DELETE)

    assert "api-handler-logs" in failing_names("logs.one-retention-per-region", plan)


def test_function_log_group__not_depended_on__fails(good):
    plan = copy.deepcopy(good)
    named(plan, "api-handler", "aws:lambda/function:Function").depends_on = []

    assert failing_names("logs.function-log-group", plan) == ["api-handler"]


def test_function_log_group__missing_group__fails(good):
    plan = copy.deepcopy(good)
    plan.resources = [r for r in plan.resources if r.name != "processor-logs"]

    assert failing_names("logs.function-log-group", plan) == ["processor"]


# IAM


def _add_statement(statement: dict):
    return lambda document: document["Statement"].append(statement)


def test_policy_valid__unknown_action__fails(good):
    plan = edited_policy(
        good,
        "api-handler-policy",
        _add_statement(
            {"Effect": "Allow", "Action": "dynamodb:GetItems", "Resource": "*"}
        ),
    )

    [failure] = failures("iam.policy-valid", plan)
    assert failure.resource.endswith("::api-handler-policy")
    assert "dynamodb:GetItems" in failure.message


def test_policy_valid__not_json__fails(good):
    plan = changed(good, "data-key", policy="{not json")

    assert failing_names("iam.policy-valid", plan) == ["data-key"]


def test_no_wildcard_action__service_star__fails(good):
    plan = edited_policy(
        good,
        "processor-policy",
        _add_statement({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
    )

    [failure] = failures("iam.no-wildcard-action", plan)
    assert failure.resource.endswith("::processor-policy")
    assert "s3:*" in failure.message


def test_star_resource__scoped_action_on_star__fails(good):
    plan = edited_policy(
        good,
        "api-handler-policy",
        lambda d: d["Statement"][1]["Action"].append("dynamodb:DeleteItem"),
    )

    [failure] = failures("iam.star-resource-unscoped-only", plan)
    assert failure.resource.endswith("::api-handler-policy")
    assert "dynamodb:deleteitem" in failure.message


def test_star_resource__vpc_network_interface_actions__pass(good):
    plan = edited_policy(
        good,
        "api-handler-policy",
        lambda d: d["Statement"][1]["Action"].extend(
            ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"]
        ),
    )

    assert failures("iam.star-resource-unscoped-only", plan) == []


def test_star_resource_once__two_star_statements__fails_the_role(good):
    plan = edited_policy(
        good,
        "processor-policy",
        _add_statement(
            {
                "Effect": "Allow",
                "Action": "ec2:DescribeNetworkInterfaces",
                "Resource": "*",
            }
        ),
    )

    assert failing_names("iam.star-resource-once-per-role", plan) == ["processor-role"]


def test_no_managed_policy__attachment_on_function_role__fails(good):
    plan = copy.deepcopy(good)
    role = named(plan, "processor-role", "aws:iam/role:Role")
    plan.resources.append(
        PlannedResource(
            urn=role.urn.replace("aws:iam/role:Role::processor-role", "x::attach"),
            type="aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            name="attach",
            provider=role.provider,
            region=role.region,
            parent="",
            custom=True,
            inputs={
                "role": role.id,
                "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
            },
        )
    )

    [failure] = failures("iam.no-managed-policy-on-function-role", plan)
    assert failure.resource.endswith("::processor-role")
    assert "attach" in failure.message


def test_no_duplicate_grant__statement_repeated__fails_the_role(good):
    def repeat(document):
        document["Statement"].append(dict(document["Statement"][0]))

    plan = edited_policy(good, "api-handler-policy", repeat)

    assert failing_names("iam.no-duplicate-grant", plan) == ["api-handler-role"]


def test_key_policy__no_root_statement__fails(good):
    plan = edited_policy(
        good, "data-key", lambda d: d.update(Statement=d["Statement"][1:])
    )

    assert failing_names("kms.key-policy-keeps-admin", plan) == ["data-key"]


def test_resource_policy_not_public__bucket_open_to_all__fails(good):
    def open_to_all(document):
        arn = document["Statement"][0]["Resource"][1]
        document["Statement"].append(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": arn,
            }
        )

    plan = edited_policy(good, "data-policy", open_to_all)

    assert failing_names("iam.resource-policy-not-public", plan) == ["data-policy"]


def test_tls_only__condition_true__fails_the_bucket(good):
    def allow_http(document):
        document["Statement"][0]["Condition"]["Bool"]["aws:SecureTransport"] = "true"

    plan = edited_policy(good, "data-policy", allow_http)

    assert failing_names("s3.tls-only", plan) == ["data"]


# Encryption and S3


def test_customer_managed_key__queue_on_aws_key__fails(good):
    plan = changed(good, "processor-dlq", kmsMasterKeyId="alias/aws/sqs")

    [failure] = failures("encryption.customer-managed-key", plan)
    assert failure.resource.endswith("::processor-dlq")
    assert "alias/aws/sqs" in failure.message


def test_customer_managed_key__table_without_sse__fails(good):
    plan = changed(good, "items", "aws:dynamodb/table:Table", serverSideEncryption={})

    assert failing_names("encryption.customer-managed-key", plan) == ["items"]


def test_customer_managed_key__bucket_without_encryption__fails(good):
    plan = copy.deepcopy(good)
    plan.resources = [r for r in plan.resources if r.name != "data-encryption"]

    assert failing_names("encryption.customer-managed-key", plan) == ["data"]


def test_bucket_key__disabled__fails(good):
    plan = copy.deepcopy(good)
    named(plan, "data-encryption").inputs["rules"][0]["bucketKeyEnabled"] = False

    assert failing_names("s3.bucket-key-enabled", plan) == ["data"]


def test_key_rotation__off__fails(good):
    plan = changed(good, "data-key", enableKeyRotation=False)

    assert failing_names("kms.key-rotation", plan) == ["data-key"]


def test_versioning__suspended_with_noncurrent_rule__fails(good):
    plan = changed(
        good, "data-versioning", versioningConfiguration={"status": "Suspended"}
    )

    assert failing_names("s3.versioning-for-noncurrent-rules", plan) == ["data"]


def test_lifecycle__rule_level_prefix__fails(good):
    plan = copy.deepcopy(good)
    rule = named(plan, "data-lifecycle").inputs["rules"][0]
    rule.pop("filter")
    rule["prefix"] = "processed/"

    assert failing_names("s3.lifecycle-filter-prefix", plan) == ["data-lifecycle"]


def test_public_access__one_flag_off__fails(good):
    plan = changed(good, "data-public-access", restrictPublicBuckets=False)

    assert failing_names("s3.public-access-blocked", plan) == ["data"]


# DynamoDB


def test_autoscaled_table__capacity_not_ignored__fails(good):
    plan = copy.deepcopy(good)
    named(plan, "items", "aws:dynamodb/table:Table").options["ignore_changes"] = [
        "readCapacity"
    ]

    [failure] = failures("dynamodb.autoscaled-ignores-capacity", plan)
    assert failure.resource.endswith("::items")
    assert "writeCapacity" in failure.message


def test_autoscaling_bounds__min_over_max__fails(good):
    plan = changed(good, "items-read-target", minCapacity=50, maxCapacity=10)

    assert failing_names("dynamodb.autoscaling-bounds", plan) == ["items-read-target"]


# Wiring


def test_notification__without_depends_on__fails(good):
    plan = copy.deepcopy(good)
    named(plan, "data-notification").depends_on = []

    assert failing_names("wiring.notification-after-permission", plan) == [
        "data-notification"
    ]


def test_notification__permission_for_another_bucket__fails(good):
    plan = changed(good, "processor-s3", sourceArn="arn:aws:s3:::someone-else")

    assert failing_names("wiring.notification-after-permission", plan) == [
        "data-notification"
    ]


def test_api_permission__other_region__fails(good):
    source = named(good, "api-handler-apigw").inputs["sourceArn"]
    plan = changed(
        good, "api-handler-apigw", sourceArn=source.replace("us-east-1", "eu-west-1")
    )

    [failure] = failures("wiring.api-permission-source-arn", plan)
    assert failure.resource.endswith("::api-handler-apigw")
    assert "eu-west-1" in failure.message


def test_api_permission__route_that_does_not_exist__fails(good):
    source = named(good, "api-handler-apigw").inputs["sourceArn"]
    plan = changed(
        good, "api-handler-apigw", sourceArn=source.replace("/GET/items", "/POST/items")
    )

    assert failing_names("wiring.api-permission-source-arn", plan) == [
        "api-handler-apigw"
    ]


def test_api_permission__wildcard_stage__fails(good):
    source = named(good, "api-handler-apigw").inputs["sourceArn"]
    plan = changed(good, "api-handler-apigw", sourceArn=source.replace("/prod/", "/*/"))

    assert failing_names("wiring.api-permission-source-arn", plan) == [
        "api-handler-apigw"
    ]


def test_proxy_integration__get__fails(good):
    plan = changed(
        good,
        "items-get",
        "aws:apigateway/integration:Integration",
        integrationHttpMethod="GET",
    )

    assert failing_names("wiring.proxy-integration", plan) == ["items-get"]


def test_proxy_integration__invoke_arn_of_another_region__fails(good):
    integration = named(good, "items-get", "aws:apigateway/integration:Integration")
    uri = integration.inputs["uri"].replace("us-east-1", "eu-west-1")
    plan = changed(good, "items-get", "aws:apigateway/integration:Integration", uri=uri)

    assert failing_names("wiring.proxy-integration", plan) == ["items-get"]


def test_deployment__no_triggers__fails(good):
    plan = changed(good, "api-deployment", triggers={})

    assert failing_names("wiring.deployment-triggers", plan) == ["api-deployment"]


def test_deployment__triggers_not_from_integration__fails(good):
    plan = copy.deepcopy(good)
    deployment = named(plan, "api-deployment")
    integration = named(plan, "items-get", "aws:apigateway/integration:Integration")
    deployment.property_dependencies["triggers"].remove(integration.urn)

    [failure] = failures("wiring.deployment-triggers", plan)
    assert failure.resource.endswith("::api-deployment")
    assert "items-get" in failure.message


def test_deployment__constant_triggers__fails():
    def program() -> None:
        provider = aws.Provider("aws", region="us-east-1")
        opts = pulumi.ResourceOptions(provider=provider)
        api = aws.apigateway.RestApi("api", opts=opts)
        method = aws.apigateway.Method(
            "root-get",
            rest_api=api.id,
            resource_id=api.root_resource_id,
            http_method="GET",
            authorization="NONE",
            opts=opts,
        )
        aws.apigateway.Deployment(
            "deployment",
            rest_api=api.id,
            triggers={"version": "1"},
            opts=pulumi.ResourceOptions(provider=provider, depends_on=[method]),
        )

    [failure] = failures("wiring.deployment-triggers", synthesize(program))
    assert failure.resource.endswith("::deployment")
    assert "root-get" in failure.message


def test_no_apigateway_account__account_resource__fails():
    def program() -> None:
        provider = aws.Provider("aws", region="us-east-1")
        aws.apigateway.Account(
            "account",
            cloudwatch_role_arn="arn:aws:iam::123456789012:role/apigw-logs",
            opts=pulumi.ResourceOptions(provider=provider),
        )

    assert failing_names("wiring.no-apigateway-account", synthesize(program)) == [
        "account"
    ]


# Functions


def test_async_dlq__no_dead_letter_config__fails(good):
    plan = changed(
        good, "processor", "aws:lambda/function:Function", deadLetterConfig=_DELETE
    )

    assert failing_names("functions.async-dlq", plan) == ["processor"]


def test_async_dlq__role_may_not_send__fails(good):
    def drop_sqs(document):
        document["Statement"] = [
            s for s in document["Statement"] if s["Action"] != ["sqs:SendMessage"]
        ]

    plan = edited_policy(good, "processor-policy", drop_sqs)

    [failure] = failures("functions.async-dlq", plan)
    assert failure.resource.endswith("::processor")
    assert "sqs:SendMessage" in failure.message


def test_async_dlq__sns_target_without_queue__fails():
    def program() -> None:
        provider = aws.Provider("aws", region="us-east-1")
        opts = pulumi.ResourceOptions(provider=provider)
        role = aws.iam.Role(
            "role",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            opts=opts,
        )
        function = aws.lambda_.Function(
            "listener",
            role=role.arn,
            runtime="python3.12",
            handler="app.handler",
            s3_bucket="code",
            s3_key="lambda/x.zip",
            opts=opts,
        )
        topic = aws.sns.Topic("events", opts=opts)
        aws.sns.TopicSubscription(
            "listener-events",
            topic=topic.arn,
            protocol="lambda",
            endpoint=function.arn,
            opts=opts,
        )

    [failure] = failures("functions.async-dlq", synthesize(program))
    assert failure.resource.endswith("::listener")
    assert "deadLetterConfig" in failure.message


def test_api_timeout__over_29__fails(good):
    plan = changed(good, "api-handler", "aws:lambda/function:Function", timeout=30)

    [failure] = failures("functions.api-timeout", plan)
    assert failure.resource.endswith("::api-handler")
    assert "30" in failure.message


# Alarms


def test_metric_math__upper_case_id__fails(good):
    plan = copy.deepcopy(good)
    named(plan, "api-handler-error-rate").inputs["metricQueries"][0]["id"] = "Errors"

    [failure] = failures("alarms.metric-math-shape", plan)
    assert failure.resource.endswith("::api-handler-error-rate")
    assert "Errors" in failure.message


def test_metric_math__two_queries_return_data__fails(good):
    plan = copy.deepcopy(good)
    named(plan, "api-handler-error-rate").inputs["metricQueries"][0]["returnData"] = (
        True
    )

    assert failing_names("alarms.metric-math-shape", plan) == ["api-handler-error-rate"]


def test_metric_math__top_level_metric_name__fails(good):
    plan = changed(good, "api-handler-error-rate", metricName="Errors")

    assert failing_names("alarms.metric-math-shape", plan) == ["api-handler-error-rate"]


def test_no_raw_error_count__alarm_on_errors__fails():
    def program() -> None:
        provider = aws.Provider("aws", region="us-east-1")
        aws.cloudwatch.MetricAlarm(
            "errors",
            comparison_operator="GreaterThanThreshold",
            evaluation_periods=1,
            metric_name="Errors",
            namespace="AWS/Lambda",
            period=60,
            statistic="Sum",
            threshold=1,
            alarm_actions=["arn:aws:sns:us-east-1:123456789012:alarms"],
            opts=pulumi.ResourceOptions(provider=provider),
        )

    [failure] = failures("alarms.no-raw-error-count", synthesize(program))
    assert failure.resource.endswith("::errors")
    assert "Errors" in failure.message


def test_has_action__no_alarm_actions__fails(good):
    plan = changed(good, "api-handler-error-rate", alarmActions=[])

    assert failing_names("alarms.has-action", plan) == ["api-handler-error-rate"]
