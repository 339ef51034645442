"""The Lambda artifact: one deterministic zip of lambda_code/, named by its sha256.

The zip holds the sources of ``lambda_code/`` and the pinned dependencies of
``lambda_code/requirements.txt`` installed for the Lambda platform (binary
wheels only). Entries are sorted and carry a fixed timestamp and fixed
permissions, so the bytes depend on content alone and the same inputs give the
same sha256 on any machine with the same wheels.

Two caches under ``.rollout/cache/`` keep repeated builds fast:

- ``deps/<hash>/``: the installed dependencies, keyed by requirements.txt and
  the installer's settings, so a change of source does not run pip again;
- ``builds/<hash>``: the sha256 of the zip built from exactly these inputs
  (sources, requirements, installer settings), so a second build reads the
  sources, finds the zip and runs nothing.

Both are written to a temporary name and renamed into place. The variable
``ROLLOUT_DEPS_CACHE`` moves the dependency cache to a folder shared between
projects (a CI cache, or the copies of a project a test suite makes).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import logging
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rollout.errors import InputError
from rollout.fsutil import atomic_write_bytes, atomic_write_text, fsync_dir

log = logging.getLogger(__name__)

# Raise when the layout of the zip changes, so older cached builds are not reused.
BUILD_FORMAT = "2"

# Every entry gets the same timestamp, so a build depends on content alone.
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = stat.S_IFREG | 0o644
_COMPRESS_LEVEL = 6

_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}

# Files pip writes that say how and from where a package was installed, not
# what it is: they vary between machines (console scripts even carry the path
# of the local interpreter) and nothing in Lambda reads them.
_INSTALL_RECORDS = {"INSTALLER", "RECORD", "REQUESTED", "direct_url.json"}
_SKIP_TOP_DIRS = {"bin"}


class DependencyInstallError(InputError):
    """pip could not install the pinned dependencies for the Lambda platform."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


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

    @property
    def size(self) -> int:
        return self.path.stat().st_size


@dataclass(frozen=True)
class LambdaPlatform:
    """The interpreter and machine the dependencies are installed for."""

    python_version: str = "3.12"
    implementation: str = "cp"
    # Lambda's python3.12 runtime is Amazon Linux 2023 (glibc 2.34). pip before
    # 24 does not widen a manylinux_2_X tag to older glibc versions itself, so
    # every compatible tag is listed, newest first (the first match wins).
    platforms: tuple[str, ...] = tuple(
        f"manylinux_2_{minor}_aarch64" for minor in range(34, 16, -1)
    ) + ("manylinux2014_aarch64",)

    def describe(self) -> str:
        return (
            f"{self.implementation}{self.python_version} "
            f"{' '.join(self.platforms)} binary-only"
        )


LAMBDA_ARM64 = LambdaPlatform()


class Installer(Protocol):
    """Installs a requirements file into a directory for the Lambda platform."""

    @property
    def fingerprint(self) -> str:
        """Everything about the installer that can change what it installs."""
        ...

    def install(self, requirements: Path, target: Path) -> None: ...


class PipInstaller:
    """Runs this interpreter's pip for the Lambda platform, binary wheels only."""

    def __init__(
        self,
        platform: LambdaPlatform = LAMBDA_ARM64,
        run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run,
    ) -> None:
        self._platform = platform
        self._run = run

    @property
    def fingerprint(self) -> str:
        try:
            pip_version = importlib.metadata.version("pip")
        except importlib.metadata.PackageNotFoundError:
            pip_version = "unknown"
        return f"pip {pip_version}; {self._platform.describe()}"

    def command(self, requirements: Path, target: Path) -> list[str]:
        platform = self._platform
        command = [
            sys.executable, "-m", "pip", "install",
            "--quiet", "--no-input", "--disable-pip-version-check", "--no-compile",
            "--target", str(target),
            "--implementation", platform.implementation,
            "--python-version", platform.python_version,
            # With --platform pip installs nothing it would have to build.
            "--only-binary=:all:",
            # requirements.txt pins every dependency but the runtime's own
            # botocore, which would otherwise be pulled in and shipped twice.
            "--no-deps",
        ]  # fmt: skip
        for tag in platform.platforms:
            command += ["--platform", tag]
        return [*command, "--requirement", str(requirements)]

    def install(self, requirements: Path, target: Path) -> None:
        command = self.command(requirements, target)
        log.debug("installing dependencies: %s", " ".join(command))
        try:
            result = self._run(
                command,
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            )
        except OSError as exc:
            raise DependencyInstallError(
                f"{requirements}: could not start pip ({exc})", str(exc)
            ) from exc
        if result.returncode != 0:
            output = (result.stderr or "") + (result.stdout or "")
            last = " | ".join(line for line in output.strip().splitlines()[-4:])
            raise DependencyInstallError(
                f"{requirements}: pip could not install the pinned dependencies for "
                f"{platform_label(self._platform)} (binary wheels only): {last}",
                output,
            )


