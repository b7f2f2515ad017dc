"""pytest-rlvr: evaluate and train tool-using models with checks that are both assertions and rewards."""

from .checks import GROUPS, Check, CheckBug, CheckOutcome, Reward, check, score
from .policy import AssistantTurn, InfrastructureError, Policy, Sampling, TurnRequest
from .task import SPLITS, Call, Environment, Scenario, Script, Task
from .trace import SCHEMA_VERSION, ToolCall, ToolResult, Trace, Turn

__all__ = [
    "GROUPS", "SCHEMA_VERSION", "SPLITS", "AssistantTurn", "Call", "Check", "CheckBug", "CheckOutcome",
    "Environment", "InfrastructureError", "Policy", "Reward", "Sampling", "Scenario", "Script", "Task",
    "ToolCall", "ToolResult", "Trace", "Turn", "check", "score",
]
