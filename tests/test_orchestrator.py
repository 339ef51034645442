"""The orchestrator with an engine double, a fake replicator and a fake gate."""

from __future__ import annotations

import http.server
import json
import threading
import time
from pathlib import Path

import pytest

from rollout.artifact import build_artifact
from rollout.errors import (
    DeploymentError,
    EnvironmentBlocked,
    GateFailed,
    InputError,
    PromotionRefused,
)
from rollout.journal import Journal
from rollout.manifests import load_project
from rollout.orchestrator import Orchestrator, bucket_holds_objects, describe_progress
from rollout.plan import Planner
from tests.engine_double import (
    Crash,
    Doubles,
    EmptyS3,
    EngineDouble,
    FakeGate,
    FakeReplicator,
    copy_project,
    new_release,
)

PRIMARY, CANARY, WEST, SYDNEY = "us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2"


@pytest.fixture
def deploy_project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


def make(project_dir: Path, doubles: Doubles, *, parallel: int = 4) -> Orchestrator:
    project = load_project(project_dir, "dev")
    return Orchestrator(project, "dev", doubles.services(project), parallel=parallel)


def apply(
    project_dir: Path,
    doubles: Doubles,
    *,
    regions: list[str] | None = None,
    auto_promote: bool = False,
    parallel: int = 4,
):
    orchestrator = make(project_dir, doubles, parallel=parallel)
    manifests = orchestrator.project.select(regions)
    prepared = orchestrator.prepare(manifests, build_artifact(project_dir))
    return orchestrator.apply(prepared, auto_promote=auto_promote, bake_minutes=None)


def journal(project_dir: Path) -> Journal:
    return Journal.read(project_dir / ".rollout" / "dev" / "journal.json")


def add_wave(project_dir: Path, regions: list[str], wave: int = 2) -> None:
    for region in regions:
        (project_dir / "regions" / f"{region}.yaml").write_text(
            f"region: {region}\nrole: secondary\nwave: {wave}\n"
        )


def sha_of(project_dir: Path) -> str:
    return build_artifact(project_dir).sha256


def test_apply__fresh_env__primary_copy_canary_gate_then_stops(deploy_project):
    doubles = Doubles()

    outcome = apply(deploy_project, doubles)

    assert doubles.engine.ops() == ["dev-us-east-1", "dev-eu-west-1"]
    assert doubles.replicator.calls[0]["from"] == PRIMARY
    assert sorted(doubles.replicator.calls[0]["targets"]) == [SYDNEY, CANARY, WEST]
    assert [run["region"] for run in doubles.gate.runs] == [CANARY]
    assert outcome.status == "awaiting-promotion"
    assert "rollout promote --env dev" in outcome.message
    actions = [s["action"] for s in journal(deploy_project).data["steps"]]
    assert actions == ["deploy", "replicate-artifact", "deploy", "health-gate"]


def test_apply__every_stack__config_carries_artifact_key_and_sha(deploy_project):
    doubles = Doubles()
    sha = sha_of(deploy_project)

    apply(deploy_project, doubles, auto_promote=True)

    assert len(doubles.engine.calls) == 4
    for call in doubles.engine.calls:
        assert call.config["rollout:artifact"] == {
            "key": f"lambda/{sha}.zip",
            "sha256": sha,
        }
        assert call.extra_config == {
            "rollout:artifact.path": str(
                deploy_project / ".rollout" / "cache" / f"{sha}.zip"
            )
        }


def test_apply__replication__copies_from_primary_bucket_to_each_region_bucket(
    deploy_project,
):
    doubles = Doubles()

    apply(deploy_project, doubles)

    call = doubles.replicator.calls[0]
    assert call["targets"][WEST] == "rollout-dev-us-west-2-artifacts-123456789012"
    step = journal(deploy_project).data["steps"][1]
    assert step["status"] == "succeeded"
    assert {r["region"]: r["status"] for r in step["results"]} == {
        CANARY: "copied",
        WEST: "copied",
        SYDNEY: "copied",
    }


def test_apply__copy_fails__deployment_error_recorded_and_no_canary(deploy_project):
    doubles = Doubles(replicator=FakeReplicator(fail={WEST}))

    with pytest.raises(DeploymentError, match="us-west-2 .*sha256 mismatch"):
        apply(deploy_project, doubles)

    assert doubles.engine.ops() == ["dev-us-east-1"]
    step = journal(deploy_project).data["steps"][-1]
    assert (step["action"], step["status"]) == ("replicate-artifact", "failed")
    assert journal(deploy_project).run["result"] == "failed"


