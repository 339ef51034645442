"""What a rendered stack config must hold for the program to read it.

A blueprint is the user's to change; the program reads fixed keys of fixed
types. Checking the rendered config here turns a template that emits a wrong
value into an error naming the template, the key and the value, before any
file is written or any stack is synthesized.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rollout.manifests import LOG_RETENTION_DAYS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Capacity(_Strict):
    min: Annotated[int, Field(ge=1)]
    max: Annotated[int, Field(ge=1)]


class _Network(_Strict):
    cidr: str
    azCount: Literal[2, 3]  # noqa: N815 (the config's own spelling)


class _DynamoDb(_Strict):
    readCapacity: _Capacity  # noqa: N815
    writeCapacity: _Capacity  # noqa: N815
    targetUtilization: Annotated[float, Field(ge=20, le=90, strict=False)]  # noqa: N815


class _Lambda(_Strict):
    memoryMb: Annotated[int, Field(ge=128, le=10240)]  # noqa: N815
    timeoutS: Annotated[int, Field(ge=1, le=900)]  # noqa: N815


class _Alarms(_Strict):
    errorRatePercent: Annotated[float, Field(gt=0, le=100, strict=False)]  # noqa: N815


class _Logs(_Strict):
    retentionDays: Literal[LOG_RETENTION_DAYS]  # type: ignore[valid-type]  # noqa: N815


class _S3(_Strict):
    processedExpiryDays: Annotated[int, Field(ge=1)]  # noqa: N815


class _Artifact(_Strict):
    key: str
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    path: str | None = None


# Every key the program reads under the `rollout:` namespace, and its shape.
_KEYS: dict[str, Any] = {
    "env": str,
    "region": str,
    "role": Literal["primary", "canary", "secondary"],
    "wave": Annotated[int, Field(ge=0)],
    "primaryRegion": str,
    "artifactRegions": list[str],
    "artifact": _Artifact,
    "network": _Network,
    "dynamodb": _DynamoDb,
    "lambda": _Lambda,
    "alarms": _Alarms,
    "logs": _Logs,
    "s3": _S3,
    "endpoints": dict[str, str],
    "profile": str | None,
    "secretNames": list[str],
    "tags": dict[str, str],
}
_REQUIRED = set(_KEYS) - {"endpoints", "profile", "secretNames", "tags"}


StackConfigModel = type(
    "StackConfigModel",
    (_Strict,),
    {
        "__annotations__": {
            name: (shape if name in _REQUIRED else shape | None)
            for name, shape in _KEYS.items()
        },
        **{name: None for name in _KEYS if name not in _REQUIRED},
    },
)


def config_problem(config: dict[str, Any], region: str) -> str | None:
    """What is wrong with a rendered stack's ``config:`` mapping, or None."""
    ours = {}
    for key, value in config.items():
        namespace, _, name = str(key).partition(":")
        if namespace == "rollout" and not name.startswith("secret-"):
            ours[name] = value
    try:
        StackConfigModel.model_validate(ours)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        path = ".".join(str(p) for p in error["loc"])
        if error["type"] == "extra_forbidden":
            return f"renders rollout:{path}, a key the program does not read"
        if error["type"] == "missing":
            return f"renders no rollout:{path}, which the program needs"
        return (
            f"renders rollout:{path} = {error.get('input')!r}: "
            f"{error['msg'].replace('Input should be', 'must be')}"
        )
    if ours.get("region") != region:
        return f"renders rollout:region = {ours.get('region')!r} for region {region}"
    return None
