"""The base every component of the stack shares, and the policy documents they build."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

POLICY_VERSION = "2012-10-17"


class Component(pulumi.ComponentResource):
    """A component whose children all use one region's provider.

    Children get the provider explicitly (``self.child()``), not by
    inheritance alone, so the plan records the region's provider on every
    resource and a default provider can never slip in.
    """

    def __init__(
        self,
        token: str,
        name: str,
        provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            token,
            name,
            None,
            pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(providers=[provider])
            ),
        )
        self.provider = provider

    def child(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options for a child: parented here, pinned to the region's provider."""
        return pulumi.ResourceOptions(parent=self, provider=self.provider, **kwargs)

    def invoke(self) -> pulumi.InvokeOutputOptions:
        return pulumi.InvokeOutputOptions(parent=self, provider=self.provider)


def policy_document(statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    """An IAM policy document as JSON with sorted keys, outputs resolved inside."""
    return pulumi.Output.json_dumps(
        {"Version": POLICY_VERSION, "Statement": statements}, sort_keys=True
    )


def allow(
    sid: str,
    actions: list[str],
    resources: list[Any],
    condition: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An identity-policy statement; ``resources`` are exact ARNs (or outputs)."""
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": resources,
    }
    if condition:
        statement["Condition"] = condition
    return statement


def assume_role_policy(service: str) -> str:
    """The trust policy that lets one AWS service assume a role."""
    return json.dumps(
        {
            "Version": POLICY_VERSION,
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
        sort_keys=True,
    )


def tls_only_bucket_policy(bucket_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """A bucket policy that denies every request not made over TLS."""
    return pulumi.Output.json_dumps(
        {
            "Version": POLICY_VERSION,
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [
                        bucket_arn,
                        pulumi.Output.concat(bucket_arn, "/*"),
                    ],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        },
        sort_keys=True,
    )