@pytest.mark.parametrize(("parallel", "expected"), [(2, 2), (4, 3), (1, 1)])
def test_apply__wave_of_three__concurrency_is_min_of_parallel_and_wave(
    deploy_project, parallel, expected
):
    add_wave(deploy_project, ["us-east-2", "ca-central-1"], wave=2)
    doubles = Doubles(engine=EngineDouble(delay=0.3))

    apply(deploy_project, doubles, auto_promote=True, parallel=parallel)

    assert doubles.engine.max_active == expected
    wave_two = {"dev-us-west-2", "dev-us-east-2", "dev-ca-central-1"}
    ops = doubles.engine.ops()
    assert set(ops[2:5]) == wave_two
    assert ops[5] == "dev-ap-southeast-2"


def test_apply__region_fails__rerun_deploys_only_what_did_not_finish(deploy_project):
    add_wave(deploy_project, ["us-east-2"], wave=2)
    failing = Doubles(engine=EngineDouble(fail_on={"dev-us-west-2"}))

    with pytest.raises(DeploymentError, match="dev-us-west-2"):
        apply(deploy_project, failing, auto_promote=True)
    assert "dev-ap-southeast-2" not in failing.engine.ops()

    rerun = Doubles(replicator=failing.replicator)
    outcome = apply(deploy_project, rerun, auto_promote=True)

    assert rerun.engine.ops() == ["dev-us-west-2", "dev-ap-southeast-2"]
    assert outcome.deployed == [WEST, SYDNEY]
    assert rerun.gate.runs == []


def test_apply__crash_mid_apply__rerun_reports_interruption_and_resumes(
    deploy_project,
):
    crashing = Doubles(engine=EngineDouble(crash_on={"dev-eu-west-1"}))
    with pytest.raises(Crash):
        apply(deploy_project, crashing)
    open_steps = journal(deploy_project).interrupted_steps()
    assert [s["stack"] for s in open_steps] == ["dev-eu-west-1"]

    rerun = Doubles(replicator=crashing.replicator)
    outcome = apply(deploy_project, rerun)

    assert "Warning: found an interrupted apply of dev-eu-west-1 (deploy started" in (
        rerun.reporter.text()
    )
    assert rerun.reporter.text().count("; resuming") == 1
    assert rerun.engine.ops() == ["dev-eu-west-1"]
    assert outcome.status == "awaiting-promotion"
    statuses = [s["status"] for s in journal(deploy_project).data["steps"]]
    assert "started" not in statuses
    assert "interrupted" in statuses


def test_apply__crash_during_copy__rerun_copies_without_redeploying_primary(
    deploy_project,
):
    class CrashingReplicator(FakeReplicator):
        def replicate(self, *args, **kwargs):
            raise Crash("copy")

    with pytest.raises(Crash):
        apply(deploy_project, Doubles(replicator=CrashingReplicator()))
    rerun = Doubles()

    apply(deploy_project, rerun)

    assert (
        "found an interrupted apply of env dev (replicate-artifact"
        in rerun.reporter.text()
    )
    assert len(rerun.replicator.calls) == 1
    assert rerun.engine.ops() == ["dev-eu-west-1"]


def test_apply__second_apply_without_change__does_nothing(deploy_project):
    apply(deploy_project, Doubles(), auto_promote=True)
    again = Doubles()

    outcome = apply(deploy_project, again, auto_promote=True)

    assert again.engine.calls == []
    assert again.replicator.calls == []
    assert again.gate.runs == []
    assert outcome.message.startswith("nothing to do")


def test_apply__second_apply_awaiting_promotion__deploys_nothing(deploy_project):
    apply(deploy_project, Doubles())
    again = Doubles()

    outcome = apply(deploy_project, again)

    assert again.engine.calls == []
    assert outcome.status == "awaiting-promotion"
    assert outcome.message.startswith("nothing changed since the last apply")


def test_apply__config_changed_in_one_region__only_that_region_redeploys(
    deploy_project,
):
    apply(deploy_project, Doubles(), auto_promote=True)
    manifest = deploy_project / "regions" / f"{SYDNEY}.yaml"
    manifest.write_text(
        manifest.read_text().replace("retention_days: 90", "retention_days: 60")
    )
    again = Doubles()

    apply(deploy_project, again, auto_promote=True)

    assert again.engine.ops() == ["dev-ap-southeast-2"]


