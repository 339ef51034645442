"""The engine: Pulumi's Automation API, one local workspace per stack.

This is the only module that imports ``pulumi.automation``. The orchestrator
talks to an :class:`Engine` (a Protocol), so tests can hand it a double.

Each stack's workspace is the rendered directory ``.rollout/<env>/stacks/``:
``Pulumi.yaml`` names the program (``regional_stack/``) and
``Pulumi.<env>-<region>.yaml`` holds the rendered config. Secret values are
set at apply time as Pulumi secrets, never rendered. The state lives in the
file backend ``file://<project>/.rollout/state`` unless ``PULUMI_BACKEND_URL``
says otherwise; a file backend encrypts secrets with
``PULUMI_CONFIG_PASSPHRASE``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from rollout.errors import DeploymentError, EngineMissing, LockHeld
from rollout.fsutil import atomic_write_text

log = logging.getLogger(__name__)

OnOutput = Callable[[str], None]

INSTALL_HINT = (
    "the Pulumi CLI is not installed (no `pulumi` on PATH); install it from "
    "https://www.pulumi.com/docs/install/ (for example `curl -fsSL "
    "https://get.pulumi.com | sh`) and make sure `pulumi` is on PATH"
)
PASSPHRASE_HINT = (
    "PULUMI_CONFIG_PASSPHRASE is not set: the file backend {url} encrypts stack "
    "secrets with it; export PULUMI_CONFIG_PASSPHRASE (or "
    "PULUMI_CONFIG_PASSPHRASE_FILE), or set PULUMI_BACKEND_URL to another backend"
)

# The keys Pulumi writes into a stack file for its secrets provider; kept
# across renders, since a render replaces the stack files as a whole.
_PROVIDER_KEYS = ("secretsprovider", "encryptedkey", "encryptionsalt")


@dataclass(frozen=True)
class StackSpec:
    """Everything the engine needs to run one stack."""

    name: str
    region: str
    work_dir: Path
    stack_file: str
    config: Mapping[str, str] = field(default_factory=dict)  # dotted keys: paths
    secrets: Mapping[str, str] = field(default_factory=dict)
    env_vars: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        # Secret values never reach a log line through a repr.
        return f"StackSpec({self.name!r}, secrets={sorted(self.secrets)})"


class Engine(Protocol):
    """What the orchestrator needs from Pulumi."""

    def up(self, stack: StackSpec, on_output: OnOutput | None = None) -> dict[str, Any]:
        """Deploy the stack; return its outputs as plain values."""

    def preview(
        self, stack: StackSpec, on_output: OnOutput | None = None
    ) -> dict[str, int]:
        """Preview the stack; return the count of each operation."""

    def destroy(self, stack: StackSpec, on_output: OnOutput | None = None) -> None:
        """Delete every resource of the stack."""

    def outputs(self, stack: StackSpec) -> dict[str, Any]:
        """The outputs of the stack's last update."""


def backend_url(project_root: Path, environ: Mapping[str, str]) -> str:
    return environ.get("PULUMI_BACKEND_URL") or (
        f"file://{(project_root / '.rollout' / 'state').resolve()}"
    )


def check_engine_ready(
    project_root: Path,
    environ: Mapping[str, str],
    which: Callable[[str], str | None] = shutil.which,
) -> str:
    """Raise EngineMissing unless the CLI and the passphrase are there; the backend."""
    if which("pulumi") is None:
        raise EngineMissing(INSTALL_HINT)
    url = backend_url(project_root, environ)
    has_passphrase = (
        "PULUMI_CONFIG_PASSPHRASE" in environ
        or "PULUMI_CONFIG_PASSPHRASE_FILE" in environ
    )
    if url.startswith("file://") and not has_passphrase:
        raise EngineMissing(PASSPHRASE_HINT.format(url=url))
    return url


