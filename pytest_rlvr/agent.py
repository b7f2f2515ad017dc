"""Evaluate an agent instead of a model (`--rlvr-agent=MODULE:CALLABLE`): the trace is what reached the site.

For each sample of each case the plugin asks the scenario's environment to serve itself (`env.serve()`, see
`Served`), calls the agent with an `AgentCase` (the user's request, the site's URLs and credentials, an MCP
endpoint on demand) on a thread of its own, waits at most `--rlvr-timeout` seconds, and builds the trace from
the site's request log plus the text the agent returned. The scenario's checks score it unchanged.

How the trace is formed (also saved in every trace, under `policy.trace`):

- every request that reached the site is one turn with one tool call, in the order the site answered them,
  so a result counts as read before every later request ("informed" checks see it as an earlier turn);
- the agent's return value is a last turn without calls: the final answer;
- which tool and arguments a request stands for is the environment's mapping (`Served.calls`).

A crash, a hang past the timeout, or a return value that is not text is an infrastructure error: the case
errors with one line, it does not score 0. Agents are not retried.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .engine import Engine
from .policy import AssistantTurn, InfrastructureError, Sampling, TurnRequest
from .rollout import STOP_ANSWERED, assistant_message, tool_message
from .scenario import Scenario
from .settings import Settings
from .task import Task
from .trace import ToolCall, ToolResult, Trace, Turn

BACKEND = "agent"
TRACE_NOTE = (
    "rebuilt from the requests that reached the site: one turn per request in the order the site answered, "
    "then the agent's final text as the last turn. A REST request is named by its operation (the tool of that "
    "operationId) with its path, query and body parameters as arguments; an MCP call keeps its tool name and "
    "arguments. Not recorded: requests that never reached the site (refused by the agent's own client, sent "
    "without credentials), which requests were sent at once, which tool an agent meant by a REST request, and "
    "the agent's reasoning, intermediate text and tokens."
)


class Served(Protocol):
    """A world served for one agent run; what `Environment.serve()` returns (scenarios that support agents)."""

    base_url: str
    urls: Mapping[str, str]
    username: str
    password: str

    def mcp_url(self) -> str:
        """The MCP endpoint (streamable HTTP) of the same world, started on the first ask."""

    def calls(self) -> list[tuple[ToolCall, ToolResult]]:
        """Every request that reached the world, in order, as the tool call it stands for and its result."""

    def close(self) -> None:
        """Stop serving; the world no longer changes."""


@dataclass(frozen=True)
class AgentCase:
    """What an agent gets for one sample of one case.

    Attributes:
        prompt: The user's request.
        messages: The conversation a model starts from (the scenario's system prompt, then the request).
        tools: The OpenAI-style tool definitions the models see (the MCP endpoint lists the same).
        base_url: The site's root on loopback (Jira REST under `/rest/api/3` and `/2`, Confluence under `/wiki`).
        urls: Named entry points, e.g. `jira`, `jira_v3`, `jira_v2`, `confluence`, `confluence_v2`.
        username: Basic-auth user (the site's own user); `password` is its API token (any is accepted).
        scenario: The scenario's name.
        task: The task as the checks see it: its `data` is the answer key, for reference agents only.
        sample: The sample index within the case.
        sampling: Temperature, max tokens and this sample's seed (`--rlvr-temperature`, `--rlvr-max-tokens`).
        max_turns: The scenario's turn limit (or `--rlvr-max-turns`), for agents that count model turns.
        timeout: Seconds the agent has (`--rlvr-timeout`).
    """

    prompt: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    base_url: str
    urls: Mapping[str, str]
    username: str
    password: str
    scenario: str
    task: Task
    sample: int
    sampling: Sampling
    max_turns: int
    timeout: float
    served: Served = field(repr=False, compare=False)

    @property
    def auth(self) -> tuple[str, str]:
        """(username, password) for HTTP basic auth, e.g. `requests.Session().auth`."""
        return self.username, self.password

    @property
    def mcp_url(self) -> str:
        """The site's MCP endpoint (streamable HTTP), started on first use."""
        return self.served.mcp_url()


Agent = Callable[[AgentCase], "str | None | Awaitable[str | None]"]
"""An agent: called once per sample (sync, or async on an event loop of its own); returns its final answer."""


def load_agent(spec: str, search: Sequence[Path] = ()) -> Agent:
    """The callable `MODULE:CALLABLE` names (`CALLABLE` may be dotted); `search` holds folders tried for
    a module that is not importable as is (the invocation directory, as uvicorn and gunicorn do).

    Raises:
        ValueError: A one-line reason: not MODULE:CALLABLE, the import failed, no such attribute, not callable.
    """
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name.strip() or not attribute.strip():
        raise ValueError("must be MODULE:CALLABLE, e.g. scenarios.agents.http_oracle:agent")
    try:
        module = _import(module_name.strip(), search)
    except Exception as exc:  # noqa: BLE001 - the user's module may raise anything on import
        raise ValueError(f"cannot import {module_name}: {type(exc).__name__}: {first_line(exc)}") from None
    target: Any = module
    for part in attribute.strip().split("."):
        if not hasattr(target, part):
            raise ValueError(f"module {module_name} has no attribute {attribute!r}")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"{attribute} in {module_name} is a {type(target).__name__}, not a callable")
    return target


def _import(name: str, search: Sequence[Path]) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        folders = [str(p) for p in search if str(p) not in sys.path]
        if not folders or not (name == missing or name.startswith(missing + ".")):
            raise
        sys.path[:0] = folders
        return importlib.import_module(name)


def first_line(exc: BaseException, limit: int = 300) -> str:
    """An exception's message on one line, shortened."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


class AgentPolicy:
    """Stands where the engine expects a policy: identity for traces and results; it answers no turn."""

    def __init__(self, spec: str) -> None:
        self.name = spec
        self.info = {"name": spec, "backend": BACKEND, "agent": spec, "trace": TRACE_NOTE}

    async def generate(self, requests: Sequence[TurnRequest]) -> list[AssistantTurn]:
        raise RuntimeError("an agent run asks no policy for turns")

    async def close(self) -> None:
        return None


class AgentEngine(Engine):
    """The engine with an agent in place of the rollout loop: samples, concurrency and traces as for models."""

    def __init__(self, agent: Agent, spec: str, settings: Settings,
                 on_trace: Callable[[Trace], None] | None = None) -> None:
        super().__init__(AgentPolicy(spec), settings, on_trace)
        self.agent = agent
        self.spec = spec

    @classmethod
    def from_spec(cls, spec: str, settings: Settings, on_trace: Callable[[Trace], None] | None = None,
                  search: Sequence[Path] = ()) -> AgentEngine:
        """Raises: ValueError: the agent cannot be loaded (see `load_agent`)."""
        return cls(load_agent(spec, search), spec, settings, on_trace)

    async def _rollout(self, scenario: Scenario, task: Task, sample: int, sampling: Sampling) -> Trace:
        started = time.perf_counter()
        where = f"{task.id}#{sample}"
        env = scenario.environment(task)
        serve = getattr(env, "serve", None)
        if not callable(serve):
            raise InfrastructureError(f"agent {self.spec}: scenario {scenario.name!r} cannot serve its world to an "
                                      "agent (its environment has no serve())")
        try:
            served: Served = serve()
        except (OSError, RuntimeError) as exc:
            raise InfrastructureError(f"agent {self.spec}: cannot serve the site of {where}: "
                                      f"{first_line(exc)}") from None
        case = AgentCase(
            prompt=task.prompt, messages=[dict(m) for m in scenario.messages(task)], tools=list(scenario.tools),
            base_url=served.base_url, urls=dict(served.urls), username=served.username, password=served.password,
            scenario=scenario.name, task=task, sample=sample, sampling=sampling,
            max_turns=self.settings.max_turns or scenario.max_turns, timeout=self.settings.timeout, served=served,
        )
        run = AgentThread(self.agent, case, where)
        try:
            outcome = await asyncio.wait_for(run.future, self.settings.timeout)
        except TimeoutError:
            run.cancel()
            raise InfrastructureError(f"agent {self.spec} did not finish {where} within "
                                      f"{self.settings.timeout:g} s (--rlvr-timeout)") from None
        finally:
            await in_thread(served.close)  # no request reaches the world after this
        ok, value = outcome
        if not ok:
            raise InfrastructureError(f"agent {self.spec} crashed on {where}: {type(value).__name__}: "
                                      f"{first_line(value)}")
        if value is not None and not isinstance(value, str):
            raise InfrastructureError(f"agent {self.spec} returned a {type(value).__name__} on {where}; an agent "
                                      "returns its final answer as a str, or None")
        trace = agent_trace(scenario, task, sample, sampling, self.policy_info, served.calls(), value or "", env)
        trace.wall_s = time.perf_counter() - started
        self.turns_finished += len(trace.turns)
        return trace


def agent_trace(scenario: Scenario, task: Task, sample: int, sampling: Sampling, policy_info: Mapping[str, Any],
                calls: list[tuple[ToolCall, ToolResult]], text: str, env: Any) -> Trace:
    """The trace of an agent run: one turn per call reaching the site, then the final text; the world's state."""
    messages = [dict(m) for m in scenario.messages(task)]
    trace = Trace(
        task_id=task.id, scenario=scenario.name, sample=sample, seed=sampling.seed,
        policy={**policy_info, "sampling": {"temperature": sampling.temperature, "max_tokens": sampling.max_tokens}},
        messages=messages, task_split=task.split, task_seed=task.seed, task_digest=task.digest,
    )
    for call, result in calls:
        trace.turns.append(Turn(text="", tool_calls=[call], results=[result]))
        messages.append(assistant_message(AssistantTurn("", [call])))
        messages.append(tool_message(result))
    trace.turns.append(Turn(text=text))
    messages.append({"role": "assistant", "content": text})
    trace.stop_reason = STOP_ANSWERED
    trace.final_state = env.snapshot()
    trace.state_diff = env.state_diff()
    return trace


class AgentThread:
    """Runs the agent on a daemon thread of its own (an async agent on an event loop of that thread).

    `future` (of the loop that made it) gets (True, the return value) or (False, the exception). A thread that
    never returns is left behind: `cancel()` cancels an async agent's tasks; a sync one cannot be stopped, but
    its site is closed, so it changes nothing any more.
    """

    def __init__(self, agent: Agent, case: AgentCase, name: str) -> None:
        self.agent = agent
        self.case = case
        self._outer = asyncio.get_running_loop()
        self.future: asyncio.Future[tuple[bool, Any]] = self._outer.create_future()
        self._loop: asyncio.AbstractEventLoop | None = None
        threading.Thread(target=self._main, name=f"rlvr-agent-{name}", daemon=True).start()

    def _main(self) -> None:
        try:
            value = self.agent(self.case)
            if inspect.isawaitable(value):
                with asyncio.Runner() as runner:
                    self._loop = runner.get_loop()
                    value = runner.run(_awaited(value))
            outcome: tuple[bool, Any] = (True, value)
        except BaseException as exc:  # noqa: BLE001 - whatever the agent raises is reported as its failure
            outcome = (False, exc)
        with suppress(RuntimeError):  # the engine's loop is gone: nobody waits any more
            self._outer.call_soon_threadsafe(self._settle, outcome)

    def _settle(self, outcome: tuple[bool, Any]) -> None:
        if not self.future.done():
            self.future.set_result(outcome)

    def cancel(self) -> None:
        """Cancel an async agent's tasks (a sync agent cannot be stopped)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(_cancel_all, loop)


async def _awaited(value: Awaitable[Any]) -> Any:
    return await value


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    for task in asyncio.all_tasks(loop):
        task.cancel()


async def in_thread(function: Callable[[], None]) -> None:
    """Run a blocking call on a daemon thread (never joined at exit) and wait for it."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[BaseException | None] = loop.create_future()

    def main() -> None:
        try:
            function()
            error: BaseException | None = None
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting loop
            error = exc
        with suppress(RuntimeError):
            loop.call_soon_threadsafe(lambda: done.done() or done.set_result(error))

    threading.Thread(target=main, name="rlvr-agent-close", daemon=True).start()
    error = await done
    if error is not None:
        raise error
