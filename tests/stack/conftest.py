"""Synthesized stacks of the shipped regions, built once per test module."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.stack.stacks import REGIONS, Synthesized, copy_project, synthesize


@pytest.fixture(scope="module")
def shipped_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("stack") / "project")


@pytest.fixture(scope="module")
def stacks(shipped_root: Path) -> dict[str, Synthesized]:
    """us-east-1 (primary) and eu-west-1 (canary), synthesized once per module."""
    return synthesize(shipped_root)


@pytest.fixture(params=REGIONS)
def stack(request: pytest.FixtureRequest, stacks: dict[str, Synthesized]):
    return stacks[request.param]
