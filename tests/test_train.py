"""python -m train: configuration errors, rollout tokens and rewards on scripted traces, GRPO and SFT runs."""

import importlib.util
import json
import subprocess
import sys

import pytest

from scenarios import SCENARIOS
from train.config import ConfigError, parse


@pytest.mark.parametrize("argv, message", [
    (["grpo", "--output", "x", "--scenarios", "nope"], "unknown scenario 'nope'"),
    (["grpo", "--output", "x", "--split", "eval"], "train split only"),
    (["grpo", "--output", "x", "--steps", "0"], "--steps=0"),
    (["grpo", "--output", "x", "--batch-size", "3", "--group-size", "2"], "multiple of --group-size"),
    (["sft", "--output", "x", "--time-limit", "0"], "--time-limit=0"),
    (["grpo", "--output", "x", "--max-tokens", "0"], "--max-tokens=0"),
    (["grpo", "--output", "x", "--beta", "-0.1"], "--beta=-0.1"),
    (["sft", "--output", "x", "--tiers", "easy,impossible"], "--tiers: unknown tier 'impossible'"),
    pytest.param(["grpo", "--output", "x", "--vllm", "colocate"], "--vllm needs vLLM",
                 marks=pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed")),
])
def test_bad_configuration_fails_in_one_line(argv, message):
    with pytest.raises(ConfigError, match=message):
        parse(argv)


def test_defaults_train_all_weights_on_the_train_split_with_transformers_generation():
    cfg = parse(["grpo", "--output", "x"])
    assert (cfg.split, cfg.vllm, cfg.lora, cfg.time_limit, cfg.float32, cfg.beta) == ("train", None, False, None,
                                                                                     False, 0.0)
    assert parse(["sft", "--output", "x", "--float32"]).float32
    assert (cfg.scale_rewards, parse(["grpo", "--output", "x", "--scale-rewards", "none"]).scale_rewards) == ("group",
                                                                                                            "none")
    assert (cfg.learning_rate, parse(["sft", "--output", "x"]).learning_rate) == (5e-6, 5e-5)


def test_skip_unsolved_gives_a_group_that_never_passed_no_advantage(monkeypatch):
    from train.rewards import without_unsolved

    assert not parse(["grpo", "--output", "x"]).skip_unsolved
    assert parse(["grpo", "--output", "x", "--skip-unsolved"]).skip_unsolved
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="--skip-unsolved: judges each group's rollouts in one training process"):
        parse(["grpo", "--output", "x", "--skip-unsolved"])
    shares = [{"arguments": 0.0, "process": 0.09, "outcome": 0.0}, {"arguments": 0.0, "process": 0.0, "outcome": 0.0},
              {"arguments": 0.1, "process": 0.2, "outcome": 0.7}, {"arguments": 0.0, "process": 0.1, "outcome": 0.0}]
    out = without_unsolved(["a", "a", "b", "b"], shares, [False, False, True, False])
    assert out[0] == out[1] == {"arguments": 0.0, "process": 0.045, "outcome": 0.0}  # the mean: no advantage
    assert out[2:] == shares[2:]  # solved once: the spread stays
    assert shares[0]["process"] == 0.09  # the scored shares are left as they were


def test_a_step_without_gradient_leaves_the_weights_where_adams_momentum_would_move_them():
    import torch

    from train.trainer import skip_without_gradient

    def run(guard: bool) -> list[torch.Tensor]:
        torch.manual_seed(0)
        layer = torch.nn.Linear(3, 1)
        optimizer = torch.optim.AdamW(layer.parameters(), lr=0.1)
        if guard:
            skip_without_gradient(optimizer)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)  # wraps step, as Trainer's does
        seen = []
        for scale in (1.0, 0.0, 0.0):  # one real step, then two steps whose loss has no gradient
            optimizer.zero_grad()
            (scale * layer(torch.ones(1, 3)).sum()).backward()
            optimizer.step()
            scheduler.step()
            seen.append(layer.weight.detach().clone())
        return seen

    bare, guarded = run(False), run(True)
    assert torch.equal(bare[0], guarded[0])  # a step with gradient is Adam's own
    assert not torch.equal(bare[1], bare[0])  # unguarded, momentum moves the weights without a gradient
    assert torch.equal(guarded[2], guarded[0])


