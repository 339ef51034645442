"""The ordered rollout and what each stack will hold, computed offline.

manifests -> rendered stack configs -> synthesized resources -> checks. The
steps of a rollout are computed here and nowhere else: ``rollout plan`` shows
them and ``rollout apply`` walks them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rollout.artifact import Artifact
from rollout.errors import InputError
from rollout.manifests import Project, RegionManifest
from rollout.render import PROJECT_NAME, RenderedSet, Renderer, stack_name
from rollout.synth.model import PlannedResource, StackPlan

log = logging.getLogger(__name__)


@dataclass
class RegionPlan:
    manifest: RegionManifest
    stack: str
    resources: list[PlannedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, int] = field(default_factory=dict)

    @property
    def region(self) -> str:
        return self.manifest.region

    @property
    def role(self) -> str:
        return self.manifest.role

    @property
    def wave(self) -> int:
        return self.manifest.effective_wave

    def as_stack_plan(self) -> StackPlan:
        return StackPlan(self.stack, self.region, self.resources, self.outputs)


@dataclass
class RolloutPlan:
    env: str
    artifact: Artifact
    regions: list[RegionPlan]
    steps: list[dict[str, Any]]
    checks: list[dict[str, Any]] = field(default_factory=list)
    rendered: RenderedSet | None = None

    def waves(self) -> list[tuple[int, list[RegionPlan]]]:
        numbers = sorted({r.wave for r in self.regions})
        return [(n, [r for r in self.regions if r.wave == n]) for n in numbers]

    def to_json(self, *, detailed: bool = True) -> dict[str, Any]:
        return {
            "env": self.env,
            "artifact": {"sha256": self.artifact.sha256, "key": self.artifact.ref.key},
            "waves": [
                {
                    "wave": number,
                    "regions": [
                        {
                            "region": r.region,
                            "role": r.role,
                            "stack": r.stack,
                            "resources": [
                                res.to_json(detailed=detailed) for res in r.resources
                            ],
                            "summary": r.summary,
                        }
                        for r in regions
                    ],
                }
                for number, regions in self.waves()
            ],
            "steps": self.steps,
            "checks": self.checks,
        }


def rollout_steps(env: str, regions: list[RegionManifest]) -> list[dict[str, Any]]:
    """The ordered steps of a rollout of ``regions`` (the primary among them).

    The primary deploys first, the artifact is copied to every other region,
    the canary waves deploy and each canary passes its health gate, then the
    remaining waves are promoted. Without a canary there is no gate: every
    wave deploys in order.
    """
    primary = next(m for m in regions if m.role == "primary")
    others = [m for m in regions if m.role != "primary"]
    steps: list[dict[str, Any]] = [
        {
            "action": "deploy",
            "region": primary.region,
            "stack": stack_name(env, primary.region),
        }
    ]
    if others:
        steps.append(
            {
                "action": "replicate-artifact",
                "from": primary.region,
                "to": [m.region for m in others],
            }
        )

    canaries = [m for m in others if m.role == "canary"]
    if not canaries:
        steps.extend(_deploy(env, m) for m in _by_wave(others))
        return steps

    steps.extend(_deploy(env, m) for m in _by_wave(canaries))
    steps.extend(
        {"action": "health-gate", "region": m.region} for m in _by_wave(canaries)
    )
    later = sorted({m.effective_wave for m in others if m.role != "canary"})
    if later:
        steps.append({"action": "promote", "waves": later})
    return steps


def _deploy(env: str, manifest: RegionManifest) -> dict[str, Any]:
    return {
        "action": "deploy",
        "region": manifest.region,
        "stack": stack_name(env, manifest.region),
        "wave": manifest.effective_wave,
    }


def _by_wave(manifests: Iterable[RegionManifest]) -> list[RegionManifest]:
    return sorted(manifests, key=lambda m: (m.effective_wave, m.region))


def resource_digest(resource: PlannedResource) -> str:
    """A short fingerprint of what a resource is asked to be."""
    body = json.dumps(
        {
            "type": resource.type,
            "inputs": resource.inputs,
            "provider": resource.provider,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def summarize(
    resources: list[PlannedResource], previous: dict[str, str] | None
) -> dict[str, int]:
    """Counts of create/update/delete/same against the last applied digests.

    ``previous`` maps URN to :func:`resource_digest` as recorded by the last
    successful apply of the stack; None means the stack was never applied.
    """
    previous = previous or {}
    summary = {"create": 0, "update": 0, "delete": 0, "same": 0}
    planned = {r.urn: r for r in resources}
    for urn, resource in planned.items():
        if urn not in previous:
            summary["create"] += 1
        elif previous[urn] == resource_digest(resource):
            summary["same"] += 1
        else:
            summary["update"] += 1
    summary["delete"] = sum(1 for urn in previous if urn not in planned)
    return summary


class Planner:
    """Renders and synthesizes the stacks of a rollout, without writing them."""

    def __init__(self, project: Project) -> None:
        self._project = project
        self._renderer = Renderer(project.root / "blueprints")

    def render(
        self, regions: list[RegionManifest], env: str, artifact: Artifact
    ) -> RenderedSet:
        return self._renderer.render(self._project, regions, env, artifact)

    def plan(
        self,
        regions: list[RegionManifest],
        env: str,
        artifact: Artifact,
        previous: dict[str, dict[str, str]] | None = None,
    ) -> RolloutPlan:
        """Synthesize every region; ``previous`` maps region to applied digests."""
        rendered = self.render(regions, env, artifact)

        # Pulumi is imported only once a plan really needs it.
        from regional_stack.program import main as program
        from rollout.synth.runner import SynthesisError, Synthesizer

        synthesizer = Synthesizer(PROJECT_NAME, program)
        region_plans: list[RegionPlan] = []
        for manifest in regions:
            stack = stack_name(env, manifest.region)
            config = rendered.config(env, manifest.region)
            secret_keys = []
            for name in manifest.secrets:
                # A plan never reads secret values: it shows where they go.
                key = f"rollout:secret-{name}"
                config[key] = "[secret]"
                secret_keys.append(key)
            log.debug("synthesizing %s", stack)
            try:
                stack_plan = synthesizer.synthesize(
                    stack, manifest.region, config, secret_keys
                )
            except SynthesisError as exc:
                # Valid manifests that still fail here carry a value the
                # program cannot use: a template's output or an endpoint name.
                source = self._project.regions[manifest.region].path
                raise InputError(
                    f"{_relative(source, self._project.root)}: stack {stack} cannot "
                    f"be planned: {exc.__cause__ or exc}"
                ) from exc
            region_plans.append(
                RegionPlan(
                    manifest=manifest,
                    stack=stack,
                    resources=stack_plan.resources,
                    outputs=stack_plan.outputs,
                    summary=summarize(
                        stack_plan.resources, (previous or {}).get(manifest.region)
                    ),
                )
            )
        return RolloutPlan(
            env=env,
            artifact=artifact,
            regions=region_plans,
            steps=rollout_steps(env, regions),
            rendered=rendered,
        )


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def project_paths(root: Path, env: str) -> dict[str, Path]:
    """Where rollout keeps its files for one env under the project."""
    base = root / ".rollout"
    return {
        "stacks": base / env / "stacks",
        "journal": base / env / "journal.json",
        "lock": base / env / "lock",
        "state": base / "state",
        "cache": base / "cache",
    }
