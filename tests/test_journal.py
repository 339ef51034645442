"""The journal: atomic, thread-safe, never reset silently, remembers good artifacts."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from rollout.errors import InputError
from rollout.journal import Journal, JournalCorrupt

A, B, C = "a" * 64, "b" * 64, "c" * 64


def fresh(tmp_path: Path) -> Journal:
    return Journal.read(tmp_path / "dev" / "journal.json")


def deployed(journal: Journal, region: str, sha: str, result: str = "succeeded"):
    journal.record_deploy(
        region, action="deploy", sha256=sha, result=result, config_hash="h"
    )


def test_read__missing_file__empty_journal(tmp_path):
    journal = fresh(tmp_path)

    assert journal.data == {}
    assert journal.applied_digests() == {}


def test_read__corrupt_file__input_error_names_file(tmp_path):
    path = tmp_path / "journal.json"
    path.write_text('{"regions": {"eu-west-1": ')

    with pytest.raises(JournalCorrupt) as caught:
        Journal.read(path)

    assert str(caught.value).startswith(f"{path}: the rollout journal cannot be read")
    assert isinstance(caught.value, InputError)
    assert path.read_text() == '{"regions": {"eu-west-1": '


def test_read__not_an_object__input_error(tmp_path):
    path = tmp_path / "journal.json"
    path.write_text("[1, 2]")

    with pytest.raises(JournalCorrupt, match="not a JSON object"):
        Journal.read(path)


def test_read__newer_version__input_error_says_upgrade(tmp_path):
    path = tmp_path / "journal.json"
    path.write_text('{"version": 7, "regions": {}}')

    with pytest.raises(JournalCorrupt, match="has version 7, newer than this rollout"):
        Journal.read(path)


def test_step__start_and_finish__written_to_disk_each_time(tmp_path):
    journal = fresh(tmp_path)

    step = journal.start_step("deploy", region="eu-west-1", stack="dev-eu-west-1")
    on_disk = json.loads(journal.path.read_text())
    assert on_disk["steps"][0]["status"] == "started"
    assert on_disk["regions"]["eu-west-1"]["result"] == "started"

    journal.finish_step(step, "succeeded", outputs={"apiUrl": "https://x"})
    on_disk = json.loads(journal.path.read_text())
    assert on_disk["steps"][0]["status"] == "succeeded"
    assert on_disk["steps"][0]["outputs"] == {"apiUrl": "https://x"}
    assert on_disk["steps"][0]["finished_at"] is not None


def test_write__atomic__no_temporary_file_left(tmp_path):
    journal = fresh(tmp_path)

    journal.start_step("deploy", region="eu-west-1")

    assert [p.name for p in journal.path.parent.iterdir()] == ["journal.json"]


def test_write__parallel_regions__every_step_kept_and_file_valid(tmp_path):
    journal = fresh(tmp_path)
    regions = [f"region-{i}" for i in range(16)]

    def work(region: str) -> None:
        for _ in range(5):
            step = journal.start_step("deploy", region=region)
            journal.finish_step(step, "succeeded")

    threads = [threading.Thread(target=work, args=(r,)) for r in regions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    on_disk = json.loads(journal.path.read_text())
    assert len(on_disk["steps"]) == 80
    assert len({s["id"] for s in on_disk["steps"]}) == 80
    assert all(s["status"] == "succeeded" for s in on_disk["steps"])


def test_mark_interrupted__started_step__closed_and_returned(tmp_path):
    journal = fresh(tmp_path)
    journal.start_step("deploy", region="eu-west-1", stack="dev-eu-west-1")

    reread = Journal.read(journal.path)
    found = reread.mark_interrupted()

    assert [s["stack"] for s in found] == ["dev-eu-west-1"]
    assert reread.interrupted_steps() == []
    assert reread.region("eu-west-1")["result"] == "interrupted"


def test_is_current__same_inputs_after_success__true(tmp_path):
    journal = fresh(tmp_path)
    deployed(journal, "eu-west-1", A)

    assert journal.is_current("eu-west-1", A, "h") is True
    assert journal.is_current("eu-west-1", A, "other") is False
    assert journal.is_current("eu-west-1", B, "h") is False


def test_is_current__later_failure_with_same_inputs__false(tmp_path):
    journal = fresh(tmp_path)
    deployed(journal, "eu-west-1", A)
    deployed(journal, "eu-west-1", A, result="failed")

    assert journal.is_current("eu-west-1", A, "h") is False


def test_last_good__canary__newest_artifact_that_passed_its_gate(tmp_path):
    journal = fresh(tmp_path)
    deployed(journal, "eu-west-1", A)
    journal.record_gate("eu-west-1", A, True, {})
    deployed(journal, "eu-west-1", B)
    journal.record_gate("eu-west-1", B, False, {})
    deployed(journal, "eu-west-1", C)

    assert journal.last_good("eu-west-1", needs_gate=True, exclude=C) == A
    assert journal.last_good("eu-west-1", needs_gate=False, exclude=C) == B


def test_last_good__bad_artifact__skipped(tmp_path):
    journal = fresh(tmp_path)
    deployed(journal, "us-west-2", A)
    deployed(journal, "us-west-2", B)
    deployed(journal, "us-west-2", C)
    journal.mark_bad(B, "rolled back in eu-west-1")

    assert journal.last_good("us-west-2", needs_gate=False, exclude=C) == A


def test_gate_passed__redeployed_after_gate__needs_a_new_gate(tmp_path):
    journal = fresh(tmp_path)
    deployed(journal, "eu-west-1", A)
    journal.record_gate("eu-west-1", A, True, {})
    assert journal.gate_passed("eu-west-1", A) is True

    deployed(journal, "eu-west-1", B)

    assert journal.gate_passed("eu-west-1", A) is False
    assert journal.gate_passed("eu-west-1", B) is False


def test_applied_digests__successful_deploys__per_region(tmp_path):
    journal = fresh(tmp_path)
    journal.record_deploy(
        "eu-west-1",
        action="deploy",
        sha256=A,
        result="succeeded",
        config_hash="h",
        applied_resources={"urn:a": "d1"},
    )

    assert Journal.read(journal.path).applied_digests() == {
        "eu-west-1": {"urn:a": "d1"}
    }


def test_write__crash_during_rename__previous_version_intact(tmp_path, monkeypatch):
    journal = fresh(tmp_path)
    journal.start_step("deploy", region="eu-west-1")
    before = journal.path.read_text()

    def crash(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr("rollout.fsutil.os.replace", crash)
    with pytest.raises(KeyboardInterrupt):
        journal.start_step("deploy", region="us-west-2")

    assert journal.path.read_text() == before
    assert [p.name for p in journal.path.parent.iterdir()] == ["journal.json"]
