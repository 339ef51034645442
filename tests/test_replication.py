"""Replication of the artifact between regional buckets, against moto's server."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import pytest

from rollout.artifact import Artifact
from rollout.aws import AwsClients
from rollout.errors import InputError
from rollout.manifests import RegionManifest
from rollout.replication import CopyResult, Replicator

SOURCE = ("us-east-1", "artifacts-us-east-1")
TARGETS = {
    "eu-west-1": "artifacts-eu-west-1",
    "us-west-2": "artifacts-us-west-2",
    "ap-southeast-2": "artifacts-ap-southeast-2",
}


def manifests(endpoint: str, regions: list[str]) -> dict[str, RegionManifest]:
    return {
        region: RegionManifest(
            region=region,
            role="primary" if region == SOURCE[0] else "secondary",
            endpoints={"s3": endpoint, "cloudwatch": endpoint},
        )
        for region in regions
    }


@pytest.fixture
def clients(moto_reset: str, aws_env: None) -> AwsClients:
    return AwsClients(manifests(moto_reset, [SOURCE[0], *TARGETS]))


@pytest.fixture
def artifact(tmp_path: Path) -> Artifact:
    data = b"PK\x03\x04 a lambda zip " + bytes(range(256)) * 64
    sha256 = hashlib.sha256(data).hexdigest()
    path = tmp_path / f"{sha256}.zip"
    path.write_bytes(data)
    return Artifact(path=path, sha256=sha256)


def create_bucket(clients: AwsClients, region: str, bucket: str) -> None:
    s3 = clients.client(region, "s3")
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
        )


def create_buckets(clients: AwsClients, skip: tuple[str, ...] = ()) -> None:
    for region, bucket in [SOURCE, *TARGETS.items()]:
        if region not in skip:
            create_bucket(clients, region, bucket)


def stored(clients: AwsClients, region: str, bucket: str, key: str) -> bytes:
    s3 = clients.client(region, "s3")
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def object_exists(clients: AwsClients, region: str, bucket: str, key: str) -> bool:
    s3 = clients.client(region, "s3")
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=key)
    return listing.get("KeyCount", 0) > 0


def by_region(results: list[CopyResult]) -> dict[str, CopyResult]:
    return {result.region: result for result in results}


class S3Double:
    """A real S3 client whose copy_object is followed by a chosen mishap."""

    def __init__(self, real: Any, after_copy) -> None:
        self._real = real
        self._after_copy = after_copy

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def copy_object(self, **kwargs: Any) -> Any:
        response = self._real.copy_object(**kwargs)
        self._after_copy(self._real, kwargs)
        return response


class TamperedClients(AwsClients):
    """AwsClients whose S3 client of some regions misbehaves after a copy."""

    def __init__(self, manifests, mishaps: dict[str, Any]) -> None:
        super().__init__(manifests)
        self._mishaps = mishaps

    def client(self, region: str, service: str) -> Any:
        real = super().client(region, service)
        if service == "s3" and region in self._mishaps:
            return S3Double(real, self._mishaps[region])
        return real


def tampered(endpoint: str, mishaps: dict[str, Any]) -> TamperedClients:
    return TamperedClients(manifests(endpoint, [SOURCE[0], *TARGETS]), mishaps)


# Upload


def test_upload__bucket_exists__copied_with_sha256_metadata(clients, artifact):
    create_buckets(clients)

    result = Replicator(clients).upload(artifact, *SOURCE)

    assert (result.status, result.error) == ("copied", None)
    assert stored(clients, *SOURCE, artifact.ref.key) == artifact.path.read_bytes()
    head = clients.client(SOURCE[0], "s3").head_object(
        Bucket=SOURCE[1], Key=artifact.ref.key
    )
    assert head["Metadata"]["sha256"] == artifact.sha256


def test_upload__already_there__skipped(clients, artifact):
    create_buckets(clients)
    Replicator(clients).upload(artifact, *SOURCE)

    result = Replicator(clients).upload(artifact, *SOURCE)

    assert result.status == "skipped"


def test_upload__bucket_missing__failed_naming_region_and_bucket(clients, artifact):
    result = Replicator(clients).upload(artifact, *SOURCE)

    assert result.status == "failed"
    assert "artifacts-us-east-1" in result.error
    assert "us-east-1" in result.error
    assert "does not exist" in result.error


# Replicate


def test_replicate__buckets_in_four_regions__copied_to_each_and_verified(
    clients, artifact
):
    create_buckets(clients)
    replicator = Replicator(clients)
    replicator.upload(artifact, *SOURCE)

    results = replicator.replicate(artifact.ref, *SOURCE, TARGETS)

    assert [r.region for r in results] == list(TARGETS)
    assert {r.status for r in results} == {"copied"}
    for region, bucket in TARGETS.items():
        assert stored(clients, region, bucket, artifact.ref.key) == (
            artifact.path.read_bytes()
        )
        head = clients.client(region, "s3").head_object(
            Bucket=bucket, Key=artifact.ref.key
        )
        assert head["Metadata"]["sha256"] == artifact.sha256


def test_replicate__second_run__every_region_skipped(clients, artifact):
    create_buckets(clients)
    replicator = Replicator(clients)
    replicator.upload(artifact, *SOURCE)
    replicator.replicate(artifact.ref, *SOURCE, TARGETS)

    results = replicator.replicate(artifact.ref, *SOURCE, TARGETS)

    assert {r.region: r.status for r in results} == dict.fromkeys(TARGETS, "skipped")


def test_replicate__target_holds_other_bytes_claiming_the_sha__overwritten(
    clients, artifact
):
    create_buckets(clients)
    replicator = Replicator(clients)
    replicator.upload(artifact, *SOURCE)
    region, bucket = "eu-west-1", TARGETS["eu-west-1"]
    size = artifact.path.stat().st_size
    clients.client(region, "s3").put_object(
        Bucket=bucket,
        Key=artifact.ref.key,
        Body=b"x" * size,
        Metadata={"sha256": artifact.sha256},
    )

    results = by_region(replicator.replicate(artifact.ref, *SOURCE, TARGETS))

    assert results[region].status == "copied"
    assert stored(clients, region, bucket, artifact.ref.key) == (
        artifact.path.read_bytes()
    )


def test_replicate__copy_damaged_in_one_region__that_region_failed_and_cleaned(
    moto_reset, aws_env, artifact
):
    def overwrite_with_same_size_garbage(s3, request):
        size = artifact.path.stat().st_size
        s3.put_object(
            Bucket=request["Bucket"],
            Key=request["Key"],
            Body=b"\0" * size,
            Metadata={"sha256": artifact.sha256},
        )

    clients = tampered(moto_reset, {"us-west-2": overwrite_with_same_size_garbage})
    create_buckets(clients)
    replicator = Replicator(clients)
    replicator.upload(artifact, *SOURCE)

    results = by_region(replicator.replicate(artifact.ref, *SOURCE, TARGETS))

    failed = results["us-west-2"]
    assert failed.status == "failed"
    assert "us-west-2" in failed.error and TARGETS["us-west-2"] in failed.error
    assert "hash to" in failed.error
    assert not object_exists(clients, "us-west-2", TARGETS["us-west-2"], failed.key)
    assert results["eu-west-1"].status == "copied"
    assert results["ap-southeast-2"].status == "copied"


def test_replicate__s3_checksum_of_copy_differs__failed_on_checksum(
    moto_reset, aws_env, artifact
):
    def replace_with_checksummed_garbage(s3, request):
        s3.put_object(
            Bucket=request["Bucket"],
            Key=request["Key"],
            Body=b"\1" * artifact.path.stat().st_size,
            ChecksumAlgorithm="SHA256",
        )

    clients = tampered(moto_reset, {"eu-west-1": replace_with_checksummed_garbage})
    create_buckets(clients)
    replicator = Replicator(clients)
    replicator.upload(artifact, *SOURCE)

    results = by_region(replicator.replicate(artifact.ref, *SOURCE, TARGETS))

    assert results["eu-west-1"].status == "failed"
    assert "S3 reports SHA-256" in results["eu-west-1"].error
    assert "was deleted" in results["eu-west-1"].error


def test_replicate__copy_truncated__failed_on_size(moto_reset, aws_env, artifact):
    def truncate(s3, request):
        s3.put_object(Bucket=request["Bucket"], Key=request["Key"], Body=b"PK")

    clients = tampered(moto_reset, {"eu-west-1": truncate})
    create_buckets(clients)
    replicator = Replicator(clients)
    replicator.upload(artifact, *SOURCE)

    results = by_region(replicator.replicate(artifact.ref, *SOURCE, TARGETS))

    assert results["eu-west-1"].status == "failed"
    assert "holds 2 bytes" in results["eu-west-1"].error


def test_replicate__bucket_missing_in_one_region__failed_naming_it_others_copied(
    clients, artifact
):
    create_buckets(clients, skip=("ap-southeast-2",))
    replicator = Replicator(clients)
    replicator.upload(artifact, *SOURCE)

    results = by_region(replicator.replicate(artifact.ref, *SOURCE, TARGETS))

    missing = results["ap-southeast-2"]
    assert missing.status == "failed"
    assert "bucket 'artifacts-ap-southeast-2' does not exist in ap-southeast-2" in (
        missing.error
    )
    assert results["eu-west-1"].status == "copied"
    assert results["us-west-2"].status == "copied"


def test_replicate__source_object_missing__every_region_failed(clients, artifact):
    create_buckets(clients)

    results = Replicator(clients).replicate(artifact.ref, *SOURCE, TARGETS)

    assert [r.status for r in results] == ["failed"] * len(TARGETS)
    assert all("cannot copy from the source" in r.error for r in results)
    assert all(SOURCE[1] in r.error for r in results)


def test_replicate__region_without_manifest__failed_not_raised(clients, artifact):
    create_buckets(clients)
    replicator = Replicator(clients)
    replicator.upload(artifact, *SOURCE)

    results = replicator.replicate(
        artifact.ref, *SOURCE, {"eu-west-1": TARGETS["eu-west-1"], "sa-east-1": "b"}
    )

    assert [r.status for r in results] == ["copied", "failed"]
    assert "no manifest for region 'sa-east-1'" in results[1].error


def test_replicate__on_result__sees_each_region_once(clients, artifact):
    create_buckets(clients)
    replicator = Replicator(clients)
    replicator.upload(artifact, *SOURCE)
    seen: list[str] = []

    results = replicator.replicate(
        artifact.ref, *SOURCE, TARGETS, on_result=lambda r: seen.append(r.region)
    )

    assert sorted(seen) == sorted(TARGETS)
    assert [r.to_json()["status"] for r in results] == ["copied"] * len(TARGETS)


def test_replicate__three_regions_four_workers__copies_run_together(
    moto_reset, aws_env, artifact
):
    # Each copy waits until all three have started: run one at a time, the
    # barrier would time out and the copies would fail.
    barrier = threading.Barrier(len(TARGETS), timeout=10)

    def wait_for_the_others(s3, request):
        barrier.wait()

    clients = tampered(moto_reset, dict.fromkeys(TARGETS, wait_for_the_others))
    create_buckets(clients)
    replicator = Replicator(clients, max_workers=4)
    replicator.upload(artifact, *SOURCE)

    results = replicator.replicate(artifact.ref, *SOURCE, TARGETS)

    assert [r.status for r in results] == ["copied"] * len(TARGETS)


# Clients


class SessionDouble:
    created: list[dict[str, Any]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        SessionDouble.created.append(kwargs)
        self.clients: list[dict[str, Any]] = []

    def client(self, service: str, **kwargs: Any) -> dict[str, Any]:
        made = {
            "service": service,
            "profile": self.kwargs.get("profile_name"),
            **kwargs,
        }
        self.clients.append(made)
        return made


def test_aws_clients__endpoint_and_profile__used_for_the_region():
    SessionDouble.created = []
    regions = {
        "eu-west-1": RegionManifest(
            region="eu-west-1",
            role="canary",
            endpoints={"s3": "http://127.0.0.1:5000"},
            profile="staging",
        ),
        "us-east-1": RegionManifest(region="us-east-1", role="primary"),
    }
    clients = AwsClients(regions, session_factory=SessionDouble)

    s3 = clients.client("eu-west-1", "s3")
    cloudwatch = clients.client("eu-west-1", "cloudwatch")
    plain = clients.client("us-east-1", "s3")

    assert s3["endpoint_url"] == "http://127.0.0.1:5000"
    assert s3["region_name"] == "eu-west-1"
    assert s3["profile"] == "staging"
    assert s3["config"].s3 == {"addressing_style": "path"}
    assert cloudwatch["endpoint_url"] is None
    assert plain["endpoint_url"] is None and plain["profile"] is None
    assert clients.client("eu-west-1", "s3") is s3
    assert SessionDouble.created == [{"profile_name": "staging"}, {}]


def test_aws_clients__unknown_region__input_error_lists_known():
    clients = AwsClients({}, session_factory=SessionDouble)

    with pytest.raises(InputError, match="no manifest for region 'eu-west-3'"):
        clients.client("eu-west-3", "s3")


def test_aws_clients__profile_not_configured__input_error_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    manifest = RegionManifest(region="eu-west-1", role="canary", profile="nobody")
    clients = AwsClients({"eu-west-1": manifest})

    with pytest.raises(InputError, match="profile 'nobody'"):
        clients.client("eu-west-1", "s3")