def test_tiers_select_the_training_tasks_and_demonstrations_decline_where_nothing_can_be_done():
    from train.data import demonstrations, prompts

    assert parse(["grpo", "--output", "x"]).tiers == ("easy", "medium", "hard", "infeasible")
    assert parse(["sft", "--output", "x", "--tiers", "infeasible, hard"]).tiers == ("infeasible", "hard")
    both = [SCENARIOS["jira_labels"], SCENARIOS["confluence_page_create"]]
    rows = prompts(both, 8, 0)
    assert {r["tier"] for r in rows} == {"easy", "medium", "hard", "infeasible"}
    assert [r["environment"] for r in rows[:4]] == ["jira_labels", "confluence_page_create"] * 2
    only = prompts(both, 3, 1, ("infeasible",))
    assert len(only) == 6 and {r["tier"] for r in only} == {"infeasible"}
    assert all(SCENARIOS[r["environment"]].task(r["seed"], "train").tier == "infeasible" for r in only)
    shown = demonstrations([SCENARIOS["jira_labels"]], 2, 0, ("infeasible",))
    assert [r["tier"] for r in shown] == ["infeasible"] * 2
    for row in shown:  # the oracle reads, writes nothing and says what is wrong
        calls = [c["function"]["name"] for m in row["messages"] for c in m.get("tool_calls") or []]
        assert calls and "editIssue" not in calls and row["messages"][-1]["role"] == "assistant"


def test_unsupported_template_and_small_budget_fail_before_training(tmp_path):
    from policies.registry import ModelSpec, save_metadata

    save_metadata(tmp_path, ModelSpec("x", str(tmp_path), "llama3.jinja", "hermes"))
    out = subprocess.run([sys.executable, "-m", "train", "grpo", "--model", str(tmp_path), "--output",
                          str(tmp_path / "o")], capture_output=True, text=True)
    assert out.returncode == 2 and "chat template 'llama3.jinja'" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tiny_model import build

    return build(tmp_path_factory.mktemp("tiny"))


def _rollouts(model, tmp_path, scenarios=("jira_labels",)):
    from policies.registry import resolve
    from train.config import TrainConfig
    from train.data import prompts
    from train.rollouts import Rollouts
    from train.run import load

    spec = resolve(str(model))
    _, tokenizer = load(str(model), spec)
    cfg = TrainConfig("grpo", str(model), scenarios, tmp_path / "run", max_completion_length=4096, tasks=2)
    chosen = [SCENARIOS[n] for n in scenarios]
    return Rollouts(cfg, spec, tokenizer, chosen, prompts(chosen, 2, 0)), tokenizer


def test_rollout_tokens_mask_tool_results_and_rewards_are_the_checks_groups(tiny, tmp_path):
    from scenarios.scoring import play
    from train.rewards import reward_functions

    rollouts, tokenizer = _rollouts(tiny, tmp_path)
    scenario = SCENARIOS["jira_labels"]
    task = scenario.tasks("train", count=3)[1]
    good, good_reward = play(scenario, task, "oracle")
    bad, bad_reward = play(scenario, task, "noop")
    prompt, completion, mask = rollouts.tokens(good, scenario, task)
    rendered = tokenizer.apply_chat_template(scenario.messages(task), tools=list(scenario.tools),
                                             add_generation_prompt=True, tokenize=False)
    assert tokenizer.decode(prompt) == rendered  # the prompt evaluation renders
    assert completion[-1] == tokenizer.eos_token_id and len(mask) == len(completion)
    learned = tokenizer.decode([t for t, m in zip(completion, mask, strict=True) if m])
    ignored = tokenizer.decode([t for t, m in zip(completion, mask, strict=True) if not m])
    assert '"name": "editIssue"' in learned and "<tool_response>" not in learned
    assert '"status":200' in ignored and "editIssue" not in ignored  # tool results carry no loss
    columns = {f.__name__: f(completions=[None, None], rlvr_rewards=[good_reward.by_group(), bad_reward.by_group()])
               for f in reward_functions()}
    assert set(columns) == {"arguments", "process", "outcome"}
    assert sum(c[0] for c in columns.values()) == pytest.approx(1.0) and sum(c[1] for c in columns.values()) == 0


