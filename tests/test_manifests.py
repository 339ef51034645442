"""Every manifest rule of the contract: a broken manifest, exit 2, the exact message.

Each case runs `rollout render` on a copy of the shipped project with one file
changed, and checks the first line on stderr and that nothing was written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rollout.errors import ManifestError
from rollout.manifests import load_project
from rollout.regions import default_cidr

CANARY = "region: eu-west-1\nrole: canary\nvpc: {cidr: 10.68.0.0/16}\n"

RETENTIONS = (
    "1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, "
    "2192, 2557, 2922, 3288, 3653"
)

# (case id, file under regions/, its new text, expected first line on stderr)
CASES = [
    (
        "unknown key",
        "eu-west-1.yaml",
        CANARY + "colour: blue\n",
        "regions/eu-west-1.yaml: colour: unknown key",
    ),
    (
        "unknown nested key",
        "eu-west-1.yaml",
        "region: eu-west-1\nrole: canary\nvpc: {size: 3}\n",
        "regions/eu-west-1.yaml: vpc.size: unknown key",
    ),
    (
        "wrong type",
        "eu-west-1.yaml",
        CANARY + "lambda: {memory_mb: lots}\n",
        "regions/eu-west-1.yaml: lambda.memory_mb: must be a valid integer, got 'lots'",
    ),
    (
        "boolean for a number",
        "eu-west-1.yaml",
        CANARY + "lambda: {memory_mb: true}\n",
        "regions/eu-west-1.yaml: lambda.memory_mb: must be a valid integer, got True",
    ),
    (
        "missing role",
        "eu-west-1.yaml",
        "region: eu-west-1\n",
        "regions/eu-west-1.yaml: role: is required",
    ),
    (
        "unknown role",
        "eu-west-1.yaml",
        "region: eu-west-1\nrole: tertiary\n",
        "regions/eu-west-1.yaml: role: must be 'primary', 'canary' or 'secondary', "
        "got 'tertiary'",
    ),
    (
        "invalid region name",
        "eu-west-1.yaml",
        "region: eu-west-9\nrole: canary\n",
        "regions/eu-west-1.yaml: region: 'eu-west-9' is not an AWS region rollout "
        "knows",
    ),
    (
        "file name does not match region",
        "eu-west-1.yaml",
        "region: eu-west-2\nrole: canary\n",
        "regions/eu-west-1.yaml: region: 'eu-west-2' does not match the file name; "
        "name the file eu-west-2.yaml",
    ),
    (
        "wave on the primary",
        "us-east-1.yaml",
        "region: us-east-1\nrole: primary\nwave: 1\n",
        "regions/us-east-1.yaml: wave: the primary region is wave 0 and takes no "
        "'wave'",
    ),
    (
        "wave below 1",
        "eu-west-1.yaml",
        CANARY + "wave: 0\n",
        "regions/eu-west-1.yaml: wave: must be greater than or equal to 1, got 0",
    ),
    (
        "two primaries",
        "eu-west-1.yaml",
        "region: eu-west-1\nrole: primary\nvpc: {cidr: 10.68.0.0/16}\n",
        "regions/us-east-1.yaml: role: two regions are 'primary' "
        "(regions/eu-west-1.yaml, regions/us-east-1.yaml); exactly one must be",
    ),
    (
        "no primary",
        "us-east-1.yaml",
        "region: us-east-1\nrole: secondary\nvpc: {cidr: 10.64.0.0/16}\n",
        "regions/: role: no region is 'primary'; exactly one must be",
    ),
    (
        "canary wave after a secondary wave",
        "eu-west-1.yaml",
        CANARY + "wave: 5\n",
        "regions/us-west-2.yaml: wave: secondary wave 2 is not later than canary "
        "eu-west-1's wave 5",
    ),
    (
        "overlapping CIDRs",
        "eu-west-1.yaml",
        "region: eu-west-1\nrole: canary\nvpc: {cidr: 10.64.128.0/17}\n",
        "regions/us-east-1.yaml: vpc.cidr: 10.64.0.0/16 overlaps 10.64.128.0/17 of "
        "eu-west-1",
    ),
    (
        "public CIDR",
        "eu-west-1.yaml",
        "region: eu-west-1\nrole: canary\nvpc: {cidr: 8.8.0.0/16}\n",
        "regions/eu-west-1.yaml: vpc.cidr: '8.8.0.0/16' is not a private range "
        "(RFC 1918)",
    ),
    (
        "CIDR too small",
        "eu-west-1.yaml",
        "region: eu-west-1\nrole: canary\nvpc: {cidr: 10.68.0.0/25}\n",
        "regions/eu-west-1.yaml: vpc.cidr: '10.68.0.0/25' must be a /16 to /24",
    ),
    (
        "CIDR too large",
        "eu-west-1.yaml",
        "region: eu-west-1\nrole: canary\nvpc: {cidr: 10.0.0.0/8}\n",
        "regions/eu-west-1.yaml: vpc.cidr: '10.0.0.0/8' must be a /16 to /24",
    ),
    (
        "CIDR with host bits",
        "eu-west-1.yaml",
        "region: eu-west-1\nrole: canary\nvpc: {cidr: 10.68.0.1/16}\n",
        "regions/eu-west-1.yaml: vpc.cidr: '10.68.0.1/16' is not an IPv4 network: "
        "10.68.0.1/16 has host bits set",
    ),
    (
        "az_count outside 2-3",
        "eu-west-1.yaml",
        "region: eu-west-1\nrole: canary\nvpc: {cidr: 10.68.0.0/16, az_count: 4}\n",
        "regions/eu-west-1.yaml: vpc.az_count: must be 2 or 3, got 4",
    ),
    (
        "capacity min above max",
        "eu-west-1.yaml",
        CANARY + "dynamodb: {read_capacity: {min: 50, max: 10}}\n",
        "regions/eu-west-1.yaml: dynamodb.read_capacity: min (50) is above max (10)",
    ),
    (
        "capacity below 1",
        "eu-west-1.yaml",
        CANARY + "dynamodb: {write_capacity: {min: 0, max: 10}}\n",
        "regions/eu-west-1.yaml: dynamodb.write_capacity.min: must be greater than "
        "or equal to 1, got 0",
    ),
    (
        "utilization above 90",
        "eu-west-1.yaml",
        CANARY + "dynamodb: {target_utilization: 95}\n",
        "regions/eu-west-1.yaml: dynamodb.target_utilization: must be less than or "
        "equal to 90, got 95",
    ),
    (
        "utilization below 20",
        "eu-west-1.yaml",
        CANARY + "dynamodb: {target_utilization: 10}\n",
        "regions/eu-west-1.yaml: dynamodb.target_utilization: must be greater than "
        "or equal to 20, got 10",
    ),
    (
        "memory below 128",
        "eu-west-1.yaml",
        CANARY + "lambda: {memory_mb: 64}\n",
        "regions/eu-west-1.yaml: lambda.memory_mb: must be greater than or equal to "
        "128, got 64",
    ),
    (
        "memory above 10240",
        "eu-west-1.yaml",
        CANARY + "lambda: {memory_mb: 20000}\n",
        "regions/eu-west-1.yaml: lambda.memory_mb: must be less than or equal to "
        "10240, got 20000",
    ),
    (
        "timeout above 900",
        "eu-west-1.yaml",
        CANARY + "lambda: {timeout_s: 901}\n",
        "regions/eu-west-1.yaml: lambda.timeout_s: must be less than or equal to "
        "900, got 901",
    ),
    (
        "error rate of zero",
        "eu-west-1.yaml",
        CANARY + "alarms: {error_rate_percent: 0}\n",
        "regions/eu-west-1.yaml: alarms.error_rate_percent: must be greater than 0, "
        "got 0",
    ),
    (
        "retention not a CloudWatch value",
        "eu-west-1.yaml",
        CANARY + "logs: {retention_days: 10}\n",
        "regions/eu-west-1.yaml: logs.retention_days: 10 is not one of CloudWatch's "
        f"values: {RETENTIONS}",
    ),
    (
        "processed expiry of zero days",
        "eu-west-1.yaml",
        CANARY + "s3: {processed_expiry_days: 0}\n",
        "regions/eu-west-1.yaml: s3.processed_expiry_days: must be greater than or "
        "equal to 1, got 0",
    ),
    (
        "negative bake time",
        "eu-west-1.yaml",
        CANARY + "canary: {bake_minutes: -1}\n",
        "regions/eu-west-1.yaml: canary.bake_minutes: must be greater than or equal "
        "to 0, got -1",
    ),
    (
        "bake time over a day",
        "eu-west-1.yaml",
        CANARY + "canary: {bake_minutes: 1e300}\n",
        "regions/eu-west-1.yaml: canary.bake_minutes: must be less than or equal "
        "to 1440, got '1e300'",
    ),
    (
        "more tags than AWS allows with rollout's own",
        "eu-west-1.yaml",
        CANARY + "tags: {" + ", ".join(f"t{i}: v" for i in range(45)) + "}\n",
        "regions/eu-west-1.yaml: tags: 48 tags, over the 47 that leave room for "
        "rollout's own 3 within AWS's 50 a resource",
    ),
    (
        "smoke path without a slash",
        "eu-west-1.yaml",
        CANARY + "canary: {smoke: [{method: GET, path: items}]}\n",
        "regions/eu-west-1.yaml: canary.smoke.0.path: 'items' must start with '/', "
        "e.g. '/items'",
    ),
    (
        "endpoint that is not a URL",
        "eu-west-1.yaml",
        CANARY + "endpoints: {s3: 'ftp://x'}\n",
        "regions/eu-west-1.yaml: endpoints: endpoint for 's3' must be an http(s) "
        "URL, got 'ftp://x'",
    ),
    (
        "secret that is not an env reference",
        "eu-west-1.yaml",
        CANARY + "secrets: {db: hunter2}\n",
        "regions/eu-west-1.yaml: secrets: secret 'db' must be 'env:VARIABLE', the "
        "name of an environment variable that holds the value",
    ),
    (
        "tag key reserved by AWS",
        "eu-west-1.yaml",
        CANARY + "tags: {'aws:team': x}\n",
        "regions/eu-west-1.yaml: tags: tag key 'aws:team' is not allowed by AWS",
    ),
    (
        "malformed YAML",
        "eu-west-1.yaml",
        "region: eu-west-1\nrole: [canary\n",
        "regions/eu-west-1.yaml: invalid YAML at line 3, column 1: expected ',' or "
        "']', but got '<stream end>'",
    ),
    (
        "duplicate key",
        "eu-west-1.yaml",
        "region: eu-west-1\nrole: canary\nrole: secondary\n",
        "regions/eu-west-1.yaml: invalid YAML at line 3, column 1: key 'role' "
        "appears twice in one mapping",
    ),
    (
        "YAML that is not a mapping",
        "eu-west-1.yaml",
        "- eu-west-1\n- canary\n",
        "regions/eu-west-1.yaml: must be a YAML mapping, not a list",
    ),
    (
        "empty file",
        "eu-west-1.yaml",
        "",
        "regions/eu-west-1.yaml: is empty; a manifest is a YAML mapping",
    ),
    (
        "region key in defaults",
        "defaults.yaml",
        "region: us-east-1\n",
        "regions/defaults.yaml: region: belongs in a region's own manifest",
    ),
    (
        "invalid value in defaults",
        "defaults.yaml",
        "logs: {retention_days: 8}\n",
        "regions/defaults.yaml: logs.retention_days: 8 is not one of CloudWatch's "
        f"values: {RETENTIONS}",
    ),
    (
        "same region in two files",
        "eu-west-1.yml",
        CANARY,
        "regions/eu-west-1.yml: region: 'eu-west-1' is also regions/eu-west-1.yaml",
    ),
]


def first_error_line(stderr: str) -> str:
    line = stderr.strip().splitlines()[0]
    assert line.startswith("Error: "), stderr
    return line.removeprefix("Error: ")


@pytest.mark.parametrize(
    ("file", "text", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_render__broken_manifest__exits_2_with_file_key_and_problem(
    project: Path, cli, file: str, text: str, expected: str
) -> None:
    (project / "regions" / file).write_text(text)

    result = cli(project, "render")

    assert result.exit_code == 2
    assert first_error_line(result.stderr) == expected
    assert not (project / ".rollout").exists()


def test_render__no_manifests__exits_2(project: Path, cli) -> None:
    for path in (project / "regions").glob("*.yaml"):
        if path.name != "defaults.yaml":
            path.unlink()

    result = cli(project, "plan")

    assert result.exit_code == 2
    assert first_error_line(result.stderr) == "regions: no region manifests (*.yaml)"
    assert not (project / ".rollout").exists()


def test_plan__unknown_region__exits_2(project: Path, cli) -> None:
    result = cli(project, "plan", "--regions", "eu-west-1,mars-north-1")

    assert result.exit_code == 2
    assert first_error_line(result.stderr) == (
        f"--regions: no manifest for 'mars-north-1' in {project / 'regions'}; known "
        "regions: ap-southeast-2, eu-west-1, us-east-1, us-west-2"
    )
    assert len(result.stderr.strip().splitlines()) == 1


def test_plan__region_listed_twice__exits_2(project: Path, cli) -> None:
    result = cli(project, "plan", "--regions", "eu-west-1,eu-west-1")

    assert result.exit_code == 2
    assert first_error_line(result.stderr) == "--regions: 'eu-west-1' is listed twice"


def test_plan__invalid_env__exits_2(project: Path, cli) -> None:
    result = cli(project, "plan", "--env", "Prod_1")

    assert result.exit_code == 2
    assert first_error_line(result.stderr) == (
        "--env: env 'Prod_1' must start with a lower-case letter and hold only "
        "lower-case letters, digits and single hyphens"
    )


def test_load__env_too_long_for_bucket_names__names_the_limit(project: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load_project(project, env="integration-testing")

    assert caught.value.key == "region"
    assert "over the 63 that AWS allows for a s3 name" in caught.value.problem


def test_load__defaults_deep_merge__region_overrides_only_its_keys(
    project: Path,
) -> None:
    (project / "regions" / "defaults.yaml").write_text(
        "dynamodb: {read_capacity: {min: 7, max: 70}, target_utilization: 50}\n"
        "tags: {team: payments, tier: gold}\n"
    )
    (project / "regions" / "eu-west-1.yaml").write_text(
        CANARY + "dynamodb: {read_capacity: {max: 90}}\ntags: {tier: silver}\n"
    )

    manifest = load_project(project).manifest("eu-west-1")

    assert manifest.dynamodb.read_capacity.min == 7
    assert manifest.dynamodb.read_capacity.max == 90
    assert manifest.dynamodb.target_utilization == 50
    assert manifest.tags == {"team": "payments", "tier": "silver"}


def test_load__defaults_apply__contract_defaults(project: Path) -> None:
    (project / "regions" / "defaults.yaml").unlink()

    manifest = load_project(project).manifest("us-west-2")

    assert manifest.effective_wave == 2
    assert manifest.vpc.az_count == 2
    assert manifest.dynamodb.read_capacity.min == 5
    assert manifest.dynamodb.read_capacity.max == 100
    assert manifest.dynamodb.target_utilization == 70
    assert manifest.lambda_.memory_mb == 256
    assert manifest.lambda_.timeout_s == 10
    assert manifest.alarms.error_rate_percent == 1
    assert manifest.logs.retention_days == 7
    assert manifest.s3.processed_expiry_days == 30
    assert manifest.canary.bake_minutes == 10
    assert manifest.canary.smoke == []
    assert manifest.secrets == {}


def test_load__canary_without_wave__is_wave_1(project: Path) -> None:
    assert load_project(project).manifest("eu-west-1").effective_wave == 1


def test_cidr__absent__derived_from_region_and_stable_when_regions_are_added(
    project: Path,
) -> None:
    (project / "regions" / "us-west-2.yaml").write_text(
        "region: us-west-2\nrole: secondary\n"
    )
    before = load_project(project).manifest("us-west-2").cidr
    (project / "regions" / "eu-north-1.yaml").write_text(
        "region: eu-north-1\nrole: secondary\n"
    )

    after = load_project(project)

    assert str(before) == "10.67.0.0/16"
    assert after.manifest("us-west-2").cidr == before
    assert after.manifest("eu-north-1").cidr == default_cidr("eu-north-1")
    assert not after.manifest("eu-north-1").cidr.overlaps(before)


def test_select__subset__primary_first_then_by_wave(project: Path) -> None:
    chosen = load_project(project).select(["ap-southeast-2", "eu-west-1"])

    assert [m.region for m in chosen] == ["us-east-1", "eu-west-1", "ap-southeast-2"]


def test_load__defaults_yml__read_like_defaults_yaml(project: Path) -> None:
    defaults = project / "regions" / "defaults.yaml"
    defaults.rename(defaults.with_suffix(".yml"))

    manifest = load_project(project).manifest("us-west-2")

    assert manifest.logs.retention_days == 30
    assert manifest.tags["owner"] == "platform-team"


def test_load__defaults_only_comments__no_defaults(project: Path) -> None:
    (project / "regions" / "defaults.yaml").write_text("# nothing shared yet\n")

    manifest = load_project(project).manifest("us-west-2")

    assert manifest.logs.retention_days == 7
    assert manifest.tags == {}


def test_load__both_defaults_files__exits_2(project: Path, cli) -> None:
    (project / "regions" / "defaults.yml").write_text("logs: {retention_days: 14}\n")

    result = cli(project, "plan")

    assert result.exit_code == 2
    assert first_error_line(result.stderr) == (
        "regions/defaults.yml: and defaults.yaml both hold defaults; keep one"
    )
