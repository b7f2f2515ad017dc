"""Training's hold on TRL: one pinned version, every use of TRL's internals in train/trainer.py, and each of them
still there with the parameters training passes."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import trl

from train import trainer
from train.trainer import PRIVATE_TRL, TRL_VERSION, Private, check_trl_version

ROOT = Path(__file__).resolve().parents[1]
UPGRADE = ("on a TRL upgrade, re-check each entry of train.trainer.PRIVATE_TRL against TRL's source (the overrides "
           "in train/trainer.py copy TRL's behaviour), run tests/test_train.py (our loss pass against TRL's), then "
           "move TRL_VERSION and both pins in pyproject.toml together")
SCANNED = ("train", "bench", "policies", "pytest_rlvr", "scenarios")
# Names not to grep for: our own config and policies use them too, or our prose names them (train/pool.py names
# TRL's `RepeatSampler`). The spellings below still find an import of them from TRL's modules.
COMMON = {"use_vllm", "max_completion_length", "generate", "RepeatSampler"}
PRIVATE_SPELLINGS = (
    re.compile(r"\btrl[\w.]*\._\w"),  # trl.anything._private
    re.compile(r"\bfrom trl[\w.]* import [^\n]*\b_\w"),  # from trl... import _private
    re.compile(r"\btrl\.(trainer|generation)\.\w"),  # TRL's modules below its public top level
)


def owner(path: str) -> Any:
    """A module, or a class named module.Class."""
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError:
        module, name = path.rsplit(".", 1)
        return getattr(importlib.import_module(module), name)


def test_the_installed_trl_is_the_one_training_and_pyproject_pin():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pins = {extra: [d for d in deps if re.match(r"trl\b", d)] for extra, deps in extras.items()}
    pins = {extra: deps for extra, deps in pins.items() if deps}
    assert set(pins) >= {"hf", "train"}, pins
    expected = f"trl=={TRL_VERSION}"
    assert all(d == [expected] for d in pins.values()), f"pyproject {pins}, train/trainer.py {expected}; {UPGRADE}"
    installed = trl.__version__
    assert installed == TRL_VERSION, f"TRL {installed} is installed, training is pinned to {TRL_VERSION}; {UPGRADE}"


@pytest.mark.parametrize("entry", PRIVATE_TRL, ids=lambda e: f"{e.owner}.{e.name}")
def test_each_private_trl_attribute_training_uses_is_still_there_with_our_parameters(entry: Private):
    where = owner(entry.owner)
    if entry.instance:  # set on instances: the class's __init__ must still set it
        assert f"self.{entry.name} =" in inspect.getsource(where.__init__), f"{entry} is no longer set: {UPGRADE}"
        return
    assert hasattr(where, entry.name), f"{entry} is gone: {UPGRADE}"
    value = getattr(where, entry.name)
    if dataclasses.is_dataclass(value):
        missing = set(entry.params) - {f.name for f in dataclasses.fields(value)}
        assert not missing, f"{entry} has no field {missing}: {UPGRADE}"
        return
    params = [p for p in inspect.signature(value).parameters if p != "self"]
    assert [p for p in params if p in entry.params] == list(entry.params), f"{entry}: TRL now takes {params}: " \
                                                                           + UPGRADE


@pytest.mark.parametrize("entry", [e for e in PRIVATE_TRL if e.owner == "trl.GRPOTrainer" and e.params],
                         ids=lambda e: e.name)
def test_our_overrides_take_trls_leading_parameters_in_its_order(entry: Private):
    """We call TRL's method (super()) with these leading parameters by position, and TRL calls ours."""
    ours, theirs = (getattr(cls, entry.name) for cls in (trainer.GRPOTrainer, trl.GRPOTrainer))
    assert ours is not theirs
    for method in (ours, theirs):
        params = [p for p in inspect.signature(method).parameters if p != "self"]
        assert params[:len(entry.params)] == list(entry.params), f"{method.__qualname__} takes {params}: {UPGRADE}"


def test_the_vllm_engine_reads_its_token_limit_at_each_call():
    """`limit_completion` sets it after TRL built the engine: it must be read per call, not copied at start."""
    from trl.generation.vllm_generation import VLLMGeneration

    assert "self.max_completion_length" in inspect.getsource(VLLMGeneration.generate), UPGRADE


def test_another_trl_version_stops_training_in_one_line(monkeypatch):
    check_trl_version()
    monkeypatch.setattr(trl, "__version__", "1.17.0")
    with pytest.raises(RuntimeError, match=r"^TRL 1\.17\.0 is installed, but training is pinned to TRL 1\.16\.0") as e:
        check_trl_version()
    assert "\n" not in str(e.value)
    for build in (trainer.GRPOTrainer, trainer.SFTTrainer):  # before TRL sees the (missing) arguments
        with pytest.raises(RuntimeError, match="pinned to TRL"):
            build(model=None)
    with pytest.raises(RuntimeError, match="pinned to TRL"):
        trainer.score_completions_only()


def test_no_module_but_train_trainer_uses_trl_internals():
    names = {e.name for e in PRIVATE_TRL} - COMMON
    by_name = re.compile(r"\b(" + "|".join(map(re.escape, sorted(names))) + r")\b")
    offenders = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "train" / "trainer.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if by_name.search(line) or any(p.search(line) for p in PRIVATE_SPELLINGS):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "TRL internals outside train/trainer.py (move them there, into PRIVATE_TRL):\n" + \
        "\n".join(offenders)


def test_the_scan_finds_what_it_looks_for():
    names = {e.name for e in PRIVATE_TRL} - COMMON
    assert {"_use_triton", "_metrics", "vllm_generation", "shuffle_sequence_dict"} <= names
    source = (ROOT / "train" / "trainer.py").read_text()
    assert any(p.search(source) for p in PRIVATE_SPELLINGS)  # trainer.py itself would be flagged
    assert PRIVATE_SPELLINGS[0].search("trl.trainer.utils._use_triton = f")
    assert PRIVATE_SPELLINGS[1].search("from trl.trainer.utils import _use_triton")
