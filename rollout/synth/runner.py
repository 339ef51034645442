"""Run the Pulumi program for one stack at a time under Pulumi's own mocks.

Pulumi and pulumi_aws are imported here and nowhere else on the plan path, and
only once per process; each stack then costs only its own registrations.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import config as pulumi_config
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from rollout.naming import PLACEHOLDER_ACCOUNT
from rollout.synth.cloud import Fake, fake_invoke, fake_resource
from rollout.synth.model import SECRET, PlannedResource, StackPlan

log = logging.getLogger(__name__)

PROVIDER_PREFIX = "pulumi:providers:"
_SIG = rpc._special_sig_key


class SynthesisError(Exception):
    """The program raised, or asked for something the offline plan cannot give."""


def _plain(value: Any) -> Any:
    """A registration's inputs as plain JSON: secrets hidden, numbers tidy."""
    if isinstance(value, dict):
        sig = value.get(_SIG)
        if sig == rpc._special_secret_sig:
            return SECRET
        if sig == rpc._special_resource_sig:
            return value.get("urn", "")
        if sig == rpc._special_output_value_sig:
            if value.get("secret"):
                return SECRET
            return _plain(value.get("value")) if "value" in value else rpc.UNKNOWN
        if sig == rpc._special_asset_sig:
            return {"asset": value.get("path") or value.get("uri") or "<text>"}
        if sig == rpc._special_archive_sig:
            return {"archive": value.get("path") or value.get("uri") or "<assets>"}
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class _FakeCloud(pulumi_mocks.Mocks):
    """Answers registrations and data sources with values of the real shape."""

    def __init__(self, recorder: _RecordingMonitor) -> None:
        self._recorder = recorder

    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        recorder = self._recorder
        if args.typ.startswith(PROVIDER_PREFIX):
            region = args.inputs.get("region")
        else:
            region = recorder.region_of(args.provider)
        fake = Fake(
            stack=recorder.stack,
            type=args.typ,
            name=args.name,
            inputs=dict(args.inputs),
            region=region or recorder.default_region,
            account=recorder.account,
        )
        id_, state = fake_resource(fake)
        with recorder.lock:
            recorder.states[(args.typ, args.name)] = (id_, state, region)
        return id_, state

    def call(self, args: pulumi_mocks.MockCallArgs):
        recorder = self._recorder
        region = recorder.region_of(args.provider) or recorder.default_region
        return fake_invoke(args.token, dict(args.args), region, recorder.account), []


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """Pulumi's mock monitor, keeping what each registration asked for."""

    def __init__(self, stack: str, default_region: str, account: str) -> None:
        super().__init__(_FakeCloud(self))
        self.stack = stack
        self.default_region = default_region
        self.account = account
        self.records: list[PlannedResource] = []
        self.provider_regions: dict[str, str] = {}
        # Registrations arrive on Pulumi's worker threads.
        self.lock = threading.Lock()
        self.states: dict[tuple[str, str], tuple[str, dict, str | None]] = {}

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """A URN as the engine writes it.

        Pulumi's mock monitor puts the root stack's type in front of every
        top-level resource and keeps only the last type of a parent's chain;
        the engine leaves the root stack out and keeps the whole chain, so a
        plan's URNs match those of a real preview and of the state.
        """
        if parent:
            qualified = parent.split("::")[2]
            if qualified != "pulumi:pulumi:Stack":
                type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join(
            [settings.get_stack(), settings.get_project(), type_, name]
        )

    def region_of(self, provider_ref: str) -> str | None:
        return self.provider_regions.get(provider_ref)

    def RegisterResource(self, request):  # noqa: N802 (Pulumi's name)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response

        raw = json_format.MessageToDict(
            request.object, preserving_proto_field_name=True
        )
        inputs = _plain(raw)
        with self.lock:
            id_, state, region = self.states.get(
                (request.type, request.name), (response.id, {}, None)
            )
        if request.type.startswith(PROVIDER_PREFIX):
            inputs = {key: _decoded(value) for key, value in inputs.items()}
            with self.lock:
                self.provider_regions[f"{response.urn}::{id_}"] = region or ""

        options: dict[str, Any] = {
            "ignore_changes": list(request.ignoreChanges),
            "protect": bool(request.protect),
            # Unset options are shown as what the engine does without them.
            "retain_on_delete": request.HasField("retainOnDelete")
            and bool(request.retainOnDelete),
            "delete_before_replace": bool(request.deleteBeforeReplace),
        }

        # A component has no provider of its own; it records the one it hands
        # to its children, so every entry of a plan names its region.
        provider = request.provider or (
            "" if request.custom else request.providers.get("aws", "")
        )
        record = PlannedResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            provider=provider,
            region=region if region is not None else self.region_of(provider),
            parent=request.parent,
            custom=bool(request.custom),
            options=options,
            inputs=inputs,
            outputs=_plain(state),
            id=id_,
            property_dependencies={
                key: list(value.urns)
                for key, value in request.propertyDependencies.items()
            },
        )
        with self.lock:
            self.records.append(record)
        return response


