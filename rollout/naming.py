"""Physical names of everything a stack creates, built in one place.

Every stack derives every name (its own and, for the primary, the artifact
buckets of other regions) with :func:`physical_name`, so no stack waits on
another stack's outputs to be planned, and a manifest that would give an
invalid name is rejected before anything is rendered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

APP = "rollout"
PLACEHOLDER_ACCOUNT = "123456789012"

# AWS's length limits for the kinds of name the stack builds.
LIMITS: dict[str, int] = {
    "s3": 63,
    "iam_role": 64,
    "lambda": 64,
    "dynamodb": 255,
    "sqs": 80,
    "sns": 256,
    "kms_alias": 250,
    "apigateway": 1024,
    "codebuild": 255,
    "ssm": 1011,
    "alarm": 255,
    "security_group": 255,
}

# The names every regional stack builds: (kind, purpose).
STACK_NAMES: tuple[tuple[str, str], ...] = (
    ("s3", "data"),
    ("s3", "artifacts"),
    ("iam_role", "api-handler-role"),
    ("iam_role", "processor-role"),
    ("iam_role", "codebuild-role"),
    ("lambda", "api-handler"),
    ("lambda", "processor"),
    ("dynamodb", "items"),
    ("dynamodb", "idempotency"),
    ("sqs", "processor-dlq"),
    ("sns", "alarms"),
    ("codebuild", "artifact-build"),
    ("apigateway", "api"),
    ("apigateway", "usage-plan"),
    ("security_group", "lambda"),
    ("alarm", "api-handler-error-rate"),
    ("alarm", "processor-error-rate"),
    ("alarm", "api-5xx-rate"),
    ("kms_alias", "data"),
    ("kms_alias", "tables"),
    ("kms_alias", "logs"),
    ("kms_alias", "messaging"),
    ("kms_alias", "secrets"),
    ("kms_alias", "artifacts"),
)

_ENV_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


class NamingError(ValueError):
    """A name that AWS would refuse."""


@dataclass(frozen=True)
class Namer:
    """Builds names for one env and region."""

    env: str
    region: str
    account_id: str = PLACEHOLDER_ACCOUNT
    app: str = APP

    def __call__(self, purpose: str, kind: str = "generic") -> str:
        return physical_name(
            self.app,
            self.env,
            self.region,
            purpose,
            kind=kind,
            account_id=self.account_id,
        )

    def parameter(self, secret: str) -> str:
        """The SSM parameter that holds a secret: ``/<app>/<env>/<region>/<secret>``."""
        return parameter_name(self.app, self.env, self.region, secret)


def physical_name(
    app: str,
    env: str,
    region: str,
    purpose: str,
    *,
    kind: str = "generic",
    account_id: str = PLACEHOLDER_ACCOUNT,
) -> str:
    """``<app>-<env>-<region>-<purpose>``, plus the account id for buckets.

    S3 bucket names are global across every account, so they carry the
    account id as well; every other name is unique per account and region.
    """
    parts = [app, env, region, purpose]
    if kind == "s3":
        parts.append(account_id)
    name = "-".join(parts).lower()

    if not _NAME_RE.match(name) or "--" in name:
        raise NamingError(
            f"'{name}' is not a valid {kind} name: use lower-case letters, digits "
            "and single hyphens"
        )
    limit = LIMITS.get(kind)
    if limit is not None and len(name) > limit:
        raise NamingError(
            f"'{name}' is {len(name)} characters, over the {limit} that AWS allows "
            f"for a {kind} name; use a shorter env"
        )
    return name


_PARAMETER_PART_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def parameter_name(app: str, env: str, region: str, secret: str) -> str:
    """A hierarchical SSM parameter name, lower-cased like every other name."""
    parts = [app, env, region, secret.lower()]
    for part in parts:
        if not _PARAMETER_PART_RE.match(part):
            raise NamingError(
                f"'{part}' cannot be part of a parameter name: use lower-case "
                "letters, digits, '_' and '-'"
            )
    name = "/" + "/".join(parts)
    if len(name) > LIMITS["ssm"]:
        raise NamingError(
            f"'{name}' is {len(name)} characters, over the {LIMITS['ssm']} that AWS "
            "allows for a parameter name"
        )
    return name


def validate_env(env: str) -> None:
    """An env becomes part of stack and resource names: keep it short and plain."""
    if not _ENV_RE.match(env):
        raise NamingError(
            f"env '{env}' must start with a lower-case letter and hold only "
            "lower-case letters, digits and single hyphens"
        )


def check_stack_names(env: str, region: str) -> None:
    """Raise NamingError if any name the stack builds for (env, region) is invalid."""
    validate_env(env)
    namer = Namer(env=env, region=region)
    for kind, purpose in STACK_NAMES:
        namer(purpose, kind)
