"""Evaluation and training read a completion alike: a raw completion parsed by evaluation's parser, played in the
evaluation loop, rendered by training's template (the tokens GRPO scores) and parsed again gives the same tool
calls and the same prose.

Each raw completion is the first turn of a rollout of a jira_labels task (`pytest_rlvr.rollout`, its tool calls
run against the simulated site), answered "Done." in the second. `Rollouts.tokens` renders the trace with
`train.data.tokenized` (the training variant of the template, as SFT renders its demonstrations) and checks its
prompt against the one evaluation renders; the first run of assistant-masked tokens is that turn, decoded as the
in-process policy decodes a generation (with "<think>" put back where the prompt opened a thinking block). The
next prompt evaluation renders shows the same calls and prose too, and where the model wrote the calls in the form
the template writes them (`VERBATIM`), both hold the model's calls token for token. Every template training
supports is covered, Hermes JSON and Qwen3.5's XML calls, on the tiny test model's tokenizer and SmolLM2's. Known
differences are strict xfails (`KNOWN`).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from policies.chat import model_messages, parse, template, thinking_prefix
from pytest_rlvr.policy import AssistantTurn, Sampling, TurnRequest
from pytest_rlvr.rollout import rollout
from pytest_rlvr.trace import ToolCall
from scenarios import SCENARIOS

ARGS = {"issueIdOrKey": "OPS-2", "fields": {"labels": ["café", "naïve", "日本語", "🚀"],
                                            "summary": 'A "quoted" back\\slash\nand a second line'},
        "update": {"labels": [{"add": "x"}, {"remove": "y"}]}, "notifyUsers": 3, "ratio": 0.5}


def hermes(name: str, arguments: Any, key: str = "arguments") -> str:
    return f"<tool_call>\n{json.dumps({'name': name, key: arguments}, ensure_ascii=False)}\n</tool_call>"


def xml(name: str, arguments: dict[str, Any]) -> str:
    params = "".join(f"<parameter={k}>\n{v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}\n"
                     f"</parameter>\n" for k, v in arguments.items())
    return f"<tool_call>\n<function={name}>\n{params}</function>\n</tool_call>"


GET = hermes("getIssue", {"issueIdOrKey": "OPS-1"})
GET_XML = xml("getIssue", {"issueIdOrKey": "OPS-1"})
# (raw completion, well-formed calls, malformed calls): the counts make sure each case parses as it is meant to
HERMES = {
    "one call after prose": ("Let me look.\n" + GET, 1, 0),
    "a call alone": (GET, 1, 0),
    "two calls": (GET + "\n" + hermes("getIssue", {"issueIdOrKey": "OPS-2"}), 2, 0),
    "nested unicode arguments": (hermes("editIssue", ARGS), 1, 0),
    "thinking, prose before and after": ("<think>Which issue?</think>I will check.\n" + GET + "\nThen edit it.", 1, 0),
    "double-encoded parameters": (hermes("getIssue", json.dumps({"issueIdOrKey": "OPS-1"}), "parameters"), 1, 0),
    "invalid JSON": ('<tool_call>\n{"name": "getIssue", "arguments": {"issueIdOrKey": \n</tool_call>', 0, 1),
    "cut off": ('Checking.\n<tool_call>\n{"name": "getIssue", "arguments": {"issueIdOrKey": "OPS', 0, 1),
    "arguments not an object": (hermes("getIssue", ["OPS-1"]), 0, 1),
    "arguments not JSON": (hermes("getIssue", "OPS-1"), 0, 1),
    "no name": ('<tool_call>\n{"issueIdOrKey": "OPS-1"}\n</tool_call>', 0, 1),
    "a call then a malformed one": (GET + '\n<tool_call>\n{"name": "editIssue",\n</tool_call>', 1, 1),
    "prose, a malformed call then a call": ("Both.\n<tool_call>\n[1]\n</tool_call>\n" + GET, 1, 1),
    "no call": ("The issue already has the label.", 0, 0),
}
QWEN3_CODER = {
    "one call after prose": ("Let me look.\n\n" + GET_XML, 1, 0),
    "a call alone": (GET_XML, 1, 0),
    "two calls": (GET_XML + "\n" + xml("getIssue", {"issueIdOrKey": "OPS-2"}), 2, 0),
    "two functions in one block": ("<tool_call>\n<function=getIssue>\n<parameter=issueIdOrKey>\nOPS-1\n</parameter>\n"
                                   "</function>\n<function=getIssue>\n<parameter=issueIdOrKey>\nOPS-2\n</parameter>\n"
                                   "</function>\n</tool_call>", 2, 0),
    "nested unicode arguments": (xml("editIssue", ARGS), 1, 0),
    "thinking and prose": ("<think>\nWhich issue?\n</think>\n\nI will check.\n\n" + GET_XML, 1, 0),
    "cut off": ("<tool_call>\n<function=getIssue>\n<parameter=issueIdOrKey>\nOPS-1", 1, 0),
    "booleans and null": (xml("editIssue", {"issueIdOrKey": "OPS-1", "notifyUsers": False, "fields": None}), 1, 0),
    "no function": ("<tool_call>\nnot xml\n</tool_call>", 0, 1),
    "JSON in a block": (GET, 0, 1),
    "a call then a malformed one": (GET_XML + "\n<tool_call>\nnot xml\n</tool_call>", 1, 1),
    "prose, a malformed call then a call": ("Both.\n\n<tool_call>\nnot xml\n</tool_call>\n" + GET_XML, 1, 1),
    "strings that read as JSON": (xml("editIssue", {"issueIdOrKey": "OPS-1", "summary": '"3"', "ratio": 3}), 1, 0),
    "no call": ("The issue already has the label.", 0, 0),
}
# the cases whose calls are written as the template writes them: trained and shown again token for token
VERBATIM = {"one call after prose", "a call alone", "two calls", "nested unicode arguments", "arguments not an object",
            "arguments not JSON", "no name", "a call then a malformed one", "prose, a malformed call then a call",
            "thinking and prose", "booleans and null", "no function", "JSON in a block", "strings that read as JSON"}
# (tokenizer, training's template, tool-call format, thinking): every template train.config supports
RENDERINGS = [("tiny", "qwen2_5.jinja", "hermes", False), ("smollm2", "qwen2_5.jinja", "hermes", False),
              ("tiny", "qwen3.jinja", "hermes", False), ("tiny", "qwen3_5_nothink.jinja", "qwen3_coder", False),
              ("tiny", "qwen3_5_think.jinja", "qwen3_coder", True)]
THOUGHT = "Which issue?\n</think>\n\n"  # with thinking on, the prompt opens <think>: a generation closes it first
# Known differences, each failing here until fixed (strict: a fix makes the test fail until its entry goes).
KNOWN: dict[tuple[str, str], tuple[str, type]] = {}


def _case(rendering: tuple[str, str, str, bool], name: str, raw: str, well_formed: int, malformed: int,
          known_differences: dict[tuple[str, str], tuple[str, type]]) -> Any:
    known = known_differences.get((rendering[1], name))
    marks = [pytest.mark.xfail(strict=True, reason=known[0], raises=known[1])] if known else []
    if rendering[3]:  # the generation goes on from the prompt's <think>
        raw = raw.removeprefix("<think>\n") if raw.startswith("<think>\n") else THOUGHT + raw
    return pytest.param(rendering, raw, well_formed, malformed, name in VERBATIM, marks=marks,
                        id=f"{rendering[0]}-{rendering[1].removesuffix('.jinja')}-{name}")


def cases(known_differences: dict[tuple[str, str], tuple[str, type]]) -> list[Any]:
    return [_case(rendering, name, *case, known_differences) for rendering in RENDERINGS
            for name, case in (HERMES if rendering[2] == "hermes" else QWEN3_CODER).items()]


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The tiny model's tokenizer (tests/tiny_model.py) and the embedded SmolLM2's, with their specs."""
    from tiny_model import build
    from transformers import AutoTokenizer

    from policies.registry import resolve
    from policies.weights import embedded_checkpoint

    out = {}
    for name, path in (("tiny", build(tmp_path_factory.mktemp("tiny"))), ("smollm2", embedded_checkpoint())):
        out[name] = (AutoTokenizer.from_pretrained(path), resolve(str(path)))
    return out


