"""python -m train: SFT warm start and GRPO with TRL, on the scenario checks."""
