"""Scripted policies: `noop` and `random` for any scenario, and the scripts a scenario ships (oracle...).

They answer without a model, so that a scenario's checks can be tested (the oracle must score 1.0, noop
0) and so that the harness can be measured on its own.
"""

from __future__ import annotations

import json
import random
from collections.abc import Generator, Mapping, Sequence
from typing import Any

from .policy import AssistantTurn, TurnRequest
from .scenario import Scenario
from .schema_instances import random_instance
from .task import Call, Script
from .trace import ToolCall, ToolResult

GENERIC = ("noop", "random")
"""Scripted policies that work on every scenario."""

NOOP_TEXT = "I will not make any changes."
DONE_TEXT = "Done."


def scripted_call(turn: int, index: int, name: str, arguments: Mapping[str, Any]) -> ToolCall:
    """A tool call as a model would emit it, with the arguments serialised as the raw text."""
    return ToolCall(id=f"call_{turn}_{index}", name=name, raw_arguments=json.dumps(arguments),
                    arguments=dict(arguments))


def _turn_index(request: TurnRequest) -> int:
    return sum(1 for m in request.messages if m.get("role") == "assistant")


class NoopPolicy:
    """Answers with text and never calls a tool: the floor every scenario must score 0 on."""

    name = "noop"

    @property
    def info(self) -> dict[str, Any]:
        return {"name": self.name, "backend": "scripted"}

    async def generate(self, requests: Sequence[TurnRequest]) -> list[AssistantTurn]:
        return [AssistantTurn(NOOP_TEXT) for _ in requests]

    async def close(self) -> None:
        return None


class RandomPolicy:
    """Calls offered tools with random, schema-valid arguments for a few turns (a reward-hacking probe).

    Stateless: each turn's choices derive from the sample's seed and the turn index, so a rollout is
    reproducible.

    Args:
        turns: How many turns make calls before the final text answer.
        calls_per_turn: The most calls in one turn.
    """

    name = "random"

    def __init__(self, turns: int = 3, calls_per_turn: int = 2) -> None:
        self.turns = turns
        self.calls_per_turn = calls_per_turn

    @property
    def info(self) -> dict[str, Any]:
        return {"name": self.name, "backend": "scripted", "turns": self.turns,
                "calls_per_turn": self.calls_per_turn}

    async def generate(self, requests: Sequence[TurnRequest]) -> list[AssistantTurn]:
        return [self._answer(r) for r in requests]

    def _answer(self, request: TurnRequest) -> AssistantTurn:
        turn = _turn_index(request)
        if turn >= self.turns or not request.tools:
            return AssistantTurn(DONE_TEXT)
        rng = random.Random(f"{request.sampling.seed}:{turn}")
        calls = []
        for i in range(rng.randint(1, self.calls_per_turn)):
            function = rng.choice(list(request.tools))["function"]
            arguments = random_instance(function.get("parameters") or {"type": "object"}, rng)
            calls.append(scripted_call(turn, i, function["name"], arguments))
        return AssistantTurn("", calls)

    async def close(self) -> None:
        return None


class ScriptPolicy:
    """Drives the script of the given name that each scenario ships (`scenario.scripts[name]`).

    One generator per rollout: its first turn comes from `next`, later ones from `send(results)`; when it
    returns, the rollout gets a final text turn.

    Args:
        name: The script's name (oracle, naive, spam...).
        scenarios: The scenarios by name; every task's scenario must ship the script.
        script: Play this script on every task instead of the one the scenario ships under `name` (a probe
            of the red-team suite).
    """

    max_batch_size = 1  # a script that raises fails its own case only, not the batch it came with

    def __init__(self, name: str, scenarios: Mapping[str, Scenario], script: Script | None = None) -> None:
        self.name = name
        self.scenarios = dict(scenarios)
        self.script = script
        self._running: dict[str, tuple[Generator[list[Call] | str, list[ToolResult], None], int]] = {}

    @property
    def info(self) -> dict[str, Any]:
        return {"name": self.name, "backend": "scripted", "scenarios": sorted(self.scenarios)}

    async def generate(self, requests: Sequence[TurnRequest]) -> list[AssistantTurn]:
        return [self._answer(r) for r in requests]

    def _answer(self, request: TurnRequest) -> AssistantTurn:
        key = request.rollout_id
        try:
            if not request.results:  # the first turn: every later turn follows tool calls and has results
                play = self.script or self.scenarios[request.task.scenario].scripts[self.name]
                script = play(request.task)
                turn = 0
                step = next(script)
            else:
                script, turn = self._running[key]
                turn += 1
                step = script.send(list(request.results))
        except StopIteration:
            self._running.pop(key, None)
            return AssistantTurn(DONE_TEXT)
        if isinstance(step, str):
            self._running.pop(key, None)
            script.close()
            return AssistantTurn(step)
        self._running[key] = (script, turn)
        calls = [scripted_call(turn, i, name, arguments) for i, (name, arguments) in enumerate(step)]
        if not calls:
            raise ValueError(f"script {self.name!r} of {request.task.scenario!r} yielded an empty turn")
        return AssistantTurn("", calls)

    async def close(self) -> None:
        for generator, _ in self._running.values():
            generator.close()
        self._running.clear()


def scripted_names(scenarios: Mapping[str, Scenario]) -> set[str]:
    """Every scripted policy name usable with these scenarios."""
    names = set(GENERIC)
    for scenario in scenarios.values():
        names.update(scenario.scripts)
    return names


def make_scripted(
    name: str, scenarios: Mapping[str, Scenario]
) -> NoopPolicy | RandomPolicy | ScriptPolicy | None:
    """The scripted policy called `name`, or None when it is not a scripted name for these scenarios.

    Raises:
        ValueError: Some scenarios ship the script and others do not.
    """
    if name == "noop":
        return NoopPolicy()
    if name == "random":
        return RandomPolicy()
    shipping = [s for s in scenarios.values() if name in s.scripts]
    if not shipping:
        return None
    missing = sorted(s.name for s in scenarios.values() if name not in s.scripts)
    if missing:
        raise ValueError(f"scenarios {missing} ship no {name!r} script")
    return ScriptPolicy(name, scenarios)
