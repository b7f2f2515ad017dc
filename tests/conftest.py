"""Session-wide settings for the harness's own tests.

Every response the simulator produces during the test run is validated against the official OpenAPI
response schema of its operation: with `World.check_responses` on, `World.request` raises
`ConformanceError` (an AssertionError) for a response that breaks it. So every test that touches the
simulator also checks conformance, and the fuzz test checks it for thousands of generated calls. With
`World.strict` on, an exception in a handler (a simulator bug) raises instead of being served as a 500.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from scenarios.atlassian.world import World

# Under pytest-xdist every worker runs its own model: one thread each, or the cores are oversubscribed.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

# On from import time, so module-level worlds and collection-time parametrization are checked too.
World.check_responses = True
World.strict = True


@pytest.fixture(autouse=True, scope="session")
def _check_every_response() -> Iterator[None]:
    World.check_responses = True  # again, in case a module switched it off while being imported
    World.strict = True
    yield
