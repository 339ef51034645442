"""The items table, reached through a boto3 ``Table`` resource given by the caller."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class ItemStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def put(self, item: dict) -> None:
        self._table.put_item(Item=item)

    def get(self, item_id: str) -> dict | None:
        response = self._table.get_item(Key={"id": item_id}, ConsistentRead=True)
        return response.get("Item")

    def put_many(self, items: Iterable[dict]) -> int:
        """Write items in batches; returns how many were written.

        The batch writer sends BatchWriteItem calls of at most 25 items (the
        DynamoDB limit) and resends whatever DynamoDB returns as unprocessed.
        """
        count = 0
        with self._table.batch_writer(overwrite_by_pkeys=["id"]) as batch:
            for item in items:
                batch.put_item(Item=item)
                count += 1
        return count
