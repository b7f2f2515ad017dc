"""TRL's trainers with a cheaper loss pass on a CPU: same log-probs, same gradients; and the one module that
uses TRL beyond its public API.

Rows of a micro-batch often share their start: a GRPO group its prompt, SFT demonstrations of one scenario
their system prompt and tool schemas (700-1,200 tokens, of episodes of 1,000-3,000). On a CPU a shared start
runs once, their keys and values (still in the graph) serve every row, and each row then runs alone up to its
own last token, where TRL would pad it to the longest row. `python -m bench loss` measures it.

Training is pinned to one TRL version (`TRL_VERSION`, both extras of pyproject.toml); trainers refuse another
(`check_trl_version`). What of TRL's internals it relies on, all here (`PRIVATE_TRL` lists them for
tests/test_trl_surface.py, which checks they still exist with the parameters passed):

- `GRPOTrainer._prepare_inputs` (overridden), with `grpo_trainer.shuffle_sequence_dict` patched out;
- `GRPOTrainer._get_per_token_logps_and_entropies` (overridden; `per_token_logps` calls it or TRL's own);
- `trl.trainer.utils.FusedCausalLMOutput`, built by `shared_forward`, and the fused LM head's `fused_lm_head=True`
  calls that `SFTTrainer.compute_loss` makes (`_SharedStart` answers them);
- `trl.trainer.utils._use_triton`, replaced by `score_completions_only`;
- a GRPO trainer's `use_vllm`, `vllm_generation` (its engine: `vllm_engine`, `limit_completion`,
  `vllm_generate`) and `_metrics` (`step_metrics`), for the rollouts of `rollouts.py`;
- `GRPOTrainer._get_train_sampler` (overridden for `--sampling pool`: the pool's draws in TRL's layout), and
  `trl.trainer.utils.RepeatSampler`, TRL's own sampler, for benchmarks.

The only other TRL touch point: `policies/chat.py` and `policies/vllm.py` read the chat templates packaged in
TRL's `chat_templates/` directory (data files, read without importing TRL).
"""

from __future__ import annotations

import itertools
import types
from typing import Any, NamedTuple
from unittest import mock

import torch
import trl
import trl.trainer.utils as _trl_utils
from trl.trainer import grpo_trainer as _trl_grpo
from trl.trainer.utils import FusedCausalLMOutput
from trl.trainer.utils import RepeatSampler as RepeatSampler  # TRL's GRPO sampler, for benchmarks

TRL_VERSION = "1.16.0"  # the one TRL version training runs on; pyproject.toml pins the same


class Private(NamedTuple):
    """One TRL attribute used beyond TRL's public API."""

    owner: str  # a module, or a class as module.Class
    name: str
    params: tuple[str, ...] = ()  # a callable's parameters we pass (in their order), or a dataclass's fields we set
    instance: bool = False  # set on each instance by the owner's __init__


GRPO_PASS = ("model", "input_ids", "attention_mask", "logits_to_keep", "batch_size", "compute_entropy",
             "compute_aux_loss")
VLLM = "trl.generation.vllm_generation.VLLMGeneration"
PRIVATE_TRL = (
    Private("trl.GRPOTrainer", "_prepare_inputs", ("generation_batch",)),
    Private("trl.trainer.grpo_trainer", "shuffle_sequence_dict", ("seq_dict",)),
    Private("trl.GRPOTrainer", "_get_per_token_logps_and_entropies", GRPO_PASS),
    Private("trl.trainer.utils", "FusedCausalLMOutput", ("loss", "label_mask", "log_probs", "entropy", "is_top1")),
    Private("trl.trainer.utils", "_use_triton", ("device",)),
    Private("trl.GRPOTrainer", "use_vllm", instance=True),
    Private("trl.GRPOTrainer", "vllm_generation", instance=True),
    Private("trl.GRPOTrainer", "_metrics", instance=True),
    Private(VLLM, "max_completion_length", instance=True),
    Private(VLLM, "generate", ("prompts", "images", "num_generations")),
    Private("trl.GRPOTrainer", "_get_train_sampler", ("dataset",)),
    Private("trl.trainer.utils", "RepeatSampler", ("data_source", "mini_repeat_count", "batch_size", "repeat_count",
                                                   "seed")),
)


