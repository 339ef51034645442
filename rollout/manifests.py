"""Region manifests: load, merge with defaults, validate.

Everything here runs before anything is rendered, imports neither Pulumi nor
boto3, and reports a problem as a ManifestError naming the file, the key and
what would be accepted.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rollout.endpoint_services import ENDPOINT_SERVICES
from rollout.errors import InputError, ManifestError
from rollout.naming import NamingError, check_stack_names
from rollout.regions import KNOWN_REGIONS, default_cidr

DEFAULTS_FILE = "defaults.yaml"
DEFAULTS_FILES = (DEFAULTS_FILE, "defaults.yml")

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

# AWS allows 50 tags a resource; rollout adds its own to every one.
ROLLOUT_TAGS = 3
MAX_TAGS = 50 - ROLLOUT_TAGS

_ENV_REF_RE = re.compile(r"^env:[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_TAG_KEY_RE = re.compile(r"^[\w .:/=+\-@]{1,128}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


class Capacity(_Strict):
    min: Annotated[int, Field(ge=1, strict=True)] = 5
    max: Annotated[int, Field(ge=1, strict=True)] = 100

    @model_validator(mode="after")
    def _min_not_above_max(self) -> Capacity:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class Vpc(_Strict):
    cidr: ipaddress.IPv4Network | None = None
    az_count: Literal[2, 3] = 2

    @field_validator("cidr", mode="before")
    @classmethod
    def _parse_cidr(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("must be a CIDR string such as '10.20.0.0/16'")
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"'{value}' is not an IPv4 network: {exc}") from None
        if not network.is_private:
            raise ValueError(f"'{value}' is not a private range (RFC 1918)")
        if not 16 <= network.prefixlen <= 24:
            raise ValueError(f"'{value}' must be a /16 to /24")
        return network


class DynamoDb(_Strict):
    read_capacity: Capacity = Capacity()
    write_capacity: Capacity = Capacity()
    target_utilization: Annotated[float, Field(ge=20, le=90)] = 70


class LambdaSettings(_Strict):
    memory_mb: Annotated[int, Field(ge=128, le=10240, strict=True)] = 256
    timeout_s: Annotated[int, Field(ge=1, le=900, strict=True)] = 10


class Alarms(_Strict):
    error_rate_percent: Annotated[float, Field(gt=0, le=100)] = 1


class Logs(_Strict):
    retention_days: int = 7

    @field_validator("retention_days")
    @classmethod
    def _cloudwatch_value(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            allowed = ", ".join(str(v) for v in LOG_RETENTION_DAYS)
            raise ValueError(f"{value} is not one of CloudWatch's values: {allowed}")
        return value


class S3Settings(_Strict):
    processed_expiry_days: Annotated[int, Field(ge=1, strict=True)] = 30


class SmokeRequest(_Strict):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    path: str
    body: Any = None
    expect: Annotated[int, Field(ge=100, le=599)] = 200

    @field_validator("path")
    @classmethod
    def _absolute_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"'{value}' must start with '/', e.g. '/items'")
        return value


class Canary(_Strict):
    # A day at most: a longer bake is a forgotten rollout, not a safer one.
    bake_minutes: Annotated[float, Field(ge=0, le=1440)] = 10
    smoke: list[SmokeRequest] = []


class Settings(_Strict):
    """The keys a region inherits from defaults.yaml and may override."""

    vpc: Vpc = Vpc()
    dynamodb: DynamoDb = DynamoDb()
    lambda_: LambdaSettings = Field(LambdaSettings(), alias="lambda")
    alarms: Alarms = Alarms()
    logs: Logs = Logs()
    s3: S3Settings = S3Settings()
    canary: Canary = Canary()
    endpoints: dict[str, str] = {}
    profile: str | None = None
    secrets: dict[str, str] = {}
    tags: dict[str, str] = {}

    @field_validator("endpoints")
    @classmethod
    def _endpoint_urls(cls, value: dict[str, str]) -> dict[str, str]:
        for service, url in value.items():
            if service not in ENDPOINT_SERVICES:
                close = difflib.get_close_matches(service, ENDPOINT_SERVICES, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ValueError(
                    f"'{service}' is not a service whose endpoint the AWS provider "
                    f"can override{hint}"
                )
            if not re.match(r"^https?://[^/\s]+", url):
                raise ValueError(
                    f"endpoint for '{service}' must be an http(s) URL, got '{url}'"
                )
        return value

    @field_validator("secrets")
    @classmethod
    def _secret_refs(cls, value: dict[str, str]) -> dict[str, str]:
        for name, ref in value.items():
            if not _SECRET_NAME_RE.match(name):
                raise ValueError(
                    f"secret name '{name}' must be letters, digits, '_' or '-'"
                )
            if not isinstance(ref, str) or not _ENV_REF_RE.match(ref):
                raise ValueError(
                    f"secret '{name}' must be 'env:VARIABLE', the name of an "
                    "environment variable that holds the value"
                )
        return value

    @field_validator("tags")
    @classmethod
    def _tag_keys(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_TAGS:
            raise ValueError(
                f"{len(value)} tags, over the {MAX_TAGS} that leave room for "
                f"rollout's own {ROLLOUT_TAGS} within AWS's 50 a resource"
            )
        for key, tag in value.items():
            if not _TAG_KEY_RE.match(key) or key.lower().startswith("aws:"):
                raise ValueError(f"tag key '{key}' is not allowed by AWS")
            if len(tag) > 256:
                raise ValueError(f"tag '{key}' is longer than 256 characters")
        return value


class RegionManifest(Settings):
    """One region: defaults merged under the region's own file."""

    region: str
    role: Literal["primary", "canary", "secondary"]
    wave: Annotated[int, Field(ge=1, strict=True)] | None = None

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value not in KNOWN_REGIONS:
            raise ValueError(f"'{value}' is not an AWS region rollout knows")
        return value

    @field_validator("wave")
    @classmethod
    def _primary_takes_no_wave(cls, value: int | None, info: ValidationInfo):
        if value is not None and info.data.get("role") == "primary":
            raise ValueError("the primary region is wave 0 and takes no 'wave'")
        return value

    @property
    def effective_wave(self) -> int:
        if self.role == "primary":
            return 0
        if self.wave is not None:
            return self.wave
        return 1 if self.role == "canary" else 2

    @property
    def cidr(self) -> ipaddress.IPv4Network:
        return self.vpc.cidr or default_cidr(self.region)


