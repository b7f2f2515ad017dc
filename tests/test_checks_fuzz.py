"""Crash-freedom: any JSON a policy sends yields a score, never a CheckBug.

Hypothesis plays traces against each scenario's real simulated site: the oracle's calls with arbitrary JSON
put in place of argument values, arguments that are not objects, unknown tools, extra calls, empty and huge
values, calls moved into other turns. Every trace is scored with the scenario's checks.
"""

import asyncio
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_rlvr import AssistantTurn, Sampling, ToolCall, score
from pytest_rlvr.rollout import rollout
from scenarios import SCENARIOS
from scenarios.scoring import play

EXAMPLES = 2_000  # per scenario: 10,000 traces in all
NAMES = sorted(SCENARIOS)

scalars = (st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False)
           | st.text(max_size=12) | st.sampled_from(["", " ", "x" * 20_000, "SEC-1", "10011", "-1", "{}"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


def _paths(value, prefix=()):
    """Every path to a value inside a JSON value."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


def _replace(value, path, new):
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy


@st.composite
def mutated_episode(draw, turns, tools):
    """The oracle's turns with some calls changed, dropped, duplicated or joined by others."""
    out = []
    for calls in turns:
        new = []
        for name, arguments in calls:
            action = draw(st.sampled_from(["keep", "value", "value", "args", "tool", "drop", "twice"]))
            if action == "value":
                path = draw(st.sampled_from(list(_paths(arguments))))
                arguments = _replace(arguments, path, draw(json_values))
            elif action == "args":
                arguments = draw(json_values)
            elif action == "tool":
                name = draw(st.sampled_from([*tools, "deleteEverything", "", "x" * 300]))
            if action != "drop":
                new.extend([(name, arguments)] * (2 if action == "twice" else 1))
        if draw(st.booleans()):
            new.append((draw(st.sampled_from(tools)), draw(json_values)))
        if new:
            out.append(new)
    if len(out) > 1 and draw(st.booleans()):  # two turns sent as one: reads answered too late
        out[0:2] = [out[0] + out[1]]
    return out


def _trace(scenario, task, episode):
    turns = iter(episode)

    async def ask(request):
        calls = next(turns, None)
        if calls is None:
            return AssistantTurn("Done.")
        return AssistantTurn("", [ToolCall(f"c{n}", name, raw, a if isinstance(a, dict) else None,
                                           None if isinstance(a, dict) else "not an object")
                                  for n, (name, a) in enumerate(calls) for raw in [json.dumps(a)]])

    return asyncio.run(rollout(scenario, task, ask, sampling=Sampling()))


@pytest.mark.parametrize("name", NAMES)
def test_checks_never_crash_on_model_input(name):
    scenario = SCENARIOS[name]
    tasks = scenario.tasks("eval")
    tools = [t["function"]["name"] for t in scenario.tools]
    episodes = []
    for task in tasks:
        trace, _ = play(scenario, task, "oracle")
        episodes.append([[(c.name, c.arguments) for c in turn.tool_calls] for turn in trace.turns if turn.tool_calls])
    scored = []

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data):
        i = data.draw(st.integers(0, len(tasks) - 1))
        episode = data.draw(mutated_episode(episodes[i], tools))
        reward = score(scenario.checks_for(tasks[i]), _trace(scenario, tasks[i], episode), tasks[i])
        assert 0.0 <= reward.score <= 1.0
        scored.append(reward.score)

    run()
    assert len(scored) >= EXAMPLES
