"""LoRA adapters saved alone: written by `python -m train --lora`, run merged over their base, and the shipped
default model (`smollm2-135m-rlvr`): SmolLM2-135M with three adapters in policies/adapters/: SFT's, GRPO's over it,
and SFT on that model's own passing rollouts over both."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from policies.adapter import CONFIG, WEIGHTS, base_of, is_adapter, weights
from policies.registry import EMBEDDED, PAGE, SFT, TRAINED, resolve
from pytest_rlvr.settings import DEFAULT_MODEL
from pytest_rlvr.trace import Trace

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tiny_model import build

    return build(tmp_path_factory.mktemp("tiny"))


def test_a_lora_run_saves_its_adapter_alone_and_it_runs_as_the_merged_checkpoint(tiny, tmp_path):
    from transformers import AutoModelForCausalLM

    from train.run import model_path

    out = tmp_path / "sft"
    run = subprocess.run([sys.executable, "-m", "train", "sft", "--model", str(tiny), "--scenarios", "jira_labels",
                          "--output", str(out), "--steps", "2", "--batch-size", "2", "--tasks", "2", "--lora",
                          "--lr", "0.05"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    adapter = out / "adapter"
    assert is_adapter(adapter) and base_of(adapter) == str(tiny)  # the base as --model named it
    assert {p.name for p in adapter.iterdir()} == {CONFIG, WEIGHTS, "rlvr-model.json"}
    assert {str(t.dtype) for t in load_file(adapter / WEIGHTS).values()} == {"torch.bfloat16"}
    assert resolve(str(adapter)).template == "qwen2_5.jinja"

    merged = Path(weights(resolve(str(adapter))))
    assert merged != adapter and weights(resolve(str(adapter))) == str(merged)  # merged once, then reused
    assert model_path(str(adapter))[0] == str(merged)  # training starts from an adapter as from its merged weights
    ours, theirs = (AutoModelForCausalLM.from_pretrained(p).state_dict() for p in (merged, out))
    base = AutoModelForCausalLM.from_pretrained(tiny).state_dict()
    moved = [k for k in ours if not (ours[k] == base[k]).all()]
    assert moved, "training moved no weight"
    for k in ours:  # the adapter's bf16 weights merge to the run's own merged checkpoint, up to bf16 rounding
        assert (ours[k] - theirs[k]).abs().max() <= 1e-2 * max(1.0, float(theirs[k].abs().max())), k

    # A second run from the adapter: its adapter names the first as its base, and merges over both.
    again = tmp_path / "again"
    run = subprocess.run([sys.executable, "-m", "train", "sft", "--model", str(adapter), "--scenarios", "jira_labels",
                          "--output", str(again), "--steps", "1", "--batch-size", "2", "--tasks", "2", "--lora",
                          "--lr", "0.05"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert base_of(again / "adapter") == str(adapter)
    stacked = AutoModelForCausalLM.from_pretrained(weights(resolve(str(again / "adapter")))).state_dict()
    theirs = AutoModelForCausalLM.from_pretrained(again).state_dict()
    assert any(not (stacked[k] == ours[k]).all() for k in stacked), "the second adapter moved no weight"
    for k in stacked:
        assert (stacked[k] - theirs[k]).abs().max() <= 2e-2 * max(1.0, float(theirs[k].abs().max())), k


def test_the_default_model_is_a_chain_of_adapters_each_trained_on_the_train_split():
    assert DEFAULT_MODEL == TRAINED
    chain = [(TRAINED, "sft", PAGE), (PAGE, "grpo", SFT), (SFT, "sft", EMBEDDED)]  # each adapter, its command, its base
    for alias, command, base in chain:
        shipped = Path(resolve(alias).model)
        assert shipped.is_relative_to(ROOT / "policies" / "adapters")
        assert {p.name for p in shipped.iterdir()} >= {CONFIG, WEIGHTS, "rlvr-model.json", "train-config.json"}
        assert (shipped / WEIGHTS).stat().st_size < 12_000_000  # a few MB, in the repository
        assert base_of(shipped) == base
        config = json.loads((shipped / "train-config.json").read_text())
        assert config["command"] == command and config["model"] == base
        assert config["lora"] and config["split"] == "train"
        for name in ("rlvr-model.json", "train-config.json", CONFIG):  # nothing of the machine it was trained on
            text = (shipped / name).read_text()
            assert '"/' not in text and ":\\\\" not in text, name
    makefile = (ROOT / "Makefile").read_text()
    assert f"MODEL ?= {TRAINED}" in makefile


def test_the_shipped_adapter_calls_the_tools_where_its_base_does_not(tmp_path):
    """The real SmolLM2-135M, prompted (0 tool calls on this task) and with the shipped adapter, through the
    plugin's default: one labels eval task, greedy."""
    def run(*model: str) -> dict:
        save = tmp_path / f"{len(model)}.json"
        done = subprocess.run([sys.executable, "-m", "pytest", "scenarios", "-k", "jira_labels", "--rlvr-tasks=1",
                               "-p", "no:cacheprovider", "-q", f"--rlvr-save={save}", *model],
                              capture_output=True, text=True, timeout=900, cwd=ROOT)
        assert save.exists(), done.stdout[-3000:] + done.stderr[-3000:]
        return json.loads(save.read_text())

    def calls(results: dict) -> int:
        lines = Path(results["run"]["traces"]).read_text().splitlines()
        return sum(len(turn.tool_calls) for line in lines for turn in Trace.from_dict(json.loads(line)).turns)

    trained, prompted = run(), run(f"--rlvr-model={EMBEDDED}")
    assert trained["run"]["settings"]["model"] == TRAINED and prompted["run"]["settings"]["model"] == EMBEDDED
    assert calls(trained) > 0 and calls(prompted) == 0
