"""`rollout plan`: the ordered rollout and every resource, offline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rollout.plan import resource_digest, summarize
from rollout.synth.model import PlannedResource

URN = re.compile(r"^urn:pulumi:dev-[a-z0-9-]+::rollout::[^:]")


@pytest.fixture(scope="module")
def eu_plan(tmp_path_factory) -> dict:
    """`rollout plan --regions eu-west-1 --json` on a copy of the shipped project."""
    import shutil

    from typer.testing import CliRunner

    from cli import app
    from tests.conftest import ROOT

    project = tmp_path_factory.mktemp("plan") / "project"
    for name in ("regions", "blueprints", "lambda_code"):
        shutil.copytree(ROOT / name, project / name)
    result = CliRunner().invoke(
        app, ["--project-dir", str(project), "plan", "--regions", "eu-west-1", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    return {"data": json.loads(result.stdout), "project": project}


def test_plan_json__one_region__primary_planned_first_as_wave_0(eu_plan) -> None:
    waves = eu_plan["data"]["waves"]

    assert [w["wave"] for w in waves] == [0, 1]
    assert [(r["region"], r["role"], r["stack"]) for r in waves[0]["regions"]] == [
        ("us-east-1", "primary", "dev-us-east-1")
    ]
    assert [(r["region"], r["role"], r["stack"]) for r in waves[1]["regions"]] == [
        ("eu-west-1", "canary", "dev-eu-west-1")
    ]


def test_plan_json__steps__primary_copy_canary_gate(eu_plan) -> None:
    steps = eu_plan["data"]["steps"]

    assert [s["action"] for s in steps] == [
        "deploy",
        "replicate-artifact",
        "deploy",
        "health-gate",
    ]
    assert steps[0] == {
        "action": "deploy",
        "region": "us-east-1",
        "stack": "dev-us-east-1",
    }
    assert steps[1] == {
        "action": "replicate-artifact",
        "from": "us-east-1",
        "to": ["eu-west-1"],
    }
    assert steps[2]["stack"] == "dev-eu-west-1"
    assert steps[3] == {"action": "health-gate", "region": "eu-west-1"}


def test_plan_json__artifact__sha256_and_content_addressed_key(eu_plan) -> None:
    artifact = eu_plan["data"]["artifact"]

    assert re.fullmatch(r"[0-9a-f]{64}", artifact["sha256"])
    assert artifact["key"] == f"lambda/{artifact['sha256']}.zip"


def test_plan_json__resources__carry_every_contract_field(eu_plan) -> None:
    for wave in eu_plan["data"]["waves"]:
        for region in wave["regions"]:
            assert region["resources"], region["region"]
            for resource in region["resources"]:
                assert URN.match(resource["urn"]), resource["urn"]
                assert resource["urn"].endswith(f"::{resource['name']}")
                assert resource["type"]
                assert isinstance(resource["depends_on"], list)
                assert isinstance(resource["inputs"], dict)
                assert set(resource["options"]) == {
                    "ignore_changes",
                    "protect",
                    "retain_on_delete",
                    "delete_before_replace",
                }
                if resource["type"].startswith("pulumi:providers:"):
                    continue
                urn, _, provider_id = resource["provider"].rpartition("::")
                assert urn.startswith("urn:pulumi:") and "pulumi:providers:aws" in urn
                assert provider_id
                assert resource["region"] == region["region"] or (
                    region["role"] == "primary"
                )


def test_plan_json__never_applied__summary_all_create(eu_plan) -> None:
    for wave in eu_plan["data"]["waves"]:
        for region in wave["regions"]:
            assert region["summary"] == {
                "create": len(region["resources"]),
                "update": 0,
                "delete": 0,
                "same": 0,
            }


def test_plan_json__checks__listed_with_id_status_resource(eu_plan) -> None:
    checks = eu_plan["data"]["checks"]

    assert checks
    for check in checks:
        assert check["status"] in ("pass", "fail")
        assert check["id"] and check["message"]
        assert check["resource"].startswith("urn:pulumi:")


def test_plan__writes_nothing_but_the_cache(eu_plan) -> None:
    written = sorted(p.name for p in (eu_plan["project"] / ".rollout").iterdir())

    assert written == ["cache"]


def test_plan__human_output__waves_steps_and_counts(project: Path, cli) -> None:
    result = cli(project, "plan", "--regions", "us-east-1,eu-west-1")

    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "wave 0 · us-east-1 (primary) · stack dev-us-east-1" in text
    assert "wave 1 · eu-west-1 (canary) · stack dev-eu-west-1" in text
    assert "1. deploy dev-us-east-1" in text
    assert "2. copy the artifact from us-east-1 to eu-west-1" in text
    assert "4. health gate on eu-west-1" in text
    assert "pulumi:providers:aws" in text


def test_plan__all_regions__promotes_later_waves_in_order(project: Path, cli) -> None:
    result = cli(project, "plan", "--json")

    steps = json.loads(result.stdout)["steps"]
    assert steps[-1] == {"action": "promote", "waves": [2, 3]}
    assert steps[1]["to"] == ["eu-west-1", "us-west-2", "ap-southeast-2"]


def test_plan__no_canary__deploys_every_wave_without_gate(project: Path, cli) -> None:
    (project / "regions" / "eu-west-1.yaml").write_text(
        "region: eu-west-1\nrole: secondary\nwave: 1\nvpc: {cidr: 10.68.0.0/16}\n"
    )

    result = cli(project, "plan", "--json")

    actions = [
        (s["action"], s.get("region")) for s in json.loads(result.stdout)["steps"]
    ]
    assert actions == [
        ("deploy", "us-east-1"),
        ("replicate-artifact", None),
        ("deploy", "eu-west-1"),
        ("deploy", "us-west-2"),
        ("deploy", "ap-southeast-2"),
    ]


def test_plan__detailed__lists_inputs(project: Path, cli) -> None:
    result = cli(project, "plan", "--regions", "us-east-1", "--detailed")

    assert result.exit_code == 0
    assert 'region = "us-east-1"' in result.stdout


def _resource(urn: str, **inputs) -> PlannedResource:
    return PlannedResource(
        urn=urn,
        type="aws:s3/bucket:Bucket",
        name=urn,
        provider="p",
        region="r",
        parent="",
        custom=True,
        inputs=inputs,
    )


def test_summarize__against_last_apply__counts_each_kind() -> None:
    same, changed, new = _resource("a", x=1), _resource("b", x=2), _resource("c")
    previous = {
        "a": resource_digest(same),
        "b": resource_digest(_resource("b", x=1)),
        "gone": "0" * 16,
    }

    summary = summarize([same, changed, new], previous)

    assert summary == {"create": 1, "update": 1, "delete": 1, "same": 1}


def test_plan__project_without_lambda_code__plans_the_shipped_handlers(
    project: Path, cli, tmp_path: Path
) -> None:
    import shutil

    full = tmp_path / "full"
    shutil.copytree(project, full)
    shutil.rmtree(project / "lambda_code")

    result = cli(project, "plan", "--regions", "us-east-1", "--json")

    assert result.exit_code == 0, result.stderr
    shipped = cli(full, "plan", "--regions", "us-east-1", "--json")
    assert (
        json.loads(result.stdout)["artifact"] == json.loads(shipped.stdout)["artifact"]
    )
    assert not (project / "lambda_code").exists()


def test_plan__endpoint_for_unknown_service__exits_2_before_rendering(
    project: Path, cli
) -> None:
    (project / "regions" / "eu-west-1.yaml").write_text(
        "region: eu-west-1\nrole: canary\nvpc: {cidr: 10.68.0.0/16}\n"
        "endpoints: {lamda: 'http://127.0.0.1:4566'}\n"
    )

    result = cli(project, "render")

    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[0] == (
        "Error: regions/eu-west-1.yaml: endpoints: 'lamda' is not a service whose "
        "endpoint the AWS provider can override; did you mean 'lambda'?"
    )
    assert not (project / ".rollout").exists()


def test_plan__endpoints_by_aws_service_names__reach_the_provider(
    project: Path, cli
) -> None:
    (project / "regions" / "eu-west-1.yaml").write_text(
        "region: eu-west-1\nrole: canary\nvpc: {cidr: 10.68.0.0/16}\n"
        "endpoints: {lambda: 'http://127.0.0.1:4566', s3: 'http://127.0.0.1:4566'}\n"
    )

    result = cli(project, "plan", "--regions", "eu-west-1", "--json")

    assert result.exit_code == 0, result.stderr
    canary = json.loads(result.stdout)["waves"][1]["regions"][0]["resources"]
    (provider,) = [r for r in canary if r["type"] == "pulumi:providers:aws"]
    assert provider["inputs"]["endpoints"] == [
        {"lambda": "http://127.0.0.1:4566", "s3": "http://127.0.0.1:4566"}
    ]
    assert provider["inputs"]["s3UsePathStyle"] is True


def test_plan__template_renders_unusable_value__exits_2_naming_template_and_key(
    project: Path, cli
) -> None:
    template = project / "blueprints" / "stack.yaml.j2"
    template.write_text(
        template.read_text().replace(
            "azCount: {{ region.vpc.az_count }}", 'azCount: "three"'
        )
    )

    result = cli(project, "plan", "--regions", "us-east-1")

    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[0] == (
        "Error: blueprints/stack.yaml.j2: renders rollout:network.azCount = "
        "'three': must be 2 or 3"
    )


def test_plan_json__urns__as_the_engine_writes_them(eu_plan) -> None:
    primary = eu_plan["data"]["waves"][0]["regions"][0]["resources"]
    urns = {r["urn"] for r in primary}

    assert not any("pulumi:pulumi:Stack" in urn for urn in urns)
    assert (
        "urn:pulumi:dev-us-east-1::rollout::pulumi:providers:aws::aws-us-east-1" in urns
    )
    assert (
        "urn:pulumi:dev-us-east-1::rollout::rollout:network:Network$aws:ec2/vpc:Vpc"
        "::network-vpc"
    ) in urns
