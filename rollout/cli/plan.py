"""`rollout render`, `rollout plan` and `rollout check`: everything offline."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.tree import Tree

from rollout.artifact import build_artifact
from rollout.checks import CheckResult
from rollout.cli.common import (
    ENV_HELP,
    REGIONS_HELP,
    app_context,
    err,
    handles_errors,
    out,
    print_json,
)
from rollout.errors import PolicyViolation
from rollout.fsutil import check_replaceable, recover_directory
from rollout.lock import EnvLock
from rollout.plan import Planner, RolloutPlan, project_paths
from rollout.render import write_rendered

RegionsOption = Annotated[str | None, typer.Option("--regions", help=REGIONS_HELP)]
EnvOption = Annotated[str, typer.Option("--env", help=ENV_HELP)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout only.")]


@handles_errors
def render(
    ctx: typer.Context,
    regions: RegionsOption = None,
    env: EnvOption = "dev",
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help=(
                "Folder to write (default .rollout/<env>/stacks/); it must be new, "
                "empty or an earlier render, since it is replaced as a whole."
            ),
        ),
    ] = None,
) -> None:
    """Write Pulumi.yaml and one Pulumi.<env>-<region>.yaml per region."""
    context = app_context(ctx)
    project, manifests = context.select(env, regions)
    target = (out_dir or project_paths(project.root, env)["stacks"]).absolute()
    found = recover_directory(target)
    if found:
        err.print(found)
    check_replaceable(target)
    artifact = build_artifact(project.root)
    rendered = Planner(project).render(manifests, env, artifact)
    if out_dir is None:
        # The env's own stack files are what a running apply deploys from.
        with EnvLock(
            project_paths(project.root, env)["lock"], "render", on_message=err.print
        ):
            write_rendered(target, rendered)
    else:
        write_rendered(target, rendered)
    err.print(f"Rendered {len(rendered.files)} files into {target}")
    for name in sorted(rendered.files):
        out.print(f"  {name}")


def _plan(ctx: typer.Context, regions: str | None, env: str) -> RolloutPlan:
    from rollout.checks import run_checks

    context = app_context(ctx)
    project, manifests = context.select(env, regions)
    with err.status("Building the Lambda artifact…"):
        artifact = build_artifact(project.root)
    with err.status(f"Synthesizing {len(manifests)} stack(s) offline…"):
        plan = Planner(project).plan(
            manifests, env, artifact, previous=_applied_digests(project.root, env)
        )
        stacks = [r.as_stack_plan() for r in plan.regions]
        plan.checks = [
            {k: v for k, v in c.to_json().items() if k not in ("severity", "region")}
            for c in run_checks(stacks)
        ]
    return plan


def _applied_digests(root: Path, env: str) -> dict[str, dict[str, str]] | None:
    """Digests of the resources of each region's last successful apply."""
    path = project_paths(root, env)["journal"]
    if not path.exists():
        return None
    from rollout.journal import Journal

    return Journal.read(path).applied_digests()


@handles_errors
def plan(
    ctx: typer.Context,
    regions: RegionsOption = None,
    env: EnvOption = "dev",
    as_json: JsonOption = False,
    detailed: Annotated[
        bool, typer.Option("--detailed", help="List every resource with its inputs.")
    ] = False,
    preview: Annotated[
        bool,
        typer.Option(
            "--preview", help="Run the real `pulumi preview` (needs the CLI)."
        ),
    ] = False,
) -> None:
    """Show the ordered rollout and every resource each stack will hold."""
    if preview:
        from rollout.cli.deploy import run_preview

        run_preview(ctx, regions, env, as_json)
        return

    result = _plan(ctx, regions, env)
    if as_json:
        print_json(result.to_json(detailed=True))
        return
    show_plan(result, detailed=detailed)


@handles_errors
def check(
    ctx: typer.Context,
    regions: RegionsOption = None,
    env: EnvOption = "dev",
    as_json: JsonOption = False,
    every: Annotated[
        bool, typer.Option("--all", help="List every check, passing ones too.")
    ] = False,
) -> None:
    """Run the policy checks on the planned resources of every region."""
    from rollout.checks import run_checks

    context = app_context(ctx)
    project, manifests = context.select(env, regions)
    artifact = build_artifact(project.root)
    with err.status(f"Synthesizing {len(manifests)} stack(s) offline…"):
        result = Planner(project).plan(manifests, env, artifact)
    results = run_checks([r.as_stack_plan() for r in result.regions])
    failures = [c for c in results if c.status == "fail" and c.severity == "error"]

    if as_json:
        print_json({"checks": [c.to_json() for c in results]})
    else:
        show_checks(results, every=every)
    if failures:
        raise typer.Exit(PolicyViolation.exit_code)


