"""What every command shares: the context, the consoles, the error boundary."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from rollout.errors import InputError, RolloutError
from rollout.manifests import (
    Project,
    RegionManifest,
    load_project,
    parse_regions_option,
)
from rollout.naming import NamingError, validate_env

# Human output and progress go to stderr, so stdout stays clean for --json.
out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])

REGIONS_HELP = (
    "Comma-separated regions, or 'all' (the default). The primary is always included."
)
ENV_HELP = "The environment; stack names are <env>-<region>."


@dataclass
class AppContext:
    project_dir: Path
    debug: bool = False

    def load(self, env: str) -> Project:
        try:
            validate_env(env)
        except NamingError as exc:
            raise InputError(f"--env: {exc}") from None
        return load_project(self.project_dir, env)

    def select(
        self, env: str, regions: str | None
    ) -> tuple[Project, list[RegionManifest]]:
        project = self.load(env)
        return project, project.select(parse_regions_option(regions))


def app_context(ctx: typer.Context) -> AppContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppContext):
        obj = AppContext(project_dir=Path.cwd())
        ctx.find_root().obj = obj
    return obj


def configure_logging(debug: bool) -> None:
    level = logging.DEBUG if debug else logging.WARNING
    logging.basicConfig(
        level=level,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    rollout_level = logging.DEBUG if debug else logging.INFO
    logging.getLogger("rollout").setLevel(rollout_level)
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.WARNING)


def print_json(data: Any) -> None:
    """The only thing a --json command writes on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def fail(message: str, code: int) -> typer.Exit:
    err.print(f"[bold red]Error:[/] {message}", markup=True, highlight=False)
    return typer.Exit(code)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text


def handles_errors(command: F) -> F:
    """Turn the project's errors (and library errors) into one line and an exit code.

    Under --debug the original exception propagates with its traceback.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click_context()
        debug = bool(
            ctx
            and isinstance(ctx.find_root().obj, AppContext)
            and ctx.find_root().obj.debug
        )
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except RolloutError as exc:
            if debug:
                raise
            raise fail(_escape(_one_line(exc)), exc.exit_code) from None
        except KeyboardInterrupt:
            raise fail("interrupted", 130) from None
        except Exception as exc:  # the edge: anything else is still one sentence
            if debug:
                raise
            code, message = _library_error(exc)
            raise fail(_escape(message), code) from None

    return wrapper  # type: ignore[return-value]


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _library_error(exc: Exception) -> tuple[int, str]:
    """Errors of the libraries rollout drives, as one sentence and an exit code."""
    module = type(exc).__module__ or ""
    if module.startswith(("botocore", "boto3")):
        return 1, f"AWS call failed: {exc}"
    if module.startswith("jinja2"):
        return 2, f"template error: {exc}"
    if module.startswith("pulumi"):
        return 1, f"Pulumi failed: {exc}"
    if isinstance(exc, OSError):
        return 1, f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
    return 1, f"unexpected error ({type(exc).__name__}): {exc}; rerun with --debug"


def click_context():
    import click

    return click.get_current_context(silent=True)
