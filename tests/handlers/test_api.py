"""The API handler, driven with API Gateway proxy events against moto's server."""

from __future__ import annotations

import json

import pytest

from tests.handlers.events import api_event

pytestmark = pytest.mark.usefixtures("dynamodb")


@pytest.fixture
def call(load, context):
    api = load("api")

    def invoke(*args, **kwargs) -> tuple[int, dict, dict]:
        response = api.handler(api_event(*args, **kwargs), context)
        return response["statusCode"], json.loads(response["body"]), response

    return invoke


def test_post_items__valid_body__201_with_stored_item(call, items_table):
    status, body, response = call("POST", "/items", {"name": " bolt ", "quantity": 3})

    assert status == 201
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert body["name"] == "bolt"
    assert body["quantity"] == 3
    assert body["source"] == "api"
    assert body["created_at"].endswith("+00:00")
    stored = items_table.get_item(Key={"id": body["id"]})["Item"]
    assert stored["name"] == "bolt"
    assert stored["quantity"] == 3


def test_post_items__price__stored_exactly_and_returned_as_number(call, items_table):
    status, body, _ = call(
        "POST", "/items", {"name": "nut", "quantity": 1, "price": 0.1}
    )

    assert status == 201
    assert body["price"] == 0.1
    stored = items_table.get_item(Key={"id": body["id"]})["Item"]
    assert str(stored["price"]) == "0.1"


def test_post_items__base64_body__201(call):
    raw = json.dumps({"name": "washer", "quantity": 2}).encode()

    status, body, _ = call("POST", "/items", raw)

    assert status == 201
    assert body["name"] == "washer"


def test_post_items__event_without_headers__201(load, context):
    api = load("api")
    event = api_event("POST", "/items", {"name": "bolt", "quantity": 1})
    event["headers"] = event["multiValueHeaders"] = None

    response = api.handler(event, context)

    assert response["statusCode"] == 201


def test_handler__not_a_proxy_event__raises_saying_so(load, context):
    api = load("api")

    with pytest.raises(ValueError, match="not an API Gateway REST proxy event"):
        api.handler({"detail-type": "Scheduled Event"}, context)


def test_get_item__existing__200_with_item(call):
    _, created, _ = call("POST", "/items", {"name": "gear", "quantity": 7})

    status, body, response = call("GET", f"/items/{created['id']}")

    assert status == 200
    assert body == created
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]


def test_get_item__unknown_id__404(call):
    status, body, _ = call("GET", "/items/does-not-exist")

    assert status == 404
    assert "does-not-exist" in body["message"]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ('{"name": "bolt", "quantity": ', "not valid JSON"),
        ("", "empty"),
        ("[1, 2]", "must be a JSON object"),
        ('"text"', "must be a JSON object"),
    ],
)
def test_post_items__malformed_body__400(call, items_table, payload, expected):
    status, body, response = call("POST", "/items", payload)

    assert status == 400
    assert expected in body["message"]
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert items_table.scan()["Count"] == 0


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"quantity": 1}, "name: required"),
        ({"name": "bolt"}, "quantity: required"),
        ({"name": 5, "quantity": 1}, "name: expected non-empty text"),
        ({"name": "bolt", "quantity": "3"}, "quantity: expected a whole number"),
        ({"name": "bolt", "quantity": True}, "quantity: expected a whole number"),
        ({"name": "bolt", "quantity": -1}, "quantity: expected a whole number"),
        ({"name": "bolt", "quantity": 1.5}, "quantity: expected a whole number"),
        ({"name": "bolt", "quantity": 1, "price": "9"}, "price: expected a number"),
        ({"name": "bolt", "quantity": 1, "id": "mine"}, "id: unknown field"),
    ],
)
def test_post_items__invalid_fields__400_naming_the_field(
    call, items_table, payload, problem
):
    status, body, _ = call("POST", "/items", payload)

    assert status == 400
    assert body["message"] == "item is invalid"
    assert any(error.startswith(problem) for error in body["errors"]), body
    assert items_table.scan()["Count"] == 0


def test_post_items__several_invalid_fields__400_lists_each(call):
    status, body, _ = call("POST", "/items", {"name": "", "quantity": "x", "y": 1})

    assert status == 400
    assert sorted(body["errors"]) == [
        "name: required",
        "quantity: expected a whole number from 0 to 1000000000, got text 'x'",
        "y: unknown field",
    ]


def test_post_items__body_over_16_kib__400(call, items_table):
    payload = json.dumps({"name": "x" * 100, "quantity": 1, "pad": " " * 16_384})

    status, body, _ = call("POST", "/items", payload)

    assert status == 400
    assert "larger than 16384 bytes" in body["message"]
    assert items_table.scan()["Count"] == 0


def test_post_items__body_just_under_limit__passes_size_check(call):
    # Padding inside the JSON text itself: whitespace counts toward the size.
    core = json.dumps({"name": "x", "quantity": 1})
    payload = core[:-1] + " " * (16_384 - len(core)) + "}"

    status, _, _ = call("POST", "/items", payload)

    assert len(payload.encode()) == 16_384
    assert status == 201


