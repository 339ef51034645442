"""The Lambda artifact: deterministic bytes, caches that skip pip, clear errors."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

import rollout.artifact as artifact_module
from rollout.artifact import (
    LAMBDA_ARM64,
    Artifact,
    ArtifactBuilder,
    DependencyInstallError,
    PipInstaller,
    build_artifact,
)
from rollout.errors import InputError

SOURCES = {
    "handler.py": "def handler(event, context):\n    return {'statusCode': 200}\n",
    "app/__init__.py": "",
    "app/items.py": "ITEMS = {}\n",
    "app/data/schema.json": '{"type": "object"}\n',
}


@pytest.fixture(autouse=True)
def own_dependency_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's project keeps its own dependency cache."""
    monkeypatch.delenv("ROLLOUT_DEPS_CACHE", raising=False)


class FakeInstaller:
    """Writes a fixed set of files as pip would, and counts its runs.

    Like a real install it also leaves what varies between machines: install
    records, a console script carrying the target path, bytecode.
    """

    fingerprint = "fake-installer 1"

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        self.files = files or {
            "tinylib/__init__.py": b"VERSION = '1.0'\n",
            "tinylib/core.py": b"def run():\n    return 42\n",
            "tinylib-1.0.dist-info/METADATA": b"Name: tinylib\nVersion: 1.0\n",
        }
        self.calls: list[tuple[Path, Path]] = []

    def install(self, requirements: Path, target: Path) -> None:
        self.calls.append((requirements, target))
        for name, data in self.files.items():
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        dist_info = target / "tinylib-1.0.dist-info"
        dist_info.mkdir(parents=True, exist_ok=True)
        (dist_info / "INSTALLER").write_text("pip\n")
        (dist_info / "RECORD").write_text(f"tinylib/core.py,{target},1\n")
        (dist_info / "direct_url.json").write_text(f'{{"url": "file://{target}"}}')
        (target / "bin").mkdir(exist_ok=True)
        (target / "bin" / "tinylib").write_text(f"#!{target}/python\n")
        (target / "tinylib" / "__pycache__").mkdir(parents=True, exist_ok=True)
        (target / "tinylib" / "__pycache__" / "core.cpython-312.pyc").write_bytes(
            str(time.time_ns()).encode()
        )


class FailingInstaller:
    fingerprint = "fake-installer 1"

    def install(self, requirements: Path, target: Path) -> None:
        (target / "half-written.py").write_text("partial = True\n")
        raise DependencyInstallError(f"{requirements}: no wheel", "no wheel")


def make_project(root: Path, sources=SOURCES, requirements: str | None = None) -> Path:
    code = root / "lambda_code"
    for name, text in sources.items():
        path = code / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if requirements is not None:
        (code / "requirements.txt").write_text(requirements)
    return root


def set_mtimes(root: Path, seconds: float) -> None:
    for path in root.rglob("*"):
        os.utime(path, (seconds, seconds))


def zip_names(artifact: Artifact) -> list[str]:
    with zipfile.ZipFile(artifact.path) as archive:
        return archive.namelist()


# Determinism


def test_build__two_directories_at_different_times__same_sha256(tmp_path: Path):
    first = make_project(tmp_path / "one", requirements="tinylib==1.0\n")
    second = make_project(tmp_path / "elsewhere" / "two", requirements="tinylib==1.0\n")
    set_mtimes(first, 1_600_000_000)
    set_mtimes(second, 1_700_000_000)
    os.chmod(second / "lambda_code" / "handler.py", 0o755)

    built_first = build_artifact(first, installer=FakeInstaller())
    built_second = build_artifact(second, installer=FakeInstaller())

    assert built_first.sha256 == built_second.sha256
    assert built_first.path.read_bytes() == built_second.path.read_bytes()
    assert hashlib.sha256(built_first.path.read_bytes()).hexdigest() == (
        built_first.sha256
    )
    assert built_first.path.name == f"{built_first.sha256}.zip"


def test_build__source_changed__sha256_changes(tmp_path: Path):
    project = make_project(tmp_path)
    before = build_artifact(project)

    (project / "lambda_code" / "app" / "items.py").write_text("ITEMS = {'a': 1}\n")
    after = build_artifact(project)

    assert after.sha256 != before.sha256
    assert before.path.exists() and after.path.exists()


