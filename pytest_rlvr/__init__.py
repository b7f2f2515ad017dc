"""pytest-rlvr: evaluate and train tool-using models with checks that are both assertions and rewards.

The generic checks live in `pytest_rlvr.generic` (not re-exported here, so that pytest can rewrite their
assertions before they are imported).
"""

from .case import Case, assert_checks
from .checks import GROUPS, Check, CheckBug, CheckOutcome, Reward, check, checks_version, score
from .engine import Engine, sample_seed
from .policy import AssistantTurn, InfrastructureError, Policy, Sampling, TurnRequest
from .rollout import rollout
from .settings import Settings
from .task import SPLITS, Call, Environment, Scenario, Script, Task
from .trace import SCHEMA_VERSION, ToolCall, ToolResult, Trace, Turn

__all__ = [
    "GROUPS", "SCHEMA_VERSION", "SPLITS", "AssistantTurn", "Call", "Case", "Check", "CheckBug", "CheckOutcome",
    "Engine", "Environment", "InfrastructureError", "Policy", "Reward", "Sampling", "Scenario", "Script",
    "Settings", "Task", "ToolCall", "ToolResult", "Trace", "Turn", "assert_checks", "check", "checks_version",
    "rollout", "sample_seed", "score",
]
