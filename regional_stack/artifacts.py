"""The artifact bucket of every region, owned by the primary stack.

Every stack derives every artifact bucket's name with the naming function, so
a secondary stack can be planned without waiting for the primary's outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from regional_stack.component import Component
from regional_stack.keys import key_policy
from regional_stack.storage import SecuredBucket, secured_bucket
from rollout.naming import Namer

PURPOSE = "artifacts"


def artifact_bucket_name(
    env: str, region: str, account_id: pulumi.Input[str]
) -> pulumi.Output[str]:
    return pulumi.Output.from_input(account_id).apply(
        lambda account: Namer(env=env, region=region, account_id=account)(PURPOSE, "s3")
    )


@dataclass(frozen=True)
class Upload:
    """The built artifact: where it is on disk and where it goes in the bucket."""

    key: str
    sha256: str
    path: str


@dataclass(frozen=True)
class ArtifactBucketsArgs:
    env: str
    home_region: str
    regions: list[str]
    account_id: pulumi.Input[str]
    upload: Upload


class ArtifactBuckets(Component):
    """One bucket (and key) per region, each through that region's provider,
    and the artifact uploaded to the home region's bucket.
    """

    def __init__(
        self,
        name: str,
        args: ArtifactBucketsArgs,
        provider_of: Callable[[str], aws.Provider],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            "rollout:artifacts:ArtifactBuckets",
            name,
            provider_of(args.home_region),
            opts,
        )
        self.buckets: dict[str, SecuredBucket] = {}
        self.keys: dict[str, aws.kms.Key] = {}
        for region in args.regions:
            provider = provider_of(region)

            def options(provider=provider, **kwargs) -> pulumi.ResourceOptions:
                return pulumi.ResourceOptions(parent=self, provider=provider, **kwargs)

            namer = Namer(env=args.env, region=region)
            key = aws.kms.Key(
                f"{name}-{region}-key",
                description=f"{namer(PURPOSE)}: Lambda artifacts",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                policy=key_policy(args.account_id, []),
                opts=options(),
            )
            aws.kms.Alias(
                f"{name}-{region}-key",
                name=f"alias/{namer(PURPOSE, 'kms_alias')}",
                target_key_id=key.key_id,
                opts=options(),
            )
            # Artifacts are rebuilt from source at will: emptied on destroy.
            self.buckets[region] = secured_bucket(
                f"{name}-{region}",
                artifact_bucket_name(args.env, region, args.account_id),
                key,
                options,
                force_destroy=True,
            )
            self.keys[region] = key

        home = self.buckets[args.home_region]
        upload = args.upload
        self.object = aws.s3.BucketObjectv2(
            f"{name}-lambda-zip",
            bucket=home.bucket.id,
            key=upload.key,
            source=pulumi.FileAsset(upload.path),
            content_type="application/zip",
            server_side_encryption="aws:kms",
            kms_key_id=self.keys[args.home_region].arn,
            metadata={"sha256": upload.sha256},
            opts=self.child(depends_on=[home.encryption, home.versioning]),
        )
        self.bucket_names = {
            region: secured.bucket.bucket for region, secured in self.buckets.items()
        }
        self.register_outputs({"buckets": self.bucket_names})
