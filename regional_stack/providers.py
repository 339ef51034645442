"""One AWS provider per region, created once and shared by that region's resources."""

from __future__ import annotations

import keyword

import pulumi
import pulumi_aws as aws

from regional_stack.config import StackConfig


class ProviderRegistry:
    """Hands out the one provider of each region, creating it on first use."""

    def __init__(self, config: StackConfig) -> None:
        self._config = config
        self._providers: dict[str, aws.Provider] = {}

    def __call__(self, region: str) -> aws.Provider:
        if region not in self._providers:
            self._providers[region] = self._create(region)
        return self._providers[region]

    def opts(self, region: str, **kwargs) -> pulumi.ResourceOptions:
        """Resource options that pin a resource to ``region``'s provider."""
        return pulumi.ResourceOptions(provider=self(region), **kwargs)

    def _create(self, region: str) -> aws.Provider:
        config = self._config
        tags = {
            **config.tags,
            "rollout:env": config.env,
            "rollout:region": region,
            "rollout:managed-by": "rollout",
        }
        args: dict = {
            "region": region,
            "default_tags": aws.ProviderDefaultTagsArgs(tags=tags),
        }
        if config.profile:
            args["profile"] = config.profile
        if config.endpoints:
            # Emulators such as LocalStack or moto answer no STS account lookup
            # and serve S3 only on path-style URLs.
            args.update(
                endpoints=[
                    aws.ProviderEndpointArgs(**_endpoint_args(config.endpoints))
                ],
                skip_credentials_validation=True,
                skip_requesting_account_id=True,
                skip_metadata_api_check=True,
                s3_use_path_style=True,
            )
        return aws.Provider(f"aws-{region}", **args)


def _endpoint_args(endpoints: dict[str, str]) -> dict[str, str]:
    """AWS's service names as Python arguments: ``lambda`` becomes ``lambda_``."""
    return {
        f"{service}_" if keyword.iskeyword(service) else service: url
        for service, url in endpoints.items()
    }
