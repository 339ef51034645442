"""What ships: the handler code and its requirements, nothing of the tests."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from rollout.artifact import build_artifact
from tests.handlers.conftest import LAMBDA_CODE


class _NoDependencies:
    """Installs nothing, so only the sources of lambda_code/ reach the zip."""

    def __init__(self) -> None:
        self.requirements: list[str] = []

    fingerprint = "installs nothing"

    def install(self, requirements: Path, target: Path) -> None:
        self.requirements = requirements.read_text().splitlines()
        target.mkdir(parents=True, exist_ok=True)


def test_artifact__lambda_code__handlers_and_package_only(tmp_path: Path):
    shutil.copytree(LAMBDA_CODE, tmp_path / "lambda_code")
    installer = _NoDependencies()

    artifact = build_artifact(tmp_path, installer=installer, cache_dir=tmp_path / "c")

    names = zipfile.ZipFile(artifact.path).namelist()
    assert {"api.py", "processor.py", "requirements.txt"} <= set(names)
    assert "items/__init__.py" in names
    assert all(
        name in ("api.py", "processor.py", "requirements.txt")
        or (name.startswith("items/") and name.endswith(".py"))
        for name in names
    ), names
    assert "aws-lambda-powertools==3.37.0" in installer.requirements