def show_checks(results: list[CheckResult], *, every: bool = False) -> None:
    """A row per rule (resources checked, result), then each failing resource.

    With ``every``, one row per evaluated resource, passing ones included.
    """
    order = {("fail", "error"): 0, ("fail", "warning"): 1}
    ranked = sorted(
        results, key=lambda c: (order.get((c.status, c.severity), 2), c.id, c.region)
    )

    rules = Table(title="Policy checks by rule", title_justify="left")
    rules.add_column("rule", no_wrap=True)
    rules.add_column("severity", no_wrap=True)
    rules.add_column("resources", justify="right")
    rules.add_column("result", no_wrap=True)
    by_rule: dict[str, list[CheckResult]] = {}
    for check in ranked:
        by_rule.setdefault(check.id, []).append(check)
    for rule_id, checks in sorted(by_rule.items()):
        failed = sum(1 for c in checks if c.status == "fail")
        if not failed:
            verdict = "[green]pass[/]"
        elif checks[0].severity == "error":
            verdict = f"[red]{failed} failed[/]"
        else:
            verdict = f"[yellow]{failed} warned[/]"
        rules.add_row(rule_id, checks[0].severity, str(len(checks)), verdict)
    out.print(rules)

    shown = ranked if every else [c for c in ranked if c.status == "fail"]
    if shown:
        table = Table(
            title="Every check" if every else "Failing checks", title_justify="left"
        )
        table.add_column("result", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        table.add_column("region", no_wrap=True)
        table.add_column("resource / message", overflow="fold")
        for c in shown:
            if c.status == "pass":
                mark = "[green]pass[/]"
            elif c.severity == "error":
                mark = "[red]FAIL[/]"
            else:
                mark = "[yellow]WARN[/]"
            detail = f"{_short_urn(c.resource)}\n[dim]{_escape(c.message)}[/]"
            table.add_row(mark, c.id, c.region, detail)
        out.print(table)

    failed = [c for c in results if c.status == "fail"]
    errors = sum(1 for c in failed if c.severity == "error")
    out.print(
        f"rules: {len(by_rule)}, checks: {len(results)}, "
        f"passed: {len(results) - len(failed)}, failed: {errors}, "
        f"warnings: {len(failed) - errors}"
    )


def show_plan(result: RolloutPlan, *, detailed: bool) -> None:
    artifact = result.artifact
    out.print(
        f"[bold]Rollout plan[/] for env [cyan]{result.env}[/], artifact "
        f"[cyan]{artifact.ref.key}[/]",
        soft_wrap=True,
    )

    for number, regions in result.waves():
        for region in regions:
            out.print()
            counts = Counter(r.type for r in region.resources)
            table = Table(
                title=(
                    f"wave {number} · {region.region} ({region.role}) · "
                    f"stack {region.stack} · {len(region.resources)} resources"
                ),
                title_justify="left",
            )
            table.add_column("type")
            table.add_column("count", justify="right")
            for type_, count in sorted(counts.items()):
                table.add_row(type_, str(count))
            out.print(table)
            s = region.summary
            out.print(
                f"  [green]+{s['create']} to create[/]  [yellow]~{s['update']} to "
                f"update[/]  [red]-{s['delete']} to delete[/]  {s['same']} unchanged"
            )
            if detailed:
                out.print(_resource_tree(region))

    out.print()
    out.print("[bold]Steps[/]")
    for index, step in enumerate(result.steps, start=1):
        out.print(f"  {index}. {_describe_step(step)}")

    if result.checks:
        failed = [c for c in result.checks if c["status"] == "fail"]
        out.print()
        verdict = (
            "[green]all pass[/]" if not failed else f"[red]{len(failed)} failing[/]"
        )
        out.print(f"[bold]Checks[/]: {len(result.checks)} evaluated, {verdict}")
        for c in failed[:20]:
            out.print(f"  [red]✗[/] {c['id']}: {c['message']}")


def _resource_tree(region) -> Tree:
    tree = Tree(f"[bold]{region.stack}[/]")
    for resource in region.resources:
        node = tree.add(f"{resource.type} [cyan]{resource.name}[/]")
        extras = {k: v for k, v in resource.options.items() if v}
        if resource.depends_on:
            extras["depends_on"] = [_short_urn(u) for u in resource.depends_on]
        if extras:
            node.add(f"[dim]options: {json.dumps(extras)}[/]")
        for key, value in sorted(resource.inputs.items()):
            text = json.dumps(value, sort_keys=True)
            if len(text) > 400:
                text = text[:400] + "…"
            node.add(_escape(f"{key} = {text}"))
    return tree


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _short_urn(urn: str) -> str:
    return urn.rsplit("::", 1)[-1] if "::" in urn else urn


def _describe_step(step: dict) -> str:
    action = step["action"]
    if action == "deploy":
        return f"deploy {step['stack']}"
    if action == "replicate-artifact":
        return f"copy the artifact from {step['from']} to {', '.join(step['to'])}"
    if action == "health-gate":
        return f"health gate on {step['region']} (bake, alarms, smoke requests)"
    if action == "promote":
        waves = ", ".join(str(w) for w in step["waves"])
        return f"promote: deploy wave(s) {waves} after `rollout promote`"
    return json.dumps(step)
