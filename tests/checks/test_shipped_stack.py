"""Every rule on the shipped stack: us-east-1 and eu-west-1 as planned offline.

These tests read the real regional program; a rule that fails here names the
resource of the stack that breaks it.
"""

from __future__ import annotations

import shutil

import pytest

from rollout.artifact import build_artifact
from rollout.checks import CheckResult
from rollout.checks.rules import RULES, RULES_BY_ID
from rollout.manifests import load_project
from rollout.plan import Planner
from rollout.synth.model import StackPlan
from tests.conftest import ROOT

REGIONS = ["us-east-1", "eu-west-1"]


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> list[StackPlan]:
    root = tmp_path_factory.mktemp("shipped") / "project"
    for name in ("regions", "blueprints", "lambda_code"):
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__")
            )
    # The rules read resources, not code: an empty lambda_code/ plans the same.
    (root / "lambda_code").mkdir(exist_ok=True)
    project = load_project(root, "dev")
    manifests = project.select(REGIONS)
    plan = Planner(project).plan(manifests, "dev", build_artifact(root))
    return [region.as_stack_plan() for region in plan.regions]


def _lines(results: list[CheckResult]) -> list[str]:
    return [f"{r.id} {r.region} {r.resource}: {r.message}" for r in results]


def test_shipped_stack__both_regions__planned(shipped):
    assert sorted(s.region for s in shipped) == sorted(REGIONS)


def test_shipped_stack__every_rule__no_error_failure(shipped):
    failed = [
        r
        for rule in RULES
        for r in rule(shipped)
        if r.status == "fail" and r.severity == "error"
    ]

    assert _lines(failed) == []


@pytest.mark.parametrize("rule_id", [r.id for r in RULES])
def test_shipped_stack__rule__evaluated_and_passes(shipped, rule_id):
    results = RULES_BY_ID[rule_id](shipped)

    assert results, f"{rule_id} found nothing to evaluate in the shipped stack"
    assert _lines([r for r in results if r.status == "fail"]) == []
