"""The rollout journal: what each step did, written atomically after every step.

One JSON file per env (``.rollout/<env>/journal.json``). Every change is
written whole through a temporary file, fsync and rename, so a crash leaves
the previous version or the new one. Parallel regions share one journal: every
change holds a lock while it edits and writes.

Layout (version 1)::

    {
      "version": 1,
      "env": "dev",
      "updated_at": "<iso time>",
      "seq": 12,              # orders deploys and gates, finer than a timestamp
      "run": {"command": "apply|promote", "artifact_sha256",
              "regions": [...], "started_at", "finished_at",
              "result": "running|awaiting-promotion|succeeded|failed|
                         gate-failed|rolled-back"},
      "regions": {"<region>": {
          "stack", "role", "wave",
          "artifact_sha256",  # what the region runs after its last good deploy
          "config_hash",      # sha256 of that deploy's rendered config + secrets
          "deployed_at", "deployed_seq",
          "last_step": "deploy|rollback|health-gate|destroy",
          "result": "started|succeeded|failed|passed|interrupted|destroyed",
          "updated_at", "error",
          "outputs": {...},            # stack outputs, secret ones "[secret]"
          "applied_resources": {"<urn>": "<resource_digest>"},
          "history": [{"action", "artifact_sha256", "result", "at"}]}},
      "steps": [{"id", "action", "region", "stack", "role", "wave",
                 "artifact_sha256", "config_hash", "status", "started_at",
                 "finished_at", "error", "outputs" | "results" | ...}],
      "gates": [{"region", "artifact_sha256", "passed", "at", "seq",
                 "evidence": <GateVerdict.to_json()>}],
      "bad_artifacts": {"<sha256>": {"reason", "marked_at"}}
    }

A step's status is ``started``, then ``succeeded`` or ``failed``; a step the
next run finds ``started`` was interrupted by a crash and is marked
``interrupted``. Regions skipped because they already run the same inputs
leave no step. Secret values never enter the journal: only a
hash that mixes them into the config hash.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rollout.errors import InputError
from rollout.fsutil import atomic_write_text

VERSION = 1
MAX_STEPS = 2000
MAX_HISTORY = 50


class JournalCorrupt(InputError):
    """The journal file cannot be read; it is never reset silently."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _next_seq(data: dict[str, Any]) -> int:
    """A counter that orders deploys and gates, finer than a timestamp."""
    data["seq"] = int(data.get("seq", 0)) + 1
    return data["seq"]


