"""The stack config rendered by rollout, read into typed values."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi


@dataclass(frozen=True)
class Capacity:
    min: int
    max: int


@dataclass(frozen=True)
class StackConfig:
    env: str
    region: str
    role: str
    wave: int
    primary_region: str
    artifact_regions: list[str]
    artifact_key: str
    artifact_sha256: str
    artifact_path: str | None
    cidr: str
    az_count: int
    read_capacity: Capacity
    write_capacity: Capacity
    target_utilization: float
    memory_mb: int
    timeout_s: int
    error_rate_percent: float
    retention_days: int
    processed_expiry_days: int
    endpoints: dict[str, str] = field(default_factory=dict)
    profile: str | None = None
    secret_names: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def is_primary(self) -> bool:
        return self.role == "primary"

    @classmethod
    def load(cls) -> StackConfig:
        config = pulumi.Config("rollout")
        artifact = config.require_object("artifact")
        network = config.require_object("network")
        dynamodb = config.require_object("dynamodb")
        function = config.require_object("lambda")
        return cls(
            env=config.require("env"),
            region=config.require("region"),
            role=config.require("role"),
            wave=config.require_int("wave"),
            primary_region=config.require("primaryRegion"),
            artifact_regions=list(config.require_object("artifactRegions")),
            artifact_key=artifact["key"],
            artifact_sha256=artifact["sha256"],
            artifact_path=artifact.get("path"),
            cidr=network["cidr"],
            az_count=int(network["azCount"]),
            read_capacity=Capacity(**dynamodb["readCapacity"]),
            write_capacity=Capacity(**dynamodb["writeCapacity"]),
            target_utilization=float(dynamodb["targetUtilization"]),
            memory_mb=int(function["memoryMb"]),
            timeout_s=int(function["timeoutS"]),
            error_rate_percent=float(
                config.require_object("alarms")["errorRatePercent"]
            ),
            retention_days=int(config.require_object("logs")["retentionDays"]),
            processed_expiry_days=int(
                config.require_object("s3")["processedExpiryDays"]
            ),
            endpoints=dict(config.get_object("endpoints") or {}),
            profile=config.get("profile"),
            secret_names=list(config.get_object("secretNames") or []),
            tags=dict(config.get_object("tags") or {}),
        )

    def secret(self, name: str) -> pulumi.Output[str]:
        """A secret the rollout set at apply time, as a Pulumi secret."""
        return pulumi.Config("rollout").require_secret(f"secret-{name}")
