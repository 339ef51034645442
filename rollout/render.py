"""Render region manifests through the blueprints into Pulumi stack configs.

Templates run in Jinja's sandbox with StrictUndefined: a template cannot reach
Python internals through a manifest value, and a variable it names but is not
given is an error that names the template and the line.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
import yaml

from rollout.artifact import Artifact, ArtifactRef
from rollout.errors import TemplateError
from rollout.fsutil import swap_directory
from rollout.manifests import Project, RegionManifest
from rollout.stack_config import config_problem

PROJECT_NAME = "rollout"
PROGRAM_DIR = Path(__file__).resolve().parent.parent / "regional_stack"
PROJECT_TEMPLATE = "Pulumi.yaml.j2"
STACK_TEMPLATE = "stack.yaml.j2"


def stack_name(env: str, region: str) -> str:
    return f"{env}-{region}"


def stack_file(env: str, region: str) -> str:
    return f"Pulumi.{stack_name(env, region)}.yaml"


@dataclass(frozen=True)
class RenderedSet:
    """The files of one render: ``Pulumi.yaml`` and one config per region."""

    files: dict[str, str]

    def config(self, env: str, region: str) -> dict[str, Any]:
        """The ``config:`` mapping of a region's rendered stack file."""
        document = yaml.safe_load(self.files[stack_file(env, region)])
        return document.get("config", {}) if isinstance(document, dict) else {}


class Renderer:
    """Loads the project's blueprints once and renders any set of regions."""

    def __init__(self, blueprints_dir: Path) -> None:
        if not blueprints_dir.is_dir():
            raise TemplateError(str(blueprints_dir), None, "no blueprints/ folder")
        self._dir = blueprints_dir
        self._env = jinja2.sandbox.ImmutableSandboxedEnvironment(
            loader=jinja2.FileSystemLoader(str(blueprints_dir)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
        )

    def render(
        self,
        project: Project,
        regions: list[RegionManifest],
        env: str,
        artifact: Artifact | ArtifactRef,
    ) -> RenderedSet:
        # The zip's path on this machine is not rendered: the engine sets it at
        # apply time, so rendered files and plan digests do not depend on where
        # the project is checked out.
        ref = artifact.ref if isinstance(artifact, Artifact) else artifact
        artifact_config = {"key": ref.key, "sha256": ref.sha256}
        artifact_regions = sorted(project.regions)
        files = {
            "Pulumi.yaml": self._render(
                PROJECT_TEMPLATE,
                project_name=PROJECT_NAME,
                program_dir=str(PROGRAM_DIR),
                virtualenv=sys.prefix if sys.prefix != sys.base_prefix else None,
            )
        }
        for manifest in regions:
            text = files[stack_file(env, manifest.region)] = self._render(
                STACK_TEMPLATE,
                env=env,
                region=manifest.model_dump(mode="json", by_alias=True),
                wave=manifest.effective_wave,
                cidr=str(manifest.cidr),
                primary_region=project.primary.region,
                artifact_regions=artifact_regions,
                artifact=artifact_config,
                manifest_file=_relative(project.regions[manifest.region].path, project),
            )
            document = yaml.safe_load(text)
            config = document.get("config") if isinstance(document, dict) else None
            problem = (
                config_problem(config, manifest.region)
                if isinstance(config, dict)
                else "renders no `config:` mapping"
            )
            if problem:
                raise TemplateError(f"blueprints/{STACK_TEMPLATE}", None, problem)
        return RenderedSet(files)

    def _render(self, name: str, **context: Any) -> str:
        label = f"blueprints/{name}"
        try:
            template = self._env.get_template(name)
            text = template.render(**context)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(label, exc.lineno, exc.message or str(exc)) from None
        except jinja2.TemplateNotFound:
            raise TemplateError(label, None, "template not found") from None
        except jinja2.UndefinedError as exc:
            raise TemplateError(label, _template_line(exc, name), exc.message) from None
        except jinja2.sandbox.SecurityError as exc:
            raise TemplateError(
                label, _template_line(exc, name), f"not allowed in a template: {exc}"
            ) from None

        try:
            yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise TemplateError(
                label, None, f"renders to invalid YAML: {exc}"
            ) from None
        return text


def write_rendered(target: Path, rendered: RenderedSet) -> None:
    """Replace ``target`` with exactly the rendered set, all at once."""
    swap_directory(target, rendered.files)


def _relative(path: Path, project: Project) -> str:
    try:
        return str(path.relative_to(project.root))
    except ValueError:
        return str(path)


def _template_line(exc: BaseException, template_name: str) -> int | None:
    """The line of the template that raised, read from the traceback.

    Jinja compiles templates to Python code whose frames carry the template's
    file name and a line mapped back to the template source.
    """
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(template_name):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
