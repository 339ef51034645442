"""Copy the Lambda artifact to the bucket of every region, and prove each copy.

The primary stack uploads the artifact to its own region's bucket; from there
:class:`Replicator` copies it to every other region in parallel with S3's
server-side copy, then reads each copy back and compares its size and sha256
with the artifact's. A region that already holds the artifact is skipped. A
failure in one region never stops the others: every region gets a
:class:`CopyResult` and the caller decides what a failure means.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from rollout.artifact import Artifact, ArtifactRef
from rollout.aws import AwsClients

log = logging.getLogger(__name__)

CopyStatus = Literal["copied", "skipped", "failed"]

_METADATA_KEY = "sha256"
_CHUNK = 1024 * 1024
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


@dataclass
class CopyResult:
    region: str
    bucket: str
    status: CopyStatus
    error: str | None = None
    key: str = ""
    sha256: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _RegionLog(logging.LoggerAdapter):
    def process(self, msg, kwargs):
        return f"[{self.extra['region']}] {msg}", kwargs


class CopyFailed(Exception):
    """One region's copy went wrong; the message says where and how."""


class Replicator:
    """Puts the artifact into regional buckets and checks what landed there."""

    def __init__(self, clients: AwsClients, max_workers: int = 4) -> None:
        self._clients = clients
        self._max_workers = max(1, max_workers)

    def upload(self, artifact: Artifact, region: str, bucket: str) -> CopyResult:
        """Upload the local zip to ``bucket`` in ``region``, unless it is there."""
        ref = artifact.ref
        result = CopyResult(region, bucket, "failed", key=ref.key, sha256=ref.sha256)
        rlog = _RegionLog(log, {"region": region})
        try:
            s3 = self._clients.client(region, "s3")
            data = artifact.path.read_bytes()
            if _holds(s3, bucket, ref, len(data)):
                rlog.debug("s3://%s/%s already holds the artifact", bucket, ref.key)
                result.status = "skipped"
                return result

            # S3 checks the body against ChecksumSHA256 and refuses a mismatch.
            s3.put_object(
                Bucket=bucket,
                Key=ref.key,
                Body=data,
                ContentType="application/zip",
                Metadata={_METADATA_KEY: ref.sha256},
                ChecksumSHA256=_b64(ref.sha256),
            )
            _verify(s3, bucket, ref, len(data))
        except Exception as exc:  # one region's failure is reported, never raised
            result.error = _describe(exc, region, bucket, ref.key)
            rlog.debug("upload failed: %s", result.error, exc_info=True)
            return result

        rlog.info("uploaded the artifact to s3://%s/%s", bucket, ref.key)
        result.status = "copied"
        return result

    def replicate(
        self,
        artifact: ArtifactRef,
        source_region: str,
        source_bucket: str,
        targets: dict[str, str],
        on_result: Callable[[CopyResult], None] | None = None,
    ) -> list[CopyResult]:
        """Copy the artifact from the source bucket to each ``region: bucket``.

        Returns one result per target, in the order of ``targets``;
        ``on_result`` sees each one as soon as its region is done.
        """
        try:
            size = self._source_size(artifact, source_region, source_bucket)
        except Exception as exc:  # the source is missing: every target fails
            error = _describe(exc, source_region, source_bucket, artifact.key)
            results = [
                CopyResult(
                    region,
                    bucket,
                    "failed",
                    f"cannot copy from the source: {error}",
                    key=artifact.key,
                    sha256=artifact.sha256,
                )
                for region, bucket in targets.items()
            ]
            for result in results:
                if on_result:
                    on_result(result)
            return results

        source = {"Bucket": source_bucket, "Key": artifact.key}
        done: dict[str, CopyResult] = {}
        workers = min(self._max_workers, max(1, len(targets)))
        with ThreadPoolExecutor(workers, thread_name_prefix="replicate") as pool:
            futures = {
                pool.submit(
                    self._copy_to, artifact, source, size, region, bucket
                ): region
                for region, bucket in targets.items()
            }
            for future in as_completed(futures):
                result = future.result()
                done[futures[future]] = result
                if on_result:
                    on_result(result)
        return [done[region] for region in targets]

    def _source_size(self, ref: ArtifactRef, region: str, bucket: str) -> int:
        s3 = self._clients.client(region, "s3")
        head = s3.head_object(Bucket=bucket, Key=ref.key)
        claimed = head.get("Metadata", {}).get(_METADATA_KEY)
        if claimed and claimed != ref.sha256:
            raise CopyFailed(
                f"s3://{bucket}/{ref.key} in {region} says its sha256 is {claimed}, "
                f"not the artifact's {ref.sha256}"
            )
        return head["ContentLength"]

    def _copy_to(
        self,
        ref: ArtifactRef,
        source: dict[str, str],
        size: int,
        region: str,
        bucket: str,
    ) -> CopyResult:
        result = CopyResult(region, bucket, "failed", key=ref.key, sha256=ref.sha256)
        rlog = _RegionLog(log, {"region": region})
        try:
            s3 = self._clients.client(region, "s3")
            if _holds(s3, bucket, ref, size):
                rlog.debug("s3://%s/%s already holds the artifact", bucket, ref.key)
                result.status = "skipped"
                return result

            # A server-side copy: the bytes go from bucket to bucket inside S3,
            # through the target region's client. ChecksumAlgorithm makes S3
            # compute the copy's own SHA-256, read back by _verify.
            s3.copy_object(
                Bucket=bucket,
                Key=ref.key,
                CopySource=source,
                MetadataDirective="REPLACE",
                Metadata={_METADATA_KEY: ref.sha256},
                ContentType="application/zip",
                ChecksumAlgorithm="SHA256",
            )
            _verify(s3, bucket, ref, size)
        except Exception as exc:  # one region's failure is reported, never raised
            result.error = _describe(exc, region, bucket, ref.key)
            rlog.warning("copy failed: %s", result.error)
            rlog.debug("copy failure detail", exc_info=True)
            return result

        rlog.info("copied the artifact to s3://%s/%s", bucket, ref.key)
        result.status = "copied"
        return result


