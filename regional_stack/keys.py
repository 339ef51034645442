"""Customer-managed KMS keys, one per data service, each with its own key policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from regional_stack.component import POLICY_VERSION, Component
from rollout.naming import Namer

# What a service or role needs to encrypt and decrypt with a key, named one by one.
USE_ACTIONS = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
]
# CloudWatch publishing an alarm to an encrypted topic needs only these two.
PUBLISH_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]


@dataclass(frozen=True)
class KeysArgs:
    region: str
    account_id: pulumi.Input[str]
    namer: Namer
    # Role ARNs that send to the queues encrypted with the messaging key.
    queue_senders: list[pulumi.Input[str]] = field(default_factory=list)
    with_secrets: bool = False


def key_policy(
    account_id: pulumi.Input[str], statements: list[dict[str, Any]]
) -> pulumi.Output[str]:
    """A key policy: the account root administers the key, plus ``statements``.

    In a key policy ``"Resource": "*"`` means the key itself, and the root
    statement is what lets IAM policies in the account grant use of the key.
    """
    root = {
        "Sid": "AccountAdministration",
        "Effect": "Allow",
        "Principal": {
            "AWS": pulumi.Output.concat("arn:aws:iam::", account_id, ":root")
        },
        "Action": "kms:*",
        "Resource": "*",
    }
    return pulumi.Output.json_dumps(
        {"Version": POLICY_VERSION, "Statement": [root, *statements]}, sort_keys=True
    )


class Keys(Component):
    """The data (S3), tables, logs and messaging keys, and one for secrets."""

    def __init__(
        self,
        name: str,
        args: KeysArgs,
        provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("rollout:keys:Keys", name, provider, opts)
        region, account = args.region, args.account_id

        self.data = self._key(name, "data", args, [])
        self.tables = self._key(name, "tables", args, [])
        self.logs = self._key(
            name,
            "logs",
            args,
            [
                {
                    "Sid": "CloudWatchLogs",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                    "Action": USE_ACTIONS,
                    "Resource": "*",
                    "Condition": {
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": pulumi.Output.concat(
                                f"arn:aws:logs:{region}:", account, ":log-group:*"
                            )
                        }
                    },
                }
            ],
        )
        messaging = [
            {
                "Sid": "CloudWatchAlarms",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": PUBLISH_ACTIONS,
                "Resource": "*",
            }
        ]
        if args.queue_senders:
            messaging.append(
                {
                    "Sid": "QueueSenders",
                    "Effect": "Allow",
                    "Principal": {"AWS": list(args.queue_senders)},
                    "Action": PUBLISH_ACTIONS,
                    "Resource": "*",
                }
            )
        self.messaging = self._key(name, "messaging", args, messaging)
        self.secrets = (
            self._key(name, "secrets", args, []) if args.with_secrets else None
        )

        self.register_outputs(
            {
                "dataKeyArn": self.data.arn,
                "tablesKeyArn": self.tables.arn,
                "logsKeyArn": self.logs.arn,
                "messagingKeyArn": self.messaging.arn,
            }
        )

    def _key(
        self,
        name: str,
        purpose: str,
        args: KeysArgs,
        statements: list[dict[str, Any]],
    ) -> aws.kms.Key:
        key = aws.kms.Key(
            f"{name}-{purpose}",
            description=f"{args.namer(purpose)}: {purpose}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=key_policy(args.account_id, statements),
            opts=self.child(),
        )
        aws.kms.Alias(
            f"{name}-{purpose}",
            name=f"alias/{args.namer(purpose, 'kms_alias')}",
            target_key_id=key.key_id,
            opts=self.child(),
        )
        return key
