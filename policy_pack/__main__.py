"""rollout's rules as a Pulumi CrossGuard policy pack.

    pulumi preview --policy-pack <project>/policy_pack

Every policy is one rule of ``rollout.checks.rules.RULES``, run on the stack
Pulumi is about to deploy; rules of severity ``error`` are mandatory.
"""

import sys
from pathlib import Path

# The rules live in the project beside this pack; the pack's own virtualenv
# holds only their libraries (requirements.txt).
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from adapter import policies  # noqa: E402
from pulumi_policy import PolicyPack  # noqa: E402

PolicyPack(name="rollout", policies=policies())
