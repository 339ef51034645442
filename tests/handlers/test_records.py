"""The item schema, without AWS."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st


@pytest.fixture
def records(load):
    return load("items.records")


def test_validate__json_record__trimmed_fields(records):
    fields = records.validate({"name": "  bolt ", "quantity": 2, "price": 1.1})

    assert fields == records.ItemFields("bolt", 2, Decimal("1.1"))


def test_validate__csv_text_numbers__accepted_only_from_text(records):
    row = {"name": "bolt", "quantity": "12", "price": "3.50"}

    assert records.validate(row, from_text=True).quantity == 12
    with pytest.raises(records.InvalidRecord):
        records.validate(row)


@pytest.mark.parametrize("quantity", ["1.5", "-1", "٣", "²", "1e3", "", str(10**9 + 1)])
def test_validate__csv_quantity_not_plain_digits__refused(records, quantity):
    with pytest.raises(records.InvalidRecord) as refused:
        records.validate({"name": "b", "quantity": quantity}, from_text=True)

    assert refused.value.problems[0].startswith("quantity:")


@pytest.mark.parametrize(
    "price", [float("nan"), float("inf"), -0.5, True, "NaN", 10**10, "1." + "1" * 30]
)
def test_validate__unusable_price__refused(records, price):
    with pytest.raises(records.InvalidRecord) as refused:
        records.validate({"name": "b", "quantity": 1, "price": price}, from_text=True)

    assert refused.value.problems[0].startswith("price:")


def test_validate__name_too_long__refused(records):
    with pytest.raises(records.InvalidRecord, match="longer than 200"):
        records.validate({"name": "x" * 201, "quantity": 1})


def test_validate__not_an_object__says_what_it_got(records):
    with pytest.raises(records.InvalidRecord, match="got a list"):
        records.validate([1, 2])


def test_to_item__stored_form__id_timestamp_source(records):
    fields = records.ItemFields("bolt", 2)
    created = datetime(2026, 12, 3, 12, 0, 0, 123456, tzinfo=UTC)

    item = fields.to_item("id-1", created, source="api")

    assert item == {
        "id": "id-1",
        "name": "bolt",
        "quantity": 2,
        "created_at": "2026-12-03T12:00:00.123+00:00",
        "source": "api",
    }


def test_to_json_value__decimals__back_to_numbers(records):
    value = {"a": Decimal("2"), "b": [Decimal("0.25")], "c": "x"}

    assert records.to_json_value(value) == {"a": 2, "b": [0.25], "c": "x"}
    assert isinstance(records.to_json_value(Decimal("2")), int)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
records_like = st.dictionaries(
    st.sampled_from(["name", "quantity", "price", "id", ""]), json_values, max_size=4
)


@given(record=json_values | records_like, from_text=st.booleans())
def test_validate__any_json_value__fields_or_invalid_record(record, from_text):
    records = importlib.import_module("items.records")

    try:
        fields = records.validate(record, from_text=from_text)
    except records.InvalidRecord as refused:
        assert refused.problems
        return

    assert fields.name and fields.name == fields.name.strip()
    assert 0 <= fields.quantity <= records.QUANTITY_MAX
    assert fields.price is None or fields.price.is_finite()
