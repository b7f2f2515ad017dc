"""python -m train grpo|sft --output DIR [options], or probe [options]: see `python -m train grpo --help`."""

from __future__ import annotations

import sys

from .config import ConfigError, ProbeConfig, parse


def main(argv: list[str]) -> int:
    try:
        cfg = parse(argv)
        if isinstance(cfg, ProbeConfig):
            from .probe import probe

            probe(cfg)
            return 0
        from . import run

        out = run.grpo(cfg) if cfg.command == "grpo" else run.sft(cfg)
    except ConfigError as exc:
        print(f"python -m train: error: {exc}", file=sys.stderr)
        return 2
    print(f"checkpoint: {out}  (evaluate: pytest scenarios --rlvr-model={out})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
