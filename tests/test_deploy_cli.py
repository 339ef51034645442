"""The deploy commands through Typer, with the engine double injected."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import rollout.cli.deploy as deploy_cli
from rollout.engine import INSTALL_HINT
from tests.engine_double import Doubles, EngineDouble, FakeGate, copy_project

STATUS_KEYS = {
    "region",
    "role",
    "wave",
    "artifact_sha256",
    "last_step",
    "result",
    "updated_at",
}


@pytest.fixture
def deploy_project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


@pytest.fixture
def doubles(monkeypatch) -> Doubles:
    """The doubles every command of the test gets, through build_services."""
    current = Doubles()

    def build_services(context, project, reporter):
        return current.services(project, reporter)

    monkeypatch.setattr(deploy_cli, "build_services", build_services)
    return current


def lock_file(project: Path) -> Path:
    return project / ".rollout" / "dev" / "lock"


def write_lock(project: Path, *, pid: int, host: str) -> None:
    lock_file(project).parent.mkdir(parents=True, exist_ok=True)
    lock_file(project).write_text(
        json.dumps(
            {
                "pid": pid,
                "host": host,
                "command": "apply",
                "started_at": "2026-12-03T10:00:00+00:00",
            }
        )
    )


def test_apply__yes__deploys_primary_and_canary_then_asks_for_promote(
    cli, deploy_project, doubles
):
    result = cli(deploy_project, "apply", "--yes")

    assert result.exit_code == 0, result.stderr
    assert doubles.engine.ops() == ["dev-us-east-1", "dev-eu-west-1"]
    assert "run `rollout promote --env dev` to deploy wave(s) 2, 3" in result.stderr
    assert not lock_file(deploy_project).exists()


def test_apply__no_terminal_without_yes__exit_3_and_nothing_deployed(
    cli, deploy_project, doubles
):
    result = cli(deploy_project, "apply")

    assert result.exit_code == 3
    assert result.stderr.splitlines()[-1] == (
        "Error: Deploy 4 region(s) of env dev needs confirmation and there is no "
        "terminal to ask on; rerun with --yes"
    )
    assert doubles.engine.calls == []


def test_apply__lock_held_on_another_host__exit_3_naming_holder(
    cli, deploy_project, doubles
):
    write_lock(deploy_project, pid=321, host="ci-runner-9")

    result = cli(deploy_project, "apply", "--yes")

    assert result.exit_code == 3
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith(
        "Error: the env is locked by `rollout apply` (pid 321 on host ci-runner-9"
    )
    assert "--force-unlock" in result.stderr
    assert doubles.engine.calls == []


def test_apply__stale_lock_on_this_host__broken_and_apply_runs(
    cli, deploy_project, doubles
):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    write_lock(deploy_project, pid=gone.pid, host=socket.gethostname())

    result = cli(deploy_project, "apply", "--yes")

    assert result.exit_code == 0, result.stderr
    assert f"breaking a stale lock {lock_file(deploy_project)}" in result.stderr
    assert doubles.engine.ops() == ["dev-us-east-1", "dev-eu-west-1"]


def test_apply__force_unlock__breaks_other_hosts_lock(cli, deploy_project, doubles):
    write_lock(deploy_project, pid=321, host="ci-runner-9")

    result = cli(deploy_project, "apply", "--yes", "--force-unlock")

    assert result.exit_code == 0, result.stderr
    assert "(--force-unlock)" in result.stderr


def test_apply__unhealthy_canary__exit_1_with_evidence(cli, deploy_project, doubles):
    doubles.gate = FakeGate(unhealthy={"eu-west-1"})

    result = cli(deploy_project, "apply", "--yes", "--auto-promote")

    assert result.exit_code == 1
    assert (
        "health gate failed (eu-west-1: alarm rollout-dev-eu-west-1-api-errors in "
        "ALARM); nothing more was deployed" in result.stderr
    )
    assert doubles.engine.ops() == ["dev-us-east-1", "dev-eu-west-1"]


def test_apply__bake_minutes_flag__overrides_manifest(cli, deploy_project, doubles):
    result = cli(deploy_project, "apply", "--yes", "--bake-minutes", "0")

    assert result.exit_code == 0, result.stderr
    assert doubles.gate.runs[0]["bake_minutes"] == 0


def test_apply__debug__engine_output_prefixed_with_region_and_stack(
    cli, deploy_project, doubles
):
    result = cli(deploy_project, "--debug", "apply", "--yes")

    assert result.exit_code == 0
    assert "[us-east-1 dev-us-east-1] Updating (dev-us-east-1):" in result.stderr


def test_apply__twice_without_change__second_deploys_nothing(
    cli, deploy_project, doubles
):
    cli(deploy_project, "apply", "--yes", "--auto-promote")
    doubles.engine = EngineDouble()

    result = cli(deploy_project, "apply", "--yes", "--auto-promote")

    assert result.exit_code == 0
    assert doubles.engine.calls == []
    assert "nothing to do: every region already runs artifact" in result.stderr


def test_apply__then_plan__summary_shows_same(cli, deploy_project, doubles):
    cli(deploy_project, "apply", "--yes", "--auto-promote")

    result = cli(deploy_project, "plan", "--json")

    assert result.exit_code == 0
    for wave in json.loads(result.stdout)["waves"]:
        for region in wave["regions"]:
            assert region["summary"]["same"] == len(region["resources"])
            assert region["summary"]["create"] == 0


def test_promote__before_any_healthy_canary__exit_3(cli, deploy_project, doubles):
    doubles.gate = FakeGate(unhealthy={"eu-west-1"})
    cli(deploy_project, "apply", "--yes")
    doubles.engine = EngineDouble()

    result = cli(deploy_project, "promote")

    assert result.exit_code == 3
    assert "Error: no healthy canary for artifact" in result.stderr
    assert doubles.engine.calls == []


def test_promote__after_healthy_canary__deploys_remaining_waves(
    cli, deploy_project, doubles
):
    cli(deploy_project, "apply", "--yes")
    doubles.engine = EngineDouble()

    result = cli(deploy_project, "promote")

    assert result.exit_code == 0, result.stderr
    assert doubles.engine.ops() == ["dev-us-west-2", "dev-ap-southeast-2"]


def test_rollback__unknown_region__exit_2(cli, deploy_project, doubles):
    result = cli(deploy_project, "rollback", "--region", "mars-north-1")

    assert result.exit_code == 2
    assert "--region: 'mars-north-1' has no manifest" in result.stderr


def test_rollback__nothing_deployed__exit_3(cli, deploy_project, doubles):
    result = cli(deploy_project, "rollback", "--region", "eu-west-1")

    assert result.exit_code == 3
    assert "nothing was ever deployed to eu-west-1" in result.stderr


def test_status__json__contract_shape(cli, deploy_project, doubles):
    cli(deploy_project, "apply", "--yes")

    result = cli(deploy_project, "status", "--json")

    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert set(report) == {"env", "regions", "next"}
    assert report["env"] == "dev"
    assert all(set(row) == STATUS_KEYS for row in report["regions"])
    by_region = {row["region"]: row for row in report["regions"]}
    assert by_region["us-east-1"]["result"] == "succeeded"
    assert by_region["us-east-1"]["wave"] == 0
    assert by_region["us-west-2"]["last_step"] is None
    assert report["next"] == "rollout promote --env dev: the canary is healthy"


def test_status__nothing_deployed__says_apply_next(cli, deploy_project, doubles):
    result = cli(deploy_project, "status")

    assert result.exit_code == 0
    assert "next: rollout apply --env dev: nothing is deployed yet" in result.stdout


def test_status__corrupt_journal__exit_2_naming_file(cli, deploy_project, doubles):
    path = deploy_project / ".rollout" / "dev" / "journal.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")

    result = cli(deploy_project, "status")

    assert result.exit_code == 2
    assert f"Error: {path}: the rollout journal cannot be read" in " ".join(
        result.stderr.split()
    )
    assert path.read_text() == "{not json"


def test_destroy__no_terminal_without_yes__exit_3(cli, deploy_project, doubles):
    result = cli(deploy_project, "destroy", "--regions", "us-west-2")

    assert result.exit_code == 3
    assert "rerun with --yes" in result.stderr
    assert doubles.engine.calls == []


def test_destroy__one_secondary__only_that_stack(cli, deploy_project, doubles):
    cli(deploy_project, "apply", "--yes", "--auto-promote")
    doubles.engine = EngineDouble()

    result = cli(deploy_project, "destroy", "--regions", "us-west-2", "--yes")

    assert result.exit_code == 0, result.stderr
    assert doubles.engine.ops("destroy") == ["dev-us-west-2"]


def test_destroy__primary_while_others_stand__exit_3(cli, deploy_project, doubles):
    cli(deploy_project, "apply", "--yes", "--auto-promote")

    result = cli(deploy_project, "destroy", "--regions", "us-east-1", "--yes")

    assert result.exit_code == 3
    assert "refusing to destroy the primary us-east-1 while" in result.stderr


def test_plan_preview__double_engine__every_stack_previewed(
    cli, deploy_project, doubles
):
    result = cli(deploy_project, "plan", "--preview", "--json")

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert [r["stack"] for r in report["regions"]] == [
        "dev-us-east-1",
        "dev-eu-west-1",
        "dev-us-west-2",
        "dev-ap-southeast-2",
    ]
    assert report["regions"][0]["changes"] == {"create": 4}


def empty_path(tmp_path: Path, with_pulumi: bool) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if with_pulumi:
        tool = bin_dir / "pulumi"
        tool.write_text("#!/bin/sh\nexit 0\n")
        tool.chmod(0o755)
    return str(bin_dir)


@pytest.mark.parametrize("command", [["apply", "--yes"], ["plan", "--preview"]])
def test_no_pulumi_cli__exit_3_saying_what_to_install(
    cli, deploy_project, tmp_path, command
):
    result = cli(
        deploy_project, *command, env={"PATH": empty_path(tmp_path, with_pulumi=False)}
    )

    assert result.exit_code == 3
    assert " ".join(result.stderr.split()) == f"Error: {INSTALL_HINT}"


def test_no_pulumi_cli__plan_and_check_still_work(cli, deploy_project, tmp_path):
    path = empty_path(tmp_path, with_pulumi=False)

    assert cli(deploy_project, "plan", "--json", env={"PATH": path}).exit_code == 0
    assert cli(deploy_project, "check", "--json", env={"PATH": path}).exit_code in (
        0,
        1,
    )


def test_no_passphrase__file_backend__exit_3(
    cli, deploy_project, tmp_path, monkeypatch
):
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    path = empty_path(tmp_path, with_pulumi=True) + os.pathsep + os.environ["PATH"]

    result = cli(deploy_project, "apply", "--yes", env={"PATH": path})

    assert result.exit_code == 3
    assert " ".join(result.stderr.split()).startswith(
        "Error: PULUMI_CONFIG_PASSPHRASE is not set: the file backend file://"
    )


def test_apply__debug_with_secret__value_in_no_output_and_no_file(
    cli, deploy_project, doubles
):
    manifest = deploy_project / "regions" / "eu-west-1.yaml"
    manifest.write_text(manifest.read_text() + "secrets:\n  api-key: env:TEST_KEY\n")
    doubles.environ["TEST_KEY"] = "pa55-w0rd-7781"

    result = cli(deploy_project, "--debug", "apply", "--yes")

    assert result.exit_code == 0
    canary = next(c for c in doubles.engine.calls if c.region == "eu-west-1")
    assert canary.secrets == {"rollout:secret-api-key": "pa55-w0rd-7781"}
    assert canary.config["rollout:secretNames"] == ["api-key"]
    outputs = [result]
    outputs.append(cli(deploy_project, "plan", "--json", "--detailed"))
    outputs.append(cli(deploy_project, "--debug", "plan", "--detailed"))
    outputs.append(cli(deploy_project, "status", "--json"))
    assert all(o.exit_code == 0 for o in outputs)
    plan = json.loads(outputs[1].stdout)
    secret_inputs = [
        r["inputs"].get("value")
        for w in plan["waves"]
        for region in w["regions"]
        for r in region["resources"]
        if r["type"] == "aws:ssm/parameter:Parameter"
    ]
    assert secret_inputs == ["[secret]"]
    for output in outputs:
        assert "pa55-w0rd-7781" not in output.stdout + output.stderr
    for path in (deploy_project / ".rollout").rglob("*"):
        if path.is_file() and path.suffix != ".zip":
            assert "pa55-w0rd-7781" not in path.read_text(errors="replace")


def test_apply__parallel_flag__limits_concurrent_regions(cli, deploy_project, doubles):
    for region in ("us-east-2", "ca-central-1"):
        (deploy_project / "regions" / f"{region}.yaml").write_text(
            f"region: {region}\nrole: secondary\nwave: 2\n"
        )
    doubles.engine = EngineDouble(delay=0.2)

    result = cli(deploy_project, "apply", "--yes", "--auto-promote", "--parallel", "2")

    assert result.exit_code == 0, result.stderr
    assert doubles.engine.max_active == 2
    assert len(doubles.engine.ops()) == 6
