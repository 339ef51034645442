"""The rules, one function each, registered in ``RULES``."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rollout.checks import CheckResult
from rollout.synth.model import StackPlan

Rule = Callable[[list[StackPlan]], Iterable[CheckResult]]


def providers_one_per_region(stacks: list[StackPlan]) -> Iterable[CheckResult]:
    """Every resource uses its region's one provider; no default provider."""
    for stack in stacks:
        providers: dict[str, list[str]] = {}
        for provider in stack.providers():
            providers.setdefault(provider.region or "", []).append(provider.urn)
        for region, urns in providers.items():
            if len(urns) > 1:
                for urn in urns[1:]:
                    yield CheckResult(
                        "providers.one-per-region",
                        "fail",
                        "error",
                        urn,
                        region,
                        f"{urn} is a second provider for {region}; reuse the first",
                    )
        for resource in stack.resources:
            if not resource.custom or resource.type.startswith("pulumi:providers:"):
                continue
            if "pulumi:providers:aws::default" in resource.provider:
                yield CheckResult(
                    "providers.no-default",
                    "fail",
                    "error",
                    resource.urn,
                    stack.region,
                    f"{resource.name} uses the default provider; pass the "
                    "region's provider explicitly",
                )
            else:
                yield CheckResult(
                    "providers.no-default",
                    "pass",
                    "error",
                    resource.urn,
                    resource.region or stack.region,
                    f"{resource.name} uses an explicit provider",
                )


RULES: list[Rule] = [providers_one_per_region]