class Synthesizer:
    """Synthesizes stacks of one Pulumi project, one after the other."""

    def __init__(
        self,
        project: str,
        program: Callable[[], None],
        account: str = PLACEHOLDER_ACCOUNT,
    ) -> None:
        self._project = project
        self._program = program
        self._account = account

    def synthesize(
        self,
        stack: str,
        region: str,
        config: dict[str, Any],
        secret_keys: list[str] | None = None,
    ) -> StackPlan:
        """Run the program for ``stack`` with ``config`` (a stack file's config)."""
        monitor = _RecordingMonitor(stack, region, self._account)
        explicit: dict[tuple[str, str], list[pulumi.Resource]] = {}
        order: dict[tuple[str, str], int] = {}

        def remember_depends_on(args: pulumi.ResourceTransformationArgs):
            # Transformations run in program order, registrations do not.
            order.setdefault((args.type_, args.name), len(order))
            depends_on = args.opts.depends_on if args.opts else None
            if isinstance(depends_on, pulumi.Resource):
                depends_on = [depends_on]
            if depends_on:
                explicit[(args.type_, args.name)] = list(depends_on)
            return None

        exports: dict[str, Any] = {}
        settings.set_root_resource(None)  # type: ignore[arg-type]
        pulumi_mocks.set_mocks(
            monitor.mocks,
            project=self._project,
            stack=stack,
            preview=False,
            monitor=monitor,
        )
        pulumi_config.set_all_config(_config_strings(config), secret_keys or [])
        settings.SETTINGS.rpc_manager.clear()
        settings.SETTINGS.outputs.clear()
        root = settings.get_root_resource()

        def run() -> None:
            pulumi.runtime.register_stack_transformation(remember_depends_on)
            self._program()

        try:
            _sync_await(run_pulumi_func(run))
            if root is not None:
                outputs = getattr(root, "outputs", None) or {}
                for key, value in outputs.items():
                    exports[key] = _sync_await(pulumi.Output.from_input(value).future())
            monitor.records.sort(key=lambda r: order.get((r.type, r.name), len(order)))
            for record in monitor.records:
                deps = explicit.get((record.type, record.name), [])
                record.depends_on = [_sync_await(d.urn.future()) for d in deps]
        except Exception as exc:
            raise SynthesisError(f"stack {stack}: the program failed: {exc}") from exc
        finally:
            pulumi_config.set_all_config({}, [])

        return StackPlan(
            stack=stack,
            region=region,
            resources=monitor.records,
            outputs={k: _plain(v) for k, v in exports.items()},
        )


def _decoded(value: Any) -> Any:
    """Providers receive nested settings as JSON text; show them as data."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    if value in ("true", "false"):
        return value == "true"
    return value


def _config_strings(config: dict[str, Any]) -> dict[str, str]:
    """Pulumi hands config to a program as strings; objects as JSON."""
    return {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in config.items()
    }
