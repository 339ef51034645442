"""S3 notification handler: turns uploads under ``uploads/`` into items.

The work is in ``items.uploads``; this module builds the clients once per cold
start and hands each event over. An object that cannot be processed makes the
invocation raise, so Lambda retries it and then sends it to the dead-letter
queue; nothing is dropped silently.
"""

from __future__ import annotations

import os

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from items import uploads
from items.config import load_settings
from items.store import ItemStore

settings = load_settings(
    os.environ, required=("ITEMS_TABLE", "IDEMPOTENCY_TABLE", "DATA_BUCKET")
)
logger = Logger()
tracer = Tracer()
store = ItemStore(boto3.resource("dynamodb").Table(settings.items_table))
idempotency = uploads.idempotency_config()
process = uploads.idempotent_processor(
    boto3.client("s3"),
    store,
    settings.data_bucket,
    DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table, boto3_client=boto3.client("dynamodb")
    ),
    idempotency,
)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict, context: object) -> dict:
    idempotency.register_lambda_context(context)
    return uploads.process_event(event, process, settings.data_bucket)
