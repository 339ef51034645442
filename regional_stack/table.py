"""A provisioned DynamoDB table whose capacity application autoscaling manages."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from regional_stack.component import Component

# Autoscaling changes these; Pulumi must not set them back on the next apply.
CAPACITY_FIELDS = ["readCapacity", "writeCapacity"]


@dataclass(frozen=True)
class Bounds:
    min: int
    max: int


@dataclass(frozen=True)
class TableArgs:
    table_name: str
    hash_key: str
    key: aws.kms.Key
    read: Bounds
    write: Bounds
    target_utilization: float
    ttl_attribute: str | None = None


class Table(Component):
    def __init__(
        self,
        name: str,
        args: TableArgs,
        provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("rollout:table:Table", name, provider, opts)
        ttl = (
            {"enabled": True, "attribute_name": args.ttl_attribute}
            if args.ttl_attribute
            else None
        )
        self.table = aws.dynamodb.Table(
            name,
            name=args.table_name,
            billing_mode="PROVISIONED",
            read_capacity=args.read.min,
            write_capacity=args.write.min,
            hash_key=args.hash_key,
            attributes=[{"name": args.hash_key, "type": "S"}],
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True, "kms_key_arn": args.key.arn},
            ttl=ttl,
            opts=self.child(ignore_changes=CAPACITY_FIELDS),
        )

        for dimension, bounds in (("Read", args.read), ("Write", args.write)):
            target = aws.appautoscaling.Target(
                f"{name}-{dimension.lower()}",
                service_namespace="dynamodb",
                resource_id=pulumi.Output.concat("table/", self.table.name),
                scalable_dimension=f"dynamodb:table:{dimension}CapacityUnits",
                min_capacity=bounds.min,
                max_capacity=bounds.max,
                opts=self.child(),
            )
            aws.appautoscaling.Policy(
                f"{name}-{dimension.lower()}",
                name=f"{args.table_name}-{dimension.lower()}",
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                resource_id=target.resource_id,
                scalable_dimension=target.scalable_dimension,
                target_tracking_scaling_policy_configuration={
                    "predefined_metric_specification": {
                        "predefined_metric_type": (
                            f"DynamoDB{dimension}CapacityUtilization"
                        )
                    },
                    "target_value": args.target_utilization,
                },
                opts=self.child(),
            )
        self.register_outputs({"name": self.table.name, "arn": self.table.arn})