def test_apply__unhealthy_canary__gate_failed_and_nothing_more_deployed(
    deploy_project,
):
    doubles = Doubles(gate=FakeGate(unhealthy={CANARY}))

    with pytest.raises(GateFailed, match="alarm rollout-dev-eu-west-1-api-errors"):
        apply(deploy_project, doubles, auto_promote=True)

    assert doubles.engine.ops() == ["dev-us-east-1", "dev-eu-west-1"]
    gate = journal(deploy_project).latest_gate(CANARY)
    assert gate["passed"] is False
    assert gate["evidence"]["alarms_in_alarm"] == ["rollout-dev-eu-west-1-api-errors"]
    assert journal(deploy_project).run["result"] == "gate-failed"


def test_apply__first_release_unhealthy__says_fix_and_apply_again(deploy_project):
    with pytest.raises(GateFailed) as caught:
        apply(deploy_project, Doubles(gate=FakeGate(unhealthy={CANARY})))

    assert str(caught.value).endswith(
        "no earlier artifact passed the gate in eu-west-1: fix the release and "
        "rerun `rollout apply --env dev`"
    )
    assert make(deploy_project, Doubles()).status()["next"] == (
        "rollout apply --env dev with a fixed release: the canary's health gate "
        "failed and no earlier artifact passed it"
    )


def test_apply__later_release_unhealthy__says_rollback(deploy_project):
    apply(deploy_project, Doubles(), auto_promote=True)
    new_release(deploy_project, "second")

    with pytest.raises(GateFailed) as caught:
        apply(deploy_project, Doubles(gate=FakeGate(unhealthy={CANARY})))

    assert str(caught.value).endswith(
        "run `rollout rollback --region eu-west-1 --env dev` to restore the last "
        "artifact that passed there"
    )
    assert make(deploy_project, Doubles()).status()["next"] == (
        "rollout rollback --region eu-west-1 --env dev: the canary's health gate failed"
    )


def test_apply__gate__uses_stack_outputs_and_manifest_bake(deploy_project):
    doubles = Doubles()

    apply(deploy_project, doubles)

    run = doubles.gate.runs[0]
    assert run["api_url"] == "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/"
    assert run["alarm_names"] == [
        "rollout-dev-eu-west-1-api-errors",
        "rollout-dev-eu-west-1-worker-errors",
    ]
    assert run["bake_minutes"] == 15
    assert [s.expect for s in run["smoke"]] == [201, 404]
    assert (
        "eu-west-1: health gate: alarms, 15.0 min left, alarms OK"
        in doubles.reporter.lines
    )


def test_describe_progress__alarm_firing_and_smoke__one_line():
    update = {
        "phase": "smoke",
        "time_left_s": 90,
        "alarms": {"a": "OK", "b": "ALARM"},
        "smoke": [{"ok": True}, {"ok": False}],
    }

    assert describe_progress(update) == (
        "smoke, 1.5 min left, alarms in ALARM: b, smoke 1/2 ok"
    )


def test_apply__no_canary__warns_and_deploys_every_wave(deploy_project):
    (deploy_project / "regions" / f"{CANARY}.yaml").unlink()
    doubles = Doubles()

    outcome = apply(deploy_project, doubles)

    assert doubles.engine.ops() == [
        "dev-us-east-1",
        "dev-us-west-2",
        "dev-ap-southeast-2",
    ]
    assert doubles.gate.runs == []
    assert "Warning: no canary region" in doubles.reporter.text()
    assert outcome.status == "succeeded"


def test_apply__canary_not_selected__warns_that_no_gate_runs(deploy_project):
    doubles = Doubles()

    apply(deploy_project, doubles, regions=[WEST])

    assert doubles.engine.ops() == ["dev-us-east-1", "dev-us-west-2"]
    assert (
        "Warning: the canary eu-west-1 is not among the selected regions: every "
        "selected wave deploys in order without a health gate"
    ) in doubles.reporter.lines


def test_apply__secret_variable_missing__input_error_names_region_key_variable(
    deploy_project,
):
    manifest = deploy_project / "regions" / f"{CANARY}.yaml"
    manifest.write_text(
        manifest.read_text() + "secrets:\n  api-key: env:TEST_API_KEY\n"
    )

    with pytest.raises(InputError) as caught:
        apply(deploy_project, Doubles())

    assert str(caught.value) == (
        "eu-west-1: secrets.api-key: the environment variable TEST_API_KEY is not set"
    )