def test_build__file_renamed__sha256_changes(tmp_path: Path):
    project = make_project(tmp_path)
    before = build_artifact(project)

    code = project / "lambda_code"
    (code / "app" / "items.py").rename(code / "app" / "things.py")
    after = build_artifact(project)

    assert after.sha256 != before.sha256
    assert "app/things.py" in zip_names(after)


def test_zip__entries__sorted_with_fixed_time_and_mode(tmp_path: Path):
    project = make_project(tmp_path, requirements="tinylib==1.0\n")
    os.chmod(project / "lambda_code" / "handler.py", 0o700)

    artifact = build_artifact(project, installer=FakeInstaller())

    with zipfile.ZipFile(artifact.path) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}
    assert {info.compress_type for info in infos} == {zipfile.ZIP_DEFLATED}


def test_zip__caches_bytecode_and_hidden_files__left_out(tmp_path: Path):
    project = make_project(tmp_path)
    code = project / "lambda_code"
    (code / "__pycache__").mkdir()
    (code / "__pycache__" / "handler.cpython-312.pyc").write_bytes(b"\0")
    (code / "stray.pyc").write_bytes(b"\0")
    (code / ".env").write_text("SECRET=1\n")
    (code / ".pytest_cache").mkdir()
    (code / ".pytest_cache" / "README.md").write_text("cache\n")

    names = zip_names(build_artifact(project))

    assert names == sorted(SOURCES)


def test_build__dependencies__zipped_without_install_records(tmp_path: Path):
    project = make_project(tmp_path, requirements="tinylib==1.0\n")

    names = zip_names(build_artifact(project, installer=FakeInstaller()))

    assert "tinylib/core.py" in names
    assert "tinylib-1.0.dist-info/METADATA" in names
    assert "handler.py" in names
    for varying in ("INSTALLER", "RECORD", "direct_url.json"):
        assert f"tinylib-1.0.dist-info/{varying}" not in names
    assert not [name for name in names if name.startswith("bin/")]
    assert not [name for name in names if name.endswith(".pyc")]


def test_build__dependency_with_hidden_libs_folder__kept(tmp_path: Path):
    project = make_project(tmp_path, requirements="fastlib==1.0\n")
    installer = FakeInstaller(
        {
            "fastlib/__init__.py": b"",
            "fastlib/.libs/libfast-1a2b.so": b"\x7fELF",
        }
    )

    names = zip_names(build_artifact(project, installer=installer))

    assert "fastlib/.libs/libfast-1a2b.so" in names


# Caches


def test_build__second_build__reuses_zip_without_installing(tmp_path: Path):
    project = make_project(tmp_path, requirements="tinylib==1.0\n")
    installer = FakeInstaller()
    first = build_artifact(project, installer=installer)
    built_at = first.path.stat().st_mtime_ns

    second = build_artifact(project, installer=FailingInstaller())

    assert second == first
    assert len(installer.calls) == 1
    assert second.path.stat().st_mtime_ns == built_at


def test_build__source_changed__reuses_installed_dependencies(tmp_path: Path):
    project = make_project(tmp_path, requirements="tinylib==1.0\n")
    installer = FakeInstaller()
    first = build_artifact(project, installer=installer)

    (project / "lambda_code" / "handler.py").write_text("def handler(e, c):\n    ...\n")
    second = build_artifact(project, installer=installer)

    assert second.sha256 != first.sha256
    assert len(installer.calls) == 1
    assert "tinylib/core.py" in zip_names(second)


def test_build__requirements_changed__installs_again(tmp_path: Path):
    project = make_project(tmp_path, requirements="tinylib==1.0\n")
    installer = FakeInstaller()
    build_artifact(project, installer=installer)

    (project / "lambda_code" / "requirements.txt").write_text("tinylib==1.1\n")
    build_artifact(project, installer=installer)

    assert len(installer.calls) == 2