def platform_label(platform: LambdaPlatform) -> str:
    arch = platform.platforms[-1].rsplit("_", 1)[-1]
    return f"Lambda python{platform.python_version} {arch}"


@dataclass(frozen=True)
class _Entry:
    """One file of the zip. Sources carry the bytes read for the inputs hash,
    so the zip holds exactly what was hashed even if a file changes meanwhile."""

    name: str
    path: Path
    content: bytes | None = None

    def read(self) -> bytes:
        return self.content if self.content is not None else self.path.read_bytes()


class ArtifactBuilder:
    """Builds the artifact of a project, reusing whatever the cache holds."""

    def __init__(
        self,
        project_root: Path,
        installer: Installer | None = None,
        cache_dir: Path | None = None,
        deps_cache_dir: Path | None = None,
    ) -> None:
        self._code_dir = code_dir_of(project_root)
        self._installer = installer or PipInstaller()
        self._cache = cache_dir or project_root / ".rollout" / "cache"
        shared = os.environ.get("ROLLOUT_DEPS_CACHE")
        self._deps_cache = deps_cache_dir or (
            Path(shared) if shared else self._cache / "deps"
        )

    def build(self) -> Artifact:
        sources = self._sources()
        requirements = self._code_dir / "requirements.txt"
        pinned = _requirement_lines(requirements)

        inputs = self._inputs_hash(sources, pinned)
        cached = self._cached_build(inputs)
        if cached is not None:
            log.debug("artifact %s reused for inputs %s", cached.sha256, inputs)
            return cached

        deps = self._dependencies(requirements, pinned) if pinned else []
        data = build_zip(_merge(sources, deps))
        sha256 = hashlib.sha256(data).hexdigest()

        path = self._cache / f"{sha256}.zip"
        if not _holds(path, sha256):
            atomic_write_bytes(path, data)
        atomic_write_text(self._cache / "builds" / inputs, sha256 + "\n")
        log.debug("built artifact %s (%d bytes)", sha256, len(data))
        return Artifact(path=path, sha256=sha256)

    def _sources(self) -> list[_Entry]:
        if not self._code_dir.is_dir():
            raise InputError(
                f"{self._code_dir}: no lambda_code/ folder; the Lambda artifact is "
                "built from it"
            )
        return [
            _Entry(path.relative_to(self._code_dir).as_posix(), path, path.read_bytes())
            for path in _files_under(self._code_dir, skip_hidden=True)
        ]

    def _inputs_hash(self, sources: list[_Entry], pinned: list[str]) -> str:
        digest = hashlib.sha256(f"format {BUILD_FORMAT}\n".encode())
        if pinned:
            digest.update(f"installer {self._installer.fingerprint}\n".encode())
        for entry in sources:
            content = hashlib.sha256(entry.read()).hexdigest()
            digest.update(f"source {entry.name} {content}\n".encode())
        return digest.hexdigest()

    def _cached_build(self, inputs: str) -> Artifact | None:
        try:
            sha256 = (self._cache / "builds" / inputs).read_text().strip()
        except OSError:
            return None
        path = self._cache / f"{sha256}.zip"
        if not _holds(path, sha256):
            return None
        return Artifact(path=path, sha256=sha256)

    def _dependencies(self, requirements: Path, pinned: list[str]) -> list[_Entry]:
        """The installed dependencies, from the cache or from a fresh install."""
        key = hashlib.sha256(
            "\n".join(
                [f"format {BUILD_FORMAT}", self._installer.fingerprint, *pinned]
            ).encode()
        ).hexdigest()
        target = self._deps_cache / key
        if not target.is_dir():
            self._install(requirements, target)
        return [
            _Entry(path.relative_to(target).as_posix(), path)
            for path in _files_under(target, skip_hidden=False)
            if _is_runtime_file(path.relative_to(target))
        ]

    def _install(self, requirements: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".install-", dir=target.parent))
        try:
            log.debug("installing the dependencies of %s", requirements)
            self._installer.install(requirements, staging)
            _prune(staging)
            try:
                os.rename(staging, target)
            except OSError:
                # Another build installed the same requirements meanwhile.
                if not target.is_dir():
                    raise
            fsync_dir(target.parent)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


