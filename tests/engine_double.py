"""Test doubles of the deployment path's collaborators (tests only).

``EngineDouble`` stands in for Pulumi: it records every call with the stack's
rendered config, returns outputs of the real shape, can hold each call open
for a while (to observe parallelism), fail on a chosen stack (a failed
update) or crash on one (an exception the orchestrator does not catch, as if
the process died). ``FakeReplicator`` and ``FakeGate`` stand in for the
artifact copy and the health gate.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rollout.errors import DeploymentError
from rollout.orchestrator import Services
from rollout.plan import Planner

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"


class Crash(BaseException):
    """A crash of the whole process in the middle of an update."""


@dataclass
class Call:
    op: str
    stack: str
    region: str
    config: dict[str, Any]
    extra_config: dict[str, str]
    secrets: dict[str, str]
    env_vars: dict[str, str]


class EngineDouble:
    def __init__(
        self,
        *,
        delay: float = 0.0,
        fail_on: set[str] | None = None,
        crash_on: set[str] | None = None,
        extra_outputs: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.delay = delay
        self.fail_on = set(fail_on or ())
        self.crash_on = set(crash_on or ())
        self.extra_outputs = extra_outputs or {}
        self.calls: list[Call] = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()
        self._stood: dict[str, dict[str, Any]] = {}

    def ops(self, op: str = "up") -> list[str]:
        return [c.stack for c in self.calls if c.op == op]

    def up(self, stack, on_output=None) -> dict[str, Any]:
        call = self._record("up", stack)
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if on_output:
                on_output(f"Updating ({stack.name}):\n    + aws:s3:Bucket data-bucket")
            if self.delay:
                threading.Event().wait(self.delay)
            if stack.name in self.crash_on:
                raise Crash(stack.name)
            if stack.name in self.fail_on:
                raise DeploymentError(f"stack {stack.name}: pulumi failed: error: boom")
            outputs = _outputs(call.config, stack.region)
            outputs.update(self.extra_outputs.get(stack.region, {}))
            self._stood[stack.name] = outputs
            return outputs
        finally:
            with self._lock:
                self.active -= 1

    def preview(self, stack, on_output=None) -> dict[str, int]:
        self._record("preview", stack)
        return {"create": 4} if stack.name not in self._stood else {"same": 4}

    def destroy(self, stack, on_output=None) -> None:
        self._record("destroy", stack)
        if stack.name in self.fail_on:
            raise DeploymentError(f"stack {stack.name}: pulumi failed: error: boom")
        self._stood.pop(stack.name, None)

    def outputs(self, stack) -> dict[str, Any]:
        self._record("outputs", stack)
        return dict(self._stood.get(stack.name, {}))

    def _record(self, op: str, stack) -> Call:
        document = yaml.safe_load((stack.work_dir / stack.stack_file).read_text())
        call = Call(
            op=op,
            stack=stack.name,
            region=stack.region,
            config=document.get("config", {}),
            extra_config=dict(stack.config),
            secrets=dict(stack.secrets),
            env_vars=dict(stack.env_vars),
        )
        with self._lock:
            self.calls.append(call)
        return call


def _outputs(config: dict[str, Any], region: str) -> dict[str, Any]:
    env = config["rollout:env"]

    def name(purpose: str) -> str:
        return f"rollout-{env}-{region}-{purpose}"

    outputs: dict[str, Any] = {
        "apiUrl": f"https://a1b2c3d4e5.execute-api.{region}.amazonaws.com/",
        "alarmNames": [name("api-errors"), name("worker-errors")],
        "topicArn": f"arn:aws:sns:{region}:{ACCOUNT}:{name('alerts')}",
        "itemsTable": name("items"),
        "dataBucket": f"{name('data')}-{ACCOUNT}",
        "artifactBucket": f"{name('artifacts')}-{ACCOUNT}",
    }
    if config["rollout:role"] == "primary":
        outputs["artifactBuckets"] = {
            r: f"rollout-{env}-{r}-artifacts-{ACCOUNT}"
            for r in config["rollout:artifactRegions"]
        }
    return outputs


@dataclass
class CopyResult:
    region: str
    bucket: str
    status: str
    error: str | None = None


class FakeReplicator:
    def __init__(self, fail: set[str] | None = None) -> None:
        self.fail = set(fail or ())
        self.calls: list[dict[str, Any]] = []
        self.held: dict[str, set[str]] = {}

    def replicate(
        self, artifact_ref, source_region, source_bucket, targets, on_result=None
    ):
        self.calls.append(
            {
                "sha": artifact_ref.sha256,
                "from": source_region,
                "targets": dict(targets),
            }
        )
        results = []
        for region, bucket in targets.items():
            if region in self.fail:
                result = CopyResult(region, bucket, "failed", "sha256 mismatch")
            elif artifact_ref.sha256 in self.held.get(region, set()):
                result = CopyResult(region, bucket, "skipped")
            else:
                self.held.setdefault(region, set()).add(artifact_ref.sha256)
                result = CopyResult(region, bucket, "copied")
            if on_result:
                on_result(result)
            results.append(result)
        return results


@dataclass
class Verdict:
    region: str
    passed: bool
    alarms_in_alarm: list[str] = field(default_factory=list)
    smoke: list[dict[str, Any]] = field(default_factory=list)
    polls: int = 1
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "passed": self.passed,
            "alarms_in_alarm": self.alarms_in_alarm,
            "smoke": self.smoke,
            "polls": self.polls,
            "reason": self.reason,
        }


class FakeGate:
    def __init__(
        self,
        unhealthy: set[str] | None = None,
        firing: dict[str, list[str]] | None = None,
    ) -> None:
        self.unhealthy = set(unhealthy or ())
        self.firing = firing or {}
        self.runs: list[dict[str, Any]] = []
        self.alarm_checks: list[str] = []

    def run(self, region, alarm_names, api_url, bake_minutes, smoke, on_progress=None):
        self.runs.append(
            {
                "region": region,
                "alarm_names": alarm_names,
                "api_url": api_url,
                "bake_minutes": bake_minutes,
                "smoke": smoke,
            }
        )
        if on_progress:
            on_progress(
                {
                    "region": region,
                    "phase": "alarms",
                    "elapsed_s": 0.0,
                    "time_left_s": bake_minutes * 60,
                    "polls": 1,
                    "alarms": {name: "OK" for name in alarm_names},
                    "smoke": [],
                }
            )
        if region in self.unhealthy:
            alarm = alarm_names[0]
            return Verdict(region, False, [alarm], reason=f"alarm {alarm} in ALARM")
        return Verdict(region, True, reason="no alarm in ALARM, smoke passed")

    def alarms_in_alarm(self, region, alarm_names):
        self.alarm_checks.append(region)
        return [a for a in self.firing.get(region, []) if a in alarm_names]


class RecordingReporter:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def region_step(self, region: str, text: str) -> None:
        with self._lock:
            self.lines.append(f"{region}: {text}")

    def engine_output(self, region: str, stack: str, line: str) -> None:
        with self._lock:
            self.lines.append(f"[{region} {stack}] {line}")

    def info(self, text: str) -> None:
        with self._lock:
            self.lines.append(text)

    def warn(self, text: str) -> None:
        with self._lock:
            self.lines.append(f"Warning: {text}")

    def text(self) -> str:
        return "\n".join(self.lines)


class EmptyS3:
    """An S3 client whose buckets hold what ``objects`` says."""

    def __init__(self, objects: dict[str, int] | None = None) -> None:
        self.objects = objects or {}

    def list_object_versions(self, Bucket: str, MaxKeys: int) -> dict[str, Any]:
        count = self.objects.get(Bucket, 0)
        return {"Versions": [{"Key": f"k{i}"} for i in range(min(count, MaxKeys))]}

    def list_objects_v2(self, Bucket: str, MaxKeys: int) -> dict[str, Any]:
        return {"KeyCount": min(self.objects.get(Bucket, 0), MaxKeys)}


@dataclass
class Doubles:
    engine: EngineDouble = field(default_factory=EngineDouble)
    replicator: FakeReplicator = field(default_factory=FakeReplicator)
    gate: FakeGate = field(default_factory=FakeGate)
    s3: EmptyS3 = field(default_factory=EmptyS3)
    environ: dict[str, str] = field(default_factory=dict)
    reporter: RecordingReporter = field(default_factory=RecordingReporter)

    def services(self, project, reporter=None) -> Services:
        return Services(
            make_engine=lambda: self.engine,
            make_replicator=lambda: self.replicator,
            make_gate=lambda: self.gate,
            make_s3_client=lambda manifest: self.s3,
            planner=Planner(project),
            environ=self.environ,
            reporter=reporter or self.reporter,
        )


def copy_project(target: Path) -> Path:
    """The shipped regions and blueprints, and a tiny lambda_code.

    The deployment path never looks inside the artifact, so a one-file
    function without dependencies keeps every build instant and offline.
    """
    target.mkdir(parents=True)
    for name in ("regions", "blueprints"):
        shutil.copytree(ROOT / name, target / name)
    code = target / "lambda_code"
    code.mkdir()
    (code / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    return target


def new_release(project: Path, marker: str) -> None:
    """Change the Lambda code, so the next build has a new sha256."""
    (project / "lambda_code" / "release_marker.py").write_text(f"MARKER = {marker!r}\n")