def test_apply__secret_and_profile__reach_the_stack_not_the_journal(deploy_project):
    manifest = deploy_project / "regions" / f"{CANARY}.yaml"
    manifest.write_text(
        manifest.read_text()
        + "secrets:\n  api-key: env:TEST_API_KEY\nprofile: canary-account\n"
    )
    doubles = Doubles(environ={"TEST_API_KEY": "s3cr3t-value-991"})

    apply(deploy_project, doubles)

    canary = next(c for c in doubles.engine.calls if c.region == CANARY)
    assert canary.secrets == {"rollout:secret-api-key": "s3cr3t-value-991"}
    assert canary.env_vars == {"AWS_PROFILE": "canary-account"}
    primary = next(c for c in doubles.engine.calls if c.region == PRIMARY)
    assert primary.env_vars == {}
    for path in (deploy_project / ".rollout").rglob("*"):
        if path.is_file() and path.suffix in (".json", ".yaml"):
            assert "s3cr3t-value-991" not in path.read_text()


def test_apply__success__plan_then_shows_every_resource_same(deploy_project):
    apply(deploy_project, Doubles(), auto_promote=True)
    project = load_project(deploy_project, "dev")

    plan = Planner(project).plan(
        project.select(None),
        "dev",
        build_artifact(deploy_project),
        previous=journal(deploy_project).applied_digests(),
    )

    for region in plan.regions:
        assert region.summary["same"] == len(region.resources) > 0
        assert region.summary["create"] == region.summary["update"] == 0


def test_apply__artifact_marked_bad__refused(deploy_project):
    apply(deploy_project, Doubles())
    journal(deploy_project).mark_bad(sha_of(deploy_project), "rolled back in eu-west-1")

    with pytest.raises(EnvironmentBlocked, match="was marked bad"):
        apply(deploy_project, Doubles())


def test_promote__no_apply__refused(deploy_project):
    with pytest.raises(PromotionRefused, match="no apply is recorded"):
        make(deploy_project, Doubles()).promote(_artifact_for(deploy_project))


def test_promote__canary_gate_failed__refused(deploy_project):
    with pytest.raises(GateFailed):
        apply(deploy_project, Doubles(gate=FakeGate(unhealthy={CANARY})))
    doubles = Doubles()

    with pytest.raises(PromotionRefused, match="no healthy canary .*eu-west-1"):
        make(deploy_project, doubles).promote(_artifact_for(deploy_project))
    assert doubles.engine.calls == []


def test_promote__healthy_canary__deploys_waves_in_order_checking_alarms(
    deploy_project,
):
    apply(deploy_project, Doubles())
    doubles = Doubles()

    outcome = make(deploy_project, doubles).promote(_artifact_for(deploy_project))

    assert doubles.engine.ops() == ["dev-us-west-2", "dev-ap-southeast-2"]
    assert doubles.gate.alarm_checks == [WEST, SYDNEY]
    assert outcome.deployed == [WEST, SYDNEY]
    assert journal(deploy_project).run["command"] == "promote"


def test_promote__alarm_firing_after_wave__stops_before_next_wave(deploy_project):
    apply(deploy_project, Doubles())
    doubles = Doubles(
        gate=FakeGate(firing={WEST: ["rollout-dev-us-west-2-api-errors"]})
    )

    with pytest.raises(DeploymentError, match="wave 2: alarms in ALARM"):
        make(deploy_project, doubles).promote(_artifact_for(deploy_project))

    assert doubles.engine.ops() == ["dev-us-west-2"]


def test_rollback__canary__redeploys_last_artifact_that_passed_its_gate(
    deploy_project,
):
    apply(deploy_project, Doubles(), auto_promote=True)
    good = sha_of(deploy_project)
    new_release(deploy_project, "second")
    with pytest.raises(GateFailed):
        apply(deploy_project, Doubles(gate=FakeGate(unhealthy={CANARY})))
    bad = sha_of(deploy_project)
    doubles = Doubles()

    outcome = make(deploy_project, doubles).rollback(
        CANARY, _artifact_for(deploy_project)
    )

    assert doubles.engine.ops() == ["dev-eu-west-1"]
    assert doubles.engine.calls[0].config["rollout:artifact"]["sha256"] == good
    assert journal(deploy_project).is_bad(bad)
    assert journal(deploy_project).region(CANARY)["artifact_sha256"] == good
    assert outcome.status == "rolled-back"
    assert outcome.message.endswith(
        "; us-east-1 still run(s) it: roll back each with "
        "`rollout rollback --region <region> --env dev`"
    )
    with pytest.raises(PromotionRefused, match="marked bad"):
        make(deploy_project, Doubles()).promote(_artifact_for(deploy_project))


