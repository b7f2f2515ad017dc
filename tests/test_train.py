"""python -m train: configuration errors, rollout tokens and rewards on scripted traces, GRPO and SFT runs."""

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
])
def test_bad_configuration_fails_in_one_line(argv, message):
    with pytest.raises(ConfigError, match=message):
        parse(argv)


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

    from train.run import score_completions_only

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


def test_grpo_smoke_run_logs_group_rewards_changes_worlds_and_the_checkpoint_loads_in_the_plugin(tiny, tmp_path):
    from scenarios.scoring import play
    from train.config import TrainConfig
    from train.rollouts import Rollouts
    from train.run import finish, grpo_trainer

    cfg = TrainConfig("grpo", str(tiny), ("jira_labels",), tmp_path / "run", steps=2, group_size=2, batch_size=4,
                      max_completion_length=2048, max_tokens=16, tasks=2, max_turns=4)
    trainer, tokenizer, spec = grpo_trainer(cfg)
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
    assert all(0 < h["rollouts/worlds_changed"] < 1 for h in history if "loss" in h)
    logged_rollouts = [json.loads(line) for line in (out / "rollouts.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logged_rollouts] == [0] * 4 + [1] * 4 and logged_rollouts[0]["turns"]
    assert (out / "rewards.png").stat().st_size > 0 and (out / "rlvr-model.json").exists()
    session = subprocess.run([sys.executable, "-m", "pytest", "scenarios/test_jira_labels.py", "-p", "no:cacheprovider",
                              "-p", "no:xdist", f"--rlvr-model={out}", "--rlvr-tasks=1", "--rlvr-max-tokens=8", "-q"],
                             capture_output=True, text=True, timeout=600)
    assert "rlvr: model" in session.stdout and "backend hf" in session.stdout, session.stdout[-2000:]
    assert "1 failed" in session.stdout or "1 passed" in session.stdout, session.stdout[-2000:]


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
