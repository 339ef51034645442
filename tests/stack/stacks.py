"""Synthesizing the shipped regions through the planner, for the stack tests."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from rollout.artifact import Artifact, build_artifact
from rollout.manifests import RegionManifest, load_project
from rollout.plan import Planner
from rollout.synth.model import StackPlan

ROOT = Path(__file__).resolve().parents[2]
REGIONS = ("us-east-1", "eu-west-1")


@dataclass(frozen=True)
class Synthesized:
    """One region's plan, with what the rules compare it against."""

    plan: StackPlan
    manifest: RegionManifest
    env: str
    artifact: Artifact
    all_regions: list[str]


def copy_project(target: Path) -> Path:
    target.mkdir(parents=True)
    for name in ("regions", "blueprints", "lambda_code"):
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name,
                target / name,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
    (target / "lambda_code").mkdir(exist_ok=True)
    return target


def synthesize(
    root: Path, regions: tuple[str, ...] = REGIONS, env: str = "dev"
) -> dict[str, Synthesized]:
    project = load_project(root, env)
    manifests = [project.manifest(region) for region in regions]
    artifact = build_artifact(root)
    result = Planner(project).plan(manifests, env, artifact)
    return {
        plan.region: Synthesized(
            plan=plan.as_stack_plan(),
            manifest=plan.manifest,
            env=env,
            artifact=artifact,
            all_regions=sorted(project.regions),
        )
        for plan in result.regions
    }
