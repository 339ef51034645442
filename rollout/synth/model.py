"""What a plan holds for one region: every resource with its inputs and options.

Pure data, importable without Pulumi, so that checks and the CLI can read a
plan quickly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SECRET = "[secret]"


@dataclass
class PlannedResource:
    urn: str
    type: str
    name: str
    provider: str
    region: str | None
    parent: str
    custom: bool
    depends_on: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    # Input name -> URNs its value was computed from (data-flow dependencies).
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self, *, detailed: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "provider": self.provider,
            "region": self.region,
            "depends_on": list(self.depends_on),
            "options": dict(self.options),
        }
        if detailed:
            data["inputs"] = self.inputs
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlannedResource:
        return cls(
            urn=data["urn"],
            type=data["type"],
            name=data["name"],
            provider=data.get("provider", ""),
            region=data.get("region"),
            parent=data.get("parent", ""),
            custom=data.get("custom", True),
            depends_on=list(data.get("depends_on", [])),
            options=dict(data.get("options", {})),
            inputs=dict(data.get("inputs", {})),
            outputs=dict(data.get("outputs", {})),
            id=data.get("id", ""),
            property_dependencies=dict(data.get("property_dependencies", {})),
        )


@dataclass
class StackPlan:
    """Everything one stack will hold, in registration order."""

    stack: str
    region: str
    resources: list[PlannedResource]
    outputs: dict[str, Any] = field(default_factory=dict)

    def by_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def by_urn(self) -> dict[str, PlannedResource]:
        return {r.urn: r for r in self.resources}

    def providers(self) -> list[PlannedResource]:
        return [r for r in self.resources if r.type.startswith("pulumi:providers:")]
