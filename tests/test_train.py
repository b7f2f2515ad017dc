"""python -m train: configuration errors, reward adapters on hand-built completions, a GRPO smoke run."""

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


def _completion(calls):
    return [{"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": n, "arguments": a}} for n, a in calls]}]


def test_group_rewards_score_hand_built_completions_like_evaluation():
    from train.environment import environment_class
    from train.rewards import reward_functions

    scenario = SCENARIOS["jira_labels"]
    task = scenario.tasks("train", count=3)[1]  # a medium task: one issue, labels added and removed
    assert task.tier == "medium"
    key = next(iter(task.data["expected"]))
    ops = [{"add": x} for x in task.data["add"]] + [{"remove": x} for x in task.data["remove"]]
    good, bad = environment_class(scenario)(), environment_class(scenario)()
    for env in (good, bad):
        env.reset(seed=task.seed, split="train")
    good.getIssue(issueIdOrKey=key, fields=["labels"])
    good.editIssue(issueIdOrKey=key, update={"labels": ops})
    bad.editIssue(issueIdOrKey=key, fields={"labels": task.data["add"]})
    good_completion = _completion([("getIssue", {"issueIdOrKey": key, "fields": ["labels"]})]) + \
        [{"role": "tool", "name": "getIssue", "content": "..."}] + \
        _completion([("editIssue", {"issueIdOrKey": key, "update": {"labels": ops}})])
    bad_completion = _completion([("editIssue", {"issueIdOrKey": key, "fields": {"labels": task.data["add"]}})])
    columns = {f.__name__: f(completions=[good_completion, bad_completion], environments=[good, bad])
               for f in reward_functions()}
    assert set(columns) == {"arguments", "process", "outcome"}
    assert sum(c[0] for c in columns.values()) == pytest.approx(1.0)
    assert sum(c[1] for c in columns.values()) < 0.5 and columns["outcome"][1] < columns["outcome"][0]


def test_a_tool_the_environment_lacks_is_scored_as_an_invented_tool():
    from train.environment import environment_class

    scenario = SCENARIOS["jira_labels"]
    env = environment_class(scenario)()
    env.reset(seed=scenario.tasks("train", count=1)[0].seed)
    trace = env._trace(_completion([("deleteEverything", {})]))
    assert trace.calls[0][1].error == "unknown_tool"


def test_grpo_smoke_run_logs_group_rewards_and_the_checkpoint_loads_in_the_plugin(tmp_path):
    from tiny_model import build

    model = build(tmp_path / "tiny")
    out = tmp_path / "run"
    run = subprocess.run([sys.executable, "-m", "train", "grpo", "--model", str(model), "--scenarios", "jira_labels",
                          "--output", str(out), "--steps", "2", "--group-size", "2", "--batch-size", "2",
                          "--max-completion-length", "1024", "--tasks", "2", "--max-turns", "2"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    history = json.loads((out / "log_history.json").read_text())
    logged = {k for h in history for k in h}
    assert {"rewards/arguments/mean", "rewards/process/mean", "rewards/outcome/mean"} <= logged
    assert (out / "rewards.png").stat().st_size > 0 and (out / "rlvr-model.json").exists()
    session = subprocess.run([sys.executable, "-m", "pytest", "scenarios/test_jira_labels.py", "-p", "no:cacheprovider",
                              "-p", "no:xdist", f"--rlvr-model={out}", "--rlvr-tasks=1", "--rlvr-max-tokens=8", "-q"],
                             capture_output=True, text=True, timeout=600)
    assert "rlvr: model" in session.stdout and "backend hf" in session.stdout, session.stdout[-2000:]
    assert "1 failed" in session.stdout or "1 passed" in session.stdout, session.stdout[-2000:]


def test_sft_warm_start_trains_on_assistant_tokens_only_and_saves_a_checkpoint(tmp_path):
    from tiny_model import build

    from policies.registry import resolve
    from scenarios import SCENARIOS
    from train.data import demonstrations, tokenized

    model = build(tmp_path / "tiny")
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
