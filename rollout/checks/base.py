"""What a rule is, and the view of one stack that every rule reads.

A rule is a plain function that looks at a :class:`Graph` (one stack's planned
resources, indexed) and yields a :class:`Verdict` for every resource it
evaluated, passing or not. :class:`Rule` gives it a stable id and a severity
and turns its verdicts into :class:`~rollout.checks.CheckResult` rows. Nothing
here imports Pulumi: the policy pack adapts Pulumi's view into the same
:class:`~rollout.synth.model.PlannedResource` objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from rollout.checks import CheckResult, Severity
from rollout.synth.model import SECRET, PlannedResource, StackPlan

PROVIDER_PREFIX = "pulumi:providers:"
DEFAULT_PROVIDER = "pulumi:providers:aws::default"

# The placeholder Pulumi gives a value that is not known until apply.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

# Outputs through which one resource names another: an ARN, a name, an id.
_IDENTITY_KEYS = (
    "arn",
    "name",
    "bucket",
    "keyId",
    "invokeArn",
    "executionArn",
    "url",
    "id",
)


def is_known(value: Any) -> bool:
    """False for values a plan or a preview cannot know yet (or must not show)."""
    if value is None or value == UNKNOWN or value == SECRET:
        return False
    if isinstance(value, str) and UNKNOWN in value:
        return False
    return True


@dataclass(frozen=True)
class Verdict:
    """One rule's judgement of one resource."""

    resource: PlannedResource
    ok: bool
    message: str


@dataclass
class Graph:
    """One stack's resources, with lookups by type and by reference."""

    stack: str
    region: str
    resources: list[PlannedResource]
    _by_type: dict[str, list[PlannedResource]] = field(default_factory=dict)
    _by_value: dict[str, list[PlannedResource]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for resource in self.resources:
            self._by_type.setdefault(resource.type, []).append(resource)
            for value in _identities(resource):
                self._by_value.setdefault(value, []).append(resource)

    @classmethod
    def of(cls, stack: StackPlan) -> Graph:
        return cls(stack.stack, stack.region, list(stack.resources))

    def of_type(self, *tokens: str) -> list[PlannedResource]:
        found: list[PlannedResource] = []
        for token in tokens:
            found.extend(self._by_type.get(token, []))
        return found

    def find(self, value: Any, *tokens: str) -> PlannedResource | None:
        """The resource of one of ``tokens`` that ``value`` (an ARN, name, id) names."""
        if not isinstance(value, str) or not is_known(value):
            return None
        for resource in self._by_value.get(value, []):
            if not tokens or resource.type in tokens:
                return resource
        return None

    def region_of(self, resource: PlannedResource) -> str:
        return resource.region or self.region

    def aws_resources(self) -> Iterator[PlannedResource]:
        """Every custom AWS resource, providers left out."""
        for resource in self.resources:
            if resource.custom and resource.type.startswith("aws:"):
                yield resource


def _identities(resource: PlannedResource) -> list[str]:
    values = []
    if resource.id and is_known(resource.id):
        values.append(resource.id)
    for source in (resource.outputs, resource.inputs):
        for key in _IDENTITY_KEYS:
            value = source.get(key)
            if isinstance(value, str) and value and is_known(value):
                values.append(value)
    return list(dict.fromkeys(values))


def value(resource: PlannedResource, key: str, default: Any = None) -> Any:
    """An input of the resource, or the output of that name when no input was set."""
    if key in resource.inputs:
        return resource.inputs[key]
    return resource.outputs.get(key, default)


def display(resource: PlannedResource) -> str:
    """How a message names a resource: its type's short name and its name."""
    kind = resource.type.rsplit(":", 1)[-1]
    return f"{kind} '{resource.name}'"


Scope = Literal["stack", "all"]


@dataclass(frozen=True)
class Rule:
    """A rule with its stable id, severity and one-line description."""

    id: str
    severity: Severity
    description: str
    evaluate: Callable[..., Iterable[Verdict]]
    scope: Scope = "stack"

    def __call__(self, stacks: list[StackPlan]) -> list[CheckResult]:
        graphs = [Graph.of(stack) for stack in stacks]
        return self.run(graphs)

    def run(self, graphs: list[Graph]) -> list[CheckResult]:
        results: list[CheckResult] = []
        if self.scope == "all":
            by_urn = {r.urn: g for g in graphs for r in g.resources}
            for verdict in self.evaluate(graphs):
                graph = by_urn.get(verdict.resource.urn)
                results.append(self._result(verdict, graph))
            return results
        for graph in graphs:
            for verdict in self.evaluate(graph):
                results.append(self._result(verdict, graph))
        return results

    def _result(self, verdict: Verdict, graph: Graph | None) -> CheckResult:
        region = verdict.resource.region or (graph.region if graph else "")
        return CheckResult(
            id=self.id,
            status="pass" if verdict.ok else "fail",
            severity=self.severity,
            resource=verdict.resource.urn,
            region=region,
            message=verdict.message,
        )


def rule(
    id_: str, severity: Severity, description: str, *, scope: Scope = "stack"
) -> Callable[[Callable[..., Iterable[Verdict]]], Rule]:
    """Declare a rule: ``@rule("s3.tls-only", "error", "...")`` over a function."""

    def wrap(function: Callable[..., Iterable[Verdict]]) -> Rule:
        return Rule(id_, severity, description, function, scope)

    return wrap
