"""Orchestration: walk the rollout steps region by region, wave by wave.

``apply`` walks :func:`rollout.plan.rollout_steps`, the same steps ``rollout
plan`` shows: the primary, the artifact copy, the canary wave and its health
gate, then (with ``--auto-promote``, or later through ``promote``) the
remaining waves. Every step is recorded in the journal before and after it
runs, so a rerun resumes where the last one stopped and skips regions that
already run the same artifact with the same config.

The orchestrator receives everything that talks to the outside (the engine,
the replicator, the gate, an S3 client factory, the environment, a reporter)
through :class:`Services`, so tests hand it doubles.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from rollout.artifact import Artifact, ArtifactRef, build_artifact
from rollout.engine import Engine, StackSpec
from rollout.errors import (
    DeploymentError,
    EnvironmentBlocked,
    GateFailed,
    InputError,
    PromotionRefused,
    RolloutError,
)
from rollout.journal import Journal
from rollout.lock import EnvLock
from rollout.manifests import Project, RegionManifest
from rollout.plan import RolloutPlan, project_paths, resource_digest, rollout_steps
from rollout.render import RenderedSet, stack_file, stack_name, write_rendered

log = logging.getLogger(__name__)


class Reporter(Protocol):
    """Where the orchestrator says what happens; the CLI draws it."""

    def region_step(self, region: str, text: str) -> None: ...

    def engine_output(self, region: str, stack: str, line: str) -> None: ...

    def info(self, text: str) -> None: ...

    def warn(self, text: str) -> None: ...


class Replicator(Protocol):
    def replicate(
        self,
        artifact_ref: ArtifactRef,
        source_region: str,
        source_bucket: str,
        targets: dict[str, str],
        on_result: Callable[[Any], None] | None = None,
    ) -> list[Any]: ...


class Gate(Protocol):
    def run(
        self,
        region: str,
        alarm_names: list[str],
        api_url: str | None,
        bake_minutes: float,
        smoke: list[Any],
        on_progress: Callable[..., None] | None = None,
    ) -> Any: ...

    def alarms_in_alarm(self, region: str, alarm_names: list[str]) -> list[str]: ...


class Planning(Protocol):
    """:class:`rollout.plan.Planner`, or a test's stand-in."""

    def plan(
        self, regions: list[RegionManifest], env: str, artifact: Artifact
    ) -> RolloutPlan: ...

    def render(
        self, regions: list[RegionManifest], env: str, artifact: Artifact
    ) -> RenderedSet: ...


class SilentReporter:
    def region_step(self, region: str, text: str) -> None:
        log.info("%s: %s", region, text)

    def engine_output(self, region: str, stack: str, line: str) -> None:
        log.debug("[%s %s] %s", region, stack, line)

    def info(self, text: str) -> None:
        log.info("%s", text)

    def warn(self, text: str) -> None:
        log.warning("%s", text)


@dataclass
class Services:
    """What the orchestrator drives; each factory is called at most once."""

    make_engine: Callable[[], Engine]
    make_replicator: Callable[[], Replicator]
    make_gate: Callable[[], Gate]
    make_s3_client: Callable[[RegionManifest], Any]
    planner: Planning
    environ: Mapping[str, str]
    reporter: Reporter = field(default_factory=SilentReporter)
    build_artifact: Callable[[Path], Artifact] = build_artifact


class RegionLog(logging.LoggerAdapter):
    """Prefixes every line with the region and stack of a parallel deploy."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"[{self.extra['region']} {self.extra['stack']}] {msg}", kwargs


@dataclass
class Prepared:
    """A plan made ready to apply: artifact, specs, config hashes, digests."""

    artifact: Artifact
    manifests: list[RegionManifest]
    plan: RolloutPlan
    specs: dict[str, StackSpec]
    config_hashes: dict[str, str]
    digests: dict[str, dict[str, str]]

    def manifest(self, region: str) -> RegionManifest:
        return next(m for m in self.manifests if m.region == region)


@dataclass
class Outcome:
    status: str
    message: str
    deployed: list[str] = field(default_factory=list)


def config_hash(rendered_text: str, secrets: Mapping[str, str]) -> str:
    """One hash of a stack's rendered config and its secret values."""
    digest = hashlib.sha256(rendered_text.encode())
    for key in sorted(secrets):
        digest.update(b"\0" + key.encode() + b"\0" + secrets[key].encode())
    return digest.hexdigest()


