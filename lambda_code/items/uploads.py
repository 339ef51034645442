"""What the processor does with one uploaded object, in plain functions.

An object under ``uploads/`` holds item records as JSON lines (``.jsonl``,
``.ndjson``) or CSV with a header row (``.csv``). Valid records are written to
the items table and, normalized, to ``processed/`` under the same relative key;
invalid records are reported without holding back the valid ones. An object
that cannot be read as a whole raises PoisonObject.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from botocore.exceptions import ClientError

from items.records import FIELDS, REQUIRED, InvalidRecord, ItemFields, to_json_value
from items.records import validate as validate_record
from items.service import utc_now
from items.store import ItemStore

UPLOADS_PREFIX = "uploads/"
PROCESSED_PREFIX = "processed/"
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
# An object is read whole and written within one invocation; bigger ones would
# outgrow the function's memory and timeout, so they must be split upstream.
OBJECT_MAX_BYTES = 10 * 1024 * 1024
# The report is kept in the idempotency table, whose items are limited to 400 KB.
REPORTED_PROBLEMS_MAX = 50
CSV_COLUMNS = ("id", "name", "quantity", "price", "created_at", "source")

logger = Logger(child=True)


class PoisonObject(Exception):
    """The object cannot be processed at all; retrying will not help."""


class ObjectsFailed(Exception):
    """Some objects of an event failed; raised after the others were processed,
    so that Lambda retries the event and, in the end, sends it to the DLQ."""

    def __init__(self, failures: list[str]) -> None:
        super().__init__(f"{len(failures)} object(s) failed: " + "; ".join(failures))
        self.failures = failures


@dataclass(frozen=True)
class ObjectRef:
    """One uploaded object version, as an S3 notification names it."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str = ""

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def as_data(self) -> dict:
        """What makes two deliveries the same: bucket, key, version and etag."""
        return {
            "bucket": self.bucket,
            "key": self.key,
            "versionId": self.version_id,
            "eTag": self.etag,
        }

    @classmethod
    def from_data(cls, data: dict) -> ObjectRef:
        return cls(data["bucket"], data["key"], data["versionId"], data["eTag"])


@dataclass(frozen=True)
class Parsed:
    valid: list[tuple[int, ItemFields]]
    invalid: list[dict]


def processed_key(key: str) -> str:
    return PROCESSED_PREFIX + key.removeprefix(UPLOADS_PREFIX)


def object_format(key: str) -> str:
    for suffix, name in FORMATS.items():
        if key.lower().endswith(suffix):
            return name
    raise PoisonObject(
        f"{key!r} has an unsupported extension; use one of {', '.join(FORMATS)}"
    )


def parse(key: str, data: bytes) -> Parsed:
    """Split an object's records into valid fields and reported problems."""
    fmt = object_format(key)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PoisonObject(f"{key!r} is not UTF-8 text: {exc.reason}") from exc

    if fmt == "csv":
        rows = _csv_rows(key, text)
        from_text = True
    else:
        rows = _json_lines(text)
        from_text = False

    # A row the reader could not turn into a record arrives as its InvalidRecord.
    valid, invalid = [], []
    for line, record in rows:
        if isinstance(record, InvalidRecord):
            invalid.append({"line": line, "problems": record.problems})
            continue
        try:
            fields = validate_record(record, from_text=from_text)
        except InvalidRecord as exc:
            invalid.append({"line": line, "problems": exc.problems})
        else:
            valid.append((line, fields))
    return Parsed(valid=valid, invalid=invalid)


def _json_lines(text: str) -> list[tuple[int, Any]]:
    rows: list[tuple[int, Any]] = []
    for line, content in enumerate(text.splitlines(), start=1):
        if not content.strip():
            continue
        try:
            rows.append((line, json.loads(content)))
        except json.JSONDecodeError as exc:
            rows.append((line, InvalidRecord([f"not valid JSON: {exc.msg}"])))
    return rows


def _csv_rows(key: str, text: str) -> list[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        return _csv_records(key, reader)
    except csv.Error as exc:
        raise PoisonObject(f"{key!r} is not readable as CSV: {exc}") from exc


def _csv_records(key: str, reader: csv.DictReader) -> list[tuple[int, Any]]:
    header = reader.fieldnames or []
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in FIELDS]
    if header and (missing or unknown):
        raise PoisonObject(
            f"{key!r} has a CSV header {header}; it needs {list(REQUIRED)} "
            f"and may add {[f for f in FIELDS if f not in REQUIRED]} "
            f"(missing {missing}, unknown {unknown})"
        )

    rows: list[tuple[int, Any]] = []
    for row in reader:
        if None in row or None in row.values():
            rows.append((reader.line_num, InvalidRecord(["wrong number of columns"])))
        else:
            rows.append((reader.line_num, row))
    return rows