def read(text: str, rendering: tuple[str, str, str, bool]) -> tuple[str, list[ToolCall]]:
    """A generation parsed as the policies parse it: with thinking on, the prompt opened <think>."""
    return parse(("<think>" if rendering[3] else "") + text, rendering[2])


def played(raw: str, rendering: tuple[str, str, str, bool]) -> tuple[Any, Any, Any]:
    """(scenario, task, trace): the raw completion parsed and played as evaluation does, then a final answer."""
    scenario = SCENARIOS["jira_labels"]
    task = scenario.tasks("train", count=1)[0]
    prose, calls = read(raw, rendering)
    answers = [AssistantTurn(prose, calls), AssistantTurn("Done.")]

    async def ask(request: Any) -> AssistantTurn:
        return answers.pop(0)

    return scenario, task, asyncio.run(rollout(scenario, task, ask, max_turns=2))


def trained_turn(tokenizers: dict[str, Any], rendering: tuple[str, str, str, bool], trace: Any, scenario: Any,
                 task: Any, tmp_path: Path) -> str:
    """The first assistant turn as training renders and masks it, decoded as evaluation decodes a generation."""
    from train.config import TrainConfig
    from train.data import prompts
    from train.rollouts import Rollouts

    model, chat_template, tool_format, thinking = rendering
    tokenizer, spec = tokenizers[model]
    spec = replace(spec, template=chat_template, tool_format=tool_format, thinking=thinking)
    tokenizer.chat_template = template(spec.template)  # as `train.run.load` sets it
    cfg = TrainConfig("grpo", spec.model, (scenario.name,), tmp_path / "run", max_completion_length=10**6)  # no cut
    prompt, completion, mask = Rollouts(cfg, spec, tokenizer, [scenario], prompts([scenario], 1, 0)).tokens(
        trace, scenario, task)
    assert thinking_prefix(tokenizer.decode(prompt)) == ("<think>" if thinking else "")
    turns: list[list[int]] = []
    for i, (token, learned) in enumerate(zip(completion, mask, strict=True)):
        if learned:
            if i == 0 or not mask[i - 1]:
                turns.append([])
            turns[-1].append(token)
    assert len(turns) == len(trace.turns)  # one run of assistant tokens per turn
    return tokenizer.decode(turns[0], skip_special_tokens=True)


