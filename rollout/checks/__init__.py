"""Policy checks on the planned resources of every region.

Each rule is a plain function over the plan; the same definitions serve
``rollout check`` and the Pulumi policy pack under ``policy_pack/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from rollout.synth.model import StackPlan

Severity = Literal["error", "warning"]
Status = Literal["pass", "fail"]


@dataclass(frozen=True)
class CheckResult:
    id: str
    status: Status
    severity: Severity
    resource: str
    region: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "severity": self.severity,
            "resource": self.resource,
            "region": self.region,
            "message": self.message,
        }


def run_checks(stacks: list[StackPlan]) -> list[CheckResult]:
    """Every rule over every stack, in a stable order."""
    from rollout.checks.base import Graph
    from rollout.checks.rules import RULES

    # Every rule reads the same lookups of each stack: build them once.
    graphs = [Graph.of(stack) for stack in stacks]
    results: list[CheckResult] = []
    for rule in RULES:
        results.extend(rule.run(graphs))
    return results
