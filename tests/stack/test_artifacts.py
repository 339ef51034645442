"""Artifact buckets: owned by the primary in every region, the artifact uploaded."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from regional_stack.codebuild import BUILDSPEC
from tests.stack.rules import (
    BUCKET,
    CODEBUILD,
    ROLE_POLICY,
    assert_artifact_buckets,
    assert_identity_policies,
    broken,
    document,
    named,
    of_type,
)
from tests.stack.stacks import ROOT, copy_project


def test_artifact_buckets__shipped_regions__rules_hold(stack):
    assert_artifact_buckets(stack)


def test_codebuild__primary__role_reads_source_and_writes_artifact_only(stacks):
    plan = stacks["us-east-1"].plan
    assert_identity_policies(stacks["us-east-1"])
    policy = document(named(plan, ROLE_POLICY, "artifact-build-policy"))
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    bucket = "arn:aws:s3:::rollout-dev-us-east-1-artifacts-123456789012"
    assert by_sid["ReadSource"]["Resource"] == [f"{bucket}/sources/project.zip"]
    assert by_sid["WriteArtifact"]["Resource"] == [f"{bucket}/lambda/*"]
    assert by_sid["WriteArtifact"]["Action"] == ["s3:PutObject"]


def test_codebuild__buildspec__runs_the_local_deterministic_build(stacks):
    (project,) = of_type(stacks["us-east-1"].plan, CODEBUILD)
    assert project.inputs["source"]["buildspec"] == BUILDSPEC
    assert "from rollout.artifact import build_artifact" in BUILDSPEC
    variables = {
        v["name"]: v["value"]
        for v in project.inputs["environment"]["environmentVariables"]
    }
    assert variables["EXPECTED_SHA256"] == stacks["us-east-1"].artifact.sha256


def test_artifact_buckets__not_emptied_on_destroy__rule_fails(stacks):
    def keep(plan):
        for bucket in of_type(plan, BUCKET):
            if "-artifacts-" in bucket.inputs["bucket"]:
                bucket.inputs["forceDestroy"] = False

    with pytest.raises(AssertionError, match="not emptied"):
        assert_artifact_buckets(broken(stacks["us-east-1"], keep))


def test_artifact_buckets__bucket_on_primary_provider__rule_fails(stacks):
    def home_provider(plan):
        for bucket in of_type(plan, BUCKET):
            if "-eu-west-1-artifacts-" in bucket.inputs["bucket"]:
                bucket.region = "us-east-1"

    with pytest.raises(AssertionError, match="eu-west-1"):
        assert_artifact_buckets(broken(stacks["us-east-1"], home_provider))


def test_artifact_buckets__secondary_owns_one__rule_fails(stacks):
    def own(plan):
        bucket = [b for b in of_type(plan, BUCKET) if "-data-" in b.inputs["bucket"]][0]
        bucket.inputs["bucket"] = "rollout-dev-eu-west-1-artifacts-123456789012"

    with pytest.raises(AssertionError, match="secondary"):
        assert_artifact_buckets(broken(stacks["eu-west-1"], own))


def test_codebuild__buildspec_command_on_a_fresh_copy__same_sha256(stacks, tmp_path):
    # GIVEN the project as the source archive would hold it, with no build cache
    root = copy_project(tmp_path / "source")
    build = yaml.safe_load(BUILDSPEC)["phases"]["build"]["commands"]
    command = build[0].split(" > ")[0]

    # WHEN the build command of the buildspec runs there
    result = subprocess.run(
        ["bash", "-c", command.replace("python3", sys.executable, 1)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )

    # THEN it gives the local build's sha256 and the zip the upload step sends
    sha256 = result.stdout.strip()
    assert sha256 == stacks["us-east-1"].artifact.sha256
    assert (root / ".rollout" / "cache" / f"{sha256}.zip").is_file()
