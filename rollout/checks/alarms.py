"""CloudWatch alarm rules: metric-math shape, error rates, actions."""

from __future__ import annotations

import re
from collections.abc import Iterator

from rollout.checks.base import Graph, Verdict, display, rule

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"

# CloudWatch refuses a metric-math query id that does not start lower-case.
_QUERY_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
# Top-level fields that describe a single metric; metric math must not set them.
_SINGLE_METRIC_FIELDS = (
    "metricName",
    "namespace",
    "statistic",
    "extendedStatistic",
    "period",
    "dimensions",
    "unit",
)
# Counts of failures whose size follows traffic: alarm on their rate instead.
ERROR_COUNT_METRICS = frozenset(
    {"Errors", "5XXError", "4XXError", "5xx", "4xx", "HTTPCode_Target_5XX_Count"}
)


@rule(
    "alarms.metric-math-shape",
    "error",
    "Metric-math alarms: one query returns data, ids start lower-case, no metric "
    "fields at the top level.",
)
def metric_math_shape(graph: Graph) -> Iterator[Verdict]:
    for alarm in graph.of_type(ALARM):
        queries = alarm.inputs.get("metricQueries") or []
        if not queries:
            continue
        problems = []
        returning = [q for q in queries if q.get("returnData")]
        if len(returning) != 1:
            problems.append(f"{len(returning)} queries return data, not exactly one")
        bad_ids = [
            str(q.get("id"))
            for q in queries
            if not _QUERY_ID.match(str(q.get("id", "")))
        ]
        if bad_ids:
            problems.append(f"query ids {', '.join(bad_ids)} do not start lower-case")
        top = [
            f
            for f in _SINGLE_METRIC_FIELDS
            if alarm.inputs.get(f) not in (None, "", {})
        ]
        if top:
            problems.append(f"it also sets {', '.join(top)} at the top level")
        if problems:
            yield Verdict(
                alarm,
                False,
                f"{display(alarm)}: {'; '.join(problems)}; fix the metric queries",
            )
        else:
            yield Verdict(alarm, True, f"{display(alarm)} has a well-formed expression")


def _raw_error_metric(alarm) -> str | None:
    name = alarm.inputs.get("metricName")
    if name in ERROR_COUNT_METRICS:
        return name
    for query in alarm.inputs.get("metricQueries") or []:
        metric = (query.get("metric") or {}).get("metricName")
        if query.get("returnData") and metric in ERROR_COUNT_METRICS:
            return metric
    return None


@rule(
    "alarms.no-raw-error-count",
    "error",
    "Alarms watch an error rate (metric math), never a raw error count.",
)
def no_raw_error_count(graph: Graph) -> Iterator[Verdict]:
    for alarm in graph.of_type(ALARM):
        metric = _raw_error_metric(alarm)
        if metric:
            yield Verdict(
                alarm,
                False,
                f"{display(alarm)} alarms on the raw count {metric}; divide it by "
                "the request count in a metric-math expression (a rate in percent)",
            )
        else:
            yield Verdict(alarm, True, f"{display(alarm)} does not watch a raw count")


@rule("alarms.has-action", "error", "Every alarm notifies someone when it fires.")
def has_action(graph: Graph) -> Iterator[Verdict]:
    for alarm in graph.of_type(ALARM):
        actions = alarm.inputs.get("alarmActions") or []
        if actions and alarm.inputs.get("actionsEnabled", True) is not False:
            yield Verdict(alarm, True, f"{display(alarm)} has {len(actions)} action(s)")
        else:
            yield Verdict(
                alarm,
                False,
                f"{display(alarm)} has no enabled alarm action; add the region's "
                "SNS topic to alarmActions",
            )


RULES = [metric_math_shape, no_raw_error_count, has_action]
