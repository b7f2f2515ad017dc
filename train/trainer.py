"""TRL's GRPOTrainer with a cheaper loss pass on a CPU, same log-probs and gradients.

The rollouts of a group share their prompt (about 700-1,200 tokens of system prompt and tool schemas, of
episodes of 1,000-3,000), and TRL pads every row to the longest completion of the whole batch. On a CPU, where
a micro-batch is a few rows of one group: their shared tokens run once (their keys and values, still in the
graph, serve every row), then each row runs alone up to its own last token.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import torch
import trl
from trl.trainer import grpo_trainer as _trl_grpo


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
        parts = [self._shared_pass(model, input_ids[i:i + batch_size], attention_mask[i:i + batch_size],
                                   logits_to_keep, compute_entropy) for i in range(0, input_ids.size(0), batch_size)]
        logps = torch.cat([p[0] for p in parts])
        return logps, torch.cat([p[1] for p in parts]) if compute_entropy else None, None

    def _shared_pass(self, model: Any, ids: torch.Tensor, mask: torch.Tensor, keep: int,
                     compute_entropy: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Log-probs (and entropies) of the last `keep` tokens of each row, as TRL's pass computes them: the
        leading tokens all rows share run once, then each row runs alone, up to its own last token."""
        from transformers import DynamicCache

        prompt = ids.size(1) - keep  # the prompts' (left-padded) width: later tokens are scored
        same = int(((ids == ids[:1]) & (mask == mask[:1])).all(0).int().cumprod(0).sum())
        shared = min(same, prompt - 1) if len(ids) > 1 else 0  # the last prompt token's logits score the first
        logps, entropies = [], []
        with self.accelerator.autocast():
            head = None
            if shared > 0:
                head = model(input_ids=ids[:1, :shared], attention_mask=mask[:1, :shared], use_cache=True,
                             logits_to_keep=1).cache
            for row, row_mask in zip(ids, mask, strict=True):
                end = max(int(row_mask.nonzero().max()) + 1, prompt + 1)  # later columns are padding
                labels = row[:end].masked_fill(row_mask[:end] == 0, -100)
                labels[:prompt] = -100
                cache = None if head is None else DynamicCache(
                    ddp_cache_data=[(layer.keys, layer.values) for layer in head.layers], config=model.config)
                out = model(input_ids=row[None, shared:end], attention_mask=row_mask[None, :end], cache=cache,
                            labels=labels[None, shared:], fused_lm_head=True)
                pad = (0, ids.size(1) - end)  # TRL's pass gives padding 0
                logps.append(torch.nn.functional.pad(out.log_probs[:, prompt - end:], pad))
                if compute_entropy:
                    entropies.append(torch.nn.functional.pad(out.entropy[:, prompt - end:], pad))
        return torch.cat(logps), torch.cat(entropies) if compute_entropy else None
