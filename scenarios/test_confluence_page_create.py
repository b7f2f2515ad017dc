"""confluence_page_create as pytest cases: one per task of the split, passing when the checks hold."""

import pytest

from pytest_rlvr import assert_checks
from scenarios.confluence_page_create import SCENARIO


@pytest.mark.rlvr(SCENARIO)
def test_confluence_page_create(rlvr_case):
    assert_checks(rlvr_case)