@dataclass(frozen=True)
class LoadedRegion:
    manifest: RegionManifest
    path: Path


@dataclass(frozen=True)
class Project:
    """Every region manifest of a project, validated together."""

    root: Path
    regions: dict[str, LoadedRegion]

    @property
    def primary(self) -> RegionManifest:
        return next(
            r.manifest for r in self.regions.values() if r.manifest.role == "primary"
        )

    def manifest(self, region: str) -> RegionManifest:
        return self.regions[region].manifest

    def select(self, names: list[str] | None) -> list[RegionManifest]:
        """The regions to act on, the primary always first, then by wave.

        ``None``, an empty list or ``["all"]`` mean every region.
        """
        if not names or names == ["all"]:
            chosen = set(self.regions)
        else:
            seen: set[str] = set()
            for name in names:
                if name in seen:
                    raise InputError(f"--regions: '{name}' is listed twice")
                seen.add(name)
                if name not in self.regions:
                    known = ", ".join(sorted(self.regions))
                    raise InputError(
                        f"--regions: no manifest for '{name}' in "
                        f"{self.root / 'regions'}; known regions: {known}"
                    )
            chosen = seen | {self.primary.region}
        manifests = [self.regions[name].manifest for name in chosen]
        return sorted(manifests, key=lambda m: (m.effective_wave, m.region))


