"""Measure rollout's own overhead and print each figure next to its budget.

    python bench/run.py            # the whole table (about a minute)
    python bench/run.py --quick    # fewer repetitions, for a first look

Figures: `rollout plan --json` as a whole cold process (median of 5) for 1, 2,
4, 8 and 16 regions, with the peak memory of that process; the artifact build
(cold, cached, and after a source change); the orchestrator's wall time for a
1 + 1 + 3 region rollout against the engine test double, next to the ideal.
Exit status 1 when a figure misses its budget.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rollout.regions import KNOWN_REGIONS  # noqa: E402

REGION_COUNTS = (1, 2, 4, 8, 16)


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    budget: float | None
    note: str = ""
    shown: str | None = None

    @property
    def ok(self) -> bool:
        return self.budget is None or self.value <= self.budget


def make_project(regions: int, into: Path) -> Path:
    """A project with ``regions`` real region names: primary, canary, then wave 2."""
    into.mkdir(parents=True)
    shutil.copytree(ROOT / "blueprints", into / "blueprints")
    shutil.copytree(
        ROOT / "lambda_code",
        into / "lambda_code",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    manifests = into / "regions"
    manifests.mkdir()
    shutil.copy(ROOT / "regions" / "defaults.yaml", manifests / "defaults.yaml")
    for index, region in enumerate(KNOWN_REGIONS[:regions]):
        role = "primary" if index == 0 else "canary" if index == 1 else "secondary"
        (manifests / f"{region}.yaml").write_text(f"region: {region}\nrole: {role}\n")
    return into


def timed_process(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        error = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"{' '.join(command)} failed: {error}")
    return elapsed, usage.ru_maxrss / 1024


def bench_plan(repeat: int, workdir: Path) -> list[Figure]:
    rollout = shutil.which("rollout", path=str(Path(sys.executable).parent))
    base = [rollout] if rollout else [sys.executable, str(ROOT / "cli.py")]
    figures: list[Figure] = []
    medians: dict[int, float] = {}
    for count in REGION_COUNTS:
        project = make_project(count, workdir / f"plan-{count}")
        command = [*base, "--project-dir", str(project), "plan", "--json"]
        timed_process(command, project)  # builds the artifact cache once
        runs = [timed_process(command, project) for _ in range(repeat)]
        medians[count] = statistics.median(t for t, _ in runs)
        peak = max(m for _, m in runs)
        budget = {2: 4.0, 16: 15.0}.get(count)
        figures.append(
            Figure(
                f"plan --json, {count} region(s)",
                medians[count],
                "s",
                budget,
                f"median of {repeat}",
            )
        )
        figures.append(
            Figure(
                f"peak memory, {count} region(s)",
                peak,
                "MB",
                600.0 if count == 16 else None,
            )
        )

    # Growth after the first region: the cost of each further region should
    # stay flat, so 16 regions cost no more than about twice the per-region
    # cost measured between 2 and 8.
    per_region_small = (medians[8] - medians[2]) / 6
    per_region_large = (medians[16] - medians[8]) / 8
    ratio = per_region_large / per_region_small if per_region_small > 0 else 0.0
    figures.append(
        Figure(
            "growth: s/region 8→16 over 2→8",
            ratio,
            "×",
            2.0,
            f"{per_region_small:.2f} s then {per_region_large:.2f} s a region",
        )
    )
    return figures


def bench_artifact(workdir: Path) -> list[Figure]:
    from rollout.artifact import build_artifact

    project = make_project(1, workdir / "artifact")
    start = time.perf_counter()
    first = build_artifact(project)
    cold = time.perf_counter() - start

    start = time.perf_counter()
    second = build_artifact(project)
    cached = time.perf_counter() - start

    other = make_project(1, workdir / "artifact-again")
    again = build_artifact(other)

    changed_file = project / "lambda_code" / "bench_change.py"
    changed_file.write_text("CHANGED = True\n")
    start = time.perf_counter()
    changed = build_artifact(project)
    rebuilt = time.perf_counter() - start

    same = first.sha256 == second.sha256 == again.sha256
    return [
        Figure(
            "artifact build, cold",
            cold,
            "s",
            None,
            "includes installing dependencies when not cached",
        ),
        Figure("artifact build, cached", cached, "s", 3.0),
        Figure(
            "artifact build, source changed", rebuilt, "s", 3.0, "dependencies cached"
        ),
        _yes_no(
            "artifact sha256 identical on every build",
            same,
            f"{first.sha256[:16]}… in two projects, built twice",
        ),
        _yes_no(
            "artifact sha256 changes with the source", changed.sha256 != first.sha256
        ),
    ]


def _yes_no(name: str, holds: bool, note: str = "") -> Figure:
    return Figure(
        name, 0.0 if holds else 1.0, "", 0.0, note, shown="yes" if holds else "no"
    )


def bench_orchestrator() -> list[Figure]:
    """Apply overhead against the engine double: 1 primary, 1 canary, 3 secondaries."""
    from bench.apply_overhead import STACK_SECONDS, measure

    actual, ideal, preparation = measure()
    overhead = (actual - ideal) / ideal * 100
    return [
        Figure(
            "apply wall time, 1+1+3 regions",
            actual,
            "s",
            None,
            f"ideal {ideal:.2f} s at {STACK_SECONDS:g} s a stack in the engine double",
        ),
        Figure("apply overhead over ideal", overhead, "%", 10.0),
        Figure(
            "apply preparation (offline plan of 5 regions)",
            preparation,
            "s",
            None,
            "before the first deploy",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="repeat 2 times, not 5")
    args = parser.parse_args()

    console = Console(width=max(120, Console().width))
    with tempfile.TemporaryDirectory(prefix="rollout-bench-") as tmp:
        workdir = Path(tmp)
        figures = bench_artifact(workdir)
        figures += bench_plan(2 if args.quick else 5, workdir)
        figures += bench_orchestrator()

    table = Table(title=f"rollout benchmark ({os.cpu_count()} cores)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("budget", justify="right")
    table.add_column("", justify="center")
    table.add_column("note")
    for figure in figures:
        budget = "" if figure.budget is None else f"≤ {figure.budget:g} {figure.unit}"
        if figure.shown is not None:
            budget = "yes"
        mark = "[green]ok[/]" if figure.ok else "[red]over[/]"
        table.add_row(
            figure.name, f"{figure.value:.2f} {figure.unit}", budget, mark, figure.note
        )
    console.print(table)
    return 0 if all(f.ok for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