def describe_progress(update: Any) -> str:
    """One line of the gate's progress: phase, time left, alarms, smoke results."""
    if not isinstance(update, dict):
        return str(update)
    parts = [str(update.get("phase", "baking"))]
    if "time_left_s" in update:
        parts.append(f"{float(update['time_left_s']) / 60:.1f} min left")
    alarms = update.get("alarms") or {}
    if alarms:
        firing = sorted(name for name, state in alarms.items() if state == "ALARM")
        parts.append(f"alarms in ALARM: {', '.join(firing)}" if firing else "alarms OK")
    smoke = update.get("smoke") or []
    if smoke:
        ok = sum(1 for result in smoke if result.get("ok"))
        parts.append(f"smoke {ok}/{len(smoke)} ok")
    return ", ".join(parts)


def bucket_holds_objects(client: Any, bucket: str) -> bool:
    """True when the bucket holds any object or object version."""
    try:
        versions = client.list_object_versions(Bucket=bucket, MaxKeys=1)
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code == "NoSuchBucket":
            return False
        raise
    return bool(
        versions.get("Versions")
        or versions.get("DeleteMarkers")
        or client.list_objects_v2(Bucket=bucket, MaxKeys=1).get("KeyCount", 0)
    )


class Orchestrator:
    """One env of one project: apply, promote, rollback, status, destroy."""

    def __init__(
        self, project: Project, env: str, services: Services, *, parallel: int = 4
    ) -> None:
        self.project = project
        self.env = env
        self.services = services
        self.parallel = max(1, parallel)
        self.paths = project_paths(project.root, env)
        self.journal = Journal.read(self.paths["journal"])
        self.say = services.reporter

    @cached_property
    def engine(self) -> Engine:
        return self.services.make_engine()

    @cached_property
    def replicator(self) -> Replicator:
        return self.services.make_replicator()

    @cached_property
    def gate(self) -> Gate:
        return self.services.make_gate()

    def lock(self, command: str, *, force: bool = False) -> EnvLock:
        return EnvLock(
            self.paths["lock"], command, force=force, on_message=self.say.warn
        )

    # apply

    def prepare(self, manifests: list[RegionManifest], artifact: Artifact) -> Prepared:
        """Plan offline and resolve secrets; nothing is written, nothing deployed."""
        _ = self.engine  # a missing CLI or passphrase stops here, before any prompt
        plan = self.services.planner.plan(manifests, self.env, artifact)
        return self._prepared(manifests, artifact, plan)

    def apply(
        self, prepared: Prepared, *, auto_promote: bool, bake_minutes: float | None
    ) -> Outcome:
        self._resume_notice()
        sha = prepared.artifact.sha256
        if self.journal.is_bad(sha):
            raise EnvironmentBlocked(
                f"artifact {sha[:12]} was marked bad ({self.journal.bad_reason(sha)}); "
                "change lambda_code/ to build a new one before applying"
            )
        self._write_stacks(prepared)
        regions = [m.region for m in prepared.manifests]
        self.journal.begin_run(self.env, "apply", sha, regions)

        deployed: list[str] = []
        try:
            outcome = self._walk(prepared, deployed, auto_promote, bake_minutes)
        except GateFailed:
            self.journal.end_run("gate-failed")
            raise
        except RolloutError:
            self.journal.end_run("failed")
            raise
        self.journal.end_run(outcome.status)
        outcome.deployed = deployed
        return outcome

    def _walk(
        self,
        prepared: Prepared,
        deployed: list[str],
        auto_promote: bool,
        bake_minutes: float | None,
    ) -> Outcome:
        steps = rollout_steps(self.env, prepared.manifests)
        if not any(m.role == "canary" for m in prepared.manifests):
            if any(m.role != "primary" for m in prepared.manifests):
                self.say.warn(self._no_canary_warning())
        gates_run = False
        for action, group in _grouped(steps):
            if action == "deploy":
                wave = [prepared.manifest(step["region"]) for step in group]
                deployed += self._deploy_wave(wave, prepared)
            elif action == "replicate-artifact":
                self._replicate(group[0], prepared)
            elif action == "health-gate":
                canaries = [prepared.manifest(step["region"]) for step in group]
                gates_run = self._run_gates(canaries, prepared, bake_minutes)
            elif action == "promote":
                waves = group[0]["waves"]
                pending = self._pending(prepared, waves)
                if not pending:
                    break
                if not auto_promote:
                    return Outcome(
                        "awaiting-promotion",
                        self._awaiting_message(deployed, gates_run, waves),
                    )
                deployed += self._promote_waves(waves, prepared)

        if not deployed and not gates_run:
            return Outcome(
                "succeeded",
                f"nothing to do: every region already runs artifact "
                f"{prepared.artifact.sha256[:12]} with the same config",
            )
        return Outcome("succeeded", f"deployed {', '.join(deployed) or 'nothing new'}")

    def _no_canary_warning(self) -> str:
        left_out = sorted(
            name
            for name, loaded in self.project.regions.items()
            if loaded.manifest.role == "canary"
        )
        if left_out:
            return (
                f"the canary {', '.join(left_out)} is not among the selected regions: "
                "every selected wave deploys in order without a health gate"
            )
        return "no canary region: every wave deploys in order without a bake"

    def _awaiting_message(self, deployed: list[str], gates_run: bool, waves) -> str:
        waves_text = ", ".join(str(w) for w in waves)
        head = "the canary is healthy"
        if not deployed and not gates_run:
            head = "nothing changed since the last apply; the canary is healthy"
        return (
            f"{head}: run `rollout promote --env {self.env}` to deploy "
            f"wave(s) {waves_text}"
        )

    def _pending(self, prepared: Prepared, waves: list[int]) -> list[str]:
        sha = prepared.artifact.sha256
        return [
            m.region
            for m in prepared.manifests
            if m.role == "secondary"
            and m.effective_wave in waves
            and not self.journal.is_current(
                m.region, sha, prepared.config_hashes[m.region]
            )
        ]

    # promote

    def promote(self, artifact_path_for: Callable[[str], Artifact]) -> Outcome:
        """Deploy the waves after the canary of the last apply, wave by wave."""
        self._resume_notice()
        run = self.journal.run
        if not run.get("artifact_sha256"):
            raise PromotionRefused(
                f"no apply is recorded for env {self.env}; run `rollout apply` first"
            )
        sha = run["artifact_sha256"]
        if self.journal.is_bad(sha):
            raise PromotionRefused(
                f"artifact {sha[:12]} was marked bad ({self.journal.bad_reason(sha)}); "
                "it will not be promoted"
            )
        manifests = [
            self.project.manifest(r)
            for r in run["regions"]
            if r in self.project.regions
        ]
        canaries = [m for m in manifests if m.role == "canary"]
        if not canaries:
            raise PromotionRefused(
                f"the last apply of env {self.env} has no canary region, so there is "
                "no health gate to promote from; `rollout apply` deploys every wave"
            )
        unhealthy = [
            c.region for c in canaries if not self.journal.gate_passed(c.region, sha)
        ]
        if unhealthy:
            raise PromotionRefused(
                f"no healthy canary for artifact {sha[:12]}: the health gate of "
                f"{', '.join(unhealthy)} has not passed for it"
            )

        _ = self.engine
        artifact = artifact_path_for(sha)
        prepared = self._prepared(
            manifests,
            artifact,
            self.services.planner.plan(manifests, self.env, artifact),
        )
        steps = rollout_steps(self.env, manifests)
        waves = next((s["waves"] for s in steps if s["action"] == "promote"), [])
        if not self._pending(prepared, waves):
            return Outcome("succeeded", "nothing to promote: every wave is deployed")
        self._write_stacks(prepared)
        self.journal.begin_run(self.env, "promote", sha, run["regions"])
        try:
            deployed = self._promote_waves(waves, prepared)
        except RolloutError:
            self.journal.end_run("failed")
            raise
        self.journal.end_run("succeeded")
        return Outcome("succeeded", f"promoted wave(s) {waves}", deployed)

    def _promote_waves(self, waves: list[int], prepared: Prepared) -> list[str]:
        deployed: list[str] = []
        for number in waves:
            members = [
                m
                for m in prepared.manifests
                if m.role == "secondary" and m.effective_wave == number
            ]
            self.say.info(
                f"promoting wave {number}: {', '.join(m.region for m in members)}"
            )
            deployed += self._deploy_wave(members, prepared)
            self._check_wave_alarms(number, members)
        return deployed

    def _check_wave_alarms(self, number: int, members: list[RegionManifest]) -> None:
        """Stop before the next wave when any alarm of this wave is in ALARM."""
        step_id = self.journal.start_step(
            "wave-check", wave=number, regions=[m.region for m in members]
        )
        in_alarm: dict[str, list[str]] = {}
        for manifest in members:
            outputs = self.journal.region(manifest.region).get("outputs", {})
            names = list(outputs.get("alarmNames") or [])
            firing = self.gate.alarms_in_alarm(manifest.region, names) if names else []
            if firing:
                in_alarm[manifest.region] = firing
        if in_alarm:
            detail = "; ".join(f"{r}: {', '.join(a)}" for r, a in in_alarm.items())
            self.journal.finish_step(step_id, "failed", error=detail, in_alarm=in_alarm)
            raise DeploymentError(
                f"wave {number}: alarms in ALARM after the deploy ({detail}); "
                "promotion stopped before the next wave"
            )
        self.journal.finish_step(step_id, "succeeded")

    # rollback

    def rollback(
        self, region: str, artifact_path_for: Callable[[str], Artifact]
    ) -> Outcome:
        self._resume_notice()
        if region not in self.project.regions:
            known = ", ".join(sorted(self.project.regions))
            raise InputError(f"--region: '{region}' has no manifest; known: {known}")
        manifest = self.project.manifest(region)
        current = self.journal.last_attempted(region)
        if current is None:
            raise EnvironmentBlocked(
                f"nothing was ever deployed to {region} in env {self.env}; "
                "there is nothing to roll back"
            )
        target = self.journal.last_good(
            region, needs_gate=manifest.role == "canary", exclude=current
        )
        if target is None:
            what = "passed its health gate" if manifest.role == "canary" else "deployed"
            raise EnvironmentBlocked(
                f"{region}: no artifact other than {current[:12]} ever {what} there; "
                "there is nothing to roll back to"
            )

        _ = self.engine
        artifact = artifact_path_for(target)
        # A plan always holds the primary; only ``region`` is deployed.
        planned = _with_primary(self.project, [manifest])
        prepared = self._prepared(
            [manifest],
            artifact,
            self.services.planner.plan(planned, self.env, artifact),
        )
        self._write_stacks(prepared)
        self.journal.mark_bad(current, f"rolled back in {region}")
        self.say.info(f"{region}: rolling back from {current[:12]} to {target[:12]}")
        self._deploy_one(manifest, prepared, action="rollback")
        self.journal.end_run("rolled-back")
        message = (
            f"{region} runs artifact {target[:12]} again; {current[:12]} is marked bad"
        )
        still = sorted(
            name
            for name, entry in self.journal.regions().items()
            if entry.get("artifact_sha256") == current
        )
        if still:
            message += (
                f"; {', '.join(still)} still run(s) it: roll back each with "
                f"`rollout rollback --region <region> --env {self.env}`"
            )
        return Outcome("rolled-back", message, [region])

    # status

    def status(self) -> dict[str, Any]:
        known = self.journal.regions()
        manifests = sorted(
            self.project.regions.values(),
            key=lambda loaded: (loaded.manifest.effective_wave, loaded.manifest.region),
        )
        rows = []
        for loaded in manifests:
            m = loaded.manifest
            entry = known.get(m.region, {})
            rows.append(
                {
                    "region": m.region,
                    "role": m.role,
                    "wave": m.effective_wave,
                    "artifact_sha256": entry.get("artifact_sha256"),
                    "last_step": entry.get("last_step"),
                    "result": entry.get("result"),
                    "updated_at": entry.get("updated_at"),
                }
            )
        return {"env": self.env, "regions": rows, "next": self._next()}

    def _next(self) -> str:
        run = self.journal.run
        if self.journal.interrupted_steps():
            return f"rollout apply --env {self.env}: resume the interrupted run"
        if not run:
            return f"rollout apply --env {self.env}: nothing is deployed yet"
        sha = run.get("artifact_sha256") or ""
        result = run.get("result")
        regions = self.journal.regions().values()
        if regions and all(e.get("result") == "destroyed" for e in regions):
            return f"rollout apply --env {self.env}: every region is destroyed"
        if self.journal.is_bad(sha):
            return (
                f"rollout apply --env {self.env} with a new artifact: {sha[:12]} "
                f"is marked bad ({self.journal.bad_reason(sha)})"
            )
        if result == "gate-failed":
            failed = [
                r
                for r in run.get("regions", [])
                if (self.journal.latest_gate(r) or {}).get("passed") is False
            ]
            where = failed[0] if failed else "<region>"
            if self.journal.last_good(where, needs_gate=True, exclude=sha):
                return (
                    f"rollout rollback --region {where} --env {self.env}: "
                    "the canary's health gate failed"
                )
            return (
                f"rollout apply --env {self.env} with a fixed release: the canary's "
                "health gate failed and no earlier artifact passed it"
            )
        if result in ("failed", "running"):
            return f"rollout {run.get('command', 'apply')} --env {self.env}: resume"
        if result == "awaiting-promotion":
            return f"rollout promote --env {self.env}: the canary is healthy"
        return f"nothing: the last {run.get('command', 'apply')} finished"

    # destroy

    def destroy(self, targets: list[RegionManifest]) -> Outcome:
        self._resume_notice()
        order = sorted(
            targets, key=lambda m: (m.role == "primary", -m.effective_wave, m.region)
        )
        names = {m.region for m in order}
        primary = self.project.primary.region
        if primary in names:
            standing = [
                region
                for region, entry in self.journal.regions().items()
                if region not in names
                and entry.get("result") != "destroyed"
                and entry.get("history")
            ]
            if standing:
                raise EnvironmentBlocked(
                    f"refusing to destroy the primary {primary} while "
                    f"{', '.join(sorted(standing))} still stand(s); destroy those first"
                )

        _ = self.engine
        rendered = self.services.planner.render(
            order, self.env, _placeholder_artifact(self.project, self.journal, order)
        )
        write_rendered(self.paths["stacks"], rendered)
        specs = {m.region: self._spec(m, {}) for m in order}

        # Every data bucket is checked before anything is deleted.
        for manifest in order:
            bucket = self._data_bucket(manifest, specs[manifest.region])
            if bucket and bucket_holds_objects(
                self.services.make_s3_client(manifest), bucket
            ):
                raise EnvironmentBlocked(
                    f"{manifest.region}: the data bucket {bucket} still holds objects; "
                    "empty or back it up first: nothing was destroyed"
                )

        for manifest in order:
            self._destroy_one(manifest, specs[manifest.region])
        return Outcome("destroyed", f"destroyed {', '.join(m.region for m in order)}")

    def _data_bucket(self, manifest: RegionManifest, spec: StackSpec) -> str | None:
        outputs = self.journal.region(manifest.region).get("outputs") or {}
        if "dataBucket" not in outputs:
            try:
                outputs = self.engine.outputs(spec)
            except RolloutError:
                outputs = {}
        bucket = outputs.get("dataBucket")
        return bucket if isinstance(bucket, str) and bucket != "[secret]" else None

    def _destroy_one(self, manifest: RegionManifest, spec: StackSpec) -> None:
        region = manifest.region
        step_id = self.journal.start_step(
            "destroy", region=region, stack=spec.name, role=manifest.role
        )
        self.say.region_step(region, "destroying")
        try:
            self.engine.destroy(spec, on_output=self._output(region, spec.name))
        except Exception as exc:
            self.journal.finish_step(step_id, "failed", error=str(exc))
            self.say.region_step(region, "destroy failed")
            raise _deploy_error(spec.name, "destroy", exc) from exc
        self.journal.finish_step(step_id, "succeeded")
        self.journal.record_destroyed(region)
        self.say.region_step(region, "destroyed")

    # preview

    def preview(self, prepared: Prepared) -> dict[str, dict[str, int]]:
        self._write_stacks(prepared)
        changes: dict[str, dict[str, int]] = {}
        for manifest in prepared.manifests:
            spec = prepared.specs[manifest.region]
            self.say.region_step(manifest.region, "previewing")
            try:
                changes[manifest.region] = self.engine.preview(
                    spec, on_output=self._output(manifest.region, spec.name)
                )
            except RolloutError:
                raise
            except Exception as exc:
                raise _deploy_error(spec.name, "preview", exc) from exc
            self.say.region_step(manifest.region, "previewed")
        return changes

    # the steps

    def _deploy_wave(self, wave: list[RegionManifest], prepared: Prepared) -> list[str]:
        """Deploy a wave's regions in parallel; raise when any failed."""
        sha = prepared.artifact.sha256
        todo = []
        for manifest in wave:
            if self.journal.is_current(
                manifest.region, sha, prepared.config_hashes[manifest.region]
            ):
                self.say.region_step(manifest.region, "unchanged, skipped")
            else:
                todo.append(manifest)
        if not todo:
            return []

        failures: list[str] = []
        workers = min(self.parallel, len(todo))
        with ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="deploy"
        ) as pool:
            futures = {pool.submit(self._deploy_one, m, prepared): m for m in todo}
            for future in as_completed(futures):
                try:
                    future.result()
                except DeploymentError as exc:
                    failures.append(str(exc))
        if failures:
            raise DeploymentError(
                "; ".join(failures) + f"; rerun `rollout apply --env {self.env}` "
                "to resume"
            )
        return [m.region for m in todo]

    def _deploy_one(
        self, manifest: RegionManifest, prepared: Prepared, *, action: str = "deploy"
    ) -> None:
        region = manifest.region
        spec = prepared.specs[region]
        sha = prepared.artifact.sha256
        rlog = RegionLog(log, {"region": region, "stack": spec.name})
        step_id = self.journal.start_step(
            action,
            region=region,
            stack=spec.name,
            role=manifest.role,
            wave=manifest.effective_wave,
            artifact_sha256=sha,
            config_hash=prepared.config_hashes[region],
        )
        self.say.region_step(region, f"{action}ing artifact {sha[:12]}")
        rlog.debug("%s started", action)
        try:
            outputs = self.engine.up(spec, on_output=self._output(region, spec.name))
        except Exception as exc:
            rlog.debug("%s failed: %s", action, exc)
            self.journal.finish_step(step_id, "failed", error=str(exc))
            self.journal.record_deploy(
                region, action=action, sha256=sha, result="failed", error=str(exc)
            )
            self.say.region_step(region, f"{action} failed")
            raise _deploy_error(spec.name, action, exc) from exc

        self.journal.finish_step(step_id, "succeeded", outputs=outputs)
        self.journal.record_deploy(
            region,
            action=action,
            sha256=sha,
            result="succeeded",
            config_hash=prepared.config_hashes[region],
            outputs=outputs,
            applied_resources=prepared.digests.get(region),
        )
        rlog.debug("%s succeeded", action)
        self.say.region_step(region, f"{action}ed")

    def _replicate(self, step: dict[str, Any], prepared: Prepared) -> None:
        source = step["from"]
        sha = prepared.artifact.sha256
        outputs = self.journal.region(source).get("outputs", {})
        buckets = outputs.get("artifactBuckets") or {}
        missing = [r for r in [source, *step["to"]] if r not in buckets]
        if missing:
            raise DeploymentError(
                f"the primary stack {stack_name(self.env, source)} exports no artifact "
                f"bucket for {', '.join(missing)} (output 'artifactBuckets')"
            )
        targets = {region: buckets[region] for region in step["to"]}
        if self._replicated_already(sha, targets):
            for region in targets:
                self.say.region_step(region, "artifact already copied")
            return

        step_id = self.journal.start_step(
            "replicate-artifact", source=source, targets=targets, artifact_sha256=sha
        )
        for region in targets:
            self.say.region_step(region, "copying the artifact")

        def on_result(result: Any) -> None:
            self.say.region_step(result.region, f"artifact {result.status}")

        try:
            results = self.replicator.replicate(
                prepared.artifact.ref,
                source,
                buckets[source],
                targets,
                on_result=on_result,
            )
        except Exception as exc:
            self.journal.finish_step(step_id, "failed", error=str(exc))
            raise DeploymentError(f"copying the artifact failed: {exc}") from exc
        report = [
            {
                "region": r.region,
                "bucket": r.bucket,
                "status": r.status,
                "error": r.error,
            }
            for r in results
        ]
        failed = [r for r in report if r["status"] == "failed"]
        if failed:
            detail = "; ".join(
                f"{r['region']} ({r['bucket']}): {r['error']}" for r in failed
            )
            self.journal.finish_step(step_id, "failed", error=detail, results=report)
            raise DeploymentError(f"copying the artifact failed for {detail}")
        self.journal.finish_step(step_id, "succeeded", results=report)

    def _replicated_already(self, sha: str, targets: dict[str, str]) -> bool:
        for step in reversed(self.journal.data.get("steps", [])):
            if (
                step["action"] == "replicate-artifact"
                and step.get("artifact_sha256") == sha
            ):
                return step["status"] == "succeeded" and step.get("targets") == targets
        return False

    def _run_gates(
        self, canaries: list[RegionManifest], prepared: Prepared, bake: float | None
    ) -> bool:
        """The health gate of every canary, in parallel; True when any gate ran."""
        sha = prepared.artifact.sha256
        todo = []
        for manifest in canaries:
            if self.journal.gate_passed(manifest.region, sha):
                self.say.region_step(manifest.region, "health gate already passed")
            else:
                todo.append(manifest)
        if not todo:
            return False

        with ThreadPoolExecutor(
            max_workers=len(todo), thread_name_prefix="gate"
        ) as pool:
            verdicts = list(pool.map(lambda m: self._gate_one(m, sha, bake), todo))
        failed = [(m, v) for m, v in zip(todo, verdicts, strict=True) if not v.passed]
        if failed:
            detail = "; ".join(f"{m.region}: {v.reason}" for m, v in failed)
            raise GateFailed(
                f"health gate failed ({detail}); nothing more was deployed; "
                + self._after_gate_failure(failed[0][0].region, sha)
            )
        return True

    def _after_gate_failure(self, region: str, sha: str) -> str:
        """What to do once a canary's gate failed: roll back, or fix the release."""
        if self.journal.last_good(region, needs_gate=True, exclude=sha):
            return (
                f"run `rollout rollback --region {region} --env {self.env}` to "
                "restore the last artifact that passed there"
            )
        return (
            f"no earlier artifact passed the gate in {region}: fix the release and "
            f"rerun `rollout apply --env {self.env}`"
        )

    def _gate_one(self, manifest: RegionManifest, sha: str, bake: float | None) -> Any:
        region = manifest.region
        outputs = self.journal.region(region).get("outputs", {})
        minutes = manifest.canary.bake_minutes if bake is None else bake
        step_id = self.journal.start_step(
            "health-gate", region=region, artifact_sha256=sha, bake_minutes=minutes
        )
        self.say.region_step(region, f"health gate: baking {minutes:g} min")

        def progress(update: Any) -> None:
            self.say.region_step(region, f"health gate: {describe_progress(update)}")

        try:
            verdict = self.gate.run(
                region,
                list(outputs.get("alarmNames") or []),
                outputs.get("apiUrl"),
                minutes,
                list(manifest.canary.smoke),
                on_progress=progress,
            )
            evidence = verdict.to_json()
        except Exception as exc:
            verdict = _ErroredVerdict(region, f"the gate could not run: {exc}")
            evidence = verdict.to_json()
        self.journal.record_gate(region, sha, bool(verdict.passed), evidence)
        self.journal.finish_step(
            step_id,
            "succeeded" if verdict.passed else "failed",
            passed=bool(verdict.passed),
            reason=verdict.reason,
        )
        self.say.region_step(
            region, "health gate passed" if verdict.passed else "health gate FAILED"
        )
        return verdict

    # helpers

    def _resume_notice(self) -> None:
        """Say which steps a killed run left open, and close them."""
        command = self.journal.run.get("command", "apply")
        for step in self.journal.mark_interrupted():
            where = step.get("stack") or step.get("region") or f"env {self.env}"
            self.say.warn(
                f"found an interrupted {command} of {where} ({step['action']} "
                f"started {step['started_at']}); resuming"
            )

    def _prepared(
        self, manifests: list[RegionManifest], artifact: Artifact, plan: RolloutPlan
    ) -> Prepared:
        rendered = plan.rendered
        if rendered is None:
            rendered = self.services.planner.render(manifests, self.env, artifact)
        secrets = {m.region: self._secrets(m) for m in manifests}
        specs = {
            m.region: self._spec(m, secrets[m.region], artifact) for m in manifests
        }
        hashes = {
            m.region: config_hash(
                rendered.files[stack_file(self.env, m.region)], secrets[m.region]
            )
            for m in manifests
        }
        digests = {
            r.region: {res.urn: resource_digest(res) for res in r.resources}
            for r in plan.regions
        }
        return Prepared(artifact, manifests, plan, specs, hashes, digests)

    def _write_stacks(self, prepared: Prepared) -> None:
        rendered = prepared.plan.rendered or self.services.planner.render(
            prepared.manifests, self.env, prepared.artifact
        )
        write_rendered(self.paths["stacks"], rendered)

    def _secrets(self, manifest: RegionManifest) -> dict[str, str]:
        values = {}
        for name, ref in sorted(manifest.secrets.items()):
            variable = ref.removeprefix("env:")
            value = self.services.environ.get(variable)
            if value is None:
                raise InputError(
                    f"{manifest.region}: secrets.{name}: the environment variable "
                    f"{variable} is not set"
                )
            values[f"rollout:secret-{name}"] = value
        return values

    def _spec(
        self,
        manifest: RegionManifest,
        secrets: dict[str, str],
        artifact: Artifact | None = None,
    ) -> StackSpec:
        env_vars = {"AWS_PROFILE": manifest.profile} if manifest.profile else {}
        # Where the built zip is on this machine: the primary uploads it. It is
        # set at apply time, not rendered, so the config hash does not depend
        # on where the project is checked out.
        config = {"rollout:artifact.path": str(artifact.path)} if artifact else {}
        return StackSpec(
            name=stack_name(self.env, manifest.region),
            region=manifest.region,
            work_dir=self.paths["stacks"],
            stack_file=stack_file(self.env, manifest.region),
            config=config,
            secrets=secrets,
            env_vars=env_vars,
        )

    def _output(self, region: str, stack: str) -> Callable[[str], None]:
        def emit(text: str) -> None:
            for line in text.splitlines():
                if line.strip():
                    self.say.engine_output(region, stack, line)

        return emit


