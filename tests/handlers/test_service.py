"""Request parsing of the API, without AWS."""

from __future__ import annotations

import base64
import importlib

import pytest
from hypothesis import example, given
from hypothesis import strategies as st


@pytest.fixture
def service(load):
    return load("items.service")


def test_parse_body__invalid_base64__400(service):
    with pytest.raises(service.RequestError, match="not valid base64") as refused:
        service.parse_body("!!not base64!!", is_base64_encoded=True)

    assert refused.value.status == 400


def test_parse_body__base64_of_latin1__400_not_utf8(service):
    body = base64.b64encode('{"name": "é"}'.encode("latin-1")).decode()

    with pytest.raises(service.RequestError, match="not UTF-8"):
        service.parse_body(body, is_base64_encoded=True)


def test_parse_body__size_counted_in_bytes_not_characters(service):
    # 6000 three-byte characters: 18000 bytes, over the limit in fewer characters.
    body = '{"name": "' + "€" * 6000 + '"}'

    with pytest.raises(service.RequestError, match="larger than 16384 bytes"):
        service.parse_body(body, is_base64_encoded=False)


def test_create_item__clock_and_id_injected__used(service):
    class Store:
        def put(self, item):
            self.item = item

    store = Store()
    clock = importlib.import_module("datetime")

    item = service.create_item(
        store,
        {"name": "bolt", "quantity": 1},
        now=lambda: clock.datetime(2026, 1, 2, tzinfo=clock.UTC),
        new_id=lambda: "fixed-id",
    )

    assert item["id"] == store.item["id"] == "fixed-id"
    assert item["created_at"] == "2026-01-02T00:00:00.000+00:00"


@given(body=st.text(max_size=200), encoded=st.booleans())
@example(body="\x80", encoded=True)
@example(body="\ud800", encoded=False)
def test_parse_body__any_text__object_or_request_error(body, encoded):
    service = importlib.import_module("items.service")

    try:
        payload = service.parse_body(body, is_base64_encoded=encoded)
    except service.RequestError as refused:
        assert refused.status == 400
        return

    assert isinstance(payload, dict)
