"""The regional serverless stack: one function that declares every resource."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from regional_stack.config import StackConfig
from regional_stack.providers import ProviderRegistry
from rollout.naming import Namer


def main() -> None:
    config = StackConfig.load()
    providers = ProviderRegistry(config)
    region = config.region
    identity = aws.get_caller_identity_output(
        opts=pulumi.InvokeOutputOptions(provider=providers(region))
    )
    namer = Namer(env=config.env, region=region)

    key = aws.kms.Key(
        "data-key",
        description=f"Data of {namer('data')}",
        enable_key_rotation=True,
        opts=providers.opts(region),
    )
    bucket = aws.s3.Bucket(
        "data-bucket",
        bucket=namer("data", "s3"),
        opts=providers.opts(region),
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        "data-bucket-encryption",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms", kms_master_key_id=key.arn
                ),
                bucket_key_enabled=True,
            )
        ],
        opts=providers.opts(region, depends_on=[key]),
    )
    pulumi.export("accountId", identity.account_id)
    pulumi.export("dataBucket", bucket.bucket)
