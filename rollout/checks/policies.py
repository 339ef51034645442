"""Reading IAM policy documents through parliament and policyuniverse.

parliament validates a document against AWS's own action and resource
catalogue; policyuniverse expands wildcard actions and reads principals. This
module finds every document in a stack and answers the questions the rules
ask of them: is it valid, what does it grant, to whom, on what.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from parliament import analyze_policy_string
from policyuniverse.statement import Statement

from rollout.checks.base import Graph, is_known, value
from rollout.synth.model import PlannedResource

Kind = Literal["identity", "key", "bucket", "trust", "resource"]

# parliament's findings that make a document invalid. The rest (RESOURCE_STAR,
# conditions it does not know, type hints) are advice, judged by our own rules.
INVALID_FINDINGS = frozenset(
    {
        "EXCEPTION",
        "MALFORMED_JSON",
        "MALFORMED",
        "DUPLICATE_SID",
        "INVALID_VERSION",
        "NO_VERSION",
        "UNKNOWN_ACTION",
        "UNKNOWN_PREFIX",
        "UNKNOWN_OPERATOR",
        "INVALID_ARN",
        "INVALID_SID",
        "RESOURCE_MISMATCH",
    }
)

# A trust policy names no resource: the role it belongs to is the resource.
_TRUST_NO_RESOURCE = "neither Resource nor NotResource"

# AWS gives these no resource-level permission a Lambda function in a VPC can
# use: the function's execution role needs them on "*".
VPC_NETWORK_INTERFACE_ACTIONS = frozenset(
    {
        "ec2:createnetworkinterface",
        "ec2:describenetworkinterfaces",
        "ec2:deletenetworkinterface",
        "ec2:assignprivateipaddresses",
        "ec2:unassignprivateipaddresses",
    }
)

IDENTITY_POLICY_TYPES = (
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/policy:Policy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
BUCKET_POLICY_TYPES = ("aws:s3/bucketPolicy:BucketPolicy",)
OTHER_RESOURCE_POLICY_TYPES = (
    "aws:sqs/queuePolicy:QueuePolicy",
    "aws:sns/topicPolicy:TopicPolicy",
)


@dataclass
class Document:
    """One policy document of one resource."""

    owner: PlannedResource
    kind: Kind
    text: str
    where: str  # the input holding it, e.g. "policy" or "inlinePolicies[0]"

    @cached_property
    def data(self) -> dict[str, Any] | None:
        try:
            parsed = json.loads(self.text)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None

    @cached_property
    def statements(self) -> list[Statement]:
        if self.data is None:
            return []
        raw = self.data.get("Statement", [])
        raw = raw if isinstance(raw, list) else [raw]
        return [Statement(s) for s in raw if isinstance(s, dict)]

    def problems(self) -> list[str]:
        """What parliament finds wrong with the document, one line each."""
        analysed = analyze_policy_string(self.text, ignore_private_auditors=True)
        problems = []
        for finding in analysed.findings:
            if finding.issue not in INVALID_FINDINGS:
                continue
            detail = finding.detail if isinstance(finding.detail, str) else ""
            if self.kind == "trust" and _TRUST_NO_RESOURCE in detail:
                continue
            problems.append(f"{finding.issue}{': ' + detail if detail else ''}")
        return problems

    def allows(self, action: str, resource: str, principal: str | None = None) -> bool:
        """True if an Allow statement grants ``action`` on ``resource``."""
        return any(grants(s, action, resource, principal) for s in self.statements)


def grants(
    statement: Statement, action: str, resource: str, principal: str | None = None
) -> bool:
    if statement.effect != "Allow" or "NotAction" in statement.statement:
        return False
    if action.lower() not in statement.actions_expanded:
        return False
    if not any(fnmatch.fnmatchcase(resource, r) for r in statement.resources):
        return False
    if principal is not None:
        return any(
            p == "*" or p == principal or fnmatch.fnmatchcase(principal, p)
            for p in statement.principals
        )
    return True


def raw_actions(statement: Statement) -> list[str]:
    actions = statement.statement.get("Action", [])
    return [actions] if isinstance(actions, str) else list(actions)


def is_star_resource(statement: Statement) -> bool:
    return "NotResource" in statement.statement or "*" in statement.resources


def _text(raw: Any) -> str | None:
    if isinstance(raw, dict | list):
        return json.dumps(raw)
    if isinstance(raw, str) and is_known(raw):
        return raw
    return None


def identity_documents(graph: Graph) -> list[Document]:
    """Every identity policy: role, user and group policies, managed, inline."""
    documents = []
    for resource in graph.of_type(*IDENTITY_POLICY_TYPES):
        text = _text(resource.inputs.get("policy"))
        if text is not None:
            documents.append(Document(resource, "identity", text, "policy"))
    for role in graph.of_type("aws:iam/role:Role"):
        for index, inline in enumerate(role.inputs.get("inlinePolicies") or []):
            text = _text((inline or {}).get("policy"))
            if text is not None:
                where = f"inlinePolicies[{index}]"
                documents.append(Document(role, "identity", text, where))
    return documents


def resource_documents(graph: Graph) -> list[Document]:
    """Key, bucket, queue and topic policies and role trust policies."""
    documents = []
    for key in graph.of_type("aws:kms/key:Key"):
        text = _text(key.inputs.get("policy"))
        if text is not None:
            documents.append(Document(key, "key", text, "policy"))
    for owner in graph.of_type(*BUCKET_POLICY_TYPES, "aws:s3/bucket:Bucket"):
        text = _text(owner.inputs.get("policy"))
        if text is not None:
            documents.append(Document(owner, "bucket", text, "policy"))
    for owner in graph.of_type(*OTHER_RESOURCE_POLICY_TYPES):
        text = _text(owner.inputs.get("policy"))
        if text is not None:
            documents.append(Document(owner, "resource", text, "policy"))
    for role in graph.of_type("aws:iam/role:Role"):
        text = _text(role.inputs.get("assumeRolePolicy"))
        if text is not None:
            documents.append(Document(role, "trust", text, "assumeRolePolicy"))
    return documents


def role_documents(graph: Graph, role: PlannedResource) -> list[Document]:
    """The identity policies that apply to one role (inline and role policies)."""
    names = {n for n in (role.id, value(role, "name"), value(role, "arn")) if n}
    return [
        d
        for d in identity_documents(graph)
        if d.owner is role
        or (
            d.owner.type == "aws:iam/rolePolicy:RolePolicy"
            and d.owner.inputs.get("role") in names
        )
    ]