def check_trl_version() -> None:
    """Refuse a TRL other than the pinned one: the overrides here would silently misbehave on changed internals."""
    if trl.__version__ != TRL_VERSION:
        raise RuntimeError(f"TRL {trl.__version__} is installed, but training is pinned to TRL {TRL_VERSION} (it "
                           f"relies on TRL internals, see train/trainer.py): pip install 'trl=={TRL_VERSION}'")


def score_completions_only() -> None:
    """On a CPU, have TRL's fused LM head score only the completion positions, as it does on Triton devices.

    TRL scores every position elsewhere to keep tile shapes fixed for compilers; eager CPU code has none, and
    the prompt (mostly tool schemas) is most of an episode: the loss pass gets about 20% faster, same values.
    """
    check_trl_version()
    _trl_utils._use_triton = lambda device: True  # read only where TRL picks the layout; the kernels keep their own


def vllm_engine(trainer: Any) -> Any | None:
    """TRL's vLLM engine (`VLLMGeneration`) of a trainer that generates with vLLM; None otherwise."""
    return trainer.vllm_generation if getattr(trainer, "use_vllm", False) else None


def limit_completion(engine: Any, max_tokens: int) -> None:
    """Have the engine generate at most `max_tokens` per call (it reads the limit at each call); TRL sets it to
    the whole episode's budget."""
    engine.max_completion_length = max_tokens


def vllm_generate(engine: Any, rows: list[list[int]]) -> list[list[int]]:
    """One completion's token ids for each prompt's token ids, sampled by TRL's vLLM engine."""
    _, completions, _, _ = engine.generate(prompts=rows, images=None, num_generations=1)
    return completions


def step_metrics(trainer: Any) -> dict[str, list[float]]:
    """TRL's store of the current training step's metrics (it logs each one's mean); a `rollout_func` has no
    public hook to add its own."""
    return trainer._metrics["train"]


def per_token_logps(trainer: Any, model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    logits_to_keep: int, compute_entropy: bool = False,
                    trl_pass: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(log-probs, entropies) of the last `logits_to_keep` tokens by `trainer`'s loss pass (ours on a CPU), or by
    TRL's own (`trl_pass`): for benchmarks that compare the two."""
    owner = trl.GRPOTrainer if trl_pass else type(trainer)
    logps, entropies, _ = owner._get_per_token_logps_and_entropies(trainer, model, input_ids, attention_mask,
                                                                   logits_to_keep, compute_entropy=compute_entropy)
    return logps, entropies


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


def skip_without_gradient(optimizer: torch.optim.Optimizer) -> None:
    """Make `optimizer.step()` do nothing when every gradient is zero: a GRPO step whose groups all had no
    advantage (all flat, or unsolved under `--skip-unsolved`) and no KL term. Adam would otherwise go on moving
    the weights along its momentum, several times the last real update over the next flat steps."""
    step = optimizer.step

    def guarded(self: torch.optim.Optimizer, *args: Any, **kwargs: Any) -> Any:
        if any(p.grad is not None and bool(p.grad.any()) for group in self.param_groups for p in group["params"]):
            return step(*args, **kwargs)
        return None

    optimizer.step = types.MethodType(guarded, optimizer)  # a bound method, as LR schedulers wrap it


class GRPOTrainer(trl.GRPOTrainer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        check_trl_version()
        super().__init__(*args, **kwargs)

    pool: Any = None  # `--sampling pool`: the difficulty pool prompts are drawn from (train/pool.py)

    def create_optimizer(self, model: Any = None) -> Any:
        """Transformers' optimizer, whose step skips a step without gradient (`skip_without_gradient`)."""
        optimizer = super().create_optimizer(model)
        skip_without_gradient(optimizer)
        return optimizer

    def _get_train_sampler(self, dataset: Any = None) -> Any:
        """With `--sampling pool`, TRL's layout of prompts with the pool's draws (`train.pool.PoolSampler`)."""
        if self.pool is None:
            return super()._get_train_sampler(dataset)
        from .pool import PoolSampler

        args = self.args
        return PoolSampler(self.train_dataset if dataset is None else dataset, mini_repeat_count=args.num_generations,
                           batch_size=args.generation_batch_size // args.num_generations,
                           repeat_count=args.num_iterations * args.steps_per_generation, seed=args.seed,
                           pool=self.pool)

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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        check_trl_version()
        super().__init__(*args, **kwargs)

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
