"""The errors rollout raises, and the exit code each one maps to.

    RolloutError                 exit 1 unless a subclass says otherwise
    ├── InputError               exit 2: a manifest, a template, a flag, a region
    │   ├── ManifestError        names the file and the key
    │   └── TemplateError        names the template and the line
    ├── DeploymentError          exit 1: a stack update or a copy failed
    │   └── GateFailed           exit 1: the canary's health gate said no
    ├── PolicyViolation          exit 1: a check of severity error failed
    └── EnvironmentBlocked       exit 3: the machine or the state says wait
        ├── EngineMissing        no Pulumi CLI, no passphrase
        ├── LockHeld             another command holds the env's lock
        ├── ConfirmationNeeded   no terminal and no --yes
        └── PromotionRefused     no healthy canary for the current artifact

The CLI is the only place that turns these into messages and exit codes.
"""

from __future__ import annotations


class RolloutError(Exception):
    """Base of every error rollout raises on purpose."""

    exit_code = 1


class InputError(RolloutError):
    exit_code = 2


class ManifestError(InputError):
    """A region manifest is wrong: says which file, which key and why."""

    def __init__(self, file: str, key: str | None, problem: str) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {problem}")


class TemplateError(InputError):
    """A blueprint failed to render: says which template and which line."""

    def __init__(self, template: str, line: int | None, problem: str) -> None:
        self.template = template
        self.line = line
        self.problem = problem
        where = f"{template}, line {line}" if line else template
        super().__init__(f"{where}: {problem}")


class DeploymentError(RolloutError):
    exit_code = 1


class GateFailed(DeploymentError):
    exit_code = 1


class PolicyViolation(RolloutError):
    exit_code = 1


class EnvironmentBlocked(RolloutError):
    exit_code = 3


class EngineMissing(EnvironmentBlocked):
    pass


class LockHeld(EnvironmentBlocked):
    pass


class ConfirmationNeeded(EnvironmentBlocked):
    pass


class PromotionRefused(EnvironmentBlocked):
    pass