@dataclass
class Journal:
    path: Path
    data: dict[str, Any] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @classmethod
    def read(cls, path: Path) -> Journal:
        if not path.exists():
            return cls(path, {})
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise JournalCorrupt(
                f"{path}: the rollout journal cannot be read ({exc}); move it aside "
                "to start over, knowing rollout then forgets what it deployed"
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("regions", {}), dict):
            raise JournalCorrupt(
                f"{path}: the rollout journal is not a JSON object of the expected "
                "shape; move it aside to start over"
            )
        if int(data.get("version", VERSION)) > VERSION:
            raise JournalCorrupt(
                f"{path}: the rollout journal has version {data['version']}, newer "
                f"than this rollout reads ({VERSION}); upgrade rollout"
            )
        return cls(path, data)

    def applied_digests(self) -> dict[str, dict[str, str]]:
        """Region -> {urn: digest} of each region's last successful apply."""
        regions = self.data.get("regions", {})
        return {
            name: dict(entry.get("applied_resources", {}))
            for name, entry in regions.items()
            if entry.get("applied_resources")
        }

    # Reading

    @property
    def run(self) -> dict[str, Any]:
        return dict(self.data.get("run") or {})

    def region(self, name: str) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self.data.get("regions", {}).get(name, {})))

    def regions(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return json.loads(json.dumps(self.data.get("regions", {})))

    def interrupted_steps(self) -> list[dict[str, Any]]:
        return [s for s in self.data.get("steps", []) if s.get("status") == "started"]

    def is_current(self, region: str, sha256: str, config_hash: str) -> bool:
        """True when the region's last deploy succeeded with exactly these inputs."""
        entry = self.data.get("regions", {}).get(region, {})
        if entry.get("result") in ("started", "interrupted", "destroyed"):
            return False
        deploys = [
            h for h in entry.get("history", []) if h["action"] in ("deploy", "rollback")
        ]
        return (
            bool(deploys)
            and deploys[-1]["result"] == "succeeded"
            and entry.get("artifact_sha256") == sha256
            and entry.get("config_hash") == config_hash
        )

    def gate_passed(self, region: str, sha256: str) -> bool:
        """The region's latest gate for this artifact passed, after its last deploy."""
        entry = self.data.get("regions", {}).get(region, {})
        if entry.get("artifact_sha256") != sha256:
            return False
        for gate in reversed(self.data.get("gates", [])):
            if gate["region"] == region and gate["artifact_sha256"] == sha256:
                after_deploy = gate.get("seq", 0) > entry.get("deployed_seq", 0)
                return bool(gate["passed"]) and after_deploy
        return False

    def latest_gate(self, region: str) -> dict[str, Any] | None:
        for gate in reversed(self.data.get("gates", [])):
            if gate["region"] == region:
                return dict(gate)
        return None

    def is_bad(self, sha256: str) -> bool:
        return sha256 in self.data.get("bad_artifacts", {})

    def bad_reason(self, sha256: str) -> str:
        return self.data.get("bad_artifacts", {}).get(sha256, {}).get("reason", "")

    def last_attempted(self, region: str) -> str | None:
        history = self.data.get("regions", {}).get(region, {}).get("history", [])
        deploys = [h for h in history if h["action"] in ("deploy", "rollback")]
        return deploys[-1]["artifact_sha256"] if deploys else None

    def last_good(self, region: str, *, needs_gate: bool, exclude: str) -> str | None:
        """The newest artifact that deployed (and, if asked, passed its gate) here."""
        history = self.data.get("regions", {}).get(region, {}).get("history", [])
        passed = {
            g["artifact_sha256"]
            for g in self.data.get("gates", [])
            if g["region"] == region and g["passed"]
        }
        for item in reversed(history):
            sha = item["artifact_sha256"]
            if item["action"] not in ("deploy", "rollback"):
                continue
            if item["result"] != "succeeded" or sha == exclude or self.is_bad(sha):
                continue
            if needs_gate and sha not in passed:
                continue
            return sha
        return None

    # Writing: each method edits under the lock and saves before returning.

    @contextmanager
    def _edit(self) -> Iterator[dict[str, Any]]:
        with self._lock:
            self.data.setdefault("version", VERSION)
            yield self.data
            self.data["updated_at"] = now()
            self.data["steps"] = self.data.get("steps", [])[-MAX_STEPS:]
            atomic_write_text(self.path, json.dumps(self.data, indent=2) + "\n")

    def begin_run(
        self, env: str, command: str, sha256: str, regions: list[str]
    ) -> None:
        with self._edit() as data:
            data["env"] = env
            data["run"] = {
                "command": command,
                "artifact_sha256": sha256,
                "regions": regions,
                "started_at": now(),
                "finished_at": None,
                "result": "running",
            }

    def end_run(self, result: str) -> None:
        with self._edit() as data:
            run = data.setdefault("run", {})
            run["finished_at"] = now()
            run["result"] = result

    def mark_interrupted(self) -> list[dict[str, Any]]:
        """Close the steps a killed run left open; return them."""
        found = self.interrupted_steps()
        if not found:
            return []
        with self._edit() as data:
            for step in data["steps"]:
                if step.get("status") == "started":
                    step["status"] = "interrupted"
                    step["finished_at"] = now()
                    region = data.get("regions", {}).get(step.get("region") or "")
                    if region and region.get("result") == "started":
                        region["result"] = "interrupted"
        return found

    def start_step(self, action: str, **fields: Any) -> int:
        with self._edit() as data:
            steps = data.setdefault("steps", [])
            step_id = (steps[-1]["id"] + 1) if steps else 1
            steps.append(
                {
                    "id": step_id,
                    "action": action,
                    **fields,
                    "status": "started",
                    "started_at": now(),
                    "finished_at": None,
                }
            )
            region = fields.get("region")
            if region and action in ("deploy", "rollback", "destroy"):
                entry = data.setdefault("regions", {}).setdefault(region, {})
                entry.update(
                    {
                        "stack": fields.get("stack", entry.get("stack")),
                        "role": fields.get("role", entry.get("role")),
                        "wave": fields.get("wave", entry.get("wave")),
                        "last_step": action,
                        "result": "started",
                        "updated_at": now(),
                    }
                )
            return step_id

    def finish_step(
        self, step_id: int, status: str, *, error: str | None = None, **fields: Any
    ) -> None:
        with self._edit() as data:
            for step in reversed(data.get("steps", [])):
                if step["id"] == step_id:
                    step.update(fields)
                    step["status"] = status
                    step["finished_at"] = now()
                    if error:
                        step["error"] = error
                    self._destroy_failed(data, step, status, error)
                    break

    @staticmethod
    def _destroy_failed(
        data: dict[str, Any], step: dict[str, Any], status: str, error: str | None
    ) -> None:
        """A failed destroy leaves its region failed, not forever 'started'."""
        region = step.get("region")
        if step["action"] != "destroy" or status != "failed" or not region:
            return
        entry = data.setdefault("regions", {}).setdefault(region, {})
        entry["result"] = "failed"
        entry["error"] = error
        entry["updated_at"] = now()

    def record_deploy(
        self,
        region: str,
        *,
        action: str,
        sha256: str,
        result: str,
        config_hash: str | None = None,
        outputs: dict[str, Any] | None = None,
        applied_resources: dict[str, str] | None = None,
        error: str | None = None,
    ) -> None:
        """What a region runs after a deploy (or rollback) finished either way."""
        with self._edit() as data:
            entry = data.setdefault("regions", {}).setdefault(region, {})
            at = now()
            entry["last_step"] = action
            entry["result"] = result
            entry["updated_at"] = at
            if result == "succeeded":
                entry["artifact_sha256"] = sha256
                entry["config_hash"] = config_hash
                entry["deployed_at"] = at
                entry["deployed_seq"] = _next_seq(data)
                entry["outputs"] = outputs or {}
                if applied_resources is not None:
                    entry["applied_resources"] = applied_resources
                entry.pop("error", None)
            else:
                entry["error"] = error
            history = entry.setdefault("history", [])
            history.append(
                {
                    "action": action,
                    "artifact_sha256": sha256,
                    "result": result,
                    "at": at,
                }
            )
            entry["history"] = history[-MAX_HISTORY:]

    def record_gate(
        self, region: str, sha256: str, passed: bool, evidence: dict[str, Any]
    ) -> None:
        with self._edit() as data:
            at = now()
            data.setdefault("gates", []).append(
                {
                    "region": region,
                    "artifact_sha256": sha256,
                    "passed": passed,
                    "at": at,
                    "seq": _next_seq(data),
                    "evidence": evidence,
                }
            )
            entry = data.setdefault("regions", {}).setdefault(region, {})
            entry["last_step"] = "health-gate"
            entry["result"] = "passed" if passed else "failed"
            entry["updated_at"] = at

    def record_destroyed(self, region: str) -> None:
        with self._edit() as data:
            entry = data.setdefault("regions", {}).setdefault(region, {})
            entry.update(
                {
                    "last_step": "destroy",
                    "result": "destroyed",
                    "updated_at": now(),
                    "artifact_sha256": None,
                    "config_hash": None,
                    "outputs": {},
                    "applied_resources": {},
                }
            )

    def mark_bad(self, sha256: str, reason: str) -> None:
        with self._edit() as data:
            data.setdefault("bad_artifacts", {})[sha256] = {
                "reason": reason,
                "marked_at": now(),
            }
