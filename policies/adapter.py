"""LoRA adapters saved alone (a few MB) and run merged into their base model.

`python -m train ... --lora` writes one next to its merged checkpoint (`OUTPUT/adapter`); the shipped default
(`policies/adapters/`) is one. Its `adapter_config.json` names the base as `--model` named it (an alias such as
`smollm2-135m`, or a checkpoint directory), so an adapter moves between machines without a path in it. Whatever
runs a model (in-process, a server, training) asks `weights(spec)`, which merges an adapter into its base once and
caches the result.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

CONFIG = "adapter_config.json"
WEIGHTS = "adapter_model.safetensors"


def is_adapter(path: str | Path) -> bool:
    return Path(path, CONFIG).is_file()


def base_of(path: str | Path) -> str:
    """The base model an adapter was trained on: an alias, a checkpoint directory or a model id."""
    return json.loads(Path(path, CONFIG).read_text())["base_model_name_or_path"]


def weights(spec: Any) -> str:
    """Where a model's full weights are: the embedded model's converted checkpoint, an adapter's merged one
    (merged once into the cache), or the spec's own directory or model id."""
    from .registry import EMBEDDED

    if spec.alias == EMBEDDED and not Path(spec.model).is_dir():
        from .weights import embedded_checkpoint

        return str(embedded_checkpoint())
    if is_adapter(spec.model):
        return str(merged(Path(spec.model)))
    return spec.model


def merged(adapter: Path) -> Path:
    """The adapter merged into its base, saved as a plain checkpoint (with the base's tokenizer and the adapter's
    spec) under the cache, named by the adapter's digest: any server or trainer loads it as it loads any other."""
    import hashlib

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .registry import METADATA, ModelSpec, resolve, save_metadata
    from .weights import cache_dir

    base = weights(resolve(base_of(adapter)))  # an adapter's base may be an adapter: its merged directory
    digest = hashlib.sha256((adapter / WEIGHTS).read_bytes() + (adapter / CONFIG).read_bytes()
                            + base.encode()).hexdigest()[:16]
    target = cache_dir() / "models" / f"{adapter.name}-{digest}"
    if (target / METADATA).exists():
        return target
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    model.save_pretrained(partial)
    AutoTokenizer.from_pretrained(base).save_pretrained(partial)
    spec = ModelSpec(**json.loads((adapter / METADATA).read_text()))
    save_metadata(partial, replace(spec, model=str(target)))
    shutil.rmtree(target, ignore_errors=True)
    partial.replace(target)  # atomic: a concurrent reader sees no directory or the whole one
    return target


def save_adapter(model: Any, directory: Path, base: str, spec: Any) -> None:
    """Save a peft model's adapter alone, its weights in bf16 (half the size; merged into float32 weights on
    load), its base as named by `base`, and the spec evaluation reads."""
    import torch

    from .registry import save_metadata

    # peft keeps the adapter's entries of the state dict it is given: hand it the weights in bf16, written once
    model.save_pretrained(directory, state_dict={k: v.detach().to(torch.bfloat16)
                                                 for k, v in model.state_dict().items() if "lora_" in k})
    (directory / "README.md").unlink(missing_ok=True)  # peft's empty model card
    config = json.loads((directory / CONFIG).read_text())
    config["base_model_name_or_path"] = base
    (directory / CONFIG).write_text(json.dumps(config, indent=1, sort_keys=True) + "\n")
    save_metadata(directory, replace(spec, alias=str(directory), model=str(directory)))