def calls_of(calls: list[ToolCall]) -> list[tuple[Any, ...]]:
    """What a tool call is to the environment: name and arguments, or the raw text of a call that did not parse."""
    return [(c.name, c.arguments) if c.parse_error is None else (c.name, "unparsed", c.raw_arguments.strip())
            for c in calls]


def calls_part(text: str) -> str:
    """The text from the first <tool_call> on: where the calls are written."""
    return text[text.index("<tool_call>"):].rstrip("\n") if "<tool_call>" in text else ""


def check_case(rendering: tuple[str, str, str, bool], raw: str, well_formed: int, malformed: int) -> tuple[Any, ...]:
    """(prose, calls, scenario, task, trace) of a case that parses and plays as it is meant to."""
    prose, calls = read(raw, rendering)
    assert [c.parse_error is None for c in calls].count(True) == well_formed
    assert len(calls) == well_formed + malformed
    scenario, task, trace = played(raw, rendering)
    assert calls_of(trace.turns[0].tool_calls) == calls_of(calls) and trace.turns[0].text == prose
    return prose, calls, scenario, task, trace


@pytest.mark.parametrize("rendering, raw, well_formed, malformed, verbatim", cases(KNOWN))
def test_training_renders_the_calls_and_prose_evaluation_parsed(tokenizers, tmp_path, rendering, raw, well_formed,
                                                                 malformed, verbatim):
    prose, calls, scenario, task, trace = check_case(rendering, raw, well_formed, malformed)
    text = trained_turn(tokenizers, rendering, trace, scenario, task, tmp_path)
    again_prose, again = read(text, rendering)
    assert calls_of(again) == calls_of(calls), text
    assert again_prose == prose, text
    if verbatim:
        assert calls_part(text) == calls_part(raw)


