"""Prefix caching for in-process generation: a new turn prefills only the tokens no earlier sequence shares.

A rollout's next prompt is its previous prompt, the answer and the tool results; every task of a scenario
starts with the same system prompt and tools. On a CPU, prefill dominates (about 400 tokens/s for
SmolLM2-135M on two cores), so the keys and values of recent sequences are kept, and each row of a batch
resumes from its longest cached prefix. Rows resume at different lengths: the batch is laid out as
[left-padded cached part | left-padded new part], with padding masked, so positions (counted over the
mask) and attention are those of the unpadded sequence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass(eq=False)  # entries are compared by identity
class _Entry:
    ids: torch.Tensor  # [L] tokens whose keys and values are held
    kv: list[tuple[torch.Tensor, torch.Tensor]]  # per layer, keys and values [heads, L, head_dim]
    used: int = 0
    key: str | None = None  # the rollout it belongs to: a rollout keeps only its latest sequence

    @property
    def nbytes(self) -> int:
        return sum(k.nbytes + v.nbytes for k, v in self.kv)


class PrefixCache:
    """The keys and values of the most recently used sequences: at most `capacity` of them, holding at most
    `max_bytes` (SmolLM2 keeps about 46 KB a token in float32: 48 sequences of 3,000 tokens would hold 6.6 GB)."""

    def __init__(self, capacity: int, max_bytes: int | None = None) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.bytes = 0
        self.entries: list[_Entry] = []
        self.clock = 0
        self.reused = 0  # prompt tokens not prefilled, thanks to the cache
        self.prefilled = 0

    def match(self, ids: torch.Tensor) -> tuple[int, _Entry | None]:
        """The longest cached prefix of `ids` (at most all but its last token, which must be fed)."""
        best, found = 0, None
        for entry in self.entries:
            m = min(len(entry.ids), len(ids) - 1)
            if m <= best:
                continue
            differ = (entry.ids[:m] != ids[:m]).nonzero()
            n = int(differ[0]) if len(differ) else m
            if n > best:
                best, found = n, entry
        if found is not None:
            self.clock += 1
            found.used = self.clock
        return best, found

    def add(self, ids: torch.Tensor, kv: list[tuple[torch.Tensor, torch.Tensor]], key: str | None = None) -> None:
        self.clock += 1
        if key is not None:
            for e in [e for e in self.entries if e.key == key]:
                self._drop(e)
        entry = _Entry(ids, kv, self.clock, key)
        self.entries.append(entry)
        self.bytes += entry.nbytes
        while len(self.entries) > self.capacity or (self.max_bytes is not None and self.bytes > self.max_bytes
                                                     and len(self.entries) > 1):
            self._drop(min(self.entries, key=lambda e: e.used))

    def _drop(self, entry: _Entry) -> None:
        self.entries.remove(entry)
        self.bytes -= entry.nbytes

    def generate(self, model: Any, rows: list[list[int]], pad: int, keys: list[str] | None = None,
                 **options: Any) -> list[list[int]]:
        """Greedy or sampled continuations of `rows` (token lists), batched, each resumed from its cached prefix;
        `keys` name each row's rollout, whose earlier sequence the new one replaces."""
        from transformers import DynamicCache
        from transformers.cache_utils import DynamicLayer

        device = model.device
        prompts = [torch.tensor(r, dtype=torch.long) for r in rows]
        hits = [self.match(p) for p in prompts]
        cached = max(n for n, _ in hits)
        new = max(len(p) - n for p, (n, _) in zip(prompts, hits, strict=True))
        batch = len(rows)
        input_ids = torch.full((batch, cached + new), pad, dtype=torch.long)
        mask = torch.zeros((batch, cached + new), dtype=torch.long)
        layers = None
        if cached:  # laid out on the model's device, in its dtype (as the cache entries are)
            like = self.entries[0].kv[0][0]
            shape = (batch, like.shape[0], cached, like.shape[2])
            layers = [(like.new_zeros(shape), like.new_zeros(shape)) for _ in self.entries[0].kv]
        for i, (p, (n, entry)) in enumerate(zip(prompts, hits, strict=True)):
            input_ids[i, cached - n:cached] = p[:n]
            mask[i, cached - n:cached] = 1
            input_ids[i, cached + new - (len(p) - n):] = p[n:]
            mask[i, cached + new - (len(p) - n):] = 1
            if n:
                assert entry is not None and layers is not None
                for (k, v), (ek, ev) in zip(layers, entry.kv, strict=True):
                    k[i, :, cached - n:] = ek[:, :n]
                    v[i, :, cached - n:] = ev[:, :n]
            self.reused += n
            self.prefilled += len(p) - n
        kwargs: dict[str, Any] = {}
        if layers is not None:
            kwargs["cache"] = DynamicCache(ddp_cache_data=layers, config=model.config)
        out = model.generate(input_ids=input_ids.to(device), attention_mask=mask.to(device), pad_token_id=pad,
                             return_dict_in_generate=True, **kwargs, **options)
        width = cached + new
        generated = out.sequences[:, width:].cpu()
        kept = out.sequences.shape[1] - 1  # the last token was never fed, so it has no keys yet
        stops = set(options.get("eos_token_id") or [])
        answers = []
        # nothing is kept without capacity, or from a sliding window (it drops keys)
        keep = self.capacity > 0 and all(type(layer) is DynamicLayer for layer in out.cache.layers)
        for i, p in enumerate(prompts):
            tokens = generated[i].tolist()
            produced = next((j for j, t in enumerate(tokens) if t in stops), len(tokens))
            answers.append(tokens[:produced])
            if not keep:
                continue
            positions = torch.cat([mask[i].nonzero().flatten(), torch.arange(width, min(width + produced, kept))])
            ids = torch.cat([p, generated[i, :len(positions) - len(p)]])
            at = positions.to(device)
            self.add(ids, [(layer.keys[i].index_select(1, at), layer.values[i].index_select(1, at))
                           for layer in out.cache.layers], keys[i] if keys else None)
        return answers
