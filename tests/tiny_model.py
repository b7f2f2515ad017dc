"""A tiny random Qwen3 model with a locally trained tokenizer: real code paths, no download."""

from __future__ import annotations

from pathlib import Path


def build(directory: Path) -> Path:
    """Write a ~1M-parameter Qwen3 checkpoint (random weights, TRL's Qwen2.5 ChatML template) into directory."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

    from policies.chat import template
    from policies.registry import ModelSpec, save_metadata

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    corpus = ['<tool_call>\n{"name": "getIssue", "arguments": {"issueIdOrKey": "OPS-1"}}\n</tool_call>',
              "system user assistant tool_response tools function name arguments description parameters",
              "Move the issue to Done. Add the label. Create a page in the space.", "{}[]():,\"'0123456789"]
    tok.train_from_iterator(corpus * 20, trainers.BpeTrainer(vocab_size=600, special_tokens=specials,
                                                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    from tokenizers import decoders

    tok.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                        bos_token=None, unk_token=None)
    tokenizer.chat_template = template("qwen2_5.jinja")
    config = Qwen3Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, head_dim=16, max_position_embeddings=8192,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         tie_word_embeddings=True)
    torch.manual_seed(0)
    model = Qwen3ForCausalLM(config)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    save_metadata(directory, ModelSpec("tiny-qwen3", str(directory), "qwen2_5.jinja", "hermes"))
    return directory