def test_rollback__canary__skips_artifacts_that_deployed_but_failed_the_gate(
    deploy_project,
):
    apply(deploy_project, Doubles(), auto_promote=True)
    first = sha_of(deploy_project)
    for marker in ("second", "third"):
        new_release(deploy_project, marker)
        with pytest.raises(GateFailed):
            apply(deploy_project, Doubles(gate=FakeGate(unhealthy={CANARY})))
    doubles = Doubles()

    make(deploy_project, doubles).rollback(CANARY, _artifact_for(deploy_project))

    assert doubles.engine.calls[0].config["rollout:artifact"]["sha256"] == first


def test_rollback__secondary_without_earlier_artifact__refused(deploy_project):
    apply(deploy_project, Doubles(), auto_promote=True)

    with pytest.raises(EnvironmentBlocked, match="nothing to roll back to"):
        make(deploy_project, Doubles()).rollback(WEST, _artifact_for(deploy_project))


def test_status__after_apply__rows_and_next_step(deploy_project):
    apply(deploy_project, Doubles())

    report = make(deploy_project, Doubles()).status()

    assert [r["region"] for r in report["regions"]] == [PRIMARY, CANARY, WEST, SYDNEY]
    canary = report["regions"][1]
    assert set(canary) == {
        "region",
        "role",
        "wave",
        "artifact_sha256",
        "last_step",
        "result",
        "updated_at",
    }
    assert (canary["role"], canary["wave"]) == ("canary", 1)
    assert canary["artifact_sha256"] == sha_of(deploy_project)
    assert (canary["last_step"], canary["result"]) == ("health-gate", "passed")
    assert report["regions"][2]["result"] is None
    assert report["next"].startswith("rollout promote --env dev")
    json.dumps(report)


def test_status__after_crash__next_is_resume(deploy_project):
    with pytest.raises(Crash):
        apply(deploy_project, Doubles(engine=EngineDouble(crash_on={"dev-us-east-1"})))

    report = make(deploy_project, Doubles()).status()

    assert report["next"] == "rollout apply --env dev: resume the interrupted run"
    primary = report["regions"][0]
    assert (primary["last_step"], primary["result"]) == ("deploy", "started")


def test_destroy__all__secondaries_first_primary_last(deploy_project):
    apply(deploy_project, Doubles(), auto_promote=True)
    doubles = Doubles()
    orchestrator = make(deploy_project, doubles)

    orchestrator.destroy(orchestrator.project.select(None))

    assert doubles.engine.ops("destroy") == [
        "dev-ap-southeast-2",
        "dev-us-west-2",
        "dev-eu-west-1",
        "dev-us-east-1",
    ]
    assert journal(deploy_project).region(PRIMARY)["result"] == "destroyed"
    report = make(deploy_project, Doubles()).status()
    assert report["next"] == "rollout apply --env dev: every region is destroyed"
    assert all(row["artifact_sha256"] is None for row in report["regions"])


def test_destroy__engine_fails__status_shows_region_failed(deploy_project):
    apply(deploy_project, Doubles(), auto_promote=True)
    doubles = Doubles(engine=EngineDouble(fail_on={"dev-us-west-2"}))
    orchestrator = make(deploy_project, doubles)

    with pytest.raises(DeploymentError):
        orchestrator.destroy([orchestrator.project.manifest(WEST)])

    row = next(
        r
        for r in make(deploy_project, Doubles()).status()["regions"]
        if r["region"] == WEST
    )
    assert (row["last_step"], row["result"]) == ("destroy", "failed")


def test_destroy__primary_while_others_stand__refused(deploy_project):
    apply(deploy_project, Doubles(), auto_promote=True)
    doubles = Doubles()
    orchestrator = make(deploy_project, doubles)

    with pytest.raises(EnvironmentBlocked, match="refusing to destroy the primary"):
        orchestrator.destroy([orchestrator.project.primary])
    assert doubles.engine.ops("destroy") == []


