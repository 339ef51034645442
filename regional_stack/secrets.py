"""The stack's secrets, each an SSM SecureString under the stack's secrets key."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from regional_stack.component import Component


@dataclass(frozen=True)
class SecretsArgs:
    # Secret name -> (parameter name, value as a Pulumi secret).
    values: dict[str, tuple[str, pulumi.Output[str]]]
    key: aws.kms.Key


class Secrets(Component):
    def __init__(
        self,
        name: str,
        args: SecretsArgs,
        provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("rollout:secrets:Secrets", name, provider, opts)
        self.parameters: dict[str, aws.ssm.Parameter] = {
            secret: aws.ssm.Parameter(
                f"{name}-{secret.lower()}",
                name=parameter_name,
                type="SecureString",
                key_id=args.key.arn,
                value=pulumi.Output.secret(value),
                opts=self.child(),
            )
            for secret, (parameter_name, value) in sorted(args.values.items())
        }
        self.arns = [p.arn for _, p in sorted(self.parameters.items())]
        self.register_outputs(
            {"parameters": {k: p.name for k, p in self.parameters.items()}}
        )