def test_build__requirements_comment_changed__keeps_installed_dependencies(
    tmp_path: Path,
):
    project = make_project(tmp_path, requirements="tinylib==1.0\n")
    installer = FakeInstaller()
    build_artifact(project, installer=installer)

    requirements = project / "lambda_code" / "requirements.txt"
    requirements.write_text("# pinned for the Lambda runtime\ntinylib==1.0  # core\n")
    build_artifact(project, installer=installer)

    assert len(installer.calls) == 1


def test_build__installer_settings_changed__installs_again(tmp_path: Path):
    project = make_project(tmp_path, requirements="tinylib==1.0\n")
    first = FakeInstaller()
    build_artifact(project, installer=first)

    other = FakeInstaller()
    other.fingerprint = "fake-installer 2"
    build_artifact(project, installer=other)

    assert len(first.calls) == 1
    assert len(other.calls) == 1


def test_build__shared_dependency_cache__second_project_installs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("ROLLOUT_DEPS_CACHE", str(tmp_path / "shared-deps"))
    first = make_project(tmp_path / "one", requirements="tinylib==1.0\n")
    second = make_project(tmp_path / "two", requirements="tinylib==1.0\n")
    installer = FakeInstaller()

    built = build_artifact(first, installer=installer)
    again = build_artifact(second, installer=installer)

    assert len(installer.calls) == 1
    assert again.sha256 == built.sha256
    assert again.path.parent == second / ".rollout" / "cache"
    assert len(list((tmp_path / "shared-deps").iterdir())) == 1


@pytest.mark.parametrize("requirements", [None, "", "# nothing pinned yet\n\n"])
def test_build__no_pinned_requirements__installer_never_runs(
    tmp_path: Path, requirements: str | None
):
    project = make_project(tmp_path, requirements=requirements)

    artifact = build_artifact(project, installer=FailingInstaller())

    names = zip_names(artifact)
    assert [n for n in names if n != "requirements.txt"] == sorted(SOURCES)


def test_build__cached_zip_damaged__rebuilt(tmp_path: Path):
    project = make_project(tmp_path)
    first = build_artifact(project)
    good = first.path.read_bytes()

    first.path.write_bytes(b"not a zip")
    second = build_artifact(project)

    assert second.sha256 == first.sha256
    assert second.path.read_bytes() == good


def test_build__installer_fails__leaves_no_dependency_cache(tmp_path: Path):
    project = make_project(tmp_path, requirements="tinylib==1.0\n")

    with pytest.raises(DependencyInstallError):
        build_artifact(project, installer=FailingInstaller())
    installer = FakeInstaller()
    artifact = build_artifact(project, installer=installer)

    assert len(installer.calls) == 1
    assert "half-written.py" not in zip_names(artifact)
    deps = project / ".rollout" / "cache" / "deps"
    assert [p.name for p in deps.iterdir() if p.name.startswith(".")] == []


def test_build__cache_holds__no_temporary_files(tmp_path: Path):
    project = make_project(tmp_path, requirements="tinylib==1.0\n")

    artifact = build_artifact(project, installer=FakeInstaller())

    cache = project / ".rollout" / "cache"
    leftovers = [p for p in cache.rglob(".*")]
    assert leftovers == []
    assert artifact.path.parent == cache


def test_build__two_builds_at_once__both_succeed_with_one_result(tmp_path: Path):
    import threading

    project = make_project(tmp_path, requirements="tinylib==1.0\n")
    both_installing = threading.Barrier(2, timeout=10)

    class MeetingInstaller(FakeInstaller):
        def install(self, requirements: Path, target: Path) -> None:
            both_installing.wait()
            super().install(requirements, target)

    results: list[Artifact] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                build_artifact(project, installer=MeetingInstaller())
            )
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 2
    assert results[0] == results[1]
    deps = project / ".rollout" / "cache" / "deps"
    assert len(list(deps.iterdir())) == 1
    assert "tinylib/core.py" in zip_names(results[0])


# Errors


def test_build__no_lambda_code_anywhere__input_error_names_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(artifact_module, "SHIPPED_CODE", tmp_path / "missing")

    with pytest.raises(InputError, match="lambda_code"):
        build_artifact(tmp_path)


