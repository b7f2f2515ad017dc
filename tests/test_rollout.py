"""The rollout loop, the batching engine, retries and the scripted policies (no pytest session inside)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rlvr_toy import TOOLS, ToyScenario

from pytest_rlvr import AssistantTurn, InfrastructureError, Sampling, ToolCall, Trace, TurnRequest, score
from pytest_rlvr.batcher import Batcher
from pytest_rlvr.engine import Engine, sample_seed
from pytest_rlvr.rollout import STOP_ANSWERED, STOP_MAX_TURNS, rollout
from pytest_rlvr.schema_instances import random_instance
from pytest_rlvr.scripted import NOOP_TEXT, RandomPolicy, make_scripted
from pytest_rlvr.settings import Settings

SCENARIO = ToyScenario(count=8)


class Recording:
    """A policy that answers from a function of the request and records every batch it is given."""

    name = "recording"

    def __init__(self, answer, delay: float = 0.0) -> None:
        self.answer = answer
        self.delay = delay
        self.batches: list[list[str]] = []

    @property
    def info(self) -> dict:
        return {"name": self.name}

    async def generate(self, requests: Sequence[TurnRequest]) -> list[AssistantTurn]:
        self.batches.append([r.rollout_id for r in requests])
        if self.delay:
            await asyncio.sleep(self.delay)
        return [self.answer(r) for r in requests]

    async def close(self) -> None:
        return None


def run_cases(policy, settings: Settings, tasks=None) -> tuple[Engine, list[list[Trace]]]:
    engine = Engine(policy, settings)

    async def main() -> list[list[Trace]]:
        return await asyncio.gather(*(engine.run_case(SCENARIO, t) for t in tasks or SCENARIO.tasks("eval")))

    return engine, asyncio.run(main())


def oracle() -> object:
    return make_scripted("oracle", {SCENARIO.name: SCENARIO})


# -- the loop ----------------------------------------------------------------------------------------------
def test_oracle_rollout_records_messages_turns_and_state():
    task = SCENARIO.tasks("eval")[2]
    policy = oracle()
    trace = asyncio.run(rollout(SCENARIO, task, lambda r: _one(policy, r), sample=0))
    assert trace.stop_reason == STOP_ANSWERED
    assert [len(t.tool_calls) for t in trace.turns] == [1, 1, 0]
    assert [m["role"] for m in trace.messages] == ["system", "user", "assistant", "tool", "assistant", "tool",
                                                   "assistant"]
    call = trace.messages[4]["tool_calls"][0]
    assert call["function"] == {"name": "set_label", "arguments": json.dumps(
        {"item_id": task.data["item_id"], "label": task.data["label"]})}
    assert trace.messages[5] == {"role": "tool", "tool_call_id": call["id"], "name": "set_label",
                                 "content": "null"}
    assert trace.state_diff == task.data["expected_diff"]
    assert trace.final_state[task.data["item_id"]]["label"] == task.data["label"]
    assert score(SCENARIO.checks, trace, task).score == 1.0


async def _one(policy, request: TurnRequest) -> AssistantTurn:
    return (await policy.generate([request]))[0]


def test_malformed_call_is_sent_with_its_raw_text_and_recorded():
    broken = ToolCall(id="", name="set_label", raw_arguments='{"item_id": "item-1", ', parse_error="EOF")

    async def ask(request: TurnRequest) -> AssistantTurn:
        return AssistantTurn("", [broken]) if not request.results else AssistantTurn("giving up")

    task = SCENARIO.tasks("eval")[0]
    trace = asyncio.run(rollout(SCENARIO, task, ask))
    (call, result), = trace.calls
    assert call.id == "call_0_0" and result.call_id == "call_0_0"
    assert (result.status, result.error) == (400, "invalid_json")
    assert trace.messages[2]["tool_calls"][0]["function"]["arguments"] == '{"item_id": "item-1", '
    assert trace.messages[3]["role"] == "tool" and "invalid JSON" in trace.messages[3]["content"]
    failed = {o.name for o in score(SCENARIO.checks, trace, task).failures}
    assert "no_invalid_call" in failed


def test_rollout_stops_at_max_turns():
    async def ask(request: TurnRequest) -> AssistantTurn:
        return AssistantTurn("", [ToolCall("", "list_items", "{}", {})])

    trace = asyncio.run(rollout(SCENARIO, SCENARIO.tasks("eval")[0], ask, max_turns=3))
    assert trace.stop_reason == STOP_MAX_TURNS
    assert len(trace.turns) == 3 and all(t.results for t in trace.turns)


def test_trace_json_round_trip():
    _, cases = run_cases(oracle(), Settings(samples=2), SCENARIO.tasks("eval")[:1])
    trace = cases[0][1]
    again = Trace.from_json(trace.to_json())
    assert again == trace
    assert again.calls[1][1].ok and again.tokens == trace.tokens
    with pytest.raises(ValueError, match="schema version"):
        Trace.from_dict({**trace.to_dict(), "schema_version": 99})


# -- the engine --------------------------------------------------------------------------------------------
def test_waiting_rollouts_share_one_generate_call():
    engine, cases = run_cases(oracle(), Settings(samples=1, concurrency=32))
    assert all(t[0].stop_reason == STOP_ANSWERED for t in cases)
    policy = Recording(lambda r: AssistantTurn("done"), delay=0.01)
    engine, _ = run_cases(policy, Settings(samples=2, concurrency=32))
    assert [len(b) for b in policy.batches] == [16]


def test_concurrency_bounds_the_rollouts_in_flight():
    policy = Recording(lambda r: AssistantTurn("done"), delay=0.001)
    run_cases(policy, Settings(samples=2, concurrency=3))
    assert max(len(b) for b in policy.batches) <= 3
    assert sum(len(b) for b in policy.batches) == 16


def test_batcher_respects_max_batch_size():
    policy = Recording(lambda r: AssistantTurn("done"))
    policy.max_batch_size = 5
    engine, _ = run_cases(policy, Settings(samples=2))
    assert engine.batcher.max_batch == 5 and max(engine.batcher.batch_sizes) == 5


def test_sample_seeds_are_deterministic_and_distinct():
    _, first = run_cases(oracle(), Settings(samples=3, seed=7))
    _, again = run_cases(oracle(), Settings(samples=3, seed=7))
    seeds = [t.seed for traces in first for t in traces]
    assert seeds == [t.seed for traces in again for t in traces]
    assert len(set(seeds)) == len(seeds)
    task = SCENARIO.tasks("eval")[0]
    assert first[0][2].seed == sample_seed(7, task.id, 2) != sample_seed(8, task.id, 2)


class Flaky:
    name = "flaky"
    info = {"name": "flaky"}

    def __init__(self, failures: int, error: BaseException) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    async def generate(self, requests):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return [AssistantTurn("done") for _ in requests]

    async def close(self):
        return None


@pytest.mark.parametrize("error", [InfrastructureError("503"), TimeoutError("slow"), ConnectionRefusedError()])
def test_serving_failures_are_retried(error):
    policy = Flaky(2, error)
    _, cases = run_cases(policy, Settings(retries=2, backoff_s=0.0), SCENARIO.tasks("eval")[:2])
    assert policy.calls == 3 and len(cases) == 2


def test_persistent_serving_failure_raises_infrastructure_error():
    policy = Flaky(100, TimeoutError("read timed out"))
    with pytest.raises(InfrastructureError, match="failed 3 times.*TimeoutError: read timed out"):
        run_cases(policy, Settings(retries=2, backoff_s=0.0), SCENARIO.tasks("eval")[:1])
    assert policy.calls == 3


def test_other_policy_errors_are_not_retried():
    policy = Flaky(1, ValueError("bug in the adapter"))
    with pytest.raises(ValueError, match="bug in the adapter"):
        run_cases(policy, Settings(retries=3, backoff_s=0.0), SCENARIO.tasks("eval")[:1])
    assert policy.calls == 1


def test_batcher_rejects_a_wrong_number_of_answers():
    async def main():
        batcher = Batcher(Recording(lambda r: AssistantTurn("x")))
        batcher.policy.generate = lambda requests: _answers(0)  # type: ignore[method-assign]
        request = TurnRequest("r", SCENARIO.tasks("eval")[0], [], TOOLS, Sampling())
        return await batcher.ask(request)

    with pytest.raises(RuntimeError, match="answered 0 turns to 1 requests"):
        asyncio.run(main())


async def _answers(n: int) -> list[AssistantTurn]:
    return [AssistantTurn("x")] * n


# -- scripted policies -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "low", "high"), [("oracle", 1.0, 1.0), ("naive", 0.0, 0.6),
                                                   ("spam", 0.0, 0.3), ("noop", 0.0, 0.0)])
def test_scripted_policies_score_as_designed_on_the_toy(name, low, high):
    _, cases = run_cases(make_scripted(name, {SCENARIO.name: SCENARIO}), Settings())
    scores = [score(SCENARIO.checks, t, task).score for traces, task in zip(cases, SCENARIO.tasks("eval"),
                                                                               strict=True) for t in traces]
    assert all(low <= s <= high for s in scores), scores


def test_noop_answers_text_only():
    _, cases = run_cases(make_scripted("noop", {}), Settings(), SCENARIO.tasks("eval")[:1])
    (trace,), = cases
    assert trace.final_text == NOOP_TEXT and trace.calls == []


def test_unknown_script_name_is_not_scripted():
    assert make_scripted("gpt-9", {SCENARIO.name: SCENARIO}) is None
    other = ToyScenario(name="other")
    other.scripts = {}
    with pytest.raises(ValueError, match="ship no 'oracle' script"):
        make_scripted("oracle", {"toy": SCENARIO, "other": other})


def test_random_policy_calls_offered_tools_with_schema_valid_arguments():
    _, cases = run_cases(RandomPolicy(turns=3), Settings(samples=2))
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
    calls = [c for traces in cases for t in traces for c, _ in t.calls]
    assert len(calls) >= 16
    for call in calls:
        jsonschema.validate(json.loads(call.raw_arguments), schemas[call.name])
        assert call.arguments == json.loads(call.raw_arguments)
    assert len({c.raw_arguments for c in calls}) > 2


SCHEMAS = [
    {"type": "object", "properties": {
        "key": {"type": "string", "pattern": "^[A-Z][A-Z0-9]{1,9}-[1-9][0-9]*$"},
        "fields": {"type": "object", "properties": {
            "summary": {"type": "string", "minLength": 1, "maxLength": 255},
            "labels": {"type": "array", "items": {"type": "string", "pattern": "^\\S+$"}, "uniqueItems": True},
            "priority": {"$ref": "#/$defs/priority"}},
            "required": ["summary"], "additionalProperties": False},
        "notify": {"type": "boolean"},
        "maxResults": {"type": "integer", "minimum": 0, "maximum": 100},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "when": {"type": "string", "format": "date-time"},
        "parent": {"anyOf": [{"type": "null"}, {"type": "string", "enum": ["10000", "10001"]}]},
        "kind": {"const": "page"},
        "status": {"type": ["string", "integer"], "minLength": 2, "minimum": 5}},
     "required": ["key", "fields", "kind"], "additionalProperties": False,
     "$defs": {"priority": {"type": "object", "properties": {"id": {"type": "string", "pattern": "^[0-9]+$"}},
                            "required": ["id"]}}},
    {"type": "object", "properties": {"body": {"allOf": [
        {"type": "object", "properties": {"a": {"type": "integer", "multipleOf": 3}}, "required": ["a"]},
        {"properties": {"b": {"type": "string", "pattern": "^(foo|bar)[.]txt$"}}, "required": ["b"]}]}},
     "required": ["body"]},
]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32), which=st.sampled_from(range(len(SCHEMAS))))
def test_random_instances_validate(seed, which):
    import random

    schema = SCHEMAS[which]
    jsonschema.validate(random_instance(schema, random.Random(seed)), schema)
