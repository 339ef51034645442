"""`rollout check`: the table, the JSON and the exit code."""

from __future__ import annotations

import json

import pytest

from rollout.checks import rules
from rollout.checks.base import Rule, Verdict

CHECK_FIELDS = {"id", "status", "severity", "resource", "region", "message"}


def _always_failing(severity: str) -> Rule:
    def evaluate(graph):
        for resource in graph.aws_resources():
            yield Verdict(resource, False, f"{resource.name} is always wrong")

    return Rule(f"test.always-{severity}", severity, "Fails everything.", evaluate)


@pytest.fixture
def only_rule(monkeypatch: pytest.MonkeyPatch):
    def use(rule: Rule) -> None:
        monkeypatch.setattr(rules, "RULES", [rule])

    return use


def test_check_json__shipped_project__items_carry_contract_fields(cli, project):
    result = cli(project, "check", "--regions", "us-east-1,eu-west-1", "--json")

    checks = json.loads(result.stdout)["checks"]
    assert checks
    assert all(set(c) == CHECK_FIELDS for c in checks)
    # The primary also holds the artifact buckets of every other region.
    assert {"us-east-1", "eu-west-1"} <= {c["region"] for c in checks}
    assert {c["severity"] for c in checks} <= {"error", "warning"}
    failing = any(c["status"] == "fail" and c["severity"] == "error" for c in checks)
    assert result.exit_code == (1 if failing else 0)


def test_check__failing_error_rule__exits_1_and_names_it(cli, project, only_rule):
    only_rule(_always_failing("error"))

    result = cli(project, "check", "--regions", "us-east-1")

    assert result.exit_code == 1
    assert "test.always-error" in result.stdout
    assert "FAIL" in result.stdout
    assert "rules: 1," in result.stdout


def test_check__failing_warning_rule__shown_and_exits_0(cli, project, only_rule):
    only_rule(_always_failing("warning"))

    result = cli(project, "check", "--regions", "us-east-1", "--json")

    checks = json.loads(result.stdout)["checks"]
    assert result.exit_code == 0
    assert checks and {c["status"] for c in checks} == {"fail"}
    assert {c["severity"] for c in checks} == {"warning"}


def test_check__all_pass__rules_listed_without_a_row_per_resource(project, cli):
    quiet = cli(project, "check", "--regions", "us-east-1")
    every = cli(project, "check", "--regions", "us-east-1", "--all")

    assert quiet.exit_code == every.exit_code == 0
    assert "Policy checks by rule" in quiet.stdout
    assert "iam.no-wildcard-action" in quiet.stdout
    assert "Failing checks" not in quiet.stdout
    assert "Every check" not in quiet.stdout
    assert "Every check" in every.stdout
    assert every.stdout.count("pass") > quiet.stdout.count("pass")


def test_check__any_run__writes_nothing_but_the_cache(project, cli):
    result = cli(project, "check", "--regions", "eu-west-1", "--json")

    assert result.exit_code == 0
    assert sorted(p.name for p in (project / ".rollout").iterdir()) == ["cache"]
