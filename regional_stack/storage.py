"""The data bucket, and the notification that hands its uploads to the processor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from regional_stack.component import Component, tls_only_bucket_policy

UPLOADS_PREFIX = "uploads/"
PROCESSED_PREFIX = "processed/"


@dataclass(frozen=True)
class SecuredBucket:
    bucket: aws.s3.Bucket
    versioning: aws.s3.BucketVersioning
    encryption: aws.s3.BucketServerSideEncryptionConfiguration
    public_access: aws.s3.BucketPublicAccessBlock
    policy: aws.s3.BucketPolicy


def secured_bucket(
    name: str,
    bucket_name: pulumi.Input[str],
    key: aws.kms.Key,
    options: Callable[..., pulumi.ResourceOptions],
    *,
    force_destroy: bool,
) -> SecuredBucket:
    """A bucket with versioning, SSE-KMS with the bucket key, no public access
    and a TLS-only policy, each its own resource as pulumi-aws 7 wants them.
    """
    bucket = aws.s3.Bucket(
        name, bucket=bucket_name, force_destroy=force_destroy, opts=options()
    )
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning",
        bucket=bucket.id,
        versioning_configuration={"status": "Enabled"},
        opts=options(),
    )
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": key.arn,
                },
                "bucket_key_enabled": True,
            }
        ],
        opts=options(),
    )
    public_access = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=options(),
    )
    # S3 refuses a policy change while the public access block is being applied.
    policy = aws.s3.BucketPolicy(
        f"{name}-policy",
        bucket=bucket.id,
        policy=tls_only_bucket_policy(bucket.arn),
        opts=options(depends_on=[public_access]),
    )
    return SecuredBucket(bucket, versioning, encryption, public_access, policy)


@dataclass(frozen=True)
class DataBucketArgs:
    bucket_name: pulumi.Input[str]
    key: aws.kms.Key
    processed_expiry_days: int


class DataBucket(Component):
    """The bucket uploads land in; never emptied on destroy."""

    def __init__(
        self,
        name: str,
        args: DataBucketArgs,
        provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("rollout:storage:DataBucket", name, provider, opts)
        secured = secured_bucket(
            name, args.bucket_name, args.key, self.child, force_destroy=False
        )
        self.bucket = secured.bucket
        days = args.processed_expiry_days

        # Lifecycle rules act on versions, so they come after versioning is on.
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=[
                {
                    "id": "expire-processed",
                    "status": "Enabled",
                    "filter": {"prefix": PROCESSED_PREFIX},
                    "expiration": {"days": days},
                    "noncurrent_version_expiration": {"noncurrent_days": days},
                }
            ],
            opts=self.child(depends_on=[secured.versioning]),
        )
        self.register_outputs({"bucket": self.bucket.bucket, "arn": self.bucket.arn})


@dataclass(frozen=True)
class UploadTriggerArgs:
    bucket: aws.s3.Bucket
    function: aws.lambda_.Function
    account_id: pulumi.Input[str]


class UploadTrigger(Component):
    """S3 invokes the processor for every object created under ``uploads/``."""

    def __init__(
        self,
        name: str,
        args: UploadTriggerArgs,
        provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("rollout:storage:UploadTrigger", name, provider, opts)
        permission = aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=args.function.name,
            principal="s3.amazonaws.com",
            source_arn=args.bucket.arn,
            source_account=args.account_id,
            opts=self.child(),
        )
        # S3 tests the destination when the notification is saved: without the
        # permission in place first, the call fails.
        self.notification = aws.s3.BucketNotification(
            f"{name}-notification",
            bucket=args.bucket.id,
            lambda_functions=[
                {
                    "lambda_function_arn": args.function.arn,
                    "events": ["s3:ObjectCreated:*"],
                    "filter_prefix": UPLOADS_PREFIX,
                }
            ],
            opts=self.child(depends_on=[permission]),
        )
        self.register_outputs({"permission": permission.id})
