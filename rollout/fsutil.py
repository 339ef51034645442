"""Writing files so that a crash leaves the old version or the new, never a mix."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from rollout.errors import InputError


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


# Every rendered set carries this file, so that a later render knows the folder
# is its own to replace, and never replaces a folder it did not write.
RENDER_MARKER = ".rollout-render"
_MARKER_TEXT = (
    "Written by `rollout render`. The whole folder is replaced on every render:\n"
    "keep nothing else here.\n"
)


def _siblings(target: Path) -> tuple[Path, Path]:
    """Where a swap keeps the next set and the previous one, beside ``target``."""
    return (
        target.parent / f".{target.name}.rollout-new",
        target.parent / f".{target.name}.rollout-old",
    )


def check_replaceable(target: Path) -> None:
    """Raise InputError unless ``target`` is absent, empty, or a rendered set."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise InputError(
            f"{target} exists and is not a folder; choose a new or empty folder"
        )
    if not target.exists():
        return
    entries = list(target.iterdir())
    if not entries or (target / RENDER_MARKER).is_file():
        return
    if all(e.is_file() and e.name.startswith("Pulumi.") for e in entries):
        return
    raise InputError(
        f"{target} holds files rollout did not write, and a render replaces the "
        "whole folder; choose a new or empty folder"
    )


def swap_directory(target: Path, files: dict[str, str]) -> None:
    """Replace ``target`` as a whole with a directory holding exactly ``files``.

    The new set is written into a temporary folder beside ``target``, then
    moved into place with renames: a reader sees the old set or the new one. If
    a crash falls between the two renames, ``target`` is briefly missing and
    the new set waits beside it; :func:`recover_directory` finishes the move.
    Only a folder that is absent, empty or an earlier rendered set is replaced.
    """
    check_replaceable(target)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.rollout-tmp-", dir=parent))
    try:
        os.chmod(staging, 0o755)
        for name, text in {**files, RENDER_MARKER: _MARKER_TEXT}.items():
            with open(staging / name, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        fsync_dir(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

    ready, old = _siblings(target)
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
    ready, old = _siblings(target)
    for leftover in target.parent.glob(f".{target.name}.rollout-tmp-*"):
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