@dataclass
class _ErroredVerdict:
    region: str
    reason: str
    passed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"region": self.region, "passed": False, "reason": self.reason}


def _deploy_error(stack: str, action: str, exc: Exception) -> DeploymentError:
    if isinstance(exc, DeploymentError):
        return exc
    return DeploymentError(f"stack {stack}: {action} failed: {exc}")


def _grouped(steps: list[dict[str, Any]]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Consecutive steps that run together: deploys of one wave, all gates."""
    group: list[dict[str, Any]] = []
    for step in steps:
        if group and _joins(group[-1], step):
            group.append(step)
            continue
        if group:
            yield group[0]["action"], group
        group = [step]
    if group:
        yield group[0]["action"], group


def _joins(previous: dict[str, Any], step: dict[str, Any]) -> bool:
    if previous["action"] != step["action"]:
        return False
    if step["action"] == "deploy":
        return "wave" in step and previous.get("wave") == step["wave"]
    return step["action"] == "health-gate"


def _with_primary(
    project: Project, manifests: list[RegionManifest]
) -> list[RegionManifest]:
    if any(m.role == "primary" for m in manifests):
        return manifests
    return [project.primary, *manifests]


def _placeholder_artifact(project: Project, journal: Journal, order) -> Artifact:
    """The artifact a destroy renders with: the one the regions last ran.

    A destroy needs each stack's config (its region, its provider) but not its
    artifact, so any recorded artifact works.
    """
    sha = journal.run.get("artifact_sha256") or "0" * 64
    for manifest in order:
        sha = journal.region(manifest.region).get("artifact_sha256") or sha
    return Artifact(project.root / ".rollout" / "cache" / f"{sha}.zip", sha)
