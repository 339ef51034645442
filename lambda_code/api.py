"""API Gateway proxy handler: ``POST /items`` and ``GET /items/{id}``.

Routes delegate to the plain functions of ``items.service``; this module only
wires them to the resolver, maps errors to status codes and keeps every body
JSON. Unknown paths get 404 and a known path with another method gets 405,
whatever API Gateway would have filtered before.
"""

from __future__ import annotations

import json
import os

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import (
    APIGatewayRestResolver,
    Response,
    content_types,
)
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from items import service
from items.config import load_settings
from items.store import ItemStore

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

settings = load_settings(os.environ, required=("ITEMS_TABLE", "IDEMPOTENCY_TABLE"))
logger = Logger()
tracer = Tracer()
store = ItemStore(boto3.resource("dynamodb").Table(settings.items_table))
idempotency = service.idempotency_config()
create_once = service.idempotent_creator(
    store,
    DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table, boto3_client=boto3.client("dynamodb")
    ),
    idempotency,
)
app = APIGatewayRestResolver()


def json_response(status: int, body: dict, headers: dict | None = None) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body),
        headers=headers,
    )


@app.post("/items")
@tracer.capture_method
def post_item() -> Response:
    event = app.current_event
    payload = service.parse_body(event.body, event.is_base64_encoded)

    key = event.headers.get("Idempotency-Key")
    if key is None:
        item = service.create_item(store, payload)
    else:
        item = create_once(key, payload)
    return json_response(201, item)


@app.get("/items/<item_id>")
@tracer.capture_method
def get_item(item_id: str) -> Response:
    return json_response(200, service.get_item(store, item_id))


def refuse_other_methods(path: str, allowed: str) -> None:
    """Answer 405 with an Allow header for every other method on ``path``."""

    def method_not_allowed(**_: str) -> Response:
        method = app.current_event.http_method
        return json_response(
            405,
            {"message": f"method {method} is not allowed here; use {allowed}"},
            headers={"Allow": allowed},
        )

    others = [method for method in HTTP_METHODS if method != allowed]
    app.route(path, method=others)(method_not_allowed)


refuse_other_methods("/items", "POST")
refuse_other_methods("/items/<item_id>", "GET")


@app.not_found
def not_found(_: NotFoundError) -> Response:
    return json_response(404, {"message": f"no route {app.current_event.path}"})


@app.exception_handler(service.RequestError)
def request_error(exc: service.RequestError) -> Response:
    logger.info("request refused", extra={"status": exc.status, "reason": exc.message})
    return json_response(exc.status, exc.body())


@app.exception_handler(IdempotencyValidationError)
def idempotency_key_reused(_: IdempotencyValidationError) -> Response:
    return json_response(
        422, {"message": "Idempotency-Key was already used with another body"}
    )


@app.exception_handler(IdempotencyAlreadyInProgressError)
def idempotency_in_progress(_: IdempotencyAlreadyInProgressError) -> Response:
    return json_response(
        409, {"message": "a request with this Idempotency-Key is in progress"}
    )


@app.exception_handler(Exception)
def internal_error(_: Exception) -> Response:
    # The details go to the log only; the client learns nothing of the inside.
    logger.exception("request failed")
    return json_response(500, {"message": "internal error"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event: dict, context: object) -> dict:
    if "httpMethod" not in event or "path" not in event:
        raise ValueError("not an API Gateway REST proxy event: no httpMethod or path")
    idempotency.register_lambda_context(context)
    return app.resolve(event, context)