def test_with_vllm_rollouts_generate_their_turns_through_trls_engine(tiny, tmp_path):
    """With --vllm, each turn is generated by TRL's vLLM engine (TRL syncs its weights): token ids in, token
    ids out. vLLM needs a GPU, so a stand-in for `VLLMGeneration.generate` answers here with scripted ids."""
    from collections import defaultdict
    from types import SimpleNamespace

    from transformers import AutoModelForCausalLM

    from policies.hf import TransformersPolicy
    from policies.registry import resolve
    from pytest_rlvr import Sampling, TurnRequest

    rollouts, tokenizer = _rollouts(tiny, tmp_path)
    eos = tokenizer.eos_token_id
    call = '<tool_call>\n{"name": "getIssue", "arguments": {"issueIdOrKey": "ZZZ-1"}}\n</tool_call>'

    class Engine:  # the stand-in: vLLM returns the stop token, and here junk after it
        max_completion_length = 4096

        def __init__(self):
            self.calls = []

        def generate(self, prompts, images, num_generations, profiler=None):
            self.calls.append((prompts, num_generations))
            text = call if len(self.calls) == 1 else "Done."
            return prompts, [tokenizer.encode(text, add_special_tokens=False) + [eos, 7, 8]] * len(prompts), None, None

    engine, model = Engine(), AutoModelForCausalLM.from_pretrained(tiny)
    trainer = SimpleNamespace(use_vllm=True, vllm_generation=engine, model=model,
                              accelerator=SimpleNamespace(unwrap_model=lambda m: m),
                              state=SimpleNamespace(global_step=0), _metrics={"train": defaultdict(list)})
    scenario, task = next(iter(rollouts.tasks.values()))
    prompt = scenario.messages(task)
    rollouts.cfg.output.mkdir(parents=True)
    out = rollouts([prompt, prompt], trainer)

    assert engine.max_completion_length == rollouts.cfg.max_tokens  # one turn per call, not a whole episode
    assert [(len(p), n) for p, n in engine.calls] == [(2, 1), (2, 1)]  # two turns, both rollouts batched
    evaluation = TransformersPolicy(resolve(str(tiny)))
    request = TurnRequest("r#0", task, prompt, scenario.tools, Sampling())
    first = tokenizer(evaluation.render(request), add_special_tokens=False)["input_ids"]
    assert engine.calls[0][0] == [first, first] and out["prompt_ids"] == [first, first]
    for trace in rollouts.traces:
        assert [c.name for c in trace.turns[0].tool_calls] == ["getIssue"] and trace.turns[1].text == "Done."
        assert trace.stop_reason == "answered" and trace.turns[0].results[0].status == 404
    completion = tokenizer.decode(out["completion_ids"][0])
    assert '"issueIdOrKey": "ZZZ-1"' in completion and completion.endswith("Done." + tokenizer.eos_token)


def test_every_training_prompt_names_one_task():
    from train.data import prompts

    rows = prompts([SCENARIOS["jira_labels"], SCENARIOS["jira_issue_create"]], 16, 0)
    keys = [json.dumps(r["prompt"], sort_keys=True) for r in rows]
    assert len(set(keys)) == len(keys) > 16


class _HalfOracle:
    """A test stand-in for generation: even rollouts scripted by the oracle, odd ones by the model (a random
    tiny model never calls a tool, so without it the worlds would never change)."""

    def __init__(self, model_policy):
        from pytest_rlvr.scripted import make_scripted

        self.model, self.oracle = model_policy, make_scripted("oracle", SCENARIOS)
        self.name, self.info, self.max_batch_size = "half-oracle", {"name": "half-oracle"}, 64

    async def generate(self, requests):
        scripted = [r for r in requests if int(r.rollout_id.rsplit("#", 1)[1]) % 2 == 0]
        own = [r for r in requests if r not in scripted]
        answers = dict(zip(map(id, scripted), await self.oracle.generate(scripted) if scripted else [], strict=True))
        answers |= dict(zip(map(id, own), await self.model.generate(own) if own else [], strict=True))
        return [answers[id(r)] for r in requests]


def test_scoring_completion_positions_only_changes_no_log_prob(tiny):
    """On a CPU, TRL's fused LM head is told to score only the completion positions: same log-probs."""
    import torch
    import trl.trainer.utils as fused
    from transformers import AutoModelForCausalLM

    from train.trainer import score_completions_only

    model = AutoModelForCausalLM.from_pretrained(tiny)
    fused.add_fused_lm_head(model, temperature=1.0, cast_lm_head_to_fp32=False)
    ids = torch.randint(0, model.config.vocab_size, (2, 40), generator=torch.Generator().manual_seed(0))
    labels = ids.masked_fill(torch.arange(40) < 30, -100)  # a prompt of 30 tokens, 10 to score

    def log_probs() -> torch.Tensor:
        return model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels, fused_lm_head=True).log_probs

    every = log_probs()
    original = fused._use_triton
    try:
        score_completions_only()
        assert fused._use_triton(ids.device)
        compact = log_probs()
    finally:
        fused._use_triton = original
    assert every[:, 29:].abs().sum() > 0 and every[:, :29].abs().sum() == 0
    torch.testing.assert_close(compact, every)