def plain_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Stack outputs as plain values; secret outputs shown as "[secret]"."""
    plain: dict[str, Any] = {}
    for name, output in outputs.items():
        secret = getattr(output, "secret", False)
        plain[name] = "[secret]" if secret else getattr(output, "value", output)
    return plain


class PulumiEngine:
    """Runs stacks through ``pulumi.automation.LocalWorkspace``."""

    def __init__(
        self,
        project_root: Path,
        environ: Mapping[str, str] | None = None,
        which: Callable[[str], str | None] = shutil.which,
    ) -> None:
        self._environ = dict(os.environ if environ is None else environ)
        self._backend = check_engine_ready(project_root, self._environ, which)
        if self._backend.startswith("file://"):
            Path(self._backend.removeprefix("file://")).mkdir(
                parents=True, exist_ok=True
            )
        try:
            from pulumi import automation  # noqa: F401
        except ImportError as exc:
            raise EngineMissing(
                f"the Pulumi Python SDK cannot be imported ({exc}); reinstall rollout"
            ) from None
        self._keys_lock = threading.Lock()

    def up(self, stack: StackSpec, on_output: OnOutput | None = None) -> dict[str, Any]:
        with self._translated(stack):
            pulumi_stack = self._select(stack)
            result = pulumi_stack.up(on_output=on_output, color="never")
            self._keep_provider_keys(stack)
            return plain_outputs(result.outputs)

    def preview(
        self, stack: StackSpec, on_output: OnOutput | None = None
    ) -> dict[str, int]:
        with self._translated(stack):
            pulumi_stack = self._select(stack)
            result = pulumi_stack.preview(on_output=on_output, color="never")
            self._keep_provider_keys(stack)
            return {
                str(getattr(op, "value", op)): int(count)
                for op, count in result.change_summary.items()
            }

    def destroy(self, stack: StackSpec, on_output: OnOutput | None = None) -> None:
        with self._translated(stack):
            pulumi_stack = self._select(stack, create=False)
            if pulumi_stack is None:
                log.info("stack %s does not exist; nothing to destroy", stack.name)
                return
            pulumi_stack.destroy(on_output=on_output, color="never")

    def outputs(self, stack: StackSpec) -> dict[str, Any]:
        with self._translated(stack):
            pulumi_stack = self._select(stack, create=False)
            return plain_outputs(pulumi_stack.outputs()) if pulumi_stack else {}

    def _select(self, spec: StackSpec, *, create: bool = True):
        """The stack in its workspace, config and secrets set; None if absent."""
        from pulumi import automation as auto

        self._restore_provider_keys(spec)
        env_vars = {"PULUMI_BACKEND_URL": self._backend, **spec.env_vars}
        workspace = auto.LocalWorkspace(work_dir=str(spec.work_dir), env_vars=env_vars)
        if create:
            stack = auto.Stack.create_or_select(spec.name, workspace)
        else:
            try:
                stack = auto.Stack.select(spec.name, workspace)
            except auto.errors.StackNotFoundError:
                return None
        for key, value in spec.config.items():
            # A dotted key sets one field of an object the rendered file holds.
            stack.set_config(key, auto.ConfigValue(value), path="." in key)
        for key, value in spec.secrets.items():
            stack.set_config(key, auto.ConfigValue(value, secret=True))
        return stack

    def _translated(self, spec: StackSpec):
        return _TranslateErrors(spec)

    def _keys_file(self, spec: StackSpec) -> Path:
        return spec.work_dir.parent / "secrets-provider.json"

    def _keep_provider_keys(self, spec: StackSpec) -> None:
        """Remember the stack file's secrets-provider keys for the next render."""
        path = spec.work_dir / spec.stack_file
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            return
        keys = {k: document[k] for k in _PROVIDER_KEYS if k in document}
        if not keys:
            return
        with self._keys_lock:
            saved = self._saved_keys(spec)
            if saved.get(spec.name) != keys:
                saved[spec.name] = keys
                atomic_write_text(self._keys_file(spec), json.dumps(saved, indent=2))

    def _restore_provider_keys(self, spec: StackSpec) -> None:
        """Put the remembered keys back into a freshly rendered stack file."""
        with self._keys_lock:
            keys = self._saved_keys(spec).get(spec.name)
        path = spec.work_dir / spec.stack_file
        if not keys or not path.exists():
            return
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if all(document.get(k) == v for k, v in keys.items()):
            return
        text = path.read_text(encoding="utf-8").rstrip("\n") + "\n"
        text += yaml.safe_dump(keys, default_flow_style=False)
        atomic_write_text(path, text)

    def _saved_keys(self, spec: StackSpec) -> dict[str, dict[str, str]]:
        path = self._keys_file(spec)
        if not path.exists():
            return {}
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            return {}


class _TranslateErrors:
    """Turn Automation API failures into the project's errors, naming the stack."""

    def __init__(self, spec: StackSpec) -> None:
        self._spec = spec

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is None or not isinstance(exc, Exception):
            return False
        from pulumi.automation import errors

        if isinstance(exc, errors.ConcurrentUpdateError):
            raise LockHeld(
                f"stack {self._spec.name}: another update is running on it "
                f"({_first_line(exc)})"
            ) from exc
        if isinstance(exc, errors.CommandError):
            raise DeploymentError(
                f"stack {self._spec.name}: pulumi failed: {_first_line(exc)}"
            ) from exc
        if isinstance(exc, FileNotFoundError) and "pulumi" in str(exc):
            raise EngineMissing(INSTALL_HINT) from exc
        return False


def _first_line(exc: Exception) -> str:
    """The line of a failed pulumi command that says why: its first error.

    A CommandError's text is ``code: N``, then ``stdout: ...``, then
    ``stderr: ...``; the reason is in an ``error:`` line of either stream, or
    else the first line of stderr.
    """
    text = str(getattr(exc, "stderr", "") or exc)
    stdout, stderr = "", text
    if "\n stdout: " in text and "\n stderr: " in text:
        head, stderr = text.split("\n stderr: ", 1)
        stdout = head.split("\n stdout: ", 1)[1]
    lines = [
        line.strip() for line in (stderr + "\n" + stdout).splitlines() if line.strip()
    ]
    errors = [line for line in lines if line.startswith("error:")]
    return (errors or lines or [type(exc).__name__])[0]
