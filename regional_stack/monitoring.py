"""The region's alarm topic and error-rate alarms on the functions and the API."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from regional_stack.component import Component

PERIOD_S = 60
EVALUATION_PERIODS = 5
DATAPOINTS_TO_ALARM = 3


@dataclass(frozen=True)
class RateAlarm:
    """An alarm on ``<errors> / <total> * 100`` of one metric namespace.

    Each metric is a ``(query id, metric name)`` pair; CloudWatch wants query
    ids that start with a lower-case letter.
    """

    label: str
    alarm_name: str
    description: str
    namespace: str
    errors: tuple[str, str]
    total: tuple[str, str]
    dimensions: dict[str, pulumi.Input[str]]


@dataclass(frozen=True)
class MonitoringArgs:
    topic_name: str
    key: aws.kms.Key
    threshold_percent: float
    alarms: list[RateAlarm]


class Monitoring(Component):
    def __init__(
        self,
        name: str,
        args: MonitoringArgs,
        provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("rollout:monitoring:Monitoring", name, provider, opts)
        self.topic = aws.sns.Topic(
            f"{name}-topic",
            name=args.topic_name,
            kms_master_key_id=args.key.arn,
            opts=self.child(),
        )
        self.alarms = [self._alarm(name, alarm, args) for alarm in args.alarms]
        self.alarm_names = [a.name for a in self.alarms]
        self.register_outputs(
            {"topicArn": self.topic.arn, "alarmNames": self.alarm_names}
        )

    def _alarm(
        self, name: str, alarm: RateAlarm, args: MonitoringArgs
    ) -> aws.cloudwatch.MetricAlarm:
        def metric(query_id: str, metric_name: str) -> dict:
            return {
                "id": query_id,
                "return_data": False,
                "metric": {
                    "namespace": alarm.namespace,
                    "metric_name": metric_name,
                    "dimensions": alarm.dimensions,
                    "period": PERIOD_S,
                    "stat": "Sum",
                },
            }

        # A rate, not a count: ten errors mean little among a million calls.
        return aws.cloudwatch.MetricAlarm(
            f"{name}-{alarm.label}",
            name=alarm.alarm_name,
            alarm_description=alarm.description,
            comparison_operator="GreaterThanThreshold",
            threshold=args.threshold_percent,
            evaluation_periods=EVALUATION_PERIODS,
            datapoints_to_alarm=DATAPOINTS_TO_ALARM,
            treat_missing_data="notBreaching",
            metric_queries=[
                metric(*alarm.errors),
                metric(*alarm.total),
                {
                    "id": "rate",
                    "expression": f"{alarm.errors[0]} / {alarm.total[0]} * 100",
                    "label": "error rate (%)",
                    "return_data": True,
                },
            ],
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
            opts=self.child(),
        )
