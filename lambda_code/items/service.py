"""What the API does, in plain functions: parse a request, create and read items."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from items.records import InvalidRecord, to_json_value, validate
from items.store import ItemStore

BODY_MAX_BYTES = 16 * 1024
IDEMPOTENCY_KEY_MAX_LENGTH = 255

logger = Logger(child=True)


class RequestError(Exception):
    """A request the API refuses; ``status`` and ``message`` go to the client."""

    def __init__(self, status: int, message: str, details: list[str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []

    def body(self) -> dict:
        body: dict[str, Any] = {"message": self.message}
        if self.details:
            body["errors"] = self.details
        return body


def parse_body(body: str | None, is_base64_encoded: bool) -> dict:
    """The request body as a JSON object, or a RequestError saying what is wrong."""
    if body is None or body == "":
        raise RequestError(400, "request body is empty; send a JSON object")

    try:
        if is_base64_encoded:
            raw = base64.b64decode(body, validate=True)
        else:
            raw = body.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RequestError(400, "request body is not UTF-8 text") from exc
    except (binascii.Error, ValueError) as exc:
        # b64decode raises ValueError, not binascii.Error, for non-ASCII input.
        raise RequestError(400, "request body is not valid base64") from exc

    if len(raw) > BODY_MAX_BYTES:
        raise RequestError(
            400, f"request body is larger than {BODY_MAX_BYTES} bytes ({len(raw)})"
        )

    try:
        payload = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RequestError(400, "request body is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise RequestError(
            400, f"request body is not valid JSON: {exc.msg} at line {exc.lineno}"
        ) from exc

    if not isinstance(payload, dict):
        raise RequestError(400, "request body must be a JSON object")
    return payload


def check_idempotency_key(key: str) -> str:
    if not key.strip() or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise RequestError(
            400,
            "Idempotency-Key header must be 1 to "
            f"{IDEMPOTENCY_KEY_MAX_LENGTH} characters",
        )
    return key


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_item_id() -> str:
    return str(uuid.uuid4())


def create_item(
    store: ItemStore,
    payload: dict,
    *,
    now: Callable[[], datetime] = utc_now,
    new_id: Callable[[], str] = new_item_id,
) -> dict:
    """Validate the payload, store it as a new item and return the item as JSON."""
    try:
        fields = validate(payload)
    except InvalidRecord as exc:
        raise RequestError(400, "item is invalid", exc.problems) from exc

    item = fields.to_item(new_id(), now(), source="api")
    store.put(item)
    logger.info("item created", extra={"item_id": item["id"]})
    return to_json_value(item)


def idempotent_creator(
    store: ItemStore,
    persistence: BasePersistenceLayer,
    config: IdempotencyConfig,
) -> Callable[[str, dict], dict]:
    """``create(key, payload)``: same key and payload, same item, one write.

    The same key with another payload raises powertools'
    IdempotencyValidationError; the caller turns it into a 422.
    """

    def create(request: dict) -> dict:
        return create_item(store, request["payload"])

    once = idempotent_function(
        create,
        data_keyword_argument="request",
        persistence_store=persistence,
        config=config,
        key_prefix="api-create-item",
    )

    def create_once(key: str, payload: dict) -> dict:
        return once(request={"key": check_idempotency_key(key), "payload": payload})

    return create_once


def idempotency_config() -> IdempotencyConfig:
    """Requests are the same when their key is; their payloads must match too."""
    return IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="payload",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=24 * 60 * 60,
    )


def get_item(store: ItemStore, item_id: str) -> dict:
    item = store.get(item_id)
    if item is None:
        raise RequestError(404, f"item {item_id!r} not found")
    return to_json_value(item)
