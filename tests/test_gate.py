"""The health gate, against moto's CloudWatch and a local stand-in for the API."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rollout.aws import AwsClients
from rollout.gate import (
    GateVerdict,
    HealthGate,
    SystemClock,
    UrllibSender,
    as_clock,
)
from rollout.manifests import RegionManifest, SmokeRequest

REGION = "eu-west-1"
ERRORS = "rollout-dev-eu-west-1-errors"
LATENCY = "rollout-dev-eu-west-1-latency"
SMOKE = [
    SmokeRequest(method="POST", path="/items", body={"name": "smoke"}, expect=201),
    SmokeRequest(method="GET", path="/items/does-not-exist", expect=404),
]


class FakeClock:
    """Time that moves only when the gate sleeps; actions can be scheduled."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.start = start
        self.current = start
        self.sleeps: list[float] = []
        self._scheduled: list[tuple[float, Callable[[], None]]] = []

    def now(self) -> float:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.current += seconds
        due = [item for item in self._scheduled if item[0] <= self.elapsed]
        for item in due:
            self._scheduled.remove(item)
            item[1]()

    def at(self, elapsed: float, action: Callable[[], None]) -> None:
        """Run ``action`` once the clock has moved ``elapsed`` seconds."""
        self._scheduled.append((elapsed, action))

    @property
    def elapsed(self) -> float:
        return self.current - self.start


@dataclass
class Api:
    """A local HTTP server answering the smoke requests like the real API."""

    url: str
    routes: dict[tuple[str, str], int]
    received: list[tuple[str, str, object]] = field(default_factory=list)