@pytest.mark.parametrize("rendering, raw, well_formed, malformed, verbatim", cases({}))
def test_the_next_prompt_shows_the_calls_and_prose_evaluation_parsed(tokenizers, rendering, raw, well_formed,
                                                                     malformed, verbatim):
    """The prompt of the turn after, as the policies render it (evaluation's template, `model_messages` with the
    model's tool-call format), holds the first turn as evaluation parsed it."""
    model, chat_template, tool_format, thinking = rendering
    prose, calls, scenario, _, trace = check_case(rendering, raw, well_formed, malformed)
    tokenizer, _ = tokenizers[model]
    history = trace.messages[:-1] if len(trace.turns) > 1 else trace.messages  # up to the first turn's results
    prompt = tokenizer.apply_chat_template(model_messages(history, tool_format), tools=list(scenario.tools),
                                           chat_template=template(chat_template), add_generation_prompt=True,
                                           tokenize=False, enable_thinking=thinking)
    shown = prompt.split("<|im_start|>assistant\n")[1].split("<|im_end|>")[0]
    again_prose, again = parse(shown, tool_format)
    assert calls_of(again) == calls_of(calls), shown
    assert again_prose == prose, shown
    if verbatim:
        assert calls_part(shown) == calls_part(raw)


def test_model_messages_writes_xml_parameters_as_they_parse_back():
    """Qwen3.5's template writes a parameter with Python's str(): values that would read back as something else
    are passed as their JSON text; Hermes' arguments stay JSON data."""
    arguments = {"a": False, "b": None, "c": "OPS-1", "d": "true", "e": [1, "é"], "f": 2.5}
    message = {"role": "assistant", "content": "", "tool_calls": [
        {"id": "x", "type": "function", "function": {"name": "f", "arguments": json.dumps(arguments)}}]}
    (xml_message,) = model_messages([message], "qwen3_coder")
    assert xml_message["tool_calls"][0]["function"]["arguments"] == {
        "a": "false", "b": "null", "c": "OPS-1", "d": '"true"', "e": '[1, "é"]', "f": "2.5"}
    assert model_messages([message])[0]["tool_calls"][0]["function"]["arguments"] == arguments


def test_the_in_process_policy_reads_a_generation_inside_the_thinking_block_its_prompt_opened(tokenizers):
    from policies.hf import TransformersPolicy

    tokenizer, spec = tokenizers["tiny"]
    spec = replace(spec, template="qwen3_5_think.jinja", tool_format="qwen3_coder", thinking=True)
    tokenizer.chat_template = template(spec.template)
    policy = TransformersPolicy(spec)
    policy._loaded = (tokenizer, None)  # as the training policy hands over its model
    policy.complete = lambda rows, requests: [tokenizer(THOUGHT + "Checking.\n\n" + GET_XML)["input_ids"]]
    scenario = SCENARIOS["jira_labels"]
    task = scenario.tasks("train", count=1)[0]
    request = TurnRequest("r", task, scenario.messages(task), scenario.tools, Sampling(max_tokens=10**4))
    assert policy.render(request).endswith("<think>\n")
    (turn,) = policy._generate([request])
    assert turn.text == "Checking." and calls_of(turn.tool_calls) == [("getIssue", {"issueIdOrKey": "OPS-1"})]
