"""jira_issue_create as pytest cases: one per task of the split, passing when the checks hold."""

import pytest

from pytest_rlvr import assert_checks
from scenarios.jira_issue_create import SCENARIO


@pytest.mark.rlvr(SCENARIO)
def test_jira_issue_create(rlvr_case):
    assert_checks(rlvr_case)
