"""The VPC the functions run in: private subnets with NAT, gateway endpoints."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from regional_stack.component import Component
from rollout.naming import Namer

# Each subnet is an eighth of the VPC: private ones first, public from the fifth.
_SUBNET_BITS = 3
_PUBLIC_OFFSET = 4


@dataclass(frozen=True)
class NetworkArgs:
    region: str
    cidr: str
    az_count: int
    namer: Namer


def subnet_cidrs(cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """(private, public) subnet CIDRs, one of each per availability zone."""
    blocks = list(ipaddress.ip_network(cidr).subnets(prefixlen_diff=_SUBNET_BITS))
    private = [str(blocks[i]) for i in range(az_count)]
    public = [str(blocks[_PUBLIC_OFFSET + i]) for i in range(az_count)]
    return private, public


class Network(Component):
    """VPC, subnets, NAT gateways, gateway endpoints and the Lambda security group."""

    def __init__(
        self,
        name: str,
        args: NetworkArgs,
        provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("rollout:network:Network", name, provider, opts)
        namer = args.namer
        zones = aws.get_availability_zones_output(state="available", opts=self.invoke())

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": namer("vpc")},
            opts=self.child(),
        )
        gateway = aws.ec2.InternetGateway(
            f"{name}-igw",
            vpc_id=self.vpc.id,
            tags={"Name": namer("igw")},
            opts=self.child(),
        )
        public_table = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=self.vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}],
            tags={"Name": namer("public")},
            opts=self.child(),
        )

        private_cidrs, public_cidrs = subnet_cidrs(args.cidr, args.az_count)
        self.private_subnets: list[aws.ec2.Subnet] = []
        self.private_route_tables: list[aws.ec2.RouteTable] = []
        for index in range(args.az_count):
            zone = zones.names.apply(lambda names, i=index: names[i])
            letter = "abc"[index]
            public = aws.ec2.Subnet(
                f"{name}-public-{letter}",
                vpc_id=self.vpc.id,
                cidr_block=public_cidrs[index],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={"Name": namer(f"public-{letter}")},
                opts=self.child(),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{letter}",
                subnet_id=public.id,
                route_table_id=public_table.id,
                opts=self.child(),
            )
            address = aws.ec2.Eip(
                f"{name}-nat-{letter}",
                domain="vpc",
                tags={"Name": namer(f"nat-{letter}")},
                opts=self.child(),
            )
            # A NAT gateway needs the internet gateway attached before it works.
            nat = aws.ec2.NatGateway(
                f"{name}-nat-{letter}",
                allocation_id=address.id,
                subnet_id=public.id,
                tags={"Name": namer(f"nat-{letter}")},
                opts=self.child(depends_on=[gateway]),
            )

            private = aws.ec2.Subnet(
                f"{name}-private-{letter}",
                vpc_id=self.vpc.id,
                cidr_block=private_cidrs[index],
                availability_zone=zone,
                tags={"Name": namer(f"private-{letter}")},
                opts=self.child(),
            )
            table = aws.ec2.RouteTable(
                f"{name}-private-{letter}",
                vpc_id=self.vpc.id,
                routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}],
                tags={"Name": namer(f"private-{letter}")},
                opts=self.child(),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{letter}",
                subnet_id=private.id,
                route_table_id=table.id,
                opts=self.child(),
            )
            self.private_subnets.append(private)
            self.private_route_tables.append(table)

        # S3 and DynamoDB traffic stays on AWS's network and skips the NAT bill.
        self.endpoints = [
            aws.ec2.VpcEndpoint(
                f"{name}-{service}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=[t.id for t in self.private_route_tables],
                tags={"Name": namer(f"{service}-endpoint")},
                opts=self.child(),
            )
            for service in ("s3", "dynamodb")
        ]

        # Inline rules keep the group to exactly these: nothing in, HTTPS out.
        self.lambda_security_group = aws.ec2.SecurityGroup(
            f"{name}-lambda",
            name=namer("lambda", "security_group"),
            description="Lambda functions: no inbound traffic, HTTPS out",
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[
                {
                    "description": "HTTPS to AWS APIs and the internet",
                    "protocol": "tcp",
                    "from_port": 443,
                    "to_port": 443,
                    "cidr_blocks": ["0.0.0.0/0"],
                }
            ],
            opts=self.child(),
        )

        self.register_outputs(
            {
                "vpcId": self.vpc.id,
                "privateSubnetIds": [s.id for s in self.private_subnets],
                "securityGroupId": self.lambda_security_group.id,
            }
        )
