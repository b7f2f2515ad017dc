"""TRL's trainers with a cheaper loss pass on a CPU: same log-probs, same gradients.

Rows of a micro-batch often share their start: a GRPO group its prompt, SFT demonstrations of one scenario
their system prompt and tool schemas (700-1,200 tokens, of episodes of 1,000-3,000). On a CPU a shared start
runs once, their keys and values (still in the graph) serve every row, and each row then runs alone up to its
own last token, where TRL would pad it to the longest row. `python -m bench loss` measures it.
"""

from __future__ import annotations

import itertools
from typing import Any
from unittest import mock

import torch
import trl
from trl.trainer import grpo_trainer as _trl_grpo
from trl.trainer.utils import FusedCausalLMOutput

FIELDS = ("log_probs", "entropy", "is_top1")
MIN_SHARED = 32  # tokens: below, a shared start is not worth its own pass


def shared_forward(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                   labels: torch.Tensor) -> FusedCausalLMOutput:
    """`model(input_ids, attention_mask, labels=labels, fused_lm_head=True)` of TRL's fused LM head (right-padded
    rows), computed as the module docstring says: rows that agree up to their first labels (a GRPO group, SFT
    demonstrations of one scenario) run that start once."""
    from transformers import DynamicCache

    rows, width = input_ids.shape
    labelled = (labels != -100).any(0).nonzero()
    first = int(labelled[0]) if len(labelled) else width  # the logits of the token before a label score it
    starts = input_ids.masked_fill(attention_mask == 0, -1)[:, :first - 1]
    order = sorted(range(rows), key=lambda i: starts[i].tolist())
    runs = [[order[0]]]  # rows that share a start, found next to each other in lexicographic order
    for a, b in itertools.pairwise(order):
        if _common(starts[a], starts[b]) >= MIN_SHARED:
            runs[-1].append(b)
        else:
            runs.append([b])
    parts: dict[int, dict[str, torch.Tensor]] = {}
    for run in runs:
        shared = _common(starts[run[0]], starts[run[-1]]) if len(run) > 1 else 0
        head = None
        if shared:
            head = model(input_ids=input_ids[run[:1], :shared], attention_mask=attention_mask[run[:1], :shared],
                         use_cache=True, logits_to_keep=1).cache
        for i in run:
            mask = attention_mask[i]
            end = max(int(mask.nonzero().max()) + 1, min(shared + 2, width))  # later columns are padding
            cache = None if head is None else DynamicCache(
                ddp_cache_data=[(layer.keys, layer.values) for layer in head.layers], config=model.config)
            out = model(input_ids=input_ids[i, None, shared:end], attention_mask=mask[None, :end], cache=cache,
                        labels=labels[i, None, shared:end], fused_lm_head=True)
            # column j scores token j + 1; outside this row's span, labels are -100: zero
            parts[i] = {name: torch.cat([v.new_zeros(1, shared), v, v.new_zeros(1, width - end)], 1)
                        for name in FIELDS if (v := getattr(out, name)) is not None}
    values = {name: torch.cat([parts[i][name] for i in range(rows)]) if name in parts[0] else None
              for name in FIELDS}
    label_mask = labels[:, 1:] != -100
    loss = -values["log_probs"].sum() / label_mask.sum().clamp(min=1)
    return FusedCausalLMOutput(loss=loss, label_mask=label_mask, **values)


def _common(a: torch.Tensor, b: torch.Tensor) -> int:
    """The length of the common prefix of two token rows."""
    return int((a == b).int().cumprod(0).sum())


class GRPOTrainer(trl.GRPOTrainer):
    def _prepare_inputs(self, generation_batch: dict[str, Any]) -> dict[str, Any]:
        """A CPU run keeps a group's rows together (TRL shuffles them across micro-batches). The order changes
        nothing: all micro-batches of a generation batch add up to one optimizer step (`steps_per_generation`
        equals the accumulation steps, `num_iterations` is 1)."""
        if not self.args.use_cpu:
            return super()._prepare_inputs(generation_batch)
        with mock.patch.object(_trl_grpo, "shuffle_sequence_dict", lambda batch: batch):
            return super()._prepare_inputs(generation_batch)

    def _get_per_token_logps_and_entropies(self, model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                                           logits_to_keep: int, batch_size: int | None = None,
                                           compute_entropy: bool = False, compute_aux_loss: bool = False,
                                           **multimodal: Any) -> tuple[Any, Any, Any]:
        if not self.args.use_cpu or compute_aux_loss or any(v is not None for v in multimodal.values()):
            return super()._get_per_token_logps_and_entropies(model, input_ids, attention_mask, logits_to_keep,
                                                              batch_size, compute_entropy, compute_aux_loss,
                                                              **multimodal)
        batch_size = batch_size or input_ids.size(0)
        logps, entropies = [], []
        for i in range(0, input_ids.size(0), batch_size):
            ids, mask = input_ids[i:i + batch_size], attention_mask[i:i + batch_size]
            labels = ids.masked_fill(mask == 0, -100)  # as TRL's pass: completion tokens only
            labels[:, :-logits_to_keep] = -100
            with self.accelerator.autocast():
                out = shared_forward(model, ids, mask, labels)
            logps.append(out.log_probs[:, -logits_to_keep:])
            if compute_entropy:  # a reference model's pass (--beta) computes none
                entropies.append(out.entropy[:, -logits_to_keep:])
        return torch.cat(logps), torch.cat(entropies) if compute_entropy else None, None


class SFTTrainer(trl.SFTTrainer):
    """On a CPU, a micro-batch's demonstrations share their start when they come from one scenario. The rows
    of each step are TRL's (its random sampler): keeping one scenario to a step shares more, but makes each step
    pull toward one scenario."""

    def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        if self.args.use_cpu and set(inputs) <= {"input_ids", "attention_mask", "labels"}:
            model = _SharedStart(model)
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)


class _SharedStart:
    """The model, whose fused-head calls (the loss pass) go through `shared_forward`."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __call__(self, *, fused_lm_head: bool = False, use_cache: bool = False, **inputs: Any) -> Any:
        if fused_lm_head:
            return shared_forward(self.model, inputs["input_ids"], inputs["attention_mask"], inputs["labels"])
        return self.model(fused_lm_head=fused_lm_head, use_cache=use_cache, **inputs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)