@pytest.fixture
def api() -> Iterator[Api]:
    routes = {("POST", "/items"): 201, ("GET", "/items/does-not-exist"): 404}
    received: list[tuple[str, str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            received.append((self.command, self.path, body))
            path = self.path.removeprefix("/prod")
            status = routes.get((self.command, path), 404)
            self.send_response(status)
            if status in (301, 302):
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format, *args):  # noqa: A002 (the base's name)
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield Api(f"http://{host}:{port}", routes, received)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def clients(moto_reset: str, aws_env: None) -> AwsClients:
    manifest = RegionManifest(
        region=REGION,
        role="canary",
        endpoints={"cloudwatch": moto_reset, "s3": moto_reset},
    )
    return AwsClients({REGION: manifest})


def create_alarm(clients: AwsClients, name: str, state: str = "OK") -> None:
    cloudwatch = clients.client(REGION, "cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    set_state(clients, name, state)


def set_state(clients: AwsClients, name: str, state: str) -> None:
    clients.client(REGION, "cloudwatch").set_alarm_state(
        AlarmName=name, StateValue=state, StateReason="set by the test"
    )


def run_gate(
    clients: AwsClients,
    api: Api,
    clock: FakeClock,
    *,
    bake_minutes: float = 10,
    alarms: list[str] | None = None,
    smoke: list[SmokeRequest] = SMOKE,
    on_progress=None,
    api_url: str | None = None,
) -> GateVerdict:
    gate = HealthGate(clients, clock=clock, poll_seconds=30)
    return gate.run(
        REGION,
        [ERRORS, LATENCY] if alarms is None else alarms,
        api_url or api.url,
        bake_minutes,
        smoke,
        on_progress=on_progress,
    )


def test_run__healthy_canary_ten_minute_bake__passes_after_polling_throughout(
    clients, api
):
    create_alarm(clients, ERRORS)
    create_alarm(clients, LATENCY, "INSUFFICIENT_DATA")
    clock = FakeClock()

    verdict = run_gate(clients, api, clock)

    assert verdict.passed, verdict.reason
    assert verdict.alarms_in_alarm == []
    assert verdict.alarm_states == {ERRORS: "OK", LATENCY: "INSUFFICIENT_DATA"}
    assert clock.elapsed == 600
    assert verdict.polls == 21
    assert max(clock.sleeps) == 30
    assert [r.status for r in verdict.smoke] == [201, 404]
    assert [(method, path) for method, path, _ in api.received] == [
        ("POST", "/items"),
        ("GET", "/items/does-not-exist"),
    ] * 2
    assert api.received[0][2] == {"name": "smoke"}


def test_run__alarm_in_alarm_at_start__fails_at_once_naming_it(clients, api):
    create_alarm(clients, ERRORS, "ALARM")
    create_alarm(clients, LATENCY)
    clock = FakeClock()

    verdict = run_gate(clients, api, clock)

    assert not verdict.passed
    assert verdict.alarms_in_alarm == [ERRORS]
    assert ERRORS in verdict.reason
    assert verdict.polls == 1
    assert clock.elapsed == 0


def test_run__alarm_fires_after_four_minutes__fails_at_the_next_poll(clients, api):
    create_alarm(clients, ERRORS)
    create_alarm(clients, LATENCY)
    clock = FakeClock()
    clock.at(225, lambda: set_state(clients, LATENCY, "ALARM"))

    verdict = run_gate(clients, api, clock)

    assert not verdict.passed
    assert verdict.alarms_in_alarm == [LATENCY]
    assert verdict.baked_seconds == 240
    assert verdict.polls == 9


def test_run__smoke_request_wrong_status__fails_naming_request(clients, api):
    create_alarm(clients, ERRORS)
    create_alarm(clients, LATENCY)
    api.routes[("POST", "/items")] = 500

    verdict = run_gate(clients, api, FakeClock())

    assert not verdict.passed
    assert "POST /items: status 500, expected 201" in verdict.reason
    assert [r.ok for r in verdict.smoke] == [False, True]
    assert verdict.smoke[0].status == 500


def test_run__smoke_breaks_during_bake__fails_at_the_end(clients, api):
    create_alarm(clients, ERRORS)
    create_alarm(clients, LATENCY)
    clock = FakeClock()
    clock.at(300, lambda: api.routes.update({("GET", "/items/does-not-exist"): 200}))

    verdict = run_gate(clients, api, clock)

    assert not verdict.passed
    assert verdict.polls == 21
    assert "GET /items/does-not-exist: status 200, expected 404" in verdict.reason


def test_run__api_not_answering__fails_with_the_error(clients, api):
    create_alarm(clients, ERRORS)
    create_alarm(clients, LATENCY)
    closed = socket_nobody_listens_on()

    verdict = run_gate(clients, api, FakeClock(), api_url=closed)

    assert not verdict.passed
    assert verdict.smoke[0].status is None
    assert "no answer from" in verdict.smoke[0].error
    assert closed in verdict.reason


def test_run__progress__reports_time_left_alarm_states_and_smoke(clients, api):
    create_alarm(clients, ERRORS)
    create_alarm(clients, LATENCY)
    seen: list[dict] = []

    run_gate(clients, api, FakeClock(), bake_minutes=2, on_progress=seen.append)

    polls = [event for event in seen if event["phase"] == "alarms"]
    assert [event["time_left_s"] for event in polls] == [120, 90, 60, 30, 0]
    assert polls[0]["alarms"] == {ERRORS: "OK", LATENCY: "OK"}
    assert seen[0]["phase"] == "smoke"
    assert [r["status"] for r in seen[0]["smoke"]] == [201, 404]
    assert seen[-1]["phase"] == "passed"


def test_run__bake_zero__one_poll_and_one_round_of_smoke(clients, api):
    create_alarm(clients, ERRORS)
    create_alarm(clients, LATENCY)
    clock = FakeClock()

    verdict = run_gate(clients, api, clock, bake_minutes=0)

    assert verdict.passed
    assert verdict.polls == 1
    assert clock.sleeps == []
    assert len(api.received) == len(SMOKE)


def test_run__exported_alarm_missing__fails_naming_it(clients, api):
    create_alarm(clients, ERRORS)

    verdict = run_gate(clients, api, FakeClock())

    assert not verdict.passed
    assert f"alarm not found in {REGION}" in verdict.reason
    assert LATENCY in verdict.reason


def test_run__no_alarms_exported__watches_no_other_alarm(clients, api):
    create_alarm(clients, "another-application-alarm", "ALARM")

    verdict = run_gate(clients, api, FakeClock(), alarms=[])

    assert verdict.passed
    assert verdict.alarm_states == {}
    assert "no alarms exported" in verdict.reason


def test_run__api_url_with_stage__smoke_path_appended_to_it(clients, api):
    create_alarm(clients, ERRORS)
    create_alarm(clients, LATENCY)

    verdict = run_gate(
        clients, api, FakeClock(), bake_minutes=0, api_url=f"{api.url}/prod/"
    )

    assert verdict.passed, verdict.reason
    assert [path for _, path, _ in api.received] == [
        "/prod/items",
        "/prod/items/does-not-exist",
    ]


def test_run__redirect__reported_as_its_status_not_followed(clients, api):
    create_alarm(clients, ERRORS)
    create_alarm(clients, LATENCY)
    api.routes[("GET", "/old")] = 302
    smoke = [SmokeRequest(method="GET", path="/old", expect=302)]

    verdict = run_gate(clients, api, FakeClock(), bake_minutes=0, smoke=smoke)

    assert verdict.passed, verdict.reason
    assert [path for _, path, _ in api.received] == ["/old"]


def test_run__api_url_not_http__fails_without_sending(clients, api):
    create_alarm(clients, ERRORS)
    create_alarm(clients, LATENCY)

    verdict = run_gate(clients, api, FakeClock(), api_url="ftp://example.invalid/")

    assert not verdict.passed
    assert "not an http(s) URL" in verdict.reason
    assert api.received == []


def test_run__stack_exports_no_api_url__fails_without_sending(clients, api):
    create_alarm(clients, ERRORS)
    create_alarm(clients, LATENCY)
    gate = HealthGate(clients, clock=FakeClock())

    verdict = gate.run(REGION, [ERRORS, LATENCY], None, 10, SMOKE)

    assert not verdict.passed
    assert "exports no API URL" in verdict.reason
    assert api.received == []


def test_run__no_api_url_and_no_smoke__judged_on_alarms_alone(clients):
    create_alarm(clients, ERRORS)
    gate = HealthGate(clients, clock=FakeClock())

    verdict = gate.run(REGION, [ERRORS], None, 1, [])

    assert verdict.passed, verdict.reason
    assert verdict.polls == 3


def test_verdict__to_json__carries_the_evidence(clients, api):
    create_alarm(clients, ERRORS, "ALARM")
    create_alarm(clients, LATENCY)

    verdict = run_gate(clients, api, FakeClock())
    data = json.loads(json.dumps(verdict.to_json()))

    assert data["passed"] is False
    assert data["region"] == REGION
    assert data["alarms_in_alarm"] == [ERRORS]
    assert data["alarm_states"] == {ERRORS: "ALARM", LATENCY: "OK"}
    assert data["smoke"][0] == {
        "method": "POST",
        "path": "/items",
        "status": 201,
        "expect": 201,
        "ok": True,
        "error": None,
    }
    assert data["polls"] == 1


def test_alarms_in_alarm__after_a_wave__lists_only_those_in_alarm(clients):
    create_alarm(clients, ERRORS, "ALARM")
    create_alarm(clients, LATENCY)
    create_alarm(clients, "another-application-alarm", "ALARM")
    gate = HealthGate(clients, clock=FakeClock())

    assert gate.alarms_in_alarm(REGION, [ERRORS, LATENCY]) == [ERRORS]
    assert gate.alarms_in_alarm(REGION, [LATENCY]) == []
    assert gate.alarms_in_alarm(REGION, []) == []


def test_system_clock__now__moves_forward():
    clock = SystemClock()
    first = clock.now()
    clock.sleep(0)

    assert clock.now() >= first


class MonotonicSource:
    """Shaped like the time module: monotonic() and sleep()."""

    def __init__(self) -> None:
        self.value = 50.0

    def monotonic(self) -> float:
        return self.value

    def sleep(self, seconds: float) -> None:
        self.value += seconds


def test_as_clock__time_module_shape__adapted_to_now_and_sleep(clients):
    import time

    source = MonotonicSource()
    gate = HealthGate(clients, clock=source)

    verdict = gate.run(REGION, [], None, 1.5, [])

    assert verdict.passed
    assert source.value == 50.0 + 90
    assert as_clock(time).now() <= time.monotonic()
    with pytest.raises(TypeError):
        as_clock(object())


def test_urllib_sender__json_body__sent_with_content_type(api):
    status = UrllibSender(timeout=5)("POST", f"{api.url}/items", {"quantity": 1})

    assert status == 201
    assert api.received == [("POST", "/items", {"quantity": 1})]


def socket_nobody_listens_on() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
