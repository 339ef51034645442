"""IAM rules: identity policies, key and bucket policies, role attachments."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache

from policyuniverse.policy import Policy

from rollout.checks.base import Graph, Verdict, display, rule, value
from rollout.checks.policies import (
    VPC_NETWORK_INTERFACE_ACTIONS,
    grants,
    identity_documents,
    is_star_resource,
    raw_actions,
    resource_documents,
    role_documents,
)

ROLE = "aws:iam/role:Role"
FUNCTION = "aws:lambda/function:Function"
ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
)


@rule(
    "iam.policy-valid",
    "error",
    "Every policy document parses and every statement is valid (parliament).",
)
def policy_valid(graph: Graph) -> Iterator[Verdict]:
    for document in identity_documents(graph) + resource_documents(graph):
        where = f"{display(document.owner)} {document.where}"
        if document.data is None:
            yield Verdict(
                document.owner, False, f"{where} is not a JSON policy document"
            )
            continue
        problems = document.problems()
        if problems:
            yield Verdict(
                document.owner, False, f"{where} is invalid: {'; '.join(problems)}"
            )
        else:
            yield Verdict(document.owner, True, f"{where} is a valid policy")


@rule(
    "iam.no-wildcard-action",
    "error",
    "No identity policy allows '*', 'service:*' or NotAction.",
)
def no_wildcard_action(graph: Graph) -> Iterator[Verdict]:
    for document in identity_documents(graph):
        wide = []
        for statement in document.statements:
            if statement.effect != "Allow":
                continue
            if "NotAction" in statement.statement:
                wide.append("NotAction")
            wide.extend(
                a for a in raw_actions(statement) if a == "*" or a.endswith(":*")
            )
        name = f"{display(document.owner)} {document.where}"
        if wide:
            yield Verdict(
                document.owner,
                False,
                f"{name} allows {', '.join(sorted(set(wide)))}; list the exact "
                "actions it needs",
            )
        else:
            yield Verdict(document.owner, True, f"{name} lists exact actions")


@cache
def _resource_level_actions() -> frozenset[str]:
    """Every action (lower-case) that AWS lets a policy scope to a resource."""
    from parliament import iam_definition

    return frozenset(
        f"{service['prefix']}:{privilege['privilege']}".lower()
        for service in iam_definition
        for privilege in service["privileges"]
        if any(t.get("resource_type") for t in privilege.get("resource_types", []))
    )


def _scoped_actions(statement) -> list[str]:
    """Actions of a statement that it could have scoped to a resource."""
    scoped = _resource_level_actions()
    return [
        action
        for action in sorted(statement.actions_expanded)
        if action in scoped and action not in VPC_NETWORK_INTERFACE_ACTIONS
    ]


@rule(
    "iam.star-resource-unscoped-only",
    "error",
    "Resource '*' only for actions AWS gives no resource-level permission.",
)
def star_resource_unscoped_only(graph: Graph) -> Iterator[Verdict]:
    for document in identity_documents(graph):
        offenders: list[str] = []
        for statement in document.statements:
            if statement.effect == "Allow" and is_star_resource(statement):
                offenders.extend(_scoped_actions(statement))
        name = f"{display(document.owner)} {document.where}"
        if offenders:
            shown = ", ".join(offenders[:5]) + (" …" if len(offenders) > 5 else "")
            yield Verdict(
                document.owner,
                False,
                f"{name} allows {shown} on '*'; scope them to the exact ARNs",
            )
        else:
            yield Verdict(
                document.owner, True, f"{name} uses '*' only where AWS needs it"
            )


@rule(
    "iam.star-resource-once-per-role",
    "warning",
    "At most one statement with Resource '*' per role.",
)
def star_resource_once_per_role(graph: Graph) -> Iterator[Verdict]:
    for role in graph.of_type(ROLE):
        count = sum(
            1
            for document in role_documents(graph, role)
            for statement in document.statements
            if statement.effect == "Allow" and is_star_resource(statement)
        )
        if count > 1:
            yield Verdict(
                role,
                False,
                f"{display(role)} has {count} statements on '*'; merge them into one",
            )
        else:
            yield Verdict(
                role, True, f"{display(role)} has {count} statement(s) on '*'"
            )


@rule(
    "iam.no-managed-policy-on-function-role",
    "error",
    "Function roles carry inline policies only, no managed policy attachments.",
)
def no_managed_policy_on_function_role(graph: Graph) -> Iterator[Verdict]:
    function_roles = {
        id(role): role
        for function in graph.of_type(FUNCTION)
        if (role := graph.find(function.inputs.get("role"), ROLE)) is not None
    }
    for role in function_roles.values():
        names = {n for n in (role.id, value(role, "name"), value(role, "arn")) if n}
        attached = [
            a.name
            for a in graph.of_type(*ATTACHMENTS)
            if a.inputs.get("role") in names or names & set(a.inputs.get("roles") or [])
        ]
        if role.inputs.get("managedPolicyArns"):
            attached.append("managedPolicyArns")
        if attached:
            yield Verdict(
                role,
                False,
                f"{display(role)} runs a function and has managed policies "
                f"({', '.join(attached)}); use inline role policies",
            )
        else:
            yield Verdict(role, True, f"{display(role)} has inline policies only")


@rule(
    "iam.no-duplicate-grant",
    "warning",
    "No action is granted twice on the same resource within one role.",
)
def no_duplicate_grant(graph: Graph) -> Iterator[Verdict]:
    for role in graph.of_type(ROLE):
        seen: dict[tuple[str, str, str], int] = {}
        duplicates: list[str] = []
        index = 0
        for document in role_documents(graph, role):
            for statement in document.statements:
                index += 1
                if statement.effect != "Allow":
                    continue
                condition = json.dumps(
                    statement.statement.get("Condition"), sort_keys=True
                )
                for action in statement.actions_expanded:
                    for resource in statement.resources:
                        key = (action, resource, condition)
                        if seen.setdefault(key, index) != index:
                            duplicates.append(f"{action} on {resource}")
        if duplicates:
            shown = ", ".join(sorted(set(duplicates))[:3])
            yield Verdict(
                role,
                False,
                f"{display(role)} grants {shown} more than once; keep one statement",
            )
        else:
            yield Verdict(role, True, f"{display(role)} grants each action once")


@rule(
    "kms.key-policy-keeps-admin",
    "error",
    "Every key policy keeps the account root able to administer the key.",
)
def key_policy_keeps_admin(graph: Graph) -> Iterator[Verdict]:
    for key in graph.of_type("aws:kms/key:Key"):
        documents = [d for d in resource_documents(graph) if d.owner is key]
        if not documents:
            yield Verdict(
                key, True, f"{display(key)} keeps AWS's default policy (root admin)"
            )
            continue
        document = documents[0]
        kept = any(
            grants(statement, "kms:PutKeyPolicy", "*")
            and any(_is_account_root(p) for p in statement.principals)
            for statement in document.statements
        )
        denied = any(
            statement.effect == "Deny"
            and "kms:putkeypolicy" in statement.actions_expanded
            for statement in document.statements
        )
        if kept and not denied:
            yield Verdict(
                key, True, f"{display(key)} policy keeps the account root as admin"
            )
        else:
            yield Verdict(
                key,
                False,
                f"{display(key)} policy does not let the account root "
                "(arn:aws:iam::<account>:root) call kms:* on '*'; add that statement",
            )


def _is_account_root(principal: str) -> bool:
    """``arn:<partition>:iam::<account>:root`` or a bare account id."""
    if principal.isdigit() and len(principal) == 12:
        return True
    parts = principal.split(":")
    return (
        len(parts) == 6
        and parts[0] == "arn"
        and parts[2] == "iam"
        and parts[5] == "root"
    )


@rule(
    "iam.resource-policy-not-public",
    "error",
    "No key, bucket, queue or topic policy or trust policy lets anyone in.",
)
def resource_policy_not_public(graph: Graph) -> Iterator[Verdict]:
    for document in resource_documents(graph):
        if document.data is None:
            continue
        where = f"{display(document.owner)} {document.where}"
        if Policy(document.data).is_internet_accessible():
            yield Verdict(
                document.owner,
                False,
                f"{where} allows any principal without a limiting condition; name "
                "the principals (account, service, role) it means",
            )
        else:
            yield Verdict(document.owner, True, f"{where} names its principals")


@rule(
    "s3.tls-only",
    "error",
    "Every bucket's policy denies requests that do not use TLS.",
)
def tls_only(graph: Graph) -> Iterator[Verdict]:
    policies = [d for d in resource_documents(graph) if d.kind == "bucket"]
    for bucket in graph.of_type("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"):
        name = value(bucket, "bucket") or bucket.id
        arn = value(bucket, "arn") or f"arn:aws:s3:::{name}"
        mine = [
            d
            for d in policies
            if d.owner is bucket or d.owner.inputs.get("bucket") in (name, bucket.id)
        ]
        if any(_denies_plain_http(d, arn) for d in mine):
            yield Verdict(
                bucket, True, f"{display(bucket)} denies requests without TLS"
            )
        else:
            yield Verdict(
                bucket,
                False,
                f"{display(bucket)} has no policy denying s3:* on the bucket and its "
                "objects when aws:SecureTransport is false; add that statement",
            )


def _denies_plain_http(document, bucket_arn: str) -> bool:
    for statement in document.statements:
        if statement.effect != "Deny" or "*" not in statement.principals:
            continue
        if "s3:*" not in raw_actions(statement):
            continue
        if not {bucket_arn, f"{bucket_arn}/*"} <= statement.resources:
            continue
        condition = statement.statement.get("Condition") or {}
        flag = (condition.get("Bool") or {}).get("aws:SecureTransport")
        if str(flag).lower() == "false":
            return True
    return False


RULES = [
    policy_valid,
    no_wildcard_action,
    star_resource_unscoped_only,
    star_resource_once_per_role,
    no_managed_policy_on_function_role,
    no_duplicate_grant,
    key_policy_keeps_admin,
    resource_policy_not_public,
    tls_only,
]
