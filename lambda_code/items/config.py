"""Settings of a function, read from its environment once, at cold start.

The handlers hold no secrets, so SECRET_PARAMETERS, which the stack may set, is
not read here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


class ConfigurationError(RuntimeError):
    """The function's environment is missing or malformed; it cannot start."""


@dataclass(frozen=True)
class Settings:
    items_table: str
    idempotency_table: str
    data_bucket: str | None = None


def load_settings(env: Mapping[str, str], required: Iterable[str]) -> Settings:
    """Read the settings, failing with the name of the first missing variable."""
    for name in required:
        if not env.get(name, "").strip():
            raise ConfigurationError(
                f"environment variable {name} is missing or empty; "
                "the stack sets it on every function"
            )

    return Settings(
        items_table=env.get("ITEMS_TABLE", ""),
        idempotency_table=env.get("IDEMPOTENCY_TABLE", ""),
        data_bucket=env.get("DATA_BUCKET") or None,
    )
