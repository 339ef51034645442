"""The env lock: one of apply, promote, rollback or destroy at a time per env.

The lock is a file created with O_EXCL holding who took it (pid, host,
command, started_at). A lock left by a process that died on this host is
stale: it is broken with a message. A lock taken on another host is never
broken automatically, since this host cannot tell whether that run is alive;
the message says how to break it by hand.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rollout.errors import LockHeld

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LockInfo:
    pid: int
    host: str
    command: str
    started_at: str

    def describe(self) -> str:
        return (
            f"`rollout {self.command}` (pid {self.pid} on host {self.host}, "
            f"since {self.started_at})"
        )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        # The process exists but belongs to someone else.
        return True
    return True


class EnvLock:
    """Take with ``with EnvLock(path, "apply"):``; released on exit."""

    def __init__(
        self,
        path: Path,
        command: str,
        *,
        force: bool = False,
        on_message: Callable[[str], None] | None = None,
        host: str | None = None,
        pid: int | None = None,
        pid_alive: Callable[[int], bool] = _pid_alive,
    ) -> None:
        self.path = path
        self.command = command
        self.force = force
        self._say = on_message or log.warning
        self._host = host or socket.gethostname()
        self._pid = pid if pid is not None else os.getpid()
        self._pid_alive = pid_alive
        self._held = False

    def __enter__(self) -> EnvLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                self._deal_with_existing()
                continue
            info = LockInfo(
                pid=self._pid,
                host=self._host,
                command=self.command,
                started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(info.__dict__) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            self._held = True
            return
        holder = self.read()
        raise LockHeld(self._held_message(holder))

    def release(self) -> None:
        if self._held:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self._held = False

    def read(self) -> LockInfo | None:
        """The holder recorded in the lock file; None when it cannot be read."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return LockInfo(
                pid=int(data["pid"]),
                host=str(data["host"]),
                command=str(data["command"]),
                started_at=str(data["started_at"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _deal_with_existing(self) -> None:
        """Break the existing lock when it is stale or forced; else raise."""
        holder = self.read()
        live_here = (
            holder is not None
            and holder.host == self._host
            and self._pid_alive(holder.pid)
        )
        if self.force and not live_here:
            who = holder.describe() if holder else "an unreadable holder"
            self._say(f"breaking the lock {self.path} held by {who} (--force-unlock)")
            self._remove()
            return
        if holder and holder.host == self._host and not self._pid_alive(holder.pid):
            self._say(
                f"breaking a stale lock {self.path}: {holder.describe()} "
                "is no longer running"
            )
            self._remove()
            return
        raise LockHeld(self._held_message(holder))

    def _remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _held_message(self, holder: LockInfo | None) -> str:
        how = (
            f"if no such run is alive, remove {self.path} or rerun with --force-unlock"
        )
        if holder is None:
            return f"the lock {self.path} is held but unreadable; {how}"
        if holder.host != self._host:
            return (
                f"the env is locked by {holder.describe()}; it was taken on another "
                f"host, so it is not broken automatically: check that host, then {how}"
            )
        return f"the env is locked by {holder.describe()}; wait for it to finish"
