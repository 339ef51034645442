"""The Lambda artifact: one deterministic zip of lambda_code/, named by its sha256."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

# Every entry gets the same timestamp, so a build depends on content alone.
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)
_SKIP_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache"}


@dataclass(frozen=True)
class ArtifactRef:
    """What a stack needs to know of the artifact: its hash and its S3 key."""

    sha256: str

    @property
    def key(self) -> str:
        return f"lambda/{self.sha256}.zip"


@dataclass(frozen=True)
class Artifact:
    path: Path
    sha256: str

    @property
    def ref(self) -> ArtifactRef:
        return ArtifactRef(self.sha256)


def _source_files(code_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in code_dir.rglob("*")
        if p.is_file()
        and not _SKIP_PARTS.intersection(p.relative_to(code_dir).parts)
        and p.suffix not in (".pyc", ".pyo")
    )


def build_zip(code_dir: Path) -> bytes:
    """Zip ``code_dir`` with sorted entries, fixed times and fixed permissions."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _source_files(code_dir):
            info = zipfile.ZipInfo(path.relative_to(code_dir).as_posix(), _FIXED_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def build_artifact(project_root: Path) -> Artifact:
    """Build the artifact into ``.rollout/cache/``, reusing an identical build."""
    data = build_zip(project_root / "lambda_code")
    sha256 = hashlib.sha256(data).hexdigest()
    cache = project_root / ".rollout" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{sha256}.zip"
    if not path.exists():
        path.write_bytes(data)
    return Artifact(path=path, sha256=sha256)
