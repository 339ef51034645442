"""Alarms on error rates through metric math, wired to the region's topic."""

from __future__ import annotations

import pytest

from tests.stack.rules import ALARM, assert_alarms, broken, of_type


def test_alarms__shipped_regions__rules_hold(stack):
    assert_alarms(stack)


def test_alarms__api_alarm__rate_of_5xx_over_count(stack):
    (api,) = [a for a in of_type(stack.plan, ALARM) if "5xx" in a.name]
    (result,) = [q for q in api.inputs["metricQueries"] if q.get("returnData")]
    assert result["expression"] == "serverErrors / requests * 100"


def test_alarms__two_results__rule_fails(stacks):
    def two_results(plan):
        for query in of_type(plan, ALARM)[0].inputs["metricQueries"]:
            query["returnData"] = True

    with pytest.raises(AssertionError, match="results"):
        assert_alarms(broken(stacks["eu-west-1"], two_results))


def test_alarms__upper_case_query_id__rule_fails(stacks):
    def upper(plan):
        queries = of_type(plan, ALARM)[1].inputs["metricQueries"]
        queries[0]["id"] = "Errors"

    with pytest.raises(AssertionError, match="Errors"):
        assert_alarms(broken(stacks["eu-west-1"], upper))


def test_alarms__missing_data_breaching__rule_fails(stacks):
    def breaching(plan):
        of_type(plan, ALARM)[2].inputs["treatMissingData"] = "breaching"

    with pytest.raises(AssertionError):
        assert_alarms(broken(stacks["us-east-1"], breaching))
