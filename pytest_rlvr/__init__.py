"""pytest-rlvr: evaluate and train tool-using models with checks that are both assertions and rewards.

Re-exports the data model. The generic checks live in `pytest_rlvr.generic` (not imported here, so that
pytest can rewrite their assertions first); the rollout loop and engine in `pytest_rlvr.rollout` and
`pytest_rlvr.engine` (they import asyncio, which a session without rlvr cases does not pay for).
"""

from .case import Case, assert_checks
from .checks import GROUPS, Check, CheckBug, CheckOutcome, Reward, check, checks_version, score
from .policy import AssistantTurn, InfrastructureError, Policy, Sampling, TurnRequest
from .scenario import Scenario
from .settings import Settings
from .task import SPLITS, Call, Environment, Script, Task
from .trace import SCHEMA_VERSION, ToolCall, ToolResult, Trace, Turn

__all__ = [
    "GROUPS", "SCHEMA_VERSION", "SPLITS", "AssistantTurn", "Call", "Case", "Check", "CheckBug",
    "CheckOutcome", "Environment", "InfrastructureError", "Policy", "Reward", "Sampling", "Scenario", "Script",
    "Settings", "Task", "ToolCall", "ToolResult", "Trace", "TurnRequest", "Turn", "assert_checks", "check",
    "checks_version", "score",
]
