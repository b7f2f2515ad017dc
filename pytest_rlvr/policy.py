"""The policy protocol: a batch of conversations in, one assistant turn per conversation out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .task import Task
from .trace import ToolCall, ToolResult


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.0
    max_tokens: int = 512
    seed: int = 0


@dataclass
class TurnRequest:
    """One rollout waiting for its next assistant turn."""

    rollout_id: str
    task: Task
    messages: list[dict[str, Any]]
    tools: Sequence[Mapping[str, Any]]
    sampling: Sampling
    results: list[ToolResult] = field(default_factory=list)
    """The results of the previous turn's tool calls (empty on the first turn). Model policies read them
    from `messages`; scripted policies send them to their script."""


@dataclass
class AssistantTurn:
    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0


class InfrastructureError(Exception):
    """The serving side failed (timeout, 5xx, refused connection, an answer that is not one) after retries: the
    case errors. The message is one line naming the server (its URL) and what it did."""


class PolicyRequestError(RuntimeError):
    """The serving side refused a request as wrong (a 4xx: a configuration error or a bug): not retried, the
    case errors at once. The message is one line naming the server and what to do."""


class Policy(Protocol):
    """Anything that answers conversations: scripted, in-process model, or a server.

    The rollout engine hands `generate` every request that is waiting at the same moment, one call at a
    time (dynamic batching). Two optional attributes tune that: `max_batch_size` (int, default unbounded)
    and `max_concurrent_batches` (int, default 1; a server policy may raise it so that a slow request
    does not hold back rollouts that are ready). Timeouts, 5xx answers and refused connections should be
    raised as InfrastructureError (TimeoutError and ConnectionError are accepted too): the engine retries
    them with backoff and, if they persist, the case errors; a refused request as PolicyRequestError, which
    errors the case at once. Both show as the message alone, one line per case. CPU-heavy generation (an
    in-process model) should run off the event loop, e.g. in `asyncio.to_thread`, so that environments keep
    being served.
    """

    name: str

    @property
    def info(self) -> dict[str, Any]:
        """Identity and settings, saved in traces and results (model, backend, template, parser...)."""

    async def generate(self, requests: Sequence[TurnRequest]) -> list[AssistantTurn]:
        """Answer every request; may batch them. Raises InfrastructureError for serving failures."""

    async def close(self) -> None:
        """Release what the policy holds (processes, models)."""
