"""The engine: readiness checks, Automation API calls, error translation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi import automation as auto
from pulumi.automation._cmd import CommandResult

from rollout.engine import (
    INSTALL_HINT,
    PulumiEngine,
    StackSpec,
    backend_url,
    check_engine_ready,
    plain_outputs,
)
from rollout.errors import DeploymentError, EngineMissing, LockHeld

PASS = {"PULUMI_CONFIG_PASSPHRASE": "correct horse"}


def found(_: str) -> str:
    return "/usr/local/bin/pulumi"


def missing(_: str) -> None:
    return None


def spec(work_dir: Path, **overrides) -> StackSpec:
    values = {
        "name": "dev-eu-west-1",
        "region": "eu-west-1",
        "work_dir": work_dir,
        "stack_file": "Pulumi.dev-eu-west-1.yaml",
    }
    values.update(overrides)
    return StackSpec(**values)


def test_check__no_pulumi_cli__engine_missing_says_what_to_install(tmp_path):
    with pytest.raises(EngineMissing) as caught:
        check_engine_ready(tmp_path, PASS, which=missing)

    assert str(caught.value) == INSTALL_HINT
    assert str(caught.value).startswith("the Pulumi CLI is not installed")
    assert "\n" not in str(caught.value)
    assert EngineMissing.exit_code == 3


def test_check__file_backend_without_passphrase__engine_missing(tmp_path):
    with pytest.raises(EngineMissing) as caught:
        check_engine_ready(tmp_path, {}, which=found)

    assert str(caught.value).startswith(
        "PULUMI_CONFIG_PASSPHRASE is not set: the file backend "
        f"file://{tmp_path.resolve()}/.rollout/state encrypts stack secrets with it"
    )


def test_check__other_backend__no_passphrase_needed(tmp_path):
    url = check_engine_ready(
        tmp_path, {"PULUMI_BACKEND_URL": "s3://state-bucket"}, which=found
    )

    assert url == "s3://state-bucket"


def test_backend_url__default__file_backend_under_project(tmp_path):
    assert backend_url(tmp_path, {}) == f"file://{tmp_path.resolve()}/.rollout/state"


def test_engine__no_cli__construction_fails(tmp_path):
    with pytest.raises(EngineMissing, match="install it from"):
        PulumiEngine(tmp_path, PASS, which=missing)


def test_engine__ready__creates_the_state_directory(tmp_path):
    PulumiEngine(tmp_path, PASS, which=found)

    assert (tmp_path / ".rollout" / "state").is_dir()


def test_plain_outputs__secret_output__masked():
    outputs = {
        "apiUrl": auto.OutputValue(
            "https://x.execute-api.eu-west-1.amazonaws.com/", False
        ),
        "token": auto.OutputValue("hunter2", True),
    }

    assert plain_outputs(outputs) == {
        "apiUrl": "https://x.execute-api.eu-west-1.amazonaws.com/",
        "token": "[secret]",
    }


class FakeStack:
    def __init__(self, name: str, workspace) -> None:
        self.name = name
        self.workspace = workspace
        self.config: dict[str, auto.ConfigValue] = {}
        self.paths: dict[str, bool] = {}
        self.fail_with: Exception | None = None

    def set_config(self, key, value, *, path=False):
        self.config[key] = value
        self.paths[key] = path

    def up(self, on_output=None, color=None):
        if self.fail_with:
            raise self.fail_with
        if on_output:
            on_output("Updating (dev-eu-west-1)")
        salted = self.workspace.work_dir + "/Pulumi.dev-eu-west-1.yaml"
        with open(salted, "a") as handle:
            handle.write("encryptionsalt: v1:abc:def\n")
        return auto.UpResult(
            "", "", None, {"dataBucket": auto.OutputValue("rollout-dev-data", False)}
        )

    def destroy(self, on_output=None, color=None):
        self.destroyed = True

    def outputs(self):
        return {"dataBucket": auto.OutputValue("rollout-dev-data", False)}

    def preview(self, on_output=None, color=None):
        summary = {auto.events.OpType.CREATE: 3, auto.events.OpType.SAME: 1}
        return auto.PreviewResult("", "", summary)


class FakeWorkspace:
    def __init__(self, work_dir, env_vars):
        self.work_dir = work_dir
        self.env_vars = env_vars
        # What Pulumi would read when the stack is selected.
        self.stack_file_text = (
            Path(work_dir) / "Pulumi.dev-eu-west-1.yaml"
        ).read_text()


@pytest.fixture
def fake_automation(monkeypatch):
    stacks: list[FakeStack] = []

    def create_or_select(name, workspace):
        stack = FakeStack(name, workspace)
        stacks.append(stack)
        return stack

    def select(name, workspace):
        if not any(stack.name == name for stack in stacks):
            raise auto.errors.StackNotFoundError(
                CommandResult("", f"error: no stack named '{name}' found", 255)
            )
        return create_or_select(name, workspace)

    monkeypatch.setattr(auto, "LocalWorkspace", FakeWorkspace)
    monkeypatch.setattr(auto.Stack, "create_or_select", staticmethod(create_or_select))
    monkeypatch.setattr(auto.Stack, "select", staticmethod(select))
    return stacks


def stack_dir(tmp_path: Path) -> Path:
    work = tmp_path / ".rollout" / "dev" / "stacks"
    work.mkdir(parents=True)
    (work / "Pulumi.dev-eu-west-1.yaml").write_text("config:\n  rollout:env: dev\n")
    return work


def test_up__secrets_and_profile__set_as_secret_config_and_env(
    tmp_path, fake_automation
):
    engine = PulumiEngine(tmp_path, PASS, which=found)
    lines: list[str] = []

    outputs = engine.up(
        spec(
            stack_dir(tmp_path),
            config={"rollout:artifact.path": "/p/.rollout/cache/a.zip"},
            secrets={"rollout:secret-api-key": "v4lue"},
            env_vars={"AWS_PROFILE": "canary"},
        ),
        on_output=lines.append,
    )

    stack = fake_automation[0]
    assert outputs == {"dataBucket": "rollout-dev-data"}
    assert stack.config["rollout:secret-api-key"].secret is True
    assert stack.config["rollout:secret-api-key"].value == "v4lue"
    assert stack.config["rollout:artifact.path"].secret is False
    assert stack.paths == {
        "rollout:artifact.path": True,
        "rollout:secret-api-key": False,
    }
    assert stack.workspace.env_vars == {
        "PULUMI_BACKEND_URL": f"file://{tmp_path.resolve()}/.rollout/state",
        "AWS_PROFILE": "canary",
    }
    assert lines == ["Updating (dev-eu-west-1)"]


def test_up__rerendered_stack_file__secrets_provider_salt_restored(
    tmp_path, fake_automation
):
    engine = PulumiEngine(tmp_path, PASS, which=found)
    work = stack_dir(tmp_path)
    engine.up(spec(work))
    (work / "Pulumi.dev-eu-west-1.yaml").write_text("config:\n  rollout:env: dev\n")

    engine.up(spec(work))

    text = fake_automation[1].workspace.stack_file_text
    assert "encryptionsalt: v1:abc:def" in text
    assert "rollout:env: dev" in text


def test_up__pulumi_command_fails__deployment_error_names_stack(
    tmp_path, fake_automation, monkeypatch
):
    engine = PulumiEngine(tmp_path, PASS, which=found)
    failure = auto.errors.CommandError(
        CommandResult("", "warning: x\nerror: update failed: AccessDenied\n", 255)
    )
    original = auto.Stack.create_or_select

    def failing(name, workspace):
        stack = original(name, workspace)
        stack.fail_with = failure
        return stack

    monkeypatch.setattr(auto.Stack, "create_or_select", staticmethod(failing))

    with pytest.raises(DeploymentError) as caught:
        engine.up(spec(stack_dir(tmp_path)))

    assert str(caught.value) == (
        "stack dev-eu-west-1: pulumi failed: error: update failed: AccessDenied"
    )


def test_up__concurrent_update__lock_held(tmp_path, fake_automation, monkeypatch):
    engine = PulumiEngine(tmp_path, PASS, which=found)
    original = auto.Stack.create_or_select

    def busy(name, workspace):
        stack = original(name, workspace)
        stack.fail_with = auto.errors.ConcurrentUpdateError(
            CommandResult(
                "", "error: [409] Conflict: Another update is in progress", 255
            )
        )
        return stack

    monkeypatch.setattr(auto.Stack, "create_or_select", staticmethod(busy))

    with pytest.raises(LockHeld, match="stack dev-eu-west-1: another update"):
        engine.up(spec(stack_dir(tmp_path)))


def test_spec__repr__hides_secret_values(tmp_path):
    text = repr(spec(tmp_path, secrets={"rollout:secret-api-key": "v4lue"}))

    assert "v4lue" not in text
    assert "rollout:secret-api-key" in text


def test_preview__change_summary__plain_operation_names(tmp_path, fake_automation):
    engine = PulumiEngine(tmp_path, PASS, which=found)

    changes = engine.preview(spec(stack_dir(tmp_path)))

    assert changes == {"create": 3, "same": 1}


def test_destroy__stack_never_created__nothing_created_or_destroyed(
    tmp_path, fake_automation
):
    engine = PulumiEngine(tmp_path, PASS, which=found)

    engine.destroy(spec(stack_dir(tmp_path)))

    assert fake_automation == []


def test_outputs__existing_stack__plain_values(tmp_path, fake_automation):
    engine = PulumiEngine(tmp_path, PASS, which=found)
    work = stack_dir(tmp_path)
    assert engine.outputs(spec(work)) == {}
    engine.up(spec(work))

    assert engine.outputs(spec(work)) == {"dataBucket": "rollout-dev-data"}


def test_first_line__failed_command__reason_from_stderr_not_exit_code():
    from pulumi.automation import errors
    from pulumi.automation._cmd import CommandResult

    from rollout.engine import _first_line

    in_stderr = errors.CommandError(
        CommandResult("Previewing update\n", "error: no resource plugin 'aws'\n", 255)
    )
    in_stdout = errors.CommandError(
        CommandResult("  error: creating S3 Bucket: AccessDenied\n", "", 255)
    )
    plain = errors.CommandError(CommandResult("", "failed to decrypt\n", 255))

    assert _first_line(in_stderr) == "error: no resource plugin 'aws'"
    assert _first_line(in_stdout) == "error: creating S3 Bucket: AccessDenied"
    assert _first_line(plain) == "failed to decrypt"
