"""Lambda rules: dead-letter queues, the API handler's timeout, log groups."""

from __future__ import annotations

from collections.abc import Iterator

from rollout.checks.base import Graph, Verdict, display, rule, value
from rollout.checks.policies import Document, resource_documents, role_documents
from rollout.checks.storage import KEY, LOG_GROUP, QUEUE, TOPIC
from rollout.checks.wiring import (
    FUNCTION,
    function_of,
    notified_functions,
    proxy_functions,
)
from rollout.synth.model import PlannedResource

ROLE = "aws:iam/role:Role"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"

# API Gateway gives up on an integration after 29 seconds.
API_GATEWAY_TIMEOUT_S = 29
# Lambda's timeout when none is set.
LAMBDA_DEFAULT_TIMEOUT_S = 3


def _send_action(target: PlannedResource) -> str:
    return "sqs:SendMessage" if target.type == QUEUE else "sns:Publish"


def _role_can(documents: list[Document], action: str, resource: str) -> bool:
    return any(d.allows(action, resource) for d in documents)


def _dlq_problem(graph: Graph, function: PlannedResource) -> str | None:
    target_arn = (function.inputs.get("deadLetterConfig") or {}).get("targetArn")
    if not target_arn:
        return "has no deadLetterConfig"
    target = graph.find(target_arn, QUEUE, TOPIC)
    if target is None:
        return f"sends failures to '{target_arn}', which is no queue of this stack"
    role = graph.find(function.inputs.get("role"), ROLE)
    if role is None:
        return "has a role this stack does not hold"
    documents = role_documents(graph, role)
    action = _send_action(target)
    if not _role_can(documents, action, str(target_arn)):
        return f"has a role that may not {action} to {display(target)}"

    # An encrypted queue also needs the key: in the role's policy or the key's.
    key_ref = target.inputs.get("kmsMasterKeyId")
    key = graph.find(key_ref, KEY) if key_ref else None
    if key is not None:
        key_arn = str(value(key, "arn"))
        role_arn = str(value(role, "arn"))
        key_documents = [d for d in resource_documents(graph) if d.owner is key]
        for needed in ("kms:GenerateDataKey", "kms:Decrypt"):
            if not (
                _role_can(documents, needed, key_arn)
                or any(d.allows(needed, "*", role_arn) for d in key_documents)
            ):
                return f"has a role that may not {needed} on {display(key)}"
    return None


def _async_functions(graph: Graph) -> list[PlannedResource]:
    """Functions AWS invokes asynchronously: S3 notification and SNS targets."""
    functions = [function for _, function in notified_functions(graph)]
    for subscription in graph.of_type(SUBSCRIPTION):
        if subscription.inputs.get("protocol") == "lambda":
            function = function_of(graph, subscription.inputs.get("endpoint"))
            if function is not None:
                functions.append(function)
    return functions


@rule(
    "functions.async-dlq",
    "error",
    "Functions invoked asynchronously (S3, SNS) have a dead-letter queue their "
    "role can send to.",
)
def async_dlq(graph: Graph) -> Iterator[Verdict]:
    seen: set[str] = set()
    for function in _async_functions(graph):
        if function.urn in seen:
            continue
        seen.add(function.urn)
        problem = _dlq_problem(graph, function)
        if problem:
            yield Verdict(
                function,
                False,
                f"{display(function)} is invoked asynchronously by S3 and {problem}; "
                "give it an SQS dead-letter queue its role may send to",
            )
        else:
            yield Verdict(
                function, True, f"{display(function)} has a usable dead-letter queue"
            )


@rule(
    "functions.api-timeout",
    "error",
    "Functions behind an AWS_PROXY integration time out within 29 s.",
)
def api_timeout(graph: Graph) -> Iterator[Verdict]:
    seen: set[str] = set()
    for _, function in proxy_functions(graph):
        if function.urn in seen:
            continue
        seen.add(function.urn)
        timeout = function.inputs.get("timeout", LAMBDA_DEFAULT_TIMEOUT_S)
        if isinstance(timeout, int | float) and timeout <= API_GATEWAY_TIMEOUT_S:
            yield Verdict(
                function, True, f"{display(function)} times out after {timeout} s"
            )
        else:
            yield Verdict(
                function,
                False,
                f"{display(function)} serves the API with timeout {timeout} s; API "
                f"Gateway stops waiting at {API_GATEWAY_TIMEOUT_S} s, set timeout <= "
                f"{API_GATEWAY_TIMEOUT_S}",
            )


@rule(
    "logs.function-log-group",
    "error",
    "Each function's /aws/lambda/<name> log group exists and is created before it.",
)
def function_log_group(graph: Graph) -> Iterator[Verdict]:
    groups = {value(g, "name"): g for g in graph.of_type(LOG_GROUP) if value(g, "name")}
    for function in graph.of_type(FUNCTION):
        name = value(function, "name") or function.id
        expected = f"/aws/lambda/{name}"
        logging = function.inputs.get("loggingConfig") or {}
        expected = logging.get("logGroup") or expected
        group = groups.get(expected)
        if group is None:
            yield Verdict(
                function,
                False,
                f"{display(function)} has no log group '{expected}' in the stack; "
                "create it (with retention and a KMS key)",
            )
        elif group.urn not in function.depends_on:
            yield Verdict(
                function,
                False,
                f"{display(function)} does not depend on {display(group)}; add it "
                "to depends_on so Lambda never creates the group itself",
            )
        else:
            yield Verdict(
                function, True, f"{display(function)} logs to {display(group)}"
            )


RULES = [async_dlq, api_timeout, function_log_group]
