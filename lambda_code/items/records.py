"""The item record: what a client or an upload may send, and its stored form.

A record has a ``name`` (text), a ``quantity`` (whole number, not negative) and
an optional ``price`` (number, not negative). Anything else is refused, so a
caller can never set the id, the timestamp or an attribute of its own choosing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

NAME_MAX_LENGTH = 200
# DynamoDB keeps numbers to 38 significant digits; these bounds stay well inside.
QUANTITY_MAX = 10**9
PRICE_MAX = Decimal(10**9)
PRICE_MAX_DIGITS = 20
FIELDS = ("name", "quantity", "price")
REQUIRED = ("name", "quantity")
_DIGITS = re.compile(r"[0-9]+")


class InvalidRecord(ValueError):
    """A record that breaks the schema; ``problems`` has one sentence per field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ItemFields:
    """The validated fields of a record, before it gets an id and a timestamp."""

    name: str
    quantity: int
    price: Decimal | None = None

    def to_item(self, item_id: str, created_at: datetime, source: str) -> dict:
        """The stored form: what goes into the table and back to the client."""
        item: dict[str, Any] = {
            "id": item_id,
            "name": self.name,
            "quantity": self.quantity,
            "created_at": created_at.isoformat(timespec="milliseconds"),
            "source": source,
        }
        if self.price is not None:
            item["price"] = self.price
        return item


def validate(record: Any, *, from_text: bool = False) -> ItemFields:
    """Check one record; ``from_text`` accepts numbers written as text (CSV)."""
    if not isinstance(record, Mapping):
        raise InvalidRecord([f"expected a JSON object, got {_kind(record)}"])

    problems = [f"{key}: unknown field" for key in record if key not in FIELDS]
    problems += [f"{key}: required" for key in REQUIRED if _absent(record.get(key))]

    name = record.get("name")
    if not _absent(name):
        if not isinstance(name, str) or not name.strip():
            problems.append(f"name: expected non-empty text, got {_kind(name)}")
        elif len(name.strip()) > NAME_MAX_LENGTH:
            problems.append(f"name: longer than {NAME_MAX_LENGTH} characters")

    quantity = _integer(record.get("quantity"), from_text)
    if not _absent(record.get("quantity")) and quantity is None:
        problems.append(
            f"quantity: expected a whole number from 0 to {QUANTITY_MAX}, "
            f"got {_kind(record.get('quantity'))}"
        )

    price = _decimal(record.get("price"), from_text)
    if not _absent(record.get("price")) and price is None:
        problems.append(
            f"price: expected a number from 0 to {PRICE_MAX} with at most "
            f"{PRICE_MAX_DIGITS} digits, got {_kind(record.get('price'))}"
        )

    if problems:
        raise InvalidRecord(problems)
    return ItemFields(name=name.strip(), quantity=quantity, price=price)


def to_json_value(value: Any) -> Any:
    """Turn the table's Decimals back into JSON numbers, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json_value(v) for v in value]
    return value


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def _integer(value: Any, from_text: bool) -> int | None:
    # bool is a subclass of int in Python; JSON true is not a quantity.
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif from_text and isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, int) and 0 <= value <= QUANTITY_MAX:
        return value
    return None


def _decimal(value: Any, from_text: bool) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and not (
        isinstance(value, float) and not math.isfinite(value)
    ):
        # str() first: Decimal(0.1) would carry the binary error into the table.
        number = Decimal(str(value))
    elif from_text and isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        if not number.is_finite():
            return None
    else:
        return None
    if 0 <= number <= PRICE_MAX and len(number.as_tuple().digits) <= PRICE_MAX_DIGITS:
        return number
    return None


def _kind(value: Any) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"text {shown!r}"
    names = {bool: "a boolean", int: "a number", float: "a number", list: "a list"}
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    return names.get(type(value), type(value).__name__)
