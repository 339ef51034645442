"""Parsing and naming of uploaded objects, without AWS."""

from __future__ import annotations

import importlib
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st


@pytest.fixture
def uploads(load):
    return load("items.uploads")


def test_processed_key__nested_upload__same_relative_key(uploads):
    assert uploads.processed_key("uploads/a/b/c.csv") == "processed/a/b/c.csv"


@pytest.mark.parametrize(
    ("key", "fmt"),
    [("uploads/a.jsonl", "jsonl"), ("uploads/a.NDJSON", "jsonl"), ("x.CSV", "csv")],
)
def test_object_format__known_extension__format(uploads, key, fmt):
    assert uploads.object_format(key) == fmt


@pytest.mark.parametrize("key", ["uploads/a.json", "uploads/a", "uploads/a.csv.gz"])
def test_object_format__other_extension__poison(uploads, key):
    with pytest.raises(uploads.PoisonObject, match="unsupported extension"):
        uploads.object_format(key)


def test_parse__csv_with_bom_and_crlf__rows_read(uploads):
    data = "\ufeffname,quantity\r\nbolt,1\r\nnut,2\r\n".encode()

    parsed = uploads.parse("uploads/a.csv", data)

    assert [(line, f.name) for line, f in parsed.valid] == [(2, "bolt"), (3, "nut")]
    assert parsed.invalid == []


def test_parse__empty_object__no_records(uploads):
    parsed = uploads.parse("uploads/a.jsonl", b"")

    assert (parsed.valid, parsed.invalid) == ([], [])


def test_parse__jsonl_array_line__invalid_not_poison(uploads):
    parsed = uploads.parse("uploads/a.jsonl", b'[1]\n{"name": "a", "quantity": 1}\n')

    assert parsed.invalid == [
        {"line": 1, "problems": ["expected a JSON object, got a list"]}
    ]
    assert len(parsed.valid) == 1


def test_item_id__same_object_version_and_line__same_id(uploads):
    ref = uploads.ObjectRef("b", "uploads/a.csv", "v1", "e1")
    other_version = uploads.ObjectRef("b", "uploads/a.csv", "v2", "e1")

    assert uploads.item_id(ref, 3) == uploads.item_id(ref, 3)
    assert uploads.item_id(ref, 3) != uploads.item_id(ref, 4)
    assert uploads.item_id(ref, 3) != uploads.item_id(other_version, 3)


class FakeStore:
    def put_many(self, items):
        return len(list(items))


class FakeS3:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.put = None

    def get_object(self, **_):
        return {"ContentLength": len(self.body), "Body": io.BytesIO(self.body)}

    def put_object(self, **kwargs):
        self.put = kwargs


def test_process_object__many_problems__report_capped(uploads):
    s3 = FakeS3(b"".join(b'{"name": "a"}\n' for _ in range(80)))

    ref = uploads.ObjectRef("b", "uploads/a.jsonl", None, "e")
    report = uploads.process_object(s3, FakeStore(), ref, "b")

    assert report["invalid"] == 80
    assert len(report["problems"]) == uploads.REPORTED_PROBLEMS_MAX
    assert s3.put["Key"] == "processed/a.jsonl"


def test_process_object__too_large__poison(uploads, monkeypatch):
    monkeypatch.setattr(uploads, "OBJECT_MAX_BYTES", 10)
    ref = uploads.ObjectRef("b", "uploads/a.jsonl", None, "e")

    with pytest.raises(uploads.PoisonObject, match="must be split"):
        uploads.process_object(FakeS3(b"x" * 11), FakeStore(), ref, "b")


@given(
    data=st.binary(max_size=300)
    | st.text(alphabet='name,quantity,price"\r\n\x00 1a{}:', max_size=300).map(
        str.encode
    ),
    key=st.sampled_from(["uploads/a.csv", "uploads/a.jsonl"]),
)
def test_parse__any_bytes__parsed_or_poison(data, key):
    uploads = importlib.import_module("items.uploads")

    try:
        parsed = uploads.parse(key, data)
    except uploads.PoisonObject:
        return

    lines = [line for line, _ in parsed.valid] + [p["line"] for p in parsed.invalid]
    assert len(lines) == len(set(lines))


def test_parse__csv_field_over_csv_limit__poison(uploads):
    data = b'name,quantity\n"' + b"x" * 200_000 + b'",1\n'

    with pytest.raises(uploads.PoisonObject, match="not readable as CSV"):
        uploads.parse("uploads/a.csv", data)
