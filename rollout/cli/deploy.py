"""`rollout apply`, `promote`, `rollback`, `status` and `destroy`.

Each command builds one :class:`Orchestrator` from :func:`build_services`
(tests replace that function to hand in an engine double), calls one method
and prints what came of it.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from rollout.artifact import Artifact, build_artifact
from rollout.cli.common import (
    ENV_HELP,
    REGIONS_HELP,
    AppContext,
    app_context,
    err,
    handles_errors,
    out,
    print_json,
)
from rollout.errors import ConfirmationNeeded
from rollout.manifests import Project, RegionManifest, parse_regions_option
from rollout.orchestrator import Orchestrator, Prepared, Services

RegionsOption = Annotated[str | None, typer.Option("--regions", help=REGIONS_HELP)]
EnvOption = Annotated[str, typer.Option("--env", help=ENV_HELP)]
YesOption = Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")]
ForceUnlockOption = Annotated[
    bool,
    typer.Option(
        "--force-unlock",
        help=(
            "Break the env's lock even when its holder may be alive (for a lock "
            "taken on another host, after checking that its run is gone)."
        ),
    ),
]


class ProgressView:
    """One line per region with its current step; engine output under --debug."""

    def __init__(self, debug: bool) -> None:
        self._debug = debug
        self._rows: dict[str, str] = {}
        self._guard = threading.Lock()
        self._live: Live | None = None
        self._use_live = False

    def __enter__(self) -> ProgressView:
        # The live table starts with the first region step, after any prompt.
        self._use_live = err.is_terminal and not self._debug
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._table())
            self._live.__exit__(None, None, None)
            self._live = None

    def region_step(self, region: str, text: str) -> None:
        with self._guard:
            self._rows[region] = text
            if self._live is None and self._use_live:
                self._live = Live(self._table(), console=err, refresh_per_second=4)
                self._live.__enter__()
            if self._live is not None:
                self._live.update(self._table())
            else:
                err.print(f"{region}: {text}", markup=False, highlight=False)

    def engine_output(self, region: str, stack: str, line: str) -> None:
        if self._debug:
            with self._guard:
                err.print(f"[{region} {stack}] {line}", markup=False, highlight=False)

    def info(self, text: str) -> None:
        with self._guard:
            err.print(text, markup=False, highlight=False)

    def warn(self, text: str) -> None:
        with self._guard:
            err.print(f"Warning: {text}", style="yellow", markup=False, highlight=False)

    def _table(self) -> Table:
        table = Table(show_header=True, box=None)
        table.add_column("region")
        table.add_column("step")
        for region, text in self._rows.items():
            table.add_row(region, text)
        return table


def build_services(context: AppContext, project: Project, reporter: Any) -> Services:
    """The real collaborators of the orchestrator: Pulumi, boto3 and HTTP."""
    environ = dict(os.environ)
    manifests = {name: loaded.manifest for name, loaded in project.regions.items()}
    clients: list[Any] = []

    def aws_clients() -> Any:
        if not clients:
            from rollout.aws import AwsClients

            clients.append(AwsClients(manifests))
        return clients[0]

    def make_engine():
        from rollout.engine import PulumiEngine

        return PulumiEngine(project.root, environ)

    def make_replicator():
        from rollout.replication import Replicator

        return Replicator(aws_clients(), max_workers=4)

    def make_gate():
        import time

        from rollout.gate import HealthGate

        return HealthGate(aws_clients(), time)

    from rollout.plan import Planner

    return Services(
        make_engine=make_engine,
        make_replicator=make_replicator,
        make_gate=make_gate,
        make_s3_client=lambda manifest: aws_clients().client(manifest.region, "s3"),
        planner=Planner(project),
        environ=environ,
        reporter=reporter,
        build_artifact=build_artifact,
    )


def _orchestrator(
    context: AppContext,
    project: Project,
    env: str,
    view: ProgressView,
    parallel: int = 4,
) -> Orchestrator:
    services = build_services(context, project, view)
    return Orchestrator(project, env, services, parallel=parallel)


def _cached_artifact(project: Project):
    def artifact_for(sha256: str) -> Artifact:
        return Artifact(project.root / ".rollout" / "cache" / f"{sha256}.zip", sha256)

    return artifact_for


def _confirm(yes: bool, question: str) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfirmationNeeded(
            f"{question.rstrip('?')} needs confirmation and there is no terminal to "
            "ask on; rerun with --yes"
        )
    if not typer.confirm(question, default=False, err=True):
        err.print("Cancelled; nothing was changed.")
        raise typer.Exit(1)


def _show_summary(prepared: Prepared) -> None:
    plan = prepared.plan
    err.print(
        f"Rollout of env [cyan]{plan.env}[/], artifact [cyan]{plan.artifact.ref.key}[/]"
    )
    for region in plan.regions:
        s = region.summary
        err.print(
            f"  {region.region} ({region.role}, wave {region.wave}): "
            f"+{s.get('create', 0)} ~{s.get('update', 0)} -{s.get('delete', 0)} "
            f"={s.get('same', 0)}",
            highlight=False,
        )


def run_preview(
    ctx: typer.Context, regions: str | None, env: str, as_json: bool
) -> None:
    """`rollout plan --preview`: the real Pulumi preview of every stack."""
    context = app_context(ctx)
    project, manifests = context.select(env, regions)
    with ProgressView(context.debug) as view:
        orchestrator = _orchestrator(context, project, env, view)
        artifact = orchestrator.services.build_artifact(project.root)
        prepared = orchestrator.prepare(manifests, artifact)
        changes = orchestrator.preview(prepared)
    if as_json:
        print_json(
            {
                "env": env,
                "artifact": {"sha256": artifact.sha256, "key": artifact.ref.key},
                "regions": [
                    {
                        "region": region,
                        "stack": prepared.specs[region].name,
                        "changes": c,
                    }
                    for region, c in changes.items()
                ],
            }
        )
        return
    for region, counts in changes.items():
        text = (
            ", ".join(f"{op} {n}" for op, n in sorted(counts.items())) or "no changes"
        )
        out.print(f"{prepared.specs[region].name}: {text}", highlight=False)


@handles_errors
def apply(
    ctx: typer.Context,
    regions: RegionsOption = None,
    env: EnvOption = "dev",
    yes: YesOption = False,
    auto_promote: Annotated[
        bool,
        typer.Option(
            "--auto-promote", help="After a healthy canary, deploy the remaining waves."
        ),
    ] = False,
    parallel: Annotated[
        int,
        typer.Option("--parallel", min=1, help="Regions of one wave deployed at once."),
    ] = 4,
    bake_minutes: Annotated[
        float | None,
        typer.Option(
            "--bake-minutes",
            min=0,
            help="Bake time of the health gate (default: the manifest's canary).",
        ),
    ] = None,
    force_unlock: ForceUnlockOption = False,
) -> None:
    """Deploy: primary, artifact copy, canary and its gate, then stop for promotion."""
    context = app_context(ctx)
    project, manifests = context.select(env, regions)
    with ProgressView(context.debug) as view:
        orchestrator = _orchestrator(context, project, env, view, parallel)
        with orchestrator.lock("apply", force=force_unlock):
            artifact = orchestrator.services.build_artifact(project.root)
            prepared = orchestrator.prepare(manifests, artifact)
            _show_summary(prepared)
            _confirm(yes, f"Deploy {len(manifests)} region(s) of env {env}?")
            outcome = orchestrator.apply(
                prepared, auto_promote=auto_promote, bake_minutes=bake_minutes
            )
    err.print(outcome.message, markup=False, highlight=False)


@handles_errors
def promote(
    ctx: typer.Context, env: EnvOption = "dev", force_unlock: ForceUnlockOption = False
) -> None:
    """After a healthy canary, deploy the remaining waves."""
    context = app_context(ctx)
    project = context.load(env)
    with ProgressView(context.debug) as view:
        orchestrator = _orchestrator(context, project, env, view)
        with orchestrator.lock("promote", force=force_unlock):
            outcome = orchestrator.promote(_cached_artifact(project))
    err.print(outcome.message, markup=False, highlight=False)


@handles_errors
def rollback(
    ctx: typer.Context,
    region: Annotated[str, typer.Option("--region")],
    env: EnvOption = "dev",
    force_unlock: ForceUnlockOption = False,
) -> None:
    """Redeploy the last good artifact of a region and mark the current one bad."""
    context = app_context(ctx)
    project = context.load(env)
    with ProgressView(context.debug) as view:
        orchestrator = _orchestrator(context, project, env, view)
        with orchestrator.lock("rollback", force=force_unlock):
            outcome = orchestrator.rollback(region, _cached_artifact(project))
    err.print(outcome.message, markup=False, highlight=False)


@handles_errors
def status(
    ctx: typer.Context,
    env: EnvOption = "dev",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """What each region runs now and where the rollout stands."""
    context = app_context(ctx)
    project = context.load(env)
    report = _orchestrator(context, project, env, ProgressView(context.debug)).status()
    if as_json:
        print_json(report)
        return
    table = Table(title=f"env {env}", title_justify="left")
    for column in (
        "region",
        "role",
        "wave",
        "artifact",
        "last step",
        "result",
        "updated",
    ):
        table.add_column(column, no_wrap=True)
    for row in report["regions"]:
        table.add_row(
            row["region"],
            row["role"],
            str(row["wave"]),
            (row["artifact_sha256"] or "-")[:12],
            row["last_step"] or "-",
            row["result"] or "-",
            (row["updated_at"] or "-")[:19].replace("T", " "),
        )
    out.print(table)
    out.print(f"next: {report['next']}", markup=False, highlight=False)


DestroyRegionsOption = Annotated[
    str | None,
    typer.Option(
        "--regions",
        help=(
            "Comma-separated regions to tear down, or 'all' (the default); the "
            "primary goes last, and only once no other region stands."
        ),
    ),
]


@handles_errors
def destroy(
    ctx: typer.Context,
    regions: DestroyRegionsOption = None,
    env: EnvOption = "dev",
    yes: YesOption = False,
    force_unlock: ForceUnlockOption = False,
) -> None:
    """Tear down, secondaries first; never the primary while others stand."""
    context = app_context(ctx)
    project = context.load(env)
    targets = _destroy_targets(project, regions)
    with ProgressView(context.debug) as view:
        orchestrator = _orchestrator(context, project, env, view)
        with orchestrator.lock("destroy", force=force_unlock):
            names = ", ".join(m.region for m in targets)
            _confirm(yes, f"Destroy every resource of {names} in env {env}?")
            outcome = orchestrator.destroy(targets)
    err.print(outcome.message, markup=False, highlight=False)


def _destroy_targets(project: Project, regions: str | None) -> list[RegionManifest]:
    """The regions named, without adding the primary as plan and apply do."""
    names = parse_regions_option(regions)
    selected = project.select(names)
    if not names or names == ["all"]:
        return selected
    return [m for m in selected if m.region in names]