def parse_regions_option(value: str | None) -> list[str] | None:
    """Split ``--regions`` into names; None means every region."""
    if value is None:
        return None
    names = [part.strip() for part in value.split(",")]
    if any(not name for name in names):
        raise InputError(f"--regions: '{value}' has an empty region name")
    return names


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep=False):
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key '{key}' appears twice in one mapping",
                key_node.start_mark,
            )
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def read_yaml_mapping(
    path: Path, label: str, *, empty_ok: bool = False
) -> dict[str, Any]:
    """Read one YAML file that must hold a mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(label, None, f"cannot be read: {exc}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (safe loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or str(exc)
        raise ManifestError(
            label, None, f"invalid YAML at {where}: {problem}"
        ) from None
    except yaml.YAMLError as exc:
        raise ManifestError(label, None, f"invalid YAML: {exc}") from None
    if data is None and empty_ok:
        return {}
    if data is None:
        raise ManifestError(label, None, "is empty; a manifest is a YAML mapping")
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ManifestError(label, None, f"must be a YAML mapping, not a {kind}")
    for key in data:
        if not isinstance(key, str):
            raise ManifestError(label, str(key), "keys must be strings")
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; any other value in override replaces base's."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _first_error(exc: ValidationError, label: str) -> ManifestError:
    error = exc.errors(include_url=False)[0]
    key = ".".join(str(part) for part in error["loc"] if part != "lambda_")
    key = key.replace("lambda_", "lambda")
    message = error["msg"].replace("Input should be", "must be")
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "is required"
    elif error["type"] == "literal_error":
        message = f"{message}, got {error.get('input')!r}"
    elif error["type"] not in ("value_error", "assertion_error"):
        message = f"{message}, got {error.get('input')!r}"
    return ManifestError(label, key or None, message)


def _validate_defaults(data: dict[str, Any], label: str) -> None:
    for key in ("region", "role", "wave"):
        if key in data:
            raise ManifestError(label, key, "belongs in a region's own manifest")
    try:
        Settings.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, label) from None


def _label(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def load_project(root: Path, env: str = "dev") -> Project:
    """Load and validate every manifest under ``root/regions``."""
    regions_dir = root / "regions"
    if not regions_dir.is_dir():
        raise InputError(f"{regions_dir}: no regions/ folder; is --project-dir right?")

    defaults: dict[str, Any] = {}
    found = [
        regions_dir / name for name in DEFAULTS_FILES if (regions_dir / name).exists()
    ]
    if len(found) > 1:
        raise ManifestError(
            _label(found[1], root),
            None,
            f"and {found[0].name} both hold defaults; keep one",
        )
    for defaults_path in found:
        label = _label(defaults_path, root)
        # Defaults are optional: a file holding only comments sets none.
        defaults = read_yaml_mapping(defaults_path, label, empty_ok=True)
        _validate_defaults(defaults, label)

    paths = sorted(
        p
        for p in list(regions_dir.glob("*.yaml")) + list(regions_dir.glob("*.yml"))
        if p.name not in DEFAULTS_FILES
    )
    if not paths:
        raise InputError(f"{_label(regions_dir, root)}: no region manifests (*.yaml)")

    loaded: dict[str, LoadedRegion] = {}
    for path in paths:
        label = _label(path, root)
        data = read_yaml_mapping(path, label)
        try:
            manifest = RegionManifest.model_validate(deep_merge(defaults, data))
        except ValidationError as exc:
            raise _first_error(exc, label) from None
        if path.stem != manifest.region:
            raise ManifestError(
                label,
                "region",
                f"'{manifest.region}' does not match the file name; "
                f"name the file {manifest.region}.yaml",
            )
        if manifest.region in loaded:
            other = _label(loaded[manifest.region].path, root)
            raise ManifestError(label, "region", f"'{manifest.region}' is also {other}")
        try:
            check_stack_names(env, manifest.region)
        except NamingError as exc:
            raise ManifestError(label, "region", str(exc)) from None
        loaded[manifest.region] = LoadedRegion(manifest, path)

    _validate_together(loaded, root)
    return Project(root=root, regions=loaded)


def _validate_together(loaded: dict[str, LoadedRegion], root: Path) -> None:
    """The rules that involve more than one manifest."""
    primaries = [r for r in loaded.values() if r.manifest.role == "primary"]
    if not primaries:
        raise ManifestError(
            "regions/", "role", "no region is 'primary'; exactly one must be"
        )
    if len(primaries) > 1:
        names = ", ".join(_label(r.path, root) for r in primaries)
        raise ManifestError(
            _label(primaries[1].path, root),
            "role",
            f"two regions are 'primary' ({names}); exactly one must be",
        )

    canaries = [r for r in loaded.values() if r.manifest.role == "canary"]
    secondaries = [r for r in loaded.values() if r.manifest.role == "secondary"]
    if canaries and secondaries:
        last_canary = max(canaries, key=lambda r: r.manifest.effective_wave)
        for region in sorted(secondaries, key=lambda r: r.manifest.effective_wave):
            if region.manifest.effective_wave <= last_canary.manifest.effective_wave:
                raise ManifestError(
                    _label(region.path, root),
                    "wave",
                    f"secondary wave {region.manifest.effective_wave} is not later "
                    f"than canary {last_canary.manifest.region}'s wave "
                    f"{last_canary.manifest.effective_wave}",
                )

    ordered = sorted(loaded.values(), key=lambda r: r.manifest.region)
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            if first.manifest.cidr.overlaps(second.manifest.cidr):
                raise ManifestError(
                    _label(second.path, root),
                    "vpc.cidr",
                    f"{second.manifest.cidr} overlaps {first.manifest.cidr} of "
                    f"{first.manifest.region}",
                )
