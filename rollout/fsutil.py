"""Writing files so that a crash leaves the old version or the new, never a mix."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, fsync it, rename it over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; others may read what rollout writes.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write_bytes` for text, encoded as UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))


def swap_directory(target: Path, files: dict[str, str]) -> None:
    """Replace ``target`` as a whole with a directory holding exactly ``files``.

    The new set is written into a sibling temporary directory, then moved into
    place with renames: a reader sees the old set or the new one. If a crash
    falls between the two renames, ``target`` is briefly missing and the new
    set waits in ``<target>.new``; :func:`recover_directory` finishes the move.
    """
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    try:
        for name, text in files.items():
            with open(staging / name, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        fsync_dir(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

    ready = parent / f"{target.name}.new"
    old = parent / f"{target.name}.old"
    shutil.rmtree(ready, ignore_errors=True)
    os.rename(staging, ready)
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.rename(target, old)
    os.rename(ready, target)
    fsync_dir(parent)
    shutil.rmtree(old, ignore_errors=True)


def recover_directory(target: Path) -> str | None:
    """Finish or undo a swap that a crash interrupted; say what was found."""
    parent = target.parent
    ready = parent / f"{target.name}.new"
    old = parent / f"{target.name}.old"
    for leftover in parent.glob(f".{target.name}.*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
    if not target.exists() and ready.is_dir():
        os.rename(ready, target)
        shutil.rmtree(old, ignore_errors=True)
        return f"{target}: finished an interrupted render"
    if not target.exists() and old.is_dir():
        os.rename(old, target)
        return f"{target}: restored the previous render after an interruption"
    shutil.rmtree(ready, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    return None
