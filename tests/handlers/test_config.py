"""Settings at cold start: a missing variable stops the function with its name."""

from __future__ import annotations

import sys

import pytest

from tests.handlers.conftest import LAMBDA_CODE


@pytest.mark.parametrize(
    ("module", "variable"),
    [
        ("api", "ITEMS_TABLE"),
        ("api", "IDEMPOTENCY_TABLE"),
        ("processor", "ITEMS_TABLE"),
        ("processor", "IDEMPOTENCY_TABLE"),
        ("processor", "DATA_BUCKET"),
    ],
)
def test_import__required_variable_missing__names_it(
    load, lambda_env, monkeypatch, module, variable
):
    monkeypatch.delenv(variable)

    message = f"environment variable {variable} is missing"
    with pytest.raises(Exception, match=message) as refused:
        load(module)

    assert isinstance(refused.value, sys.modules["items.config"].ConfigurationError)


def test_import__required_variable_blank__refused(load, lambda_env, monkeypatch):
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "  ")

    with pytest.raises(Exception, match="IDEMPOTENCY_TABLE is missing or empty"):
        load("api")


def test_api_import__data_bucket_absent__not_required(load, lambda_env, monkeypatch):
    monkeypatch.delenv("DATA_BUCKET")

    api = load("api")

    assert api.settings.items_table == lambda_env["ITEMS_TABLE"]
    assert api.settings.data_bucket is None


def test_requirements__exact_pins_without_boto3():
    lines = [
        line.strip()
        for line in (LAMBDA_CODE / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    names = {line.split("==")[0].lower() for line in lines}
    assert all(line.count("==") == 1 for line in lines), lines
    assert {"aws-lambda-powertools", "aws-xray-sdk"} <= names
    assert not names & {"boto3", "botocore"}


def test_lambda_code__imports_nothing_of_rollout():
    sources = [path.read_text() for path in LAMBDA_CODE.rglob("*.py")]

    assert sources
    assert not any(
        line.lstrip().startswith(("import rollout", "from rollout", "import regional"))
        for source in sources
        for line in source.splitlines()
    )
