"""Model aliases: what each model needs to be seen exactly as training sees it.

`--rlvr-model` takes an alias, a local checkpoint directory, or a model id. A spec knows the chat template
(one of TRL's, so that training and evaluation render prompts identically), the tool-call format the model
writes, its thinking default, and the parsers a vLLM server needs for it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

SCRIPTED = ("oracle", "noop", "naive", "spam", "random")
METADATA = "rlvr-model.json"  # written next to a checkpoint by training and by the weight conversion


@dataclass(frozen=True)
class ModelSpec:
    alias: str
    model: str  # a hub id (for servers and vLLM) or a local directory
    template: str  # TRL chat template file
    tool_format: str  # "hermes" (JSON in <tool_call>) | "qwen3_coder" (XML in <tool_call>)
    thinking: bool = False
    tool_parser: str = "hermes"  # vLLM --tool-call-parser
    reasoning_parser: str | None = None  # vLLM --reasoning-parser

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _qwen3(alias: str, repo: str) -> ModelSpec:
    return ModelSpec(alias, repo, "qwen3.jinja", "hermes", False, "hermes", "qwen3")


def _qwen35(alias: str, repo: str) -> ModelSpec:
    return ModelSpec(alias, repo, "qwen3_5_nothink.jinja", "qwen3_coder", False, "qwen3_coder", "qwen3")


EMBEDDED = "smollm2-135m"  # the base model, prompted with the tools
SFT = "smollm2-135m-sft"  # the base with the SFT adapter shipped in policies/adapters/
PAGE = "smollm2-135m-page"  # SFT's model with the adapter of GRPO on page creation
TRAINED = "smollm2-135m-rlvr"  # the default: PAGE with the adapter of SFT on its own passing rollouts
ADAPTERS = Path(__file__).parent / "adapters"
ALIASES: dict[str, ModelSpec] = {
    # SmolLM2's own template knows no tools; TRL's ChatML Qwen2.5 template fits its <|im_start|> tokens.
    EMBEDDED: ModelSpec(EMBEDDED, "HuggingFaceTB/SmolLM2-135M-Instruct", "qwen2_5.jinja", "hermes"),
    SFT: ModelSpec(SFT, str(ADAPTERS / SFT), "qwen2_5.jinja", "hermes"),
    PAGE: ModelSpec(PAGE, str(ADAPTERS / PAGE), "qwen2_5.jinja", "hermes"),
    TRAINED: ModelSpec(TRAINED, str(ADAPTERS / TRAINED), "qwen2_5.jinja", "hermes"),
    "qwen3-1.7b": _qwen3("qwen3-1.7b", "Qwen/Qwen3-1.7B"),
    "qwen3-4b": _qwen3("qwen3-4b", "Qwen/Qwen3-4B"),
    "qwen3.5-2b": _qwen35("qwen3.5-2b", "Qwen/Qwen3.5-2B"),
    "qwen3.5-4b": _qwen35("qwen3.5-4b", "Qwen/Qwen3.5-4B"),
}


def resolve(model: str) -> ModelSpec:
    """The spec for an alias, a checkpoint directory (its saved spec, or guessed), or a model id (guessed)."""
    if model in ALIASES:
        return ALIASES[model]
    path = Path(model).expanduser()
    if path.is_dir():
        saved = path / METADATA
        base = ModelSpec(**json.loads(saved.read_text())) if saved.exists() else guess(path.name)
        return replace(base, alias=str(path), model=str(path.resolve()))
    return guess(model)


def guess(model_id: str) -> ModelSpec:
    """A spec from a model id's name: Qwen3.5/3.6 write XML tool calls, everything else Hermes JSON."""
    name = model_id.lower()
    if "qwen3.5" in name or "qwen3.6" in name or "qwen3_5" in name:
        return replace(_qwen35(model_id, model_id))
    if "qwen3" in name:
        return _qwen3(model_id, model_id)
    return ModelSpec(model_id, model_id, "qwen2_5.jinja", "hermes")


def origin(spec: ModelSpec) -> str:
    """Where a spec's template and tool-call format come from: "alias", "checkpoint" (its saved spec), or
    "guessed from the name" (a model id, a directory without a saved spec, a name only a server knows)."""
    if spec.alias in ALIASES:
        return "alias"
    if Path(spec.model, METADATA).exists():
        return "checkpoint"
    return "guessed from the name"


def looks_like_path(model: str) -> bool:
    """A name meant as a local directory rather than a model id (`org/name`) or an alias: it starts with `.`,
    `~` or a separator, has more than one part, ends with a separator, or its parent is a local directory."""
    name = model.replace("\\", "/")
    if name.startswith((".", "~", "/")) or name.endswith("/") or name.count("/") > 1:
        return True
    return "/" in name and Path(model).expanduser().parent.is_dir()


def save_metadata(directory: str | Path, spec: ModelSpec) -> None:
    Path(directory, METADATA).write_text(json.dumps(spec.to_dict(), indent=1) + "\n")
