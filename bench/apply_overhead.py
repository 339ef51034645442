"""Orchestrator wall time for a 1 + 1 + 3 region rollout against the engine double.

Each stack update takes a fixed delay in the double; the artifact copy and the
health gate (bake time zero) are the test fakes, so what is left over the
ideal — primary + copy + each wave's slowest region — is rollout's own work:
journal writes, locking, rendering, threads.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from rollout.artifact import build_artifact
from rollout.manifests import load_project
from rollout.orchestrator import Orchestrator
from tests.engine_double import Doubles, EngineDouble, copy_project

STACK_SECONDS = 2.0
REGIONS = {
    "us-east-1": "role: primary",
    "eu-west-1": "role: canary",
    "us-west-2": "role: secondary\nwave: 2",
    "eu-central-1": "role: secondary\nwave: 2",
    "ap-southeast-2": "role: secondary\nwave: 2",
}


def _project(root: Path) -> Path:
    project = copy_project(root / "project")
    regions = project / "regions"
    for path in regions.glob("*.yaml"):
        if path.name != "defaults.yaml":
            path.unlink()
    for region, body in REGIONS.items():
        (regions / f"{region}.yaml").write_text(f"region: {region}\n{body}\n")
    return project


def measure() -> tuple[float, float, float]:
    """(apply wall seconds, ideal seconds, offline preparation seconds)."""
    with tempfile.TemporaryDirectory(prefix="rollout-apply-") as tmp:
        project = load_project(_project(Path(tmp)))
        doubles = Doubles(engine=EngineDouble(delay=STACK_SECONDS))
        orchestrator = Orchestrator(
            project, "dev", doubles.services(project), parallel=4
        )
        manifests = orchestrator.project.select(None)

        start = time.perf_counter()
        prepared = orchestrator.prepare(manifests, build_artifact(project.root))
        preparation = time.perf_counter() - start

        start = time.perf_counter()
        outcome = orchestrator.apply(prepared, auto_promote=True, bake_minutes=0)
        elapsed = time.perf_counter() - start

        assert outcome.status == "succeeded", outcome.message
        assert len(doubles.engine.ops("up")) == len(REGIONS)
        # primary, then the canary wave, then wave 2 (three regions in parallel)
        ideal = 3 * STACK_SECONDS
        return elapsed, ideal, preparation


if __name__ == "__main__":
    actual, ideal, preparation = measure()
    print(f"apply {actual:.2f} s, ideal {ideal:.2f} s, preparation {preparation:.2f} s")
