"""The env lock: exclusive, names its holder, breaks only stale local locks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rollout.errors import LockHeld
from rollout.lock import EnvLock


def write_lock(path: Path, *, pid: int, host: str, command: str = "apply") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "pid": pid,
                "host": host,
                "command": command,
                "started_at": "2026-12-03T10:00:00+00:00",
            }
        )
    )


def lock(path: Path, *, alive: bool = True, force: bool = False, messages=None):
    return EnvLock(
        path,
        "promote",
        force=force,
        host="builder-1",
        pid=4242,
        pid_alive=lambda pid: alive,
        on_message=(messages.append if messages is not None else None),
    )


def test_lock__free__holds_pid_host_command_and_releases(tmp_path):
    path = tmp_path / ".rollout" / "dev" / "lock"

    with lock(path):
        held = json.loads(path.read_text())
        assert (held["pid"], held["host"], held["command"]) == (
            4242,
            "builder-1",
            "promote",
        )
        assert held["started_at"].endswith("+00:00")

    assert not path.exists()


def test_lock__held_by_live_process__lock_held_names_holder(tmp_path):
    path = tmp_path / "lock"
    write_lock(path, pid=99, host="builder-1")

    with pytest.raises(LockHeld) as caught:
        lock(path, alive=True).acquire()

    assert str(caught.value) == (
        "the env is locked by `rollout apply` (pid 99 on host builder-1, since "
        "2026-12-03T10:00:00+00:00); wait for it to finish"
    )
    assert LockHeld.exit_code == 3
    assert json.loads(path.read_text())["pid"] == 99


def test_lock__holder_died_on_this_host__stale_lock_broken_with_message(tmp_path):
    path = tmp_path / "lock"
    write_lock(path, pid=99, host="builder-1")
    messages: list[str] = []

    with lock(path, alive=False, messages=messages):
        assert json.loads(path.read_text())["pid"] == 4242

    assert messages == [
        f"breaking a stale lock {path}: `rollout apply` (pid 99 on host builder-1, "
        "since 2026-12-03T10:00:00+00:00) is no longer running"
    ]


def test_lock__taken_on_another_host__never_broken_and_says_how(tmp_path):
    path = tmp_path / "lock"
    write_lock(path, pid=99, host="laptop-7")

    with pytest.raises(LockHeld) as caught:
        lock(path, alive=False).acquire()

    message = str(caught.value)
    assert "taken on another host" in message
    assert f"remove {path} or rerun with --force-unlock" in message
    assert json.loads(path.read_text())["host"] == "laptop-7"


def test_lock__force__breaks_another_hosts_lock(tmp_path):
    path = tmp_path / "lock"
    write_lock(path, pid=99, host="laptop-7")
    messages: list[str] = []

    with lock(path, force=True, messages=messages):
        assert json.loads(path.read_text())["host"] == "builder-1"

    assert "(--force-unlock)" in messages[0]


def test_lock__unreadable_file__held_with_instructions(tmp_path):
    path = tmp_path / "lock"
    path.write_text("")

    with pytest.raises(LockHeld, match="held but unreadable; if no such run is alive"):
        lock(path).acquire()


def test_lock__real_pid_check__own_process_is_alive(tmp_path):
    path = tmp_path / "lock"
    first = EnvLock(path, "apply")
    first.acquire()
    try:
        with pytest.raises(LockHeld, match="`rollout apply`"):
            EnvLock(path, "destroy").acquire()
    finally:
        first.release()
    assert not path.exists()


def test_lock__force__never_breaks_a_live_holder_on_this_host(tmp_path):
    path = tmp_path / "lock"
    write_lock(path, pid=99, host="builder-1")

    with pytest.raises(LockHeld, match="wait for it to finish"):
        lock(path, alive=True, force=True).acquire()
    assert json.loads(path.read_text())["pid"] == 99