def test_destroy__data_bucket_holds_objects__nothing_destroyed(deploy_project):
    apply(deploy_project, Doubles(), auto_promote=True)
    doubles = Doubles(s3=EmptyS3({"rollout-dev-us-west-2-data-123456789012": 3}))
    orchestrator = make(deploy_project, doubles)

    with pytest.raises(EnvironmentBlocked, match="data bucket .* still holds objects"):
        orchestrator.destroy(orchestrator.project.select(None))
    assert doubles.engine.ops("destroy") == []


def test_bucket_holds_objects__versions_only__true():
    assert bucket_holds_objects(EmptyS3({"b": 1}), "b") is True
    assert bucket_holds_objects(EmptyS3({}), "b") is False


def test_preview__every_stack__through_the_engine(deploy_project):
    doubles = Doubles()
    orchestrator = make(deploy_project, doubles)
    prepared = orchestrator.prepare(
        orchestrator.project.select(None), build_artifact(deploy_project)
    )

    changes = orchestrator.preview(prepared)

    assert doubles.engine.ops("preview") == [
        "dev-us-east-1",
        "dev-eu-west-1",
        "dev-us-west-2",
        "dev-ap-southeast-2",
    ]
    assert changes[PRIMARY] == {"create": 4}


def _artifact_for(project_dir: Path):
    from rollout.artifact import Artifact

    def artifact_for(sha: str) -> Artifact:
        return Artifact(project_dir / ".rollout" / "cache" / f"{sha}.zip", sha)

    return artifact_for


# The real replicator and health gate against moto's server on 127.0.0.1.


class _Api(http.server.BaseHTTPRequestHandler):
    """The canary's API for the smoke requests: creates items, finds none."""

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(201)
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args) -> None:
        return None


