"""What ships: the handler code and its requirements, nothing of the tests."""

from __future__ import annotations

import io
import zipfile

from rollout.artifact import build_zip
from tests.handlers.conftest import LAMBDA_CODE


def test_build_zip__lambda_code__handlers_and_package_only():
    names = zipfile.ZipFile(io.BytesIO(build_zip(LAMBDA_CODE))).namelist()

    assert {"api.py", "processor.py", "requirements.txt"} <= set(names)
    assert "items/__init__.py" in names
    assert all(
        name in ("api.py", "processor.py", "requirements.txt")
        or (name.startswith("items/") and name.endswith(".py"))
        for name in names
    ), names
