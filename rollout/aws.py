"""boto3 clients per region, pointed where each region's manifest says.

A manifest may name a ``profile`` (its credentials) and ``endpoints`` (another
address per service, such as an emulator). Every boto3 call rollout makes goes
through :class:`AwsClients`, so those settings apply to all of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ProfileNotFound

from rollout.errors import InputError
from rollout.manifests import RegionManifest

# Retries with backoff for throttling and dropped connections; short timeouts,
# so a dead endpoint fails a region in seconds rather than minutes.
_BASE_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=10,
    read_timeout=60,
)


class AwsClients:
    """Builds and keeps one boto3 client per (region, service).

    Clients are created under a lock: a boto3 session is not safe to share
    between threads, while the clients it creates are.
    """

    def __init__(
        self,
        manifests: Mapping[str, RegionManifest],
        session_factory: Callable[..., Any] = boto3.Session,
    ) -> None:
        self._manifests = dict(manifests)
        self._session_factory = session_factory
        self._sessions: dict[str | None, Any] = {}
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, region: str, service: str) -> Any:
        """The client of ``service`` in ``region``, created on first use."""
        with self._lock:
            key = (region, service)
            if key not in self._clients:
                self._clients[key] = self._create(region, service)
            return self._clients[key]

    def endpoint(self, region: str, service: str) -> str | None:
        """The endpoint the region's manifest sets for ``service``, if any."""
        return self._manifest(region).endpoints.get(service)

    def _manifest(self, region: str) -> RegionManifest:
        try:
            return self._manifests[region]
        except KeyError:
            known = ", ".join(sorted(self._manifests)) or "none"
            raise InputError(
                f"no manifest for region '{region}' to build AWS clients from; "
                f"known regions: {known}"
            ) from None

    def _create(self, region: str, service: str) -> Any:
        manifest = self._manifest(region)
        endpoint = manifest.endpoints.get(service)

        config = _BASE_CONFIG
        if endpoint and service == "s3":
            # Emulators serve S3 on path-style URLs only (no bucket subdomains).
            config = config.merge(Config(s3={"addressing_style": "path"}))

        session = self._session(region, manifest.profile)
        return session.client(
            service, region_name=region, endpoint_url=endpoint, config=config
        )

    def _session(self, region: str, profile: str | None) -> Any:
        if profile not in self._sessions:
            try:
                if profile:
                    session = self._session_factory(profile_name=profile)
                else:
                    session = self._session_factory()
            except ProfileNotFound:
                raise InputError(
                    f"regions/{region}.yaml: profile '{profile}' is not in the AWS "
                    "config files; name a profile of ~/.aws/config or remove the key"
                ) from None
            self._sessions[profile] = session
        return self._sessions[profile]
