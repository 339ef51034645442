"""The S3 processor, driven with S3 notifications against moto's server."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.handlers.conftest import DATA_BUCKET, IDEMPOTENCY_TABLE
from tests.handlers.events import s3_event

pytestmark = pytest.mark.usefixtures("dynamodb")


@pytest.fixture
def processor(load, s3):
    return load("processor")


def upload(s3, key: str, body: str | bytes) -> dict:
    data = body.encode() if isinstance(body, str) else body
    response = s3.put_object(Bucket=DATA_BUCKET, Key=key, Body=data)
    return {
        "bucket": DATA_BUCKET,
        "key": key,
        "versionId": response.get("VersionId"),
        "eTag": response["ETag"].strip('"'),
    }


def read(s3, key: str) -> str:
    return s3.get_object(Bucket=DATA_BUCKET, Key=key)["Body"].read().decode()


def all_items(table) -> list[dict]:
    return table.scan(ConsistentRead=True)["Items"]


def jsonl(*records: dict | str) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def test_jsonl_upload__mixed_records__valid_stored_invalid_reported(
    processor, s3, items_table, context
):
    obj = upload(
        s3,
        "uploads/2026/12/batch.jsonl",
        jsonl(
            {"name": "bolt", "quantity": 1},
            '{"name": "nut", "quantity": ',
            {"name": "gear", "quantity": 2, "price": 4.5},
            {"name": "washer"},
            "",
            {"name": "spring", "quantity": "3"},
        ),
    )

    result = processor.handler(s3_event(obj), context)

    (report,) = result["objects"]
    assert report["valid"] == 2
    assert report["invalid"] == 3
    assert [p["line"] for p in report["problems"]] == [2, 4, 6]
    assert report["problems"][0]["problems"][0].startswith("not valid JSON")
    assert report["problems"][1]["problems"] == ["quantity: required"]
    assert report["processed"] == f"s3://{DATA_BUCKET}/processed/2026/12/batch.jsonl"

    stored = sorted(all_items(items_table), key=lambda item: item["name"])
    assert [(i["name"], i["quantity"]) for i in stored] == [("bolt", 1), ("gear", 2)]
    assert stored[0]["source"] == f"s3://{DATA_BUCKET}/uploads/2026/12/batch.jsonl"

    lines = [
        json.loads(line)
        for line in read(s3, "processed/2026/12/batch.jsonl").splitlines()
    ]
    assert sorted(line["name"] for line in lines) == ["bolt", "gear"]
    assert {line["id"] for line in lines} == {item["id"] for item in stored}
    assert [line.get("price") for line in lines] == [None, 4.5]


def test_csv_upload__more_records_than_one_batch__all_stored(
    processor, s3, items_table, context
):
    rows = "".join(f"item-{n},{n},{n}.25\n" for n in range(60))
    obj = upload(s3, "uploads/stock.csv", "name,quantity,price\n" + rows)

    result = processor.handler(s3_event(obj), context)

    assert result["objects"][0]["valid"] == 60
    stored = all_items(items_table)
    assert len(stored) == 60
    assert sorted(int(i["quantity"]) for i in stored) == list(range(60))

    processed = list(csv.DictReader(io.StringIO(read(s3, "processed/stock.csv"))))
    assert len(processed) == 60
    assert processed[7]["name"] == "item-7"
    assert processed[7]["price"] == "7.25"


def test_csv_upload__bad_rows__reported_with_file_line_numbers(
    processor, s3, items_table, context
):
    obj = upload(
        s3,
        "uploads/mixed.csv",
        "name,quantity\nbolt,1\n,2\nnut,-4\ngear,3,extra\nwasher,5\n",
    )

    report = processor.handler(s3_event(obj), context)["objects"][0]

    assert (report["valid"], report["invalid"]) == (2, 3)
    assert [p["line"] for p in report["problems"]] == [3, 4, 5]
    assert report["problems"][2]["problems"] == ["wrong number of columns"]
    assert len(all_items(items_table)) == 2


def test_same_event_delivered_twice__second_writes_nothing(
    processor, s3, items_table, context
):
    obj = upload(s3, "uploads/once.jsonl", jsonl({"name": "bolt", "quantity": 1}))
    event = s3_event(obj)
    first = processor.handler(event, context)
    # Anything the first run wrote and a second run would write again.
    s3.delete_object(Bucket=DATA_BUCKET, Key="processed/once.jsonl")
    items_table.delete_item(Key={"id": all_items(items_table)[0]["id"]})

    second = processor.handler(event, context)

    assert second == first
    assert all_items(items_table) == []
    listed = s3.list_objects_v2(Bucket=DATA_BUCKET, Prefix="processed/")
    assert listed["KeyCount"] == 0


def test_same_key_uploaded_again__new_version_processed(
    processor, s3, items_table, context
):
    first = upload(s3, "uploads/daily.jsonl", jsonl({"name": "bolt", "quantity": 1}))
    second = upload(s3, "uploads/daily.jsonl", jsonl({"name": "bolt", "quantity": 2}))

    processor.handler(s3_event(first), context)
    processor.handler(s3_event(second), context)

    assert sorted(i["quantity"] for i in all_items(items_table)) == [1, 2]
    assert '"quantity": 2' in read(s3, "processed/daily.jsonl")


def test_key_with_spaces__decoded_and_processed_under_same_key(
    processor, s3, items_table, context
):
    obj = upload(
        s3, "uploads/my stock+extra.jsonl", jsonl({"name": "a", "quantity": 1})
    )

    processor.handler(s3_event(obj), context)

    assert json.loads(read(s3, "processed/my stock+extra.jsonl"))["name"] == "a"


@pytest.mark.parametrize(
    ("key", "body", "reason"),
    [
        ("uploads/notes.txt", "name,quantity\nbolt,1\n", "unsupported extension"),
        ("uploads/latin1.jsonl", "é".encode("latin-1"), "not UTF-8"),
        ("uploads/header.csv", "title,count\nbolt,1\n", "CSV header"),
    ],
)
def test_poison_object__invocation_raises_and_nothing_written(
    processor, s3, items_table, context, key, body, reason
):
    obj = upload(s3, key, body)

    with pytest.raises(Exception, match=reason):
        processor.handler(s3_event(obj), context)

    assert all_items(items_table) == []
    listed = s3.list_objects_v2(Bucket=DATA_BUCKET, Prefix="processed/")
    assert listed["KeyCount"] == 0


def test_poison_object__retry__fails_again_rather_than_replaying(
    processor, s3, dynamodb, context
):
    event = s3_event(upload(s3, "uploads/notes.txt", "x"))
    with pytest.raises(processor.uploads.ObjectsFailed):
        processor.handler(event, context)

    with pytest.raises(processor.uploads.ObjectsFailed):
        processor.handler(event, context)

    assert dynamodb.Table(IDEMPOTENCY_TABLE).scan()["Count"] == 0


def test_object_gone__invocation_raises(processor, s3, context):
    obj = upload(s3, "uploads/gone.jsonl", jsonl({"name": "a", "quantity": 1}))
    s3.delete_object(
        Bucket=DATA_BUCKET, Key="uploads/gone.jsonl", VersionId=obj["versionId"]
    )

    with pytest.raises(processor.uploads.ObjectsFailed, match="cannot read"):
        processor.handler(s3_event(obj), context)


def test_poison_beside_good_object__good_processed_then_raises(
    processor, s3, items_table, context
):
    good = upload(s3, "uploads/good.jsonl", jsonl({"name": "a", "quantity": 1}))
    bad = upload(s3, "uploads/bad.bin", b"\x00\x01")

    with pytest.raises(processor.uploads.ObjectsFailed) as failed:
        processor.handler(s3_event(bad, good), context)

    assert failed.value.failures == [
        f"s3://{DATA_BUCKET}/uploads/bad.bin: 'uploads/bad.bin' has an unsupported "
        "extension; use one of .jsonl, .ndjson, .csv"
    ]
    assert [i["name"] for i in all_items(items_table)] == ["a"]


def test_event_with_poison__retried__good_object_not_written_again(
    processor, s3, items_table, context
):
    good = upload(s3, "uploads/good.jsonl", jsonl({"name": "a", "quantity": 1}))
    event = s3_event(good, upload(s3, "uploads/bad.bin", b"\x00"))
    with pytest.raises(processor.uploads.ObjectsFailed):
        processor.handler(event, context)
    s3.delete_object(Bucket=DATA_BUCKET, Key="processed/good.jsonl")

    with pytest.raises(processor.uploads.ObjectsFailed):
        processor.handler(event, context)

    assert len(all_items(items_table)) == 1
    listed = s3.list_objects_v2(Bucket=DATA_BUCKET, Prefix="processed/")
    assert listed["KeyCount"] == 0


def test_object_outside_uploads__skipped(processor, s3, items_table, context):
    obj = upload(s3, "processed/x.jsonl", jsonl({"name": "a", "quantity": 1}))

    result = processor.handler(s3_event(obj), context)

    assert result == {
        "objects": [],
        "skipped": [f"ObjectCreated:Put s3://{DATA_BUCKET}/processed/x.jsonl"],
    }
    assert all_items(items_table) == []


def test_removal_event__skipped(processor, s3, items_table, context):
    obj = upload(s3, "uploads/x.jsonl", jsonl({"name": "a", "quantity": 1}))

    result = processor.handler(
        s3_event(obj, event_name="ObjectRemoved:Delete"), context
    )

    assert result["objects"] == []
    assert len(result["skipped"]) == 1
    assert all_items(items_table) == []


def test_s3_test_event__nothing_to_do(processor, context):
    event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": DATA_BUCKET}

    assert processor.handler(event, context) == {"objects": [], "skipped": []}
