"""Fixtures for the Lambda handlers: their environment, a table, a bucket, events.

The handlers build their clients when imported, so a test sets the environment
first and then imports the module fresh with ``load``.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

LAMBDA_CODE = Path(__file__).resolve().parents[2] / "lambda_code"
HANDLER_MODULES = ("api", "processor", "items")

SERVICE = "items"
ITEMS_TABLE = "rollout-test-items"
IDEMPOTENCY_TABLE = "rollout-test-idempotency"
DATA_BUCKET = "rollout-test-data"


def _forget_handler_modules() -> None:
    for name in list(sys.modules):
        if name.split(".")[0] in HANDLER_MODULES:
            del sys.modules[name]

    # The powertools Logger keeps its stdlib logger, and the stream it was given,
    # across imports; dropping it lets each test capture its own output.
    loggers = logging.Logger.manager.loggerDict
    for name in list(loggers):
        if name.split(".")[0] == SERVICE:
            del loggers[name]


@pytest.fixture(autouse=True)
def lambda_code_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``lambda_code`` importable as the Lambda runtime sees it, for one test."""
    monkeypatch.syspath_prepend(str(LAMBDA_CODE))
    _forget_handler_modules()
    yield
    _forget_handler_modules()


@pytest.fixture
def lambda_env(
    aws_env: None, moto_reset: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The environment the stack gives the functions, pointed at moto's server."""
    env = {
        "AWS_ENDPOINT_URL": moto_reset,
        "AWS_LAMBDA_FUNCTION_NAME": "rollout-test-fn",
        "POWERTOOLS_SERVICE_NAME": SERVICE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "ITEMS_TABLE": ITEMS_TABLE,
        "IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
        "DATA_BUCKET": DATA_BUCKET,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SECRET_PARAMETERS", raising=False)
    return env


@pytest.fixture
def dynamodb(lambda_env: dict[str, str]):
    """The items and idempotency tables, created as the stack declares them."""
    resource = boto3.resource("dynamodb")
    for name in (ITEMS_TABLE, IDEMPOTENCY_TABLE):
        resource.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    return resource


@pytest.fixture
def items_table(dynamodb):
    return dynamodb.Table(ITEMS_TABLE)


@pytest.fixture
def s3(lambda_env: dict[str, str]):
    client = boto3.client("s3")
    client.create_bucket(Bucket=DATA_BUCKET)
    client.put_bucket_versioning(
        Bucket=DATA_BUCKET, VersioningConfiguration={"Status": "Enabled"}
    )
    return client


@pytest.fixture
def load() -> Callable[[str], object]:
    """Import a handler module now, under the environment the test has set."""
    return importlib.import_module


@dataclass
class FakeContext:
    function_name: str = "rollout-test-fn"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:rollout-test-fn"
    )
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()
