"""`rollout apply` killed part way: the journal stays whole, reruns resume.

The apply runs in a child process against the engine double (each stack update
takes a fixed time) and is killed with SIGKILL; the parent then checks the
journal and runs apply again in process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rollout.artifact import build_artifact
from rollout.manifests import load_project
from rollout.orchestrator import Orchestrator
from tests.engine_double import Doubles, copy_project

ROOT = Path(__file__).resolve().parent.parent
# A region's result after its deploy: succeeded, or passed once its gate ran.
DEPLOYED = {"succeeded", "passed"}

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from rollout.artifact import build_artifact
    from rollout.manifests import load_project
    from rollout.orchestrator import Orchestrator
    from tests.engine_double import Doubles, EngineDouble

    project = load_project(Path(sys.argv[1]), "dev")
    doubles = Doubles(engine=EngineDouble(delay=0.25))
    orchestrator = Orchestrator(project, "dev", doubles.services(project))
    with orchestrator.lock("apply"):
        prepared = orchestrator.prepare(
            project.select(None), build_artifact(project.root)
        )
        print("deploying", flush=True)
        orchestrator.apply(prepared, auto_promote=True, bake_minutes=0)
    print("done", flush=True)
    """
)


def _apply_in_process(project_dir: Path) -> tuple[Doubles, object]:
    project = load_project(project_dir, "dev")
    doubles = Doubles()
    orchestrator = Orchestrator(project, "dev", doubles.services(project))
    with orchestrator.lock("apply"):
        prepared = orchestrator.prepare(
            project.select(None), build_artifact(project_dir)
        )
        outcome = orchestrator.apply(prepared, auto_promote=True, bake_minutes=0)
    return doubles, outcome


# Four stacks at 0.25 s each: during the primary, the canary, the last wave.
@pytest.mark.parametrize("after", [0.1, 0.4, 0.9])
def test_apply__sigkill_part_way__journal_whole_and_rerun_resumes(
    tmp_path: Path, after: float
) -> None:
    project = copy_project(tmp_path / "project")
    journal = project / ".rollout" / "dev" / "journal.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(project)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "deploying"
    time.sleep(after)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)

    finished_before: set[str] = set()
    if journal.exists():
        data = json.loads(journal.read_text())  # whole: never a torn write
        finished_before = {
            name
            for name, entry in data.get("regions", {}).items()
            if entry.get("result") in DEPLOYED
        }
    assert (project / ".rollout" / "dev" / "lock").exists()

    doubles, outcome = _apply_in_process(project)

    assert outcome.status == "succeeded"
    redeployed = {call.region for call in doubles.engine.calls if call.op == "up"}
    assert redeployed.isdisjoint(finished_before)
    assert redeployed | finished_before == {
        "us-east-1",
        "eu-west-1",
        "us-west-2",
        "ap-southeast-2",
    }
    assert "lock" in doubles.reporter.text().lower()
    final = json.loads(journal.read_text())
    assert {e["result"] for e in final["regions"].values()} <= DEPLOYED
