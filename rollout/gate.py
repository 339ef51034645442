"""The canary's health gate: bake, watch the alarms, send the smoke requests.

During the bake the gate reads the region's CloudWatch alarms every
``poll_seconds`` and sends the manifest's smoke requests to the stack's API at
the start and at the end. It passes when no alarm is in ALARM at any poll and
every smoke request gets its expected status; anything else fails it, at once,
with the evidence in the :class:`GateVerdict`. An alarm in INSUFFICIENT_DATA
counts as healthy: a new alarm has no data until traffic reaches it. An alarm
the stack exports but CloudWatch does not know fails the gate, since its
health cannot be watched.

Time comes from an injected :class:`Clock` and HTTP from an injected sender, so
a ten-minute bake runs in milliseconds under test.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from rollout.aws import AwsClients
from rollout.errors import DeploymentError
from rollout.manifests import SmokeRequest

log = logging.getLogger(__name__)

# DescribeAlarms takes at most 100 names per call.
_NAMES_PER_CALL = 100
_ALARM_TYPES = ["MetricAlarm", "CompositeAlarm"]


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Monotonic seconds, and a real sleep."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _MonotonicClock:
    """A Clock over anything with ``monotonic()`` and ``sleep()``, such as the
    ``time`` module itself."""

    def __init__(self, source: Any) -> None:
        self._source = source

    def now(self) -> float:
        return self._source.monotonic()

    def sleep(self, seconds: float) -> None:
        self._source.sleep(seconds)


def as_clock(clock: Any) -> Clock:
    """``clock`` as a Clock: a Clock as it is, the ``time`` module adapted."""
    if clock is None:
        return SystemClock()
    if hasattr(clock, "now") and hasattr(clock, "sleep"):
        return clock
    if hasattr(clock, "monotonic") and hasattr(clock, "sleep"):
        return _MonotonicClock(clock)
    raise TypeError(f"{clock!r} has neither now() nor monotonic() with sleep()")


class HttpSender(Protocol):
    def __call__(self, method: str, url: str, body: Any) -> int:
        """Send one request and return the HTTP status; raise OSError if none."""
        ...


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class UrllibSender:
    """Sends JSON with the standard library, reporting redirects as they come.

    A smoke request checks what the API answers, so a 3xx is its status and
    is not followed elsewhere.
    """

    def __init__(self, timeout: float = 10.0) -> None:
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    def __call__(self, method: str, url: str, body: Any) -> int:
        headers = {"Accept": "application/json", "User-Agent": "rollout-smoke/1"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            exc.close()
            return exc.code


@dataclass
class SmokeResult:
    method: str
    path: str
    status: int | None
    expect: int
    ok: bool
    error: str | None = None

    def describe(self) -> str:
        got = self.error if self.status is None else f"status {self.status}"
        return f"{self.method} {self.path}: {got}, expected {self.expect}"


@dataclass
class GateVerdict:
    region: str
    passed: bool
    alarms_in_alarm: list[str]
    smoke: list[SmokeResult]
    polls: int
    reason: str
    alarm_states: dict[str, str] = field(default_factory=dict)
    baked_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "passed": self.passed,
            "reason": self.reason,
            "alarms_in_alarm": list(self.alarms_in_alarm),
            "alarm_states": dict(self.alarm_states),
            "smoke": [asdict(result) for result in self.smoke],
            "polls": self.polls,
            "baked_seconds": round(self.baked_seconds, 3),
        }


class _RegionLog(logging.LoggerAdapter):
    def process(self, msg, kwargs):
        return f"[{self.extra['region']}] {msg}", kwargs


@dataclass
class _Bake:
    """What one run of the gate has seen so far."""

    region: str
    started: float
    deadline: float
    on_progress: Callable[[dict[str, Any]], None] | None
    polls: int = 0
    states: dict[str, str] = field(default_factory=dict)
    smoke: list[SmokeResult] = field(default_factory=list)

    def firing(self) -> list[str]:
        return sorted(name for name, state in self.states.items() if state == "ALARM")

    def report(self, clock: Clock, phase: str) -> None:
        if self.on_progress is None:
            return
        now = clock.now()
        self.on_progress(
            {
                "region": self.region,
                "phase": phase,
                "elapsed_s": round(now - self.started, 3),
                "time_left_s": round(max(0.0, self.deadline - now), 3),
                "polls": self.polls,
                "alarms": dict(self.states),
                "smoke": [asdict(result) for result in self.smoke],
            }
        )

    def verdict(self, clock: Clock, passed: bool, reason: str) -> GateVerdict:
        return GateVerdict(
            region=self.region,
            passed=passed,
            alarms_in_alarm=self.firing(),
            smoke=list(self.smoke),
            polls=self.polls,
            reason=reason,
            alarm_states=dict(self.states),
            baked_seconds=clock.now() - self.started,
        )


class HealthGate:
    """Decides whether a freshly deployed canary region is healthy."""

    def __init__(
        self,
        clients: AwsClients,
        clock: Clock | Any = None,
        http: HttpSender | None = None,
        poll_seconds: float = 30,
    ) -> None:
        if poll_seconds <= 0:
            raise ValueError(f"poll_seconds must be positive, got {poll_seconds}")
        self._clients = clients
        self._clock = as_clock(clock)
        self._http = http or UrllibSender()
        self._poll_seconds = poll_seconds

    def run(
        self,
        region: str,
        alarm_names: list[str],
        api_url: str | None,
        bake_minutes: float,
        smoke: list[SmokeRequest],
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> GateVerdict:
        """Bake ``region`` for ``bake_minutes`` and return the verdict.

        ``api_url`` is the URL the stack exports; with smoke requests to send,
        a missing or non-HTTP URL fails the gate.
        """
        rlog = _RegionLog(log, {"region": region})
        clock = self._clock
        started = clock.now()
        bake = _Bake(
            region, started, started + max(0.0, bake_minutes) * 60, on_progress
        )
        verdict = self._bake(bake, alarm_names, api_url, smoke, rlog)

        outcome = "passed" if verdict.passed else "failed"
        bake.report(clock, outcome)
        rlog.info("health gate %s: %s", outcome, verdict.reason)
        return verdict

    def alarms_in_alarm(self, region: str, alarm_names: list[str]) -> list[str]:
        """The alarms of ``alarm_names`` in ``region`` that are in ALARM now."""
        try:
            states = self._alarm_states(region, alarm_names)
        except (BotoCoreError, ClientError) as exc:
            raise DeploymentError(
                f"{region}: could not read the CloudWatch alarms "
                f"{', '.join(alarm_names)}: {exc}"
            ) from exc
        return sorted(name for name, state in states.items() if state == "ALARM")

    def _bake(
        self,
        bake: _Bake,
        alarm_names: list[str],
        api_url: str | None,
        smoke: list[SmokeRequest],
        rlog: logging.LoggerAdapter,
    ) -> GateVerdict:
        clock = self._clock
        if smoke and not api_url:
            return bake.verdict(
                clock, False, "the stack exports no API URL to send smoke requests to"
            )
        if smoke and not _is_http_url(api_url):
            return bake.verdict(
                clock, False, f"the stack's API URL '{api_url}' is not an http(s) URL"
            )
        api_url = api_url or ""
        if not alarm_names:
            rlog.warning("the stack exports no alarms; the gate watches smoke only")

        bake.smoke = self._send_smoke(api_url, smoke)
        bake.report(clock, "smoke")
        if failed := [r for r in bake.smoke if not r.ok]:
            return bake.verdict(clock, False, _smoke_reason(failed))

        while True:
            try:
                bake.states = self._alarm_states(bake.region, alarm_names)
            except (BotoCoreError, ClientError) as exc:
                return bake.verdict(
                    clock, False, f"could not read the alarms of {bake.region}: {exc}"
                )
            bake.polls += 1
            bake.report(clock, "alarms")

            if firing := bake.firing():
                return bake.verdict(
                    clock, False, f"alarm in ALARM during the bake: {', '.join(firing)}"
                )
            if missing := [n for n in alarm_names if n not in bake.states]:
                return bake.verdict(
                    clock,
                    False,
                    f"alarm not found in {bake.region}, so its health cannot be "
                    f"watched: {', '.join(missing)}",
                )

            left = bake.deadline - clock.now()
            if left <= 0:
                break
            clock.sleep(min(self._poll_seconds, left))

        # Once more at the end, after the alarms have had the bake to react.
        if bake.deadline > bake.started and smoke:
            bake.smoke = self._send_smoke(api_url, smoke)
            bake.report(clock, "smoke")
            if failed := [r for r in bake.smoke if not r.ok]:
                return bake.verdict(clock, False, _smoke_reason(failed))

        return bake.verdict(clock, True, _pass_reason(bake, alarm_names, smoke))

    def _send_smoke(self, api_url: str, smoke: list[SmokeRequest]) -> list[SmokeResult]:
        return [self._send_one(api_url, request) for request in smoke]

    def _send_one(self, api_url: str, request: SmokeRequest) -> SmokeResult:
        url = api_url
        try:
            url = _join(api_url, request.path)
            status = self._http(request.method, url, request.body)
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            return SmokeResult(
                request.method,
                request.path,
                None,
                request.expect,
                False,
                f"no answer from {url}: {reason}",
            )
        return SmokeResult(
            request.method,
            request.path,
            status,
            request.expect,
            status == request.expect,
            None if status == request.expect else f"status {status} from {url}",
        )

    def _alarm_states(self, region: str, alarm_names: list[str]) -> dict[str, str]:
        # NOTE: DescribeAlarms without AlarmNames lists every alarm of the
        # region, which would gate the canary on other applications' alarms.
        if not alarm_names:
            return {}
        cloudwatch = self._clients.client(region, "cloudwatch")
        paginator = cloudwatch.get_paginator("describe_alarms")
        states: dict[str, str] = {}
        for chunk in _chunks(alarm_names, _NAMES_PER_CALL):
            for page in paginator.paginate(AlarmNames=chunk, AlarmTypes=_ALARM_TYPES):
                alarms = page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])
                for alarm in alarms:
                    states[alarm["AlarmName"]] = alarm["StateValue"]
        return states


def _join(api_url: str, path: str) -> str:
    """The API URL with ``path`` appended, keeping any stage in the URL's path.

    A plain concatenation, not urljoin: urljoin would drop a stage such as
    ``/prod`` and could move the request to another host.
    """
    url = api_url.rstrip("/") + "/" + path.lstrip("/")
    if urlsplit(url).netloc != urlsplit(api_url).netloc:
        raise ValueError(f"smoke path '{path}' leaves the API at {api_url}")
    return url


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _chunks(names: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(names), size):
        yield names[start : start + size]


def _smoke_reason(failed: list[SmokeResult]) -> str:
    return "smoke request failed: " + "; ".join(r.describe() for r in failed)


def _pass_reason(bake: _Bake, alarm_names: list[str], smoke: list[SmokeRequest]) -> str:
    minutes = (bake.deadline - bake.started) / 60
    alarms = (
        f"none of {len(alarm_names)} alarms in ALARM over {bake.polls} polls"
        if alarm_names
        else "no alarms exported to watch"
    )
    checks = "no smoke requests configured"
    if smoke:
        checks = f"{len(smoke)} smoke requests answered as expected"
    return f"{minutes:g}-minute bake: {alarms}; {checks}"
