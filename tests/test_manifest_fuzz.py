"""Any input to the manifest loader loads or raises rollout's own error."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollout.errors import InputError
from rollout.manifests import RegionManifest, load_project

ROOT = Path(__file__).resolve().parent.parent

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        ["10.68.0.0/16", "primary", "canary", "secondary", "eu-west-1", "env:X", "/x"]
    ),
)
keys = st.one_of(
    st.sampled_from(
        [
            "region",
            "role",
            "wave",
            "vpc",
            "cidr",
            "az_count",
            "dynamodb",
            "read_capacity",
            "min",
            "max",
            "target_utilization",
            "lambda",
            "memory_mb",
            "timeout_s",
            "alarms",
            "error_rate_percent",
            "logs",
            "retention_days",
            "s3",
            "processed_expiry_days",
            "canary",
            "bake_minutes",
            "smoke",
            "method",
            "path",
            "expect",
            "endpoints",
            "profile",
            "secrets",
            "tags",
        ]
    ),
    st.text(max_size=10),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=6)
    ),
    max_leaves=25,
)


def _project() -> Path:
    root = Path(tempfile.mkdtemp(prefix="fuzz-"))
    shutil.copytree(ROOT / "regions", root / "regions")
    return root


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents)
def test_loader__any_yaml_document__loads_or_raises_input_error(document) -> None:
    root = _project()
    try:
        text = yaml.safe_dump(document)
    except yaml.YAMLError:
        return
    (root / "regions" / "eu-west-1.yaml").write_text(text)
    try:
        project = load_project(root)
    except InputError as exc:
        assert str(exc)
    else:
        assert isinstance(project.manifest("eu-west-1"), RegionManifest)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=200) | st.text(max_size=200))
def test_loader__arbitrary_bytes__loads_or_raises_input_error(raw) -> None:
    root = _project()
    path = root / "regions" / "eu-west-1.yaml"
    if isinstance(raw, bytes):
        path.write_bytes(raw)
    else:
        path.write_text(raw, encoding="utf-8", errors="surrogatepass")
    try:
        load_project(root)
    except InputError as exc:
        assert str(exc)
    finally:
        shutil.rmtree(root, ignore_errors=True)