@pytest.fixture
def local_api():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def aws_project(deploy_project, moto_reset, aws_env):
    """The project with every region pointed at moto, its buckets and alarms made."""
    import boto3

    for path in (deploy_project / "regions").glob("*.yaml"):
        if path.name != "defaults.yaml":
            path.write_text(
                path.read_text()
                + f"endpoints: {{s3: '{moto_reset}', cloudwatch: '{moto_reset}'}}\n"
            )
    for region in (PRIMARY, CANARY, WEST, SYDNEY):
        s3 = boto3.client("s3", region_name=region, endpoint_url=moto_reset)
        bucket = f"rollout-dev-{region}-artifacts-123456789012"
        if region == PRIMARY:
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
            )
    cloudwatch = boto3.client("cloudwatch", region_name=CANARY, endpoint_url=moto_reset)
    for name in ("api-errors", "worker-errors"):
        cloudwatch.put_metric_alarm(
            AlarmName=f"rollout-dev-{CANARY}-{name}",
            MetricName="Errors",
            Namespace="AWS/Lambda",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
    return deploy_project


def _upload_to_primary(project_dir: Path, endpoint: str) -> str:
    """What the primary stack does: put the artifact in its own bucket."""
    import boto3

    artifact = build_artifact(project_dir)
    boto3.client("s3", region_name=PRIMARY, endpoint_url=endpoint).put_object(
        Bucket=f"rollout-dev-{PRIMARY}-artifacts-123456789012",
        Key=artifact.ref.key,
        Body=artifact.path.read_bytes(),
    )
    return artifact.sha256


def _real_services(project_dir: Path, doubles: Doubles) -> Orchestrator:
    aws = pytest.importorskip("rollout.aws")
    replication = pytest.importorskip("rollout.replication")
    gate = pytest.importorskip("rollout.gate")
    project = load_project(project_dir, "dev")
    clients = aws.AwsClients({n: r.manifest for n, r in project.regions.items()})
    services = doubles.services(project)
    services.make_replicator = lambda: replication.Replicator(clients)
    services.make_gate = lambda: gate.HealthGate(clients, time, poll_seconds=1)
    services.make_s3_client = lambda manifest: clients.client(manifest.region, "s3")
    return Orchestrator(project, "dev", services)


def test_moto__healthy_canary__artifact_in_every_region_and_all_waves_deployed(
    aws_project, moto_reset, local_api
):
    import boto3

    sha = _upload_to_primary(aws_project, moto_reset)
    doubles = Doubles(
        engine=EngineDouble(extra_outputs={CANARY: {"apiUrl": local_api}})
    )
    orchestrator = _real_services(aws_project, doubles)
    prepared = orchestrator.prepare(
        orchestrator.project.select(None), build_artifact(aws_project)
    )

    outcome = orchestrator.apply(prepared, auto_promote=True, bake_minutes=0)

    assert outcome.deployed == [PRIMARY, CANARY, WEST, SYDNEY]
    for region in (CANARY, WEST, SYDNEY):
        s3 = boto3.client("s3", region_name=region, endpoint_url=moto_reset)
        head = s3.head_object(
            Bucket=f"rollout-dev-{region}-artifacts-123456789012",
            Key=f"lambda/{sha}.zip",
        )
        assert head["ContentLength"] == build_artifact(aws_project).path.stat().st_size
    gate = journal(aws_project).latest_gate(CANARY)
    assert gate["passed"] is True
    assert [s["status"] for s in gate["evidence"]["smoke"]] == [201, 404]


def test_moto__canary_alarm_in_alarm__gate_fails_nothing_more_deployed(
    aws_project, moto_reset, local_api
):
    import boto3

    _upload_to_primary(aws_project, moto_reset)
    boto3.client(
        "cloudwatch", region_name=CANARY, endpoint_url=moto_reset
    ).set_alarm_state(
        AlarmName=f"rollout-dev-{CANARY}-api-errors",
        StateValue="ALARM",
        StateReason="errors",
    )
    doubles = Doubles(
        engine=EngineDouble(extra_outputs={CANARY: {"apiUrl": local_api}})
    )
    orchestrator = _real_services(aws_project, doubles)
    prepared = orchestrator.prepare(
        orchestrator.project.select(None), build_artifact(aws_project)
    )

    with pytest.raises(GateFailed, match="rollout-dev-eu-west-1-api-errors"):
        orchestrator.apply(prepared, auto_promote=True, bake_minutes=0)

    assert doubles.engine.ops() == ["dev-us-east-1", "dev-eu-west-1"]
    evidence = journal(aws_project).latest_gate(CANARY)["evidence"]
    assert evidence["alarms_in_alarm"] == [f"rollout-dev-{CANARY}-api-errors"]


def test_moto__target_bucket_missing__copy_fails_and_is_recorded(
    aws_project, moto_reset, local_api
):
    import boto3

    _upload_to_primary(aws_project, moto_reset)
    s3 = boto3.client("s3", region_name=SYDNEY, endpoint_url=moto_reset)
    s3.delete_bucket(Bucket=f"rollout-dev-{SYDNEY}-artifacts-123456789012")
    doubles = Doubles(
        engine=EngineDouble(extra_outputs={CANARY: {"apiUrl": local_api}})
    )
    orchestrator = _real_services(aws_project, doubles)
    prepared = orchestrator.prepare(
        orchestrator.project.select(None), build_artifact(aws_project)
    )

    with pytest.raises(DeploymentError, match="copying the artifact failed for"):
        orchestrator.apply(prepared, auto_promote=False, bake_minutes=0)

    step = journal(aws_project).data["steps"][-1]
    assert step["action"] == "replicate-artifact"
    statuses = {r["region"]: r["status"] for r in step["results"]}
    assert statuses[SYDNEY] == "failed"
    assert doubles.engine.ops() == ["dev-us-east-1"]


def test_moto__data_bucket_holds_objects__destroy_refused(
    aws_project, moto_reset, local_api
):
    import boto3

    _upload_to_primary(aws_project, moto_reset)
    doubles = Doubles(
        engine=EngineDouble(extra_outputs={CANARY: {"apiUrl": local_api}})
    )
    orchestrator = _real_services(aws_project, doubles)
    prepared = orchestrator.prepare(
        orchestrator.project.select(None), build_artifact(aws_project)
    )
    orchestrator.apply(prepared, auto_promote=True, bake_minutes=0)
    s3 = boto3.client("s3", region_name=WEST, endpoint_url=moto_reset)
    data = f"rollout-dev-{WEST}-data-123456789012"
    s3.create_bucket(
        Bucket=data, CreateBucketConfiguration={"LocationConstraint": WEST}
    )
    s3.put_object(Bucket=data, Key="processed/item.json", Body=b"{}")

    with pytest.raises(EnvironmentBlocked, match=f"the data bucket {data} still holds"):
        _real_services(aws_project, doubles).destroy(
            [orchestrator.project.manifest(WEST)]
        )

    assert doubles.engine.ops("destroy") == []