def test_code_dir__project_without_lambda_code__shipped_handlers(tmp_path: Path):
    assert artifact_module.code_dir_of(tmp_path) == artifact_module.SHIPPED_CODE
    assert (artifact_module.SHIPPED_CODE / "api.py").is_file()
    (tmp_path / "lambda_code").mkdir()
    assert artifact_module.code_dir_of(tmp_path) == tmp_path / "lambda_code"


def test_build__source_shadows_dependency__input_error_names_file(tmp_path: Path):
    sources = {**SOURCES, "tinylib/core.py": "shadow = True\n"}
    project = make_project(tmp_path, sources=sources, requirements="tinylib==1.0\n")

    with pytest.raises(InputError, match="lambda_code/tinylib/core.py"):
        build_artifact(project, installer=FakeInstaller())


def test_pip_command__lambda_platform__binary_wheels_for_arm64_python312():
    command = PipInstaller().command(Path("requirements.txt"), Path("/tmp/target"))

    assert "--only-binary=:all:" in command
    assert command[command.index("--python-version") + 1] == "3.12"
    assert command[command.index("--implementation") + 1] == "cp"
    platforms = [command[i + 1] for i, a in enumerate(command) if a == "--platform"]
    assert platforms == list(LAMBDA_ARM64.platforms)
    assert "manylinux2014_aarch64" in platforms
    assert all(p.endswith("_aarch64") for p in platforms)
    assert command[command.index("--target") + 1] == "/tmp/target"


def test_pip_installer__pip_fails__error_names_file_and_pip_message(tmp_path: Path):
    def run(command, **kwargs):
        return subprocess.CompletedProcess(
            command, 1, "", "ERROR: No matching distribution found for nope==9\n"
        )

    installer = PipInstaller(run=run)

    with pytest.raises(DependencyInstallError) as caught:
        installer.install(tmp_path / "requirements.txt", tmp_path / "target")
    assert "requirements.txt" in str(caught.value)
    assert "No matching distribution found for nope==9" in str(caught.value)
    assert caught.value.exit_code == 2


# Speed (issue 8: an artifact build holds under 3 s)


def test_build__cached_and_after_source_change__each_under_3_seconds(tmp_path: Path):
    # About 12 MB in 1,200 files, the size of a typical set of Lambda dependencies.
    module = ("def f(x):\n    return x * 2  # a line of ordinary code\n" * 200).encode()
    files = {f"biglib/pkg{i // 100}/mod{i}.py": module for i in range(1200)}
    project = make_project(tmp_path, requirements="biglib==1.0\n")
    installer = FakeInstaller(files)
    build_artifact(project, installer=installer)

    started = time.perf_counter()
    build_artifact(project, installer=installer)
    cached = time.perf_counter() - started

    (project / "lambda_code" / "handler.py").write_text("def handler(e, c):\n    ...\n")
    started = time.perf_counter()
    rebuilt = build_artifact(project, installer=installer)
    after_change = time.perf_counter() - started

    assert len(installer.calls) == 1
    assert len(zip_names(rebuilt)) > 1200
    assert cached < 3.0, f"cached build took {cached:.2f} s"
    assert after_change < 3.0, f"build after a source change took {after_change:.2f} s"


# The real pip, once


_UNREACHABLE = (
    "Could not fetch URL",
    "Failed to establish a new connection",
    "Max retries exceeded",
    "Temporary failure in name resolution",
    "Network is unreachable",
)


def test_build__real_pip_with_pinned_pure_python_package__zipped_for_lambda(
    tmp_path: Path,
):
    project = make_project(tmp_path / "one", requirements="six==1.17.0\n")
    twin = make_project(tmp_path / "two", requirements="six==1.17.0\n")

    try:
        artifact = ArtifactBuilder(project).build()
    except DependencyInstallError as exc:
        if any(marker in exc.output for marker in _UNREACHABLE):
            pytest.skip(f"the package index is unreachable: {exc}")
        raise
    again = ArtifactBuilder(twin).build()

    names = zip_names(artifact)
    assert "six.py" in names
    assert "six-1.17.0.dist-info/METADATA" in names
    assert "six-1.17.0.dist-info/INSTALLER" not in names
    assert again.sha256 == artifact.sha256
