"""Events as API Gateway and S3 deliver them to the handlers."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote_plus


def api_event(
    method: str,
    path: str,
    body: str | bytes | dict | None = None,
    headers: dict[str, str] | None = None,
) -> dict:
    """An API Gateway REST proxy event, as the integration sends it."""
    encoded = False
    if isinstance(body, dict):
        body = json.dumps(body)
    elif isinstance(body, bytes):
        body, encoded = base64.b64encode(body).decode("ascii"), True
    headers = {"Content-Type": "application/json", **(headers or {})}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "accountId": "123456789012",
            "apiId": "1234567890",
            "identity": {"sourceIp": "192.0.2.1"},
        },
        "body": body,
        "isBase64Encoded": encoded,
    }


def s3_event(*objects: dict, event_name: str = "ObjectCreated:Put") -> dict:
    """An S3 notification for objects given as ``{bucket, key, versionId, eTag}``."""
    records = []
    for obj in objects:
        # S3 URL-encodes keys in notifications, spaces as "+".
        key = quote_plus(obj["key"], safe="/")
        s3_object = {"key": key, "size": 1, "eTag": obj["eTag"]}
        if obj.get("versionId"):
            s3_object["versionId"] = obj["versionId"]
        records.append(
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-12-03T12:00:00.000Z",
                "eventName": event_name,
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "uploads",
                    "bucket": {
                        "name": obj["bucket"],
                        "arn": f"arn:aws:s3:::{obj['bucket']}",
                    },
                    "object": s3_object,
                },
            }
        )
    return {"Records": records}
