"""The in-process transformers policy: the embedded CPU default, and any local checkpoint.

Rollouts waiting at the same moment arrive together (the engine's dynamic batching); they are rendered
with the model's chat template and generated in one batched `generate` call off the event loop, each row
resumed from its longest cached prefix (`prefix.py`). Tool calls are parsed from the text, exactly as
training sees them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pytest_rlvr.policy import AssistantTurn, TurnRequest

from .chat import model_messages, parse, template, thinking_prefix
from .prefix import PrefixCache
from .registry import ModelSpec

CACHE_BYTES = 4 << 30  # the prefix cache's keys and values: about 30 sequences of SmolLM2 at 3,000 tokens
BATCH_TOKENS = 24_000
"""On a CPU, the most tokens one `generate` call lays out (rows x the longest row): eight 3,000-token turns go
together, two 12,000-token ones at most. The 40 first transitions eval tasks at 32 in flight went past 16 GB
without it, and peak at 10.1 GB with it (bench/batch_tokens.py measures the two on long turns)."""


class TransformersPolicy:
    """A causal LM run with transformers on this machine (CPU unless CUDA is available)."""

    def __init__(self, spec: ModelSpec) -> None:
        import torch

        cuda = torch.cuda.is_available()
        self.max_batch_size = 32 if cuda else 8  # a GPU's step costs about the same for 32
        self.max_batch_tokens = None if cuda else BATCH_TOKENS
        self.spec = spec
        self.name = spec.alias
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any] | None = None
        self._closed = threading.Event()  # set by close(): a generation under way ends within one layer
        # Above the engine's default of 32 rollouts in flight. On a GPU, no cache: prefill is cheap there, and
        # laying cached keys out row by row is not (H200, SmolLM2, 32 rows of 1,200+ tokens, 128 new: plain
        # `generate` 3.0 s, through the cache 3.7 s cold and 6.0 s warm).
        self.cache = PrefixCache(capacity=0 if cuda else 48, max_bytes=CACHE_BYTES)
        few_arenas()

    @property
    def info(self) -> dict[str, Any]:
        return {"name": self.name, "backend": "hf", "model": self.spec.model, "template": self.spec.template,
                "tool_format": self.spec.tool_format, "thinking": self.spec.thinking,
                "max_batch_size": self.max_batch_size, "choice": getattr(self, "choice", None)}

    def load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._loaded is None:
                self._closed.clear()  # used again after close()
                import torch
                from transformers import AutoModelForCausalLM, AutoTokenizer

                from .adapter import weights

                path = weights(self.spec)
                tokenizer = AutoTokenizer.from_pretrained(path)
                if not Path(path, "rlvr-model.json").exists():  # a checkpoint of ours carries its template
                    tokenizer.chat_template = template(self.spec.template)
                tokenizer.padding_side = "left"
                if tokenizer.pad_token is None:
                    tokenizer.pad_token = tokenizer.eos_token
                device = "cuda" if torch.cuda.is_available() else "cpu"
                model = AutoModelForCausalLM.from_pretrained(
                    path, dtype=torch.bfloat16 if device == "cuda" else torch.float32).to(device).eval()
                self._loaded = (tokenizer, model)
            return self._loaded

    def render(self, request: TurnRequest) -> str:
        tokenizer, _ = self.load()
        messages = model_messages(request.messages, self.spec.tool_format)
        return tokenizer.apply_chat_template(messages, tools=list(request.tools), add_generation_prompt=True,
                                             tokenize=False, enable_thinking=self.spec.thinking)

    async def generate(self, requests: Sequence[TurnRequest]) -> list[AssistantTurn]:
        return await asyncio.to_thread(self._generate, list(requests))

    def _generate(self, requests: list[TurnRequest]) -> list[AssistantTurn]:
        tokenizer, _ = self.load()
        prompts = [self.render(r) for r in requests]
        rows = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        turns = []
        for prompt, row, new, request in zip(prompts, rows, self.complete(rows, requests), requests, strict=True):
            new = new[:request.sampling.max_tokens]
            text = thinking_prefix(prompt) + tokenizer.decode(new, skip_special_tokens=True)
            prose, calls = parse(text, self.spec.tool_format)
            turns.append(AssistantTurn(prose, calls, len(row), len(new)))
        return turns

    def complete(self, rows: list[list[int]], requests: list[TurnRequest]) -> list[list[int]]:
        """Each row's new tokens, up to its end of turn: one batched `generate`, resumed from cached prefixes."""
        import torch

        tokenizer, model = self.load()
        sampling = requests[0].sampling  # one batch, one setting: the engine batches one run's requests
        options: dict[str, Any] = {"max_new_tokens": max(r.sampling.max_tokens for r in requests),
                                   "eos_token_id": stop_ids(tokenizer)}
        if sampling.temperature > 0:
            torch.manual_seed(sampling.seed)
            options |= {"do_sample": True, "temperature": sampling.temperature, "top_p": 1.0, "top_k": 0}
        else:
            options |= {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        out: list[list[int]] = [[] for _ in rows]
        with self._lock, torch.inference_mode(), interruptible(model, self._closed):
            for part in chunks([len(r) for r in rows], self.max_batch_tokens):
                new = self.cache.generate(model, [rows[i] for i in part], tokenizer.pad_token_id,
                                          [requests[i].rollout_id for i in part], **options)
                for i, tokens in zip(part, new, strict=True):
                    out[i] = tokens
        return out

    async def close(self) -> None:
        """Frees the model; a generation under way raises `Closed` within one layer, so an interrupted run
        exits without waiting for a long prefill or decoding."""
        self._closed.set()
        self._loaded = None
        self.cache = PrefixCache(self.cache.capacity, self.cache.max_bytes)


def few_arenas(arenas: int = 2) -> None:
    """Caps glibc's malloc arenas (`MALLOC_ARENA_MAX`) for the threads created from now on: generation runs on
    worker threads, and each thread's arena kept the freed buffers of long prefills (an issue-creation eval at 8 in
    flight held 7.5-8.5 GB from its 4th to 9th minute with glibc's default, 4.2-5.0 GB with 2, set by the variable
    or by this call). Nothing off glibc, or when the variable is set."""
    import ctypes
    import os

    if "MALLOC_ARENA_MAX" in os.environ:
        return
    try:
        ctypes.CDLL("libc.so.6").mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def chunks(lengths: list[int], budget: int | None) -> list[list[int]]:
    """Row indices in batches of similar lengths, longest first, each at most `budget` tokens once padded to its
    longest row (a row longer than the budget goes alone); one batch of all rows without a budget."""
    if budget is None:
        return [list(range(len(lengths)))]
    out: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        if out and (len(out[-1]) + 1) * lengths[out[-1][0]] <= budget:
            out[-1].append(i)
        else:
            out.append([i])
    return out


def stop_ids(tokenizer: Any) -> list[int]:
    """The tokens that end an assistant turn."""
    return [t for t in {tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")} if t is not None]


class Closed(RuntimeError):
    """The policy was closed while it generated."""


@contextlib.contextmanager
def interruptible(model: Any, closed: threading.Event) -> Iterator[None]:
    """Within: once `closed` is set, the model's next decoder layer raises `Closed` (in a prefill or between
    decoding steps); the hooks are removed on leaving."""
    from transformers.modeling_layers import GradientCheckpointingLayer

    def check(module: Any, args: Any) -> None:
        if closed.is_set():
            raise Closed("the policy was closed")

    layers = [m for m in model.modules() if isinstance(m, GradientCheckpointingLayer)] or [model]
    handles = [layer.register_forward_pre_hook(check) for layer in layers]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
