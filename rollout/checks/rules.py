"""Every rule, in the order ``rollout check`` runs and shows them.

Each rule lives in the module of its topic; this list is the one registry that
``run_checks`` and the policy pack under ``policy_pack/`` both read.
"""

from __future__ import annotations

from rollout.checks import alarms, functions, iam, regions, storage, wiring
from rollout.checks.base import Rule

RULES: list[Rule] = [
    *regions.RULES,
    *iam.RULES,
    *storage.RULES,
    *wiring.RULES,
    *functions.RULES,
    *alarms.RULES,
]

RULES_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
