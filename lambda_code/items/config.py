"""Settings of a function, read from its environment once, at cold start."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


class ConfigurationError(RuntimeError):
    """The function's environment is missing or malformed; it cannot start."""


@dataclass(frozen=True)
class Settings:
    items_table: str
    idempotency_table: str
    data_bucket: str | None = None
    secret_parameters: Mapping[str, str] = field(default_factory=dict)


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
        secret_parameters=_secret_parameters(env.get("SECRET_PARAMETERS", "")),
    )


def _secret_parameters(raw: str) -> dict[str, str]:
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"environment variable SECRET_PARAMETERS is not valid JSON ({exc.msg}); "
            'expected a map such as {"api-key": "/rollout/dev/api-key"}'
        ) from exc
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ConfigurationError(
            "environment variable SECRET_PARAMETERS must map secret names to "
            'SSM parameter names, such as {"api-key": "/rollout/dev/api-key"}'
        )
    return value
