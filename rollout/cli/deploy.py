"""`rollout apply`, `promote`, `rollback`, `status` and `destroy`."""

from __future__ import annotations

from typing import Annotated

import typer

from rollout.cli.common import ENV_HELP, REGIONS_HELP, handles_errors
from rollout.errors import EngineMissing

RegionsOption = Annotated[str | None, typer.Option("--regions", help=REGIONS_HELP)]
EnvOption = Annotated[str, typer.Option("--env", help=ENV_HELP)]
YesOption = Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")]


def _not_built(what: str) -> EngineMissing:
    return EngineMissing(f"{what} is not available in this build of rollout")


def run_preview(ctx: typer.Context, regions: str | None, env: str, as_json: bool) -> None:
    raise _not_built("rollout plan --preview")


@handles_errors
def apply(
    ctx: typer.Context,
    regions: RegionsOption = None,
    env: EnvOption = "dev",
    yes: YesOption = False,
    auto_promote: Annotated[bool, typer.Option("--auto-promote")] = False,
    parallel: Annotated[int, typer.Option("--parallel", min=1)] = 4,
    bake_minutes: Annotated[float | None, typer.Option("--bake-minutes", min=0)] = None,
) -> None:
    """Deploy: primary, artifact copy, canary and its gate, then stop for promotion."""
    raise _not_built("rollout apply")


@handles_errors
def promote(ctx: typer.Context, env: EnvOption = "dev") -> None:
    """After a healthy canary, deploy the remaining waves."""
    raise _not_built("rollout promote")


@handles_errors
def rollback(
    ctx: typer.Context,
    region: Annotated[str, typer.Option("--region")],
    env: EnvOption = "dev",
) -> None:
    """Redeploy the last good artifact of a region and mark the current one bad."""
    raise _not_built("rollout rollback")


@handles_errors
def status(
    ctx: typer.Context,
    env: EnvOption = "dev",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """What each region runs now and where the rollout stands."""
    raise _not_built("rollout status")


@handles_errors
def destroy(
    ctx: typer.Context,
    regions: RegionsOption = None,
    env: EnvOption = "dev",
    yes: YesOption = False,
) -> None:
    """Tear down, secondaries first; never the primary while others stand."""
    raise _not_built("rollout destroy")
