"""Fixtures shared by the whole suite: a project copy, the CLI, moto's server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="session")
def shared_dependency_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One install of lambda_code's dependencies for every project copy of a run."""
    cache = tmp_path_factory.mktemp("deps-cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("ROLLOUT_DEPS_CACHE", str(cache))
    yield
    patch.undo()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the shipped project (regions, blueprints, lambda code)."""
    target = tmp_path / "project"
    target.mkdir()
    for name in ("regions", "blueprints", "lambda_code"):
        shutil.copytree(
            ROOT / name,
            target / name,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    return target


@pytest.fixture
def cli():
    """Run the rollout command in-process: ``cli(project, "plan", "--json")``."""
    from cli import app

    runner = CliRunner()

    def invoke(project_dir: Path, *args: str, env: dict[str, str] | None = None):
        return runner.invoke(
            app,
            ["--project-dir", str(project_dir), *args],
            env=env,
            catch_exceptions=False,
        )

    return invoke


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's server on 127.0.0.1 and a free port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, so no call can reach a real account."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def moto_reset(moto_server: str) -> Iterator[str]:
    """moto's server, emptied before the test."""
    import urllib.request

    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    yield moto_server
