"""Model adapters: transformers in-process (the embedded CPU default), OpenAI-compatible servers, vLLM."""
