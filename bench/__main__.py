"""Run every benchmark and print its figures: `python -m bench [name ...]`."""

from __future__ import annotations

import importlib
import sys
import time

BENCHES = ["bench.simulator", "bench.harness", "bench.concurrency", "bench.generation", "bench.server", "bench.grpo",
           "bench.lora", "bench.loss", "bench.precision", "bench.pool", "bench.batch_tokens"]
"""Benchmark modules, each with a `main()` that prints its figures; add yours here."""


def main(argv: list[str]) -> int:
    """Run the benchmarks named on the command line (short names), or all of them."""
    chosen = [b for b in BENCHES if not argv or b.rsplit(".", 1)[-1] in argv]
    unknown = sorted(set(argv) - {b.rsplit(".", 1)[-1] for b in BENCHES})
    if unknown:
        print(f"unknown benchmarks {unknown}; known: {[b.rsplit('.', 1)[-1] for b in BENCHES]}", file=sys.stderr)
        return 2
    for name in chosen:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        importlib.import_module(name).main()
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