def item_id(ref: ObjectRef, line: int) -> str:
    """The same record of the same object version always gets the same id."""
    version = ref.version_id or ref.etag
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ref.uri}?version={version}#{line}"))


def render(fmt: str, items: list[dict]) -> tuple[bytes, str]:
    """The normalized records in the object's own format, with a content type."""
    rows = [to_json_value(item) for item in items]
    if fmt == "csv":
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue().encode("utf-8"), "text/csv"
    lines = "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows)
    return lines.encode("utf-8"), "application/x-ndjson"


def read_object(s3: Any, ref: ObjectRef) -> bytes:
    options = {"VersionId": ref.version_id} if ref.version_id else {}
    try:
        response = s3.get_object(Bucket=ref.bucket, Key=ref.key, **options)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "unknown")
        raise PoisonObject(f"cannot read {ref.uri}: {code}") from exc

    size = response.get("ContentLength", 0)
    if size > OBJECT_MAX_BYTES:
        response["Body"].close()
        raise PoisonObject(
            f"{ref.uri} is {size} bytes; objects above {OBJECT_MAX_BYTES} bytes "
            "must be split before upload"
        )
    return response["Body"].read()


def process_object(
    s3: Any,
    store: ItemStore,
    ref: ObjectRef,
    output_bucket: str,
    *,
    now: Callable[[], datetime] = utc_now,
) -> dict:
    """Read, validate, store and copy out one object; returns its report."""
    fmt = object_format(ref.key)
    parsed = parse(ref.key, read_object(s3, ref))

    created_at = now()
    items = [
        fields.to_item(item_id(ref, line), created_at, source=ref.uri)
        for line, fields in parsed.valid
    ]
    written = store.put_many(items)

    body, content_type = render(fmt, items)
    target = processed_key(ref.key)
    s3.put_object(Bucket=output_bucket, Key=target, Body=body, ContentType=content_type)

    return {
        "object": ref.uri,
        "processed": f"s3://{output_bucket}/{target}",
        "valid": written,
        "invalid": len(parsed.invalid),
        "problems": parsed.invalid[:REPORTED_PROBLEMS_MAX],
    }


def idempotency_config() -> IdempotencyConfig:
    return IdempotencyConfig(expires_after_seconds=24 * 60 * 60)


def idempotent_processor(
    s3: Any,
    store: ItemStore,
    output_bucket: str,
    persistence: BasePersistenceLayer,
    config: IdempotencyConfig,
) -> Callable[[ObjectRef], dict]:
    """``process(ref)``: a second delivery of the same object version returns the
    first report and writes nothing. A failure leaves no record, so a retry runs
    again."""

    def process(source: dict) -> dict:
        ref = ObjectRef.from_data(source)
        return process_object(s3, store, ref, output_bucket)

    once = idempotent_function(
        process,
        data_keyword_argument="source",
        persistence_store=persistence,
        config=config,
        key_prefix="processor-object",
    )
    return lambda ref: once(source=ref.as_data())


def object_refs(event: dict, bucket: str) -> tuple[list[ObjectRef], list[str]]:
    """The objects created under ``uploads/`` of ``bucket``; the rest is skipped."""
    refs, skipped = [], []
    # S3 sends a test event without records when a notification is configured.
    if not event.get("Records"):
        return refs, skipped

    for record in S3Event(event).records:
        # NOTE: keys arrive URL-encoded, spaces as "+"; see
        # https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
        obj = record.s3.get_object
        ref = ObjectRef(
            bucket=record.s3.bucket.name,
            key=unquote_plus(obj.key),
            version_id=obj.version_id,
            etag=obj.etag,
        )
        if (
            not record.event_name.startswith("ObjectCreated:")
            or ref.bucket != bucket
            or not ref.key.startswith(UPLOADS_PREFIX)
        ):
            skipped.append(f"{record.event_name} {ref.uri}")
            continue
        refs.append(ref)
    return refs, skipped


def process_event(
    event: dict, process: Callable[[ObjectRef], dict], bucket: str
) -> dict:
    """Process every object of an S3 notification, then fail if any failed."""
    refs, skipped = object_refs(event, bucket)
    if skipped:
        logger.warning("records skipped", extra={"skipped": skipped})

    reports, failures = [], []
    for ref in refs:
        try:
            report = process(ref)
        except Exception as exc:
            logger.exception("object failed", extra={"object": ref.uri})
            failures.append(f"{ref.uri}: {exc}")
            continue
        if report["invalid"]:
            logger.warning("invalid records", extra=report)
        else:
            logger.info("object processed", extra=report)
        reports.append(report)

    if failures:
        raise ObjectsFailed(failures)
    return {"objects": reports, "skipped": skipped}
