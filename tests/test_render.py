"""Rendering: the whole set at once, sandboxed templates, errors with a line."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from rollout import fsutil
from rollout.fsutil import recover_directory, swap_directory

ROOT = Path(__file__).resolve().parent.parent


def stacks_dir(project: Path, env: str = "dev") -> Path:
    return project / ".rollout" / env / "stacks"


def first_error_line(stderr: str) -> str:
    return stderr.strip().splitlines()[0].removeprefix("Error: ")


def test_render__all_regions__writes_project_file_and_one_config_per_region(
    project: Path, cli
) -> None:
    result = cli(project, "render")

    assert result.exit_code == 0, result.stderr
    files = sorted(p.name for p in stacks_dir(project).iterdir())
    assert files == [
        ".rollout-render",
        "Pulumi.dev-ap-southeast-2.yaml",
        "Pulumi.dev-eu-west-1.yaml",
        "Pulumi.dev-us-east-1.yaml",
        "Pulumi.dev-us-west-2.yaml",
        "Pulumi.yaml",
    ]
    config = yaml.safe_load(
        (stacks_dir(project) / "Pulumi.dev-eu-west-1.yaml").read_text()
    )
    settings = config["config"]
    assert settings["rollout:region"] == "eu-west-1"
    assert settings["rollout:role"] == "canary"
    assert settings["rollout:wave"] == 1
    assert settings["rollout:primaryRegion"] == "us-east-1"
    assert settings["rollout:network"] == {"cidr": "10.68.0.0/16", "azCount": 2}
    assert settings["rollout:logs"] == {"retentionDays": 30}
    assert settings["rollout:artifact"]["key"] == (
        f"lambda/{settings['rollout:artifact']['sha256']}.zip"
    )
    project_file = yaml.safe_load((stacks_dir(project) / "Pulumi.yaml").read_text())
    assert project_file["name"] == "rollout"
    assert project_file["runtime"]["name"] == "python"


def test_render__out_option__writes_there(project: Path, cli, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"

    result = cli(
        project,
        "render",
        "--regions",
        "eu-west-1",
        "--env",
        "stage",
        "--out",
        str(target),
    )

    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in target.iterdir()) == [
        ".rollout-render",
        "Pulumi.stage-eu-west-1.yaml",
        "Pulumi.stage-us-east-1.yaml",
        "Pulumi.yaml",
    ]


@pytest.mark.parametrize("kind", ["project root", "folder of notes", "file"])
def test_render__out_is_not_a_rendered_set__exits_2_and_touches_nothing(
    project: Path, cli, tmp_path: Path, kind: str
) -> None:
    if kind == "project root":
        target = project
    elif kind == "folder of notes":
        target = tmp_path / "notes"
        (target / "sub").mkdir(parents=True)
        (target / "notes.md").write_text("keep me")
    else:
        target = tmp_path / "passwd"
        target.write_text("root:x:0:0")
    before = sorted(str(p) for p in target.rglob("*")) if target.is_dir() else []
    sibling = tmp_path / "passwd.old"
    sibling.write_text("someone else's")

    result = cli(project, "render", "--out", str(target))

    assert result.exit_code == 2
    first = first_error_line(result.stderr)
    assert first.startswith(f"{target} ")
    assert "choose a new or empty folder" in first
    if target.is_dir():
        assert sorted(str(p) for p in target.rglob("*")) == before
    else:
        assert target.read_text() == "root:x:0:0"
    assert sibling.read_text() == "someone else's"
    assert not list(tmp_path.glob(".*rollout*"))


def test_render__out_is_an_earlier_render__replaced(
    project: Path, cli, tmp_path: Path
) -> None:
    target = tmp_path / "stacks"
    cli(project, "render", "--out", str(target))

    result = cli(project, "render", "--out", str(target), "--regions", "us-east-1")

    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in target.iterdir()) == [
        ".rollout-render",
        "Pulumi.dev-us-east-1.yaml",
        "Pulumi.yaml",
    ]


def test_render__fewer_regions_than_before__replaces_the_whole_set(
    project: Path, cli
) -> None:
    cli(project, "render")

    result = cli(project, "render", "--regions", "us-east-1")

    assert result.exit_code == 0
    assert sorted(p.name for p in stacks_dir(project).iterdir()) == [
        ".rollout-render",
        "Pulumi.dev-us-east-1.yaml",
        "Pulumi.yaml",
    ]


def test_render__secret_declared__only_its_name_reaches_the_file(
    project: Path, cli
) -> None:
    (project / "regions" / "eu-west-1.yaml").write_text(
        "region: eu-west-1\nrole: canary\nvpc: {cidr: 10.68.0.0/16}\n"
        "secrets: {payments-api-key: env:PAYMENTS_KEY}\n"
    )

    result = cli(project, "render", env={"PAYMENTS_KEY": "s3cr3t-value-42"})

    assert result.exit_code == 0
    text = (stacks_dir(project) / "Pulumi.dev-eu-west-1.yaml").read_text()
    assert "payments-api-key" in text
    assert "s3cr3t-value-42" not in text
    assert "PAYMENTS_KEY" not in text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "  x: {{ undefined_name }}",
            "blueprints/stack.yaml.j2, line {line}: 'undefined_name' is undefined",
        ),
        (
            "  x: {{ region.no_such_key }}",
            "blueprints/stack.yaml.j2, line {line}: 'dict object' has no attribute "
            "'no_such_key'",
        ),
        (
            "{% if %}",
            "blueprints/stack.yaml.j2, line {line}: Expected an expression, got "
            "'end of statement block'",
        ),
        (
            "  x: {{ region.__class__.__mro__ }}",
            "blueprints/stack.yaml.j2, line {line}: not allowed in a template: "
            "access to attribute '__class__' of 'dict' object is unsafe.",
        ),
        (
            "  x: {{ cycler.__init__.__globals__ }}",
            "blueprints/stack.yaml.j2, line {line}: not allowed in a template: "
            "access to attribute '__init__' of 'type' object is unsafe.",
        ),
    ],
    ids=["undefined variable", "undefined key", "syntax error", "dunder", "globals"],
)
def test_render__bad_template__exits_2_naming_template_and_line(
    project: Path, cli, line: str, expected: str
) -> None:
    template = project / "blueprints" / "stack.yaml.j2"
    lines = template.read_text().splitlines()
    template.write_text("\n".join(lines) + "\n" + line + "\n")
    expected = expected.replace("{line}", str(len(lines) + 1))

    result = cli(project, "render")

    assert result.exit_code == 2
    assert first_error_line(result.stderr) == expected
    assert len(result.stderr.strip().splitlines()) == 1
    assert not stacks_dir(project).exists()


def test_render__manifest_value_with_template_syntax__stays_plain_text(
    project: Path, cli
) -> None:
    payload = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"
    (project / "regions" / "eu-west-1.yaml").write_text(
        "region: eu-west-1\nrole: canary\nvpc: {cidr: 10.68.0.0/16}\n"
        f'tags: {{team: "{payload}"}}\n'
    )

    result = cli(project, "render")

    assert result.exit_code == 0, result.stderr
    config = yaml.safe_load(
        (stacks_dir(project) / "Pulumi.dev-eu-west-1.yaml").read_text()
    )
    assert config["config"]["rollout:tags"]["team"] == payload


def test_swap__crash_between_renames__next_run_finishes_the_swap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "stacks"
    swap_directory(target, {"a.yaml": "old"})
    real_rename = os.rename
    calls = []

    def crash_on_last_rename(src, dst):
        calls.append((src, dst))
        if Path(dst) == target:
            raise KeyboardInterrupt("killed")
        return real_rename(src, dst)

    monkeypatch.setattr(fsutil.os, "rename", crash_on_last_rename)
    with pytest.raises(KeyboardInterrupt):
        swap_directory(target, {"a.yaml": "new", "b.yaml": "new"})
    monkeypatch.setattr(fsutil.os, "rename", real_rename)
    assert not target.exists()

    found = recover_directory(target)

    assert found == f"{target}: finished an interrupted render"
    assert {p.name: p.read_text() for p in target.iterdir() if p.suffix} == {
        "a.yaml": "new",
        "b.yaml": "new",
    }


def test_swap__crash_while_writing__old_set_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "stacks"
    swap_directory(target, {"a.yaml": "old"})

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fsutil.os, "fsync", full_disk)
    with pytest.raises(OSError):
        swap_directory(target, {"a.yaml": "new"})

    assert (target / "a.yaml").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stacks"]


def test_render__killed_at_random_moments__set_is_old_or_new_never_torn(
    project: Path,
) -> None:
    """SIGKILL `rollout render` at random points; every survivor is a whole set."""
    command = [
        sys.executable,
        "-c",
        "from cli import main; main()",
        "--project-dir",
        str(project),
        "render",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=60)
    old = {p.name: p.read_text() for p in stacks_dir(project).iterdir()}
    manifest = project / "regions" / "us-west-2.yaml"
    manifest.write_text(manifest.read_text() + "tags: {generation: new}\n")
    rng = random.Random(7)

    outcomes = set()
    for _ in range(8):
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.2, 1.2))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        recover_directory(stacks_dir(project))

        now = {p.name: p.read_text() for p in stacks_dir(project).iterdir()}
        assert now.keys() == old.keys()
        generations = {
            "new" if "generation" in text else "old"
            for name, text in now.items()
            if name == "Pulumi.dev-us-west-2.yaml"
        }
        outcomes |= generations
        if generations == {"new"}:
            assert now != old
        else:
            assert now == old
    assert outcomes <= {"old", "new"}


def test_render__env_locked_by_a_running_apply__exits_3_and_keeps_the_set(
    project: Path, cli
) -> None:
    import json as _json
    import socket

    cli(project, "render")
    before = {p.name: p.read_text() for p in stacks_dir(project).iterdir()}
    lock = project / ".rollout" / "dev" / "lock"
    lock.write_text(
        _json.dumps(
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "command": "apply",
                "started_at": "2026-12-03T10:00:00+00:00",
            }
        )
    )
    manifest = project / "regions" / "us-west-2.yaml"
    manifest.write_text(manifest.read_text() + "tags: {generation: new}\n")

    result = cli(project, "render")

    assert result.exit_code == 3
    assert "locked by `rollout apply`" in result.stderr
    assert {p.name: p.read_text() for p in stacks_dir(project).iterdir()} == before


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "memoryMb: {{ region.lambda.memory_mb }}",
            "memoryMb: -5",
            "renders rollout:lambda.memoryMb = -5: must be greater than or equal "
            "to 128",
        ),
        (
            "rollout:region: {{ region.region | tojson }}",
            'rollout:region: "us-east-1"',
            "renders rollout:region = 'us-east-1' for region eu-west-1",
        ),
        (
            "  rollout:tags: {{ region.tags | tojson }}",
            "  rollout:tags: {{ region.tags | tojson }}\n  rollout:surprise: 1",
            "renders rollout:surprise, a key the program does not read",
        ),
        (
            "  rollout:logs:\n    retentionDays: {{ region.logs.retention_days }}\n",
            "",
            "renders no rollout:logs, which the program needs",
        ),
    ],
    ids=["out of range", "wrong region", "unknown key", "missing key"],
)
def test_render__template_emits_what_the_program_cannot_read__exits_2(
    project: Path, cli, old: str, new: str, expected: str
) -> None:
    template = project / "blueprints" / "stack.yaml.j2"
    text = template.read_text()
    assert old in text
    template.write_text(text.replace(old, new))

    result = cli(project, "render")

    assert result.exit_code == 2
    assert first_error_line(result.stderr) == f"blueprints/stack.yaml.j2: {expected}"
    assert not stacks_dir(project).exists()