def _holds(s3: Any, bucket: str, ref: ArtifactRef, size: int) -> bool:
    """Whether ``bucket`` already holds exactly the artifact under its key.

    S3's own SHA-256 of the object settles it when S3 has one. Otherwise the
    object's sha256 metadata must match, and then its bytes are read and hashed:
    metadata alone is a claim anyone could have written.
    """
    try:
        head = s3.head_object(Bucket=bucket, Key=ref.key, ChecksumMode="ENABLED")
    except ClientError as exc:
        if _error_code(exc) in _NOT_FOUND:
            return False
        raise
    if head.get("ContentLength") != size:
        return False
    checksum = _full_object_checksum(head)
    if checksum is not None:
        return checksum == _b64(ref.sha256)
    if head.get("Metadata", {}).get(_METADATA_KEY) != ref.sha256:
        return False
    return _hash_object(s3, bucket, ref.key) == ref.sha256


def _verify(s3: Any, bucket: str, ref: ArtifactRef, size: int) -> None:
    """Read the object back; remove it and raise CopyFailed if it is not the
    artifact, so no stack ever points at a damaged copy."""
    head = s3.head_object(Bucket=bucket, Key=ref.key, ChecksumMode="ENABLED")
    problem = None
    checksum = _full_object_checksum(head)
    if head.get("ContentLength") != size:
        problem = f"holds {head.get('ContentLength')} bytes, expected {size}"
    elif checksum is not None and checksum != _b64(ref.sha256):
        problem = f"S3 reports SHA-256 {checksum}, expected {_b64(ref.sha256)}"
    else:
        actual = _hash_object(s3, bucket, ref.key)
        if actual != ref.sha256:
            problem = f"its bytes hash to {actual}, expected {ref.sha256}"
    if problem is None:
        return

    try:
        s3.delete_object(Bucket=bucket, Key=ref.key)
        fate = "the damaged copy was deleted"
    except (BotoCoreError, ClientError) as exc:
        fate = f"the damaged copy could not be deleted ({exc})"
    raise CopyFailed(f"copy verification failed: {problem}; {fate}")


def _hash_object(s3: Any, bucket: str, key: str) -> str:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    digest = hashlib.sha256()
    try:
        for chunk in iter(lambda: body.read(_CHUNK), b""):
            digest.update(chunk)
    finally:
        body.close()
    return digest.hexdigest()


def _full_object_checksum(head: dict[str, Any]) -> str | None:
    """S3's SHA-256 of the whole object; None when absent or per part.

    NOTE: a multipart object's checksum is a checksum of part checksums,
    suffixed with "-<parts>", and says nothing directly about the bytes.
    """
    checksum = head.get("ChecksumSHA256")
    if not checksum or "-" in checksum or head.get("ChecksumType") == "COMPOSITE":
        return None
    return checksum


def _b64(sha256_hex: str) -> str:
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _describe(exc: Exception, region: str, bucket: str, key: str) -> str:
    """One sentence naming the region, the bucket and what went wrong."""
    where = f"s3://{bucket}/{key} in {region}"
    if isinstance(exc, CopyFailed):
        return f"{where}: {exc}"
    if isinstance(exc, ClientError):
        code = _error_code(exc)
        if code == "NoSuchBucket":
            return (
                f"{where}: bucket '{bucket}' does not exist in {region}; the primary "
                "stack creates the artifact bucket of every region"
            )
        if code in _NOT_FOUND:
            return f"{where}: no such object"
        message = exc.response.get("Error", {}).get("Message", "")
        return f"{where}: {code} {message}".rstrip()
    if isinstance(exc, BotoCoreError):
        return f"{where}: {exc}"
    return f"{where}: {type(exc).__name__}: {exc}"
