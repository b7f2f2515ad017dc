"""`python -m pytest_rlvr compare BASELINE.json CURRENT.json`: compare two saved runs without running anything.

Prints the table the `--rlvr-baseline` gates show (paired difference per scenario, its 95% bootstrap
interval, the verdict) and every difference between the runs. Exit status: 0 without regression, 1 when
some scenario regressed, 2 for a usage error (an unreadable file, a bad option).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .compare import MAX_DROP, MIN_SHARED, compare, describe, read_results, render
from .options import non_negative_float, non_negative_int, positive_int


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_rlvr", description="pytest-rlvr tools")
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("compare", help="compare two results JSON files written by --rlvr-save")
    command.add_argument("baseline", type=Path, help="results of the baseline run")
    command.add_argument("current", type=Path, help="results of the run to judge")
    command.add_argument("--max-drop", type=non_negative_float, default=MAX_DROP, metavar="R",
                         help=f"tolerated drop in mean reward, as --rlvr-max-drop (default: {MAX_DROP})")
    command.add_argument("--min-shared", type=positive_int, default=MIN_SHARED, metavar="N",
                         help=f"fewest shared cases that give a verdict (default: {MIN_SHARED})")
    command.add_argument("--seed", type=non_negative_int, default=None, metavar="N",
                         help="bootstrap seed (default: the current run's --rlvr-seed, as the gate uses)")
    args = parser.parse_args(argv)
    try:
        baseline, current = read_results(args.baseline), read_results(args.current)
    except ValueError as exc:
        parser.error(str(exc))
    seed = args.seed if args.seed is not None else ((current.get("run") or {}).get("settings") or {}).get("seed", 0)
    comparison = compare(baseline, current, args.max_drop, args.min_shared, seed=seed or 0)
    print(f"baseline {args.baseline} ({describe(baseline)}) vs current {args.current} ({describe(current)}); "
          f"max drop {args.max_drop:g}")
    regressed = comparison.regressed
    verdict = f"regressions: {', '.join(regressed)}" if regressed else "no regression"
    print(render(comparison, None, 100, False, [verdict]))
    return 1 if regressed else 0


if __name__ == "__main__":
    sys.exit(main())
