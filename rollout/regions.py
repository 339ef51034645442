"""The AWS regions rollout knows, and the network each one gets by default.

The order of ``KNOWN_REGIONS`` is part of the contract: a region's default VPC
CIDR is derived from its position, so new regions are only ever appended and
adding one never renumbers another.
"""

from __future__ import annotations

import ipaddress

KNOWN_REGIONS: tuple[str, ...] = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-east-1",
    "ap-east-2",
    "ca-central-1",
    "ca-west-1",
    "sa-east-1",
    "af-south-1",
    "me-south-1",
    "me-central-1",
    "il-central-1",
    "mx-central-1",
)

# Derived networks start above the low 10.x ranges that offices and VPNs favour.
_FIRST_DERIVED_OCTET = 64


def default_cidr(region: str) -> ipaddress.IPv4Network:
    """The /16 a region gets when its manifest names none."""
    index = KNOWN_REGIONS.index(region)
    return ipaddress.IPv4Network(f"10.{_FIRST_DERIVED_OCTET + index}.0.0/16")