def test_lora_is_merged_while_generating_and_the_base_weights_come_back_exactly(tiny):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from train.rollouts import lora_merged

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny),
                           LoraConfig(r=4, target_modules="all-linear", task_type="CAUSAL_LM")).eval()
    with torch.no_grad():  # a trained adapter: B is zero at initialisation, which would merge nothing
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5, generator=torch.Generator().manual_seed(len(name)))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    ids = torch.randint(0, model.config.vocab_size, (1, 16), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        unmerged = model(input_ids=ids).logits
        with lora_merged(model):
            layers = [m for m in model.modules() if hasattr(m, "merged")]
            assert layers and all(m.merged for m in layers)
            merged = model(input_ids=ids).logits
        after = model(input_ids=ids).logits
    torch.testing.assert_close(merged, unmerged, rtol=1e-4, atol=1e-4)  # the same model, one matmul per layer
    assert not any(m.merged for m in layers)
    assert all(torch.equal(p, before[n]) for n, p in model.named_parameters())  # bit for bit
    assert torch.equal(after, unmerged)


def test_grpo_smoke_run_logs_group_rewards_changes_worlds_and_the_checkpoint_loads_in_the_plugin(tiny, tmp_path):
    from scenarios.scoring import play
    from train.config import TrainConfig
    from train.rollouts import Rollouts, failure_rates
    from train.run import finish, grpo_trainer

    cfg = TrainConfig("grpo", str(tiny), ("jira_labels",), tmp_path / "run", steps=2, group_size=2, batch_size=4,
                      max_completion_length=2048, max_tokens=16, tasks=2, max_turns=4, beta=0.04, scale_rewards="none")
    trainer, tokenizer, spec = grpo_trainer(cfg)
    assert trainer.ref_model is not None  # --beta: a KL penalty to the starting model
    assert trainer.args.scale_rewards == "none"
    rollouts = trainer.rollout_func
    assert isinstance(rollouts, Rollouts)
    seen = []
    own_policy = rollouts.policy
    rollouts.policy = lambda model, batch: _HalfOracle(own_policy(model, batch))
    original = rollouts.__call__

    def record(prompts, trainer):
        out = original(prompts, trainer)
        seen.extend(rollouts.traces)
        return out

    trainer.rollout_func = record
    trainer.train()
    out = finish(cfg, trainer, tokenizer, spec)
    assert len(seen) == 8  # the last step's rollouts: 2 prompts, 2 generations each
    changed = [t for t in seen if t.state_diff]
    assert changed and all(t.sample % 2 == 0 for t in changed)  # the oracle's rollouts wrote, the model's did not
    tasks = {task.id: task for _, task in rollouts.tasks.values()}
    for t in changed:  # each rollout had a fresh world: the oracle changed it exactly as on a new site
        assert t.state_diff == play(SCENARIOS["jira_labels"], tasks[t.task_id], "oracle")[0].state_diff
    history = json.loads((out / "log_history.json").read_text())
    logged = {k for h in history for k in h}
    assert {"rewards/arguments/mean", "rewards/process/mean", "rewards/outcome/mean"} <= logged
    assert any(float(h.get("reward_std", 0)) > 0 for h in history)  # the rewards had spread to learn from
    steps = [h for h in history if "loss" in h]
    assert steps[0]["kl"] == 0  # the reference is the starting model...
    assert steps[0]["reward_std"] == 0 or steps[1]["kl"] > 0  # ...which the first update, if any, moved away from
    assert all(0 < h["rollouts/worlds_changed"] < 1 for h in history if "loss" in h)
    assert all(0 < h["rollouts/seconds"] < h["step_time"] for h in history if "loss" in h)  # a part of each step
    logged_rollouts = [json.loads(line) for line in (out / "rollouts.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logged_rollouts] == [0] * 4 + [1] * 4 and logged_rollouts[0]["turns"]
    for r in logged_rollouts:  # each rollout's failed checks: none where it earned everything
        assert (r["failed"] == []) == (r["reward"] == 1.0), r
    rates = failure_rates(out / "rollouts.jsonl")
    oracle_half = {name for r in logged_rollouts if r["sample"] % 2 == 0 for name in r["failed"]}
    assert rates and all(len(v) == 2 and None not in v and 0 < max(v) <= 1 for v in rates.values())
    assert not oracle_half and all(rate <= 0.5 for v in rates.values() for rate in v)  # the model's half at most
    assert (out / "rewards.png").stat().st_size > 0 and (out / "rlvr-model.json").exists()
    session = subprocess.run([sys.executable, "-m", "pytest", "scenarios/test_jira_labels.py", "-p", "no:cacheprovider",
                              "-p", "no:xdist", f"--rlvr-model={out}", "--rlvr-tasks=1", "--rlvr-max-tokens=8", "-q"],
                             capture_output=True, text=True, timeout=600)
    assert "rlvr: model" in session.stdout and "backend hf" in session.stdout, session.stdout[-2000:]
    assert "1 failed" in session.stdout or "1 passed" in session.stdout, session.stdout[-2000:]


def test_a_grpo_step_makes_rewarded_rollouts_likelier_and_the_others_less_likely(tiny, tmp_path):
    """The whole path from checks to gradient points the right way: ids, masks, and each reward on its rollout."""
    import torch

    from train.config import TrainConfig
    from train.run import grpo_trainer

    cfg = TrainConfig("grpo", str(tiny), ("jira_labels",), tmp_path / "run", steps=1, group_size=2, batch_size=4,
                      learning_rate=1e-4, max_completion_length=2048, max_tokens=16, tasks=2, max_turns=4)
    trainer, tokenizer, _ = grpo_trainer(cfg)
    rollouts = trainer.rollout_func
    own_policy = rollouts.policy
    rollouts.policy = lambda model, batch: _HalfOracle(own_policy(model, batch))
    model = trainer.accelerator.unwrap_model(trainer.model)

    def log_likelihood(out):  # mean log-prob of each rollout's trained tokens
        means = []
        with torch.no_grad():
            for prompt, completion, mask in zip(out["prompt_ids"], out["completion_ids"], out["env_mask"], strict=True):
                ids = torch.tensor([prompt + completion])
                logp = model(input_ids=ids).logits[0, :-1].log_softmax(-1).gather(1, ids[0, 1:, None])[:, 0]
                trained = logp[len(prompt) - 1:][torch.tensor(mask, dtype=torch.bool)]
                means.append(trained.mean().item())
        return means

    seen = {}

    def record(prompts, trainer):
        out = rollouts(prompts, trainer)
        seen.update(out=out, before=log_likelihood(out), oracle=[t.sample % 2 == 0 for t in rollouts.traces])
        return out

    trainer.rollout_func = record
    trainer.train()
    out, before, after = seen["out"], seen["before"], log_likelihood(seen["out"])
    texts = [tokenizer.decode(ids) for ids in out["completion_ids"]]
    assert seen["oracle"] == [True, False, True, False]  # TRL repeats each prompt: [oracle, model] per group
    assert [("<tool_call>" in t) for t in texts] == seen["oracle"]  # each completion is its own rollout's
    rewards = [sum(r.values()) for r in out["rlvr_rewards"]]
    for oracle, own in ((0, 1), (2, 3)):
        assert rewards[oracle] > rewards[own]
        assert after[oracle] > before[oracle] and after[own] < before[own]
    assert getattr(trainer.optimizer, "optimizer", trainer.optimizer).step.__name__ == "guarded"  # see test above


def test_grpo_entry_point_runs_from_the_command_line_and_stops_at_its_time_limit(tiny, tmp_path):
    out = tmp_path / "run"
    run = subprocess.run([sys.executable, "-m", "train", "grpo", "--model", str(tiny), "--scenarios", "jira_labels",
                          "--output", str(out), "--steps", "5", "--time-limit", "0.0001", "--group-size", "2",
                          "--batch-size", "2", "--max-completion-length", "2048", "--max-tokens", "8", "--tasks", "1",
                          "--max-turns", "2"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "checkpoint:" in run.stdout and (out / "model.safetensors").exists()
    steps = [h["step"] for h in json.loads((out / "log_history.json").read_text()) if "loss" in h]
    assert steps == [1]  # five steps asked, the time limit ended it after the first
    assert "groups with a spread of rewards: " in run.stdout


def test_groups_with_a_spread_of_rewards_are_counted_from_trls_log():
    from train.run import spread_groups

    history = [{"frac_reward_zero_std": 0.0, "step": 1}, {"frac_reward_zero_std": 1.0, "step": 2},
               {"frac_reward_zero_std": 0.5, "step": 3}, {"train_runtime": 9.0, "step": 3}]
    assert spread_groups(history, 2) == (3, 6)
    one_group = [{"frac_reward_zero_std": f} for f in (0.0, 1.0, 1.0, 0.0)]
    assert spread_groups(one_group, 1) == (2, 4)


@pytest.mark.parametrize("step_s, steps", [(25, 2), (15, 4), (100, 1), (50, 1), (35, 2)])
def test_the_time_limit_ends_at_the_step_end_nearest_it(monkeypatch, step_s, steps):
    import time
    from types import SimpleNamespace

    from train.config import TrainConfig
    from train.run import time_limit

    clock = [0.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    (callback,) = time_limit(TrainConfig("grpo", "m", ("jira_labels",), None, time_limit=1.0))
    control = SimpleNamespace(should_training_stop=False)
    callback.on_train_begin(None, None, control)
    taken = 0
    while not control.should_training_stop:
        clock[0] += step_s
        taken += 1
        callback.on_step_end(None, None, control)
    assert taken == steps  # a 60 s limit: 50 s is nearer than 75 s, 70 s than 35 s, 100 s than none


def test_sft_warm_start_trains_on_assistant_tokens_only_and_saves_a_checkpoint(tiny, tmp_path):
    from policies.registry import resolve
    from train.data import demonstrations, tokenized

    model = tiny
    from transformers import AutoTokenizer

    rows = tokenized(demonstrations([SCENARIOS["jira_labels"]], 1, 0), AutoTokenizer.from_pretrained(model),
                     "qwen2_5.jinja")
    masked = rows[0]["assistant_masks"]
    assert 0 < sum(masked) < len(masked)  # the prompt and the tool results carry no loss
    out = tmp_path / "sft"
    run = subprocess.run([sys.executable, "-m", "train", "sft", "--model", str(model), "--scenarios", "jira_labels",
                          "--output", str(out), "--steps", "2", "--batch-size", "2", "--tasks", "2"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    history = json.loads((out / "log_history.json").read_text())
    assert any("loss" in h for h in history)
    assert resolve(str(out)).template == "qwen2_5.jinja"


def _saved_run(tmp_path, policy, split="train"):
    """A real evaluation run of a scripted policy, saved: its traces are what `sft --traces` reads."""
    save = tmp_path / f"{policy}-{split}.json"
    run = subprocess.run([sys.executable, "-m", "pytest", "scenarios", "-q", "-p", "no:cacheprovider", "-k",
                          "jira_labels", f"--rlvr-model={policy}", f"--rlvr-split={split}", "--rlvr-tasks=4",
                          "--rlvr-samples=2", f"--rlvr-save={save}"], capture_output=True, text=True, timeout=300)
    assert save.exists(), run.stdout[-3000:]
    return save, json.loads(save.read_text())


def test_sft_on_saved_rollouts_keeps_each_distinct_one_the_checks_score_one(tiny, tmp_path, capsys):
    from train.data import passing_rollouts

    labels = [SCENARIOS["jira_labels"]]
    oracle, _ = _saved_run(tmp_path, "oracle")
    rows = passing_rollouts([oracle.with_suffix(".traces.jsonl")], labels)
    assert len(rows) == 4  # 8 rollouts, all passing; each task's two samples are the same conversation
    assert "4 distinct passing rollouts of 8 saved" in capsys.readouterr().out
    naive, results = _saved_run(tmp_path, "naive")
    assert max(r for case in results["cases"] for r in case["rewards"]) < 1.0
    both = [oracle.with_suffix(".traces.jsonl"), naive.with_suffix(".traces.jsonl")]
    assert passing_rollouts(both, labels) == rows  # the naive policy's rollouts fail the checks: none is kept
    with pytest.raises(ConfigError, match="nothing to train on"):
        passing_rollouts(both[1:], labels)
    assert passing_rollouts([oracle.with_suffix(".traces.jsonl")], labels, ("easy",)) == [
        r for r in rows if r["tier"] == "easy"]
    held_out, _ = _saved_run(tmp_path, "oracle", "eval")
    with pytest.raises(ConfigError, match="train tasks only"):
        passing_rollouts([held_out.with_suffix(".traces.jsonl")], labels)
    refused = subprocess.run([sys.executable, "-m", "train", "sft", "--model", str(tiny), "--scenarios", "jira_labels",
                              "--traces", str(held_out.with_suffix(".traces.jsonl")), "--output", str(tmp_path / "no")],
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "train tasks only" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and not (tmp_path / "no").exists()  # before anything runs
    with pytest.raises(ConfigError, match="no such file"):
        parse(["sft", "--output", "x", "--traces", str(tmp_path / "missing.traces.jsonl")])
    out = tmp_path / "rft"
    run = subprocess.run([sys.executable, "-m", "train", "sft", "--model", str(tiny), "--scenarios", "jira_labels",
                          "--traces", str(both[0]), "--traces", str(both[1]), "--output", str(out), "--steps", "1",
                          "--batch-size", "2"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "jira_labels: 4 distinct passing rollouts of 16 saved" in run.stdout
    assert json.loads((out / "train-config.json").read_text())["traces"] == [str(p) for p in both]


@pytest.mark.parametrize("lora", [False, True])
def test_the_cpu_loss_pass_runs_a_groups_prompt_once_with_trls_log_probs_and_gradients(tiny, tmp_path, lora):
    """A micro-batch of one group's rows (left-padded prompt, right-padded completions of different lengths):
    our pass (shared prompt, rows cut at their ends) against TRL's, values and gradients."""
    import torch
    import trl

    from train.config import TrainConfig
    from train.run import grpo_trainer

    cfg = TrainConfig("grpo", str(tiny), ("jira_labels",), tmp_path / "run", steps=1, group_size=3, batch_size=3,
                      max_completion_length=2048, tasks=1, lora=lora, float32=True)  # bf16 rounds by shape
    trainer, _, _ = grpo_trainer(cfg)
    assert trainer.args.per_device_train_batch_size == 3  # a micro-batch is the group
    model = trainer.model
    g = torch.Generator().manual_seed(0)
    prompt = torch.randint(5, 100, (40,), generator=g)
    ends = (25, 9, 17)  # completion lengths; the completion block is 30 wide
    ids = torch.zeros((3, 70), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, n in enumerate(ends):
        ids[i, 3:40], mask[i, 3:40] = prompt[3:], 1  # three columns of left padding
        ids[i, 40:40 + n], mask[i, 40:40 + n] = torch.randint(5, 100, (n,), generator=g), 1
    ids[:, 40] = 7  # the first completion token is the same in every row

    embedded = []
    model.get_input_embeddings().register_forward_hook(lambda m, args, out: embedded.append(args[0].numel()))

    def run(pass_):
        model.zero_grad()
        embedded.clear()
        logps, entropy, _ = pass_(trainer, model, ids, mask, 30, compute_entropy=True)
        (logps * mask[:, 40:]).sum().backward()
        return logps.detach(), entropy.detach(), {n: p.grad.clone() for n, p in model.named_parameters()
                                                  if p.grad is not None}, sum(embedded)

    ours = run(type(trainer)._get_per_token_logps_and_entropies)
    theirs = run(trl.GRPOTrainer._get_per_token_logps_and_entropies)
    assert (ours[3], theirs[3]) == (39 + (65 - 39) + (49 - 39) + (57 - 39), 3 * 70)  # tokens through the model
    assert ours[0][mask[:, 40:] == 1].abs().min() > 0 and ours[0][mask[:, 40:] == 0].abs().sum() == 0
    torch.testing.assert_close(ours[0], theirs[0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(ours[1], theirs[1], rtol=1e-4, atol=1e-5)
    assert ours[2].keys() == theirs[2].keys() and ours[2]
    for name, grad in theirs[2].items():
        torch.testing.assert_close(ours[2][name], grad, rtol=1e-3, atol=1e-5, msg=name)


def test_sft_on_a_cpu_runs_a_scenarios_shared_start_once_with_trls_loss_and_gradients(tiny, tmp_path):
    """A micro-batch of one scenario's demonstrations shares their start in the loss pass, with TRL's values."""
    import torch
    import trl

    from train.config import TrainConfig
    from train.run import sft_trainer

    cfg = TrainConfig("sft", str(tiny), ("jira_labels",), tmp_path / "run", steps=1, batch_size=2, tasks=2,
                      float32=True)  # bf16 products round differently with the shapes of a pass
    trainer, _, _ = sft_trainer(cfg)
    assert trainer.args.per_device_train_batch_size == 2
    batch = next(iter(trainer.get_train_dataloader()))
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    ids = batch["input_ids"]
    assert (ids[0] == ids[1]).int().cumprod(0).sum() > 300  # the system prompt and tools
    model = trainer.model.train()
    embedded = []
    model.get_input_embeddings().register_forward_hook(lambda m, args, out: embedded.append(args[0].numel()))

    def run(compute_loss):
        model.zero_grad()
        embedded.clear()
        loss = compute_loss(trainer, model, dict(batch), num_items_in_batch=(batch["labels"] != -100).sum())
        loss.backward()
        return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}, \
            sum(embedded), trainer._metrics["train"]["mean_token_accuracy"][-1]

    ours, theirs = run(type(trainer).compute_loss), run(trl.SFTTrainer.compute_loss)
    assert ours[2] < theirs[2] * 0.8 and theirs[2] == ids.numel()  # fewer tokens through the model
    torch.testing.assert_close(ours[0], theirs[0], rtol=1e-4, atol=1e-5)
    assert ours[3] == theirs[3]
    assert ours[1].keys() == theirs[1].keys() and ours[1]
    for name, grad in theirs[1].items():
        torch.testing.assert_close(ours[1][name], grad, rtol=1e-3, atol=1e-5, msg=name)


@pytest.mark.parametrize("native, float32, bf16", [(True, False, True), (True, True, False), (False, False, False)])
def test_a_cpu_with_bf16_trains_under_autocast_and_decodes_rollouts_in_float32(tiny, tmp_path, monkeypatch, native,
                                                                                float32, bf16):
    """A GRPO step: the loss pass in bf16 where the CPU multiplies it natively (unless --float32), the rollouts'
    turns in float32."""
    import torch

    from train.config import TrainConfig
    from train.run import grpo_trainer

    monkeypatch.setattr("train.run.cpu_has_bf16", lambda: native)
    cfg = TrainConfig("grpo", str(tiny), ("jira_labels",), tmp_path / "run", steps=1, group_size=2, batch_size=2,
                      max_completion_length=2048, max_tokens=8, tasks=1, max_turns=2, float32=float32)
    trainer, _, _ = grpo_trainer(cfg)
    phase, seen = ["loss"], set()
    trainer.model.model.layers[0].mlp.down_proj.register_forward_hook(
        lambda m, args, out: seen.add((phase[0], out.dtype)))
    rollouts = trainer.rollout_func

    def record(prompts, trainer):
        phase[0] = "rollout"
        try:
            return rollouts(prompts, trainer)
        finally:
            phase[0] = "loss"

    trainer.rollout_func = record
    trainer.train()
    assert trainer.args.bf16 is bf16
    assert seen == {("rollout", torch.float32), ("loss", torch.bfloat16 if bf16 else torch.float32)}


def test_rows_of_two_starts_in_one_micro_batch_run_each_start_once(tiny):
    """Two demonstrations each of two scenarios, interleaved: each pair runs its own start once."""
    import torch
    import trl.trainer.utils as fused
    from transformers import AutoModelForCausalLM

    from train.trainer import shared_forward

    model = AutoModelForCausalLM.from_pretrained(tiny)
    fused.add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    g = torch.Generator().manual_seed(0)
    starts = [torch.randint(5, 100, (50,), generator=g), torch.randint(5, 100, (60,), generator=g)]
    ids = torch.zeros((4, 90), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, n in enumerate((80, 90, 70, 85)):
        start = starts[i % 2]  # rows 0 and 2 share one start, rows 1 and 3 the other
        ids[i, :len(start)], ids[i, len(start):n] = start, torch.randint(5, 100, (n - len(start),), generator=g)
        mask[i, :n] = 1
    labels = ids.masked_fill((mask == 0) | (torch.arange(90) < 65), -100)
    embedded = []
    model.get_input_embeddings().register_forward_hook(lambda m, args, out: embedded.append(args[0].numel()))
    ours = shared_forward(model, ids, mask, labels)
    assert sum(embedded) == 50 + (80 - 50) + (70 - 50) + 60 + (90 - 60) + (85 - 60)  # not 4 * 90
    theirs = model(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True)
    for name in ("log_probs", "entropy"):
        torch.testing.assert_close(getattr(ours, name), getattr(theirs, name), rtol=1e-4, atol=1e-5)
    assert torch.equal(ours.is_top1, theirs.is_top1) and torch.equal(ours.label_mask, theirs.label_mask)


@pytest.mark.parametrize("command, group, batch, length, micro", [
    ("grpo", 8, 16, 2048, 4), ("grpo", 6, 12, 2048, 3), ("grpo", 4, 8, 3072, 2), ("grpo", 8, 8, 4096, 2),
    ("grpo", 3, 3, 8192, 1), ("sft", 4, 4, 1024, 2), ("sft", 4, 3, 1024, 1), ("sft", 4, 4, 4096, 2),
    ("sft", 4, 4, 4097, 1)])
def test_a_cpu_micro_batch_holds_rows_that_can_share_their_start(command, group, batch, length, micro):
    from train.config import TrainConfig
    from train.run import batching

    cfg = TrainConfig(command, "m", ("jira_labels",), None, group_size=group, batch_size=batch,
                      max_completion_length=length)
    longest = length if command == "sft" else 0  # SFT: the longest demonstration
    assert batching(cfg, longest) == {"per_device_train_batch_size": micro,
                                      "gradient_accumulation_steps": batch // micro}