def test_post_items__same_idempotency_key__same_item_no_duplicate(call, items_table):
    headers = {"Idempotency-Key": "order-42"}
    item = {"name": "bolt", "quantity": 3}

    first_status, first, _ = call("POST", "/items", item, headers)
    second_status, second, _ = call("POST", "/items", item, headers)

    assert (first_status, second_status) == (201, 201)
    assert second == first
    assert items_table.scan()["Count"] == 1


def test_post_items__idempotency_key_header_any_case__honoured(call, items_table):
    item = {"name": "bolt", "quantity": 3}

    _, first, _ = call("POST", "/items", item, {"Idempotency-Key": "k-1"})
    _, second, _ = call("POST", "/items", item, {"idempotency-key": "k-1"})

    assert second["id"] == first["id"]
    assert items_table.scan()["Count"] == 1


def test_post_items__different_idempotency_keys__two_items(call, items_table):
    item = {"name": "bolt", "quantity": 3}

    _, first, _ = call("POST", "/items", item, {"Idempotency-Key": "a"})
    _, second, _ = call("POST", "/items", item, {"Idempotency-Key": "b"})

    assert first["id"] != second["id"]
    assert items_table.scan()["Count"] == 2


def test_post_items__no_idempotency_key__each_post_creates(call, items_table):
    item = {"name": "bolt", "quantity": 3}

    call("POST", "/items", item)
    call("POST", "/items", item)

    assert items_table.scan()["Count"] == 2


def test_post_items__idempotency_key_reused_with_other_body__422(call, items_table):
    headers = {"Idempotency-Key": "order-43"}
    call("POST", "/items", {"name": "bolt", "quantity": 3}, headers)

    status, body, _ = call("POST", "/items", {"name": "bolt", "quantity": 4}, headers)

    assert status == 422
    assert "Idempotency-Key" in body["message"]
    assert items_table.scan()["Count"] == 1


def test_post_items__invalid_body_with_idempotency_key__400_and_key_reusable(
    call, items_table
):
    headers = {"Idempotency-Key": "order-44"}

    bad_status, _, _ = call("POST", "/items", {"name": "bolt"}, headers)
    good_status, _, _ = call("POST", "/items", {"name": "bolt", "quantity": 1}, headers)

    assert (bad_status, good_status) == (400, 201)
    assert items_table.scan()["Count"] == 1


def test_post_items__same_key_while_first_in_progress__409(
    load, context, monkeypatch, items_table
):
    api = load("api")
    event = api_event(
        "POST", "/items", {"name": "bolt", "quantity": 1}, {"Idempotency-Key": "k"}
    )
    store_put = api.store.put
    concurrent = []

    def put_while_retried(item):
        # The client retries while the first request is still writing.
        concurrent.append(api.handler(event, context))
        store_put(item)

    monkeypatch.setattr(api.store, "put", put_while_retried)

    first = api.handler(event, context)

    assert first["statusCode"] == 201
    assert concurrent[0]["statusCode"] == 409
    assert "in progress" in json.loads(concurrent[0]["body"])["message"]
    assert items_table.scan()["Count"] == 1


def test_post_items__overlong_idempotency_key__400(call):
    status, body, _ = call(
        "POST", "/items", {"name": "b", "quantity": 1}, {"Idempotency-Key": "k" * 256}
    )

    assert status == 400
    assert "Idempotency-Key" in body["message"]


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/"), ("GET", "/orders"), ("POST", "/items/a/b")]
)
def test_unknown_route__404_json(call, method, path):
    status, body, response = call(method, path)

    assert status == 404
    assert path in body["message"]
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/items", "POST"),
        ("DELETE", "/items", "POST"),
        ("POST", "/items/abc", "GET"),
        ("PUT", "/items/abc", "GET"),
        ("DELETE", "/items/abc", "GET"),
    ],
)
def test_known_path_wrong_method__405_with_allow(call, method, path, allowed):
    status, body, response = call(method, path)

    assert status == 405
    assert method in body["message"]
    assert response["multiValueHeaders"]["Allow"] == [allowed]


def test_post_items__table_missing__500_without_details(
    load, context, lambda_env, monkeypatch, caplog
):
    monkeypatch.setenv("ITEMS_TABLE", "no-such-table")
    api = load("api")

    response = api.handler(
        api_event("POST", "/items", {"name": "bolt", "quantity": 1}), context
    )

    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {"message": "internal error"}
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert "Traceback" not in response["body"]
    logged = next(r for r in caplog.records if r.getMessage() == "request failed")
    assert type(logged.exc_info[1]).__name__ == "ResourceNotFoundException"


def test_post_items__log_line__structured_json_with_request_id(load, context, caplog):
    api = load("api")

    response = api.handler(
        api_event("POST", "/items", {"name": "bolt", "quantity": 1}), context
    )

    record = next(r for r in caplog.records if r.getMessage() == "item created")
    line = json.loads(api.logger.registered_formatter.format(record))
    assert line["item_id"] == json.loads(response["body"])["id"]
    assert line["level"] == "INFO"
    assert line["service"] == "items"
    assert line["function_request_id"] == context.aws_request_id
    assert line["correlation_id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