# The handlers shipped with rollout, beside its package.
SHIPPED_CODE = Path(__file__).resolve().parent.parent / "lambda_code"


def code_dir_of(project_root: Path) -> Path:
    """The project's own lambda_code/, or the handlers rollout ships.

    A project that holds only regions/ and blueprints/ deploys the shipped
    application unchanged.
    """
    own = project_root / "lambda_code"
    if own.is_dir() or not SHIPPED_CODE.is_dir():
        return own
    return SHIPPED_CODE


def build_artifact(
    project_root: Path,
    installer: Installer | None = None,
    cache_dir: Path | None = None,
) -> Artifact:
    """Build the artifact into ``.rollout/cache/``, reusing an identical build."""
    return ArtifactBuilder(project_root, installer, cache_dir).build()


def build_zip(entries: list[_Entry]) -> bytes:
    """Zip the entries sorted by name, with fixed times and modes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for entry in sorted(entries, key=lambda e: e.name):
            info = zipfile.ZipInfo(entry.name, _FIXED_DATE)
            info.create_system = 3  # Unix, so the mode bits below are read
            info.external_attr = _FILE_MODE << 16
            archive.writestr(
                info,
                entry.read(),
                compress_type=zipfile.ZIP_DEFLATED,
                compresslevel=_COMPRESS_LEVEL,
            )
    return buffer.getvalue()


def _merge(sources: list[_Entry], deps: list[_Entry]) -> list[_Entry]:
    names = {entry.name for entry in deps}
    clashes = sorted(entry.name for entry in sources if entry.name in names)
    if clashes:
        raise InputError(
            f"lambda_code/{clashes[0]} has the same path as a file of an installed "
            "dependency; rename it or drop the dependency from requirements.txt"
        )
    return sources + deps


def _requirement_lines(requirements: Path) -> list[str]:
    """The meaningful lines of requirements.txt; none if it is missing or empty."""
    try:
        text = requirements.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{requirements}: cannot be read: {exc}") from None
    lines = (line.split(" #", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _files_under(root: Path, *, skip_hidden: bool) -> Iterator[Path]:
    """Files below ``root``, without caches or bytecode.

    Hidden files are left out of the sources (editor and tool droppings, a
    stray ``.env``) but kept in dependencies, where wheels repaired by
    auditwheel may keep their shared libraries in a ``.libs`` folder.
    """
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in _SKIP_DIRS and not (skip_hidden and d.startswith("."))
        )
        for filename in sorted(filenames):
            if skip_hidden and filename.startswith("."):
                continue
            if Path(filename).suffix not in _SKIP_SUFFIXES:
                yield Path(dirpath) / filename


def _is_runtime_file(relative: Path) -> bool:
    parts = relative.parts
    if parts[0] in _SKIP_TOP_DIRS:
        return False
    in_dist_info = len(parts) == 2 and parts[0].endswith(".dist-info")
    return not (in_dist_info and parts[1] in _INSTALL_RECORDS)


def _prune(target: Path) -> None:
    """Remove from an install what must not reach the zip."""
    for path in list(target.rglob("*")):
        if not path.exists():
            continue
        relative = path.relative_to(target)
        if path.is_dir() and path.name in _SKIP_DIRS:
            shutil.rmtree(path)
        elif path.is_file() and (
            path.suffix in _SKIP_SUFFIXES or not _is_runtime_file(relative)
        ):
            path.unlink()
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(target / "bin")


def _holds(path: Path, sha256: str) -> bool:
    """Whether ``path`` exists and its bytes hash to ``sha256``."""
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest() == sha256
    except OSError:
        return False
