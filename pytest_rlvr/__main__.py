"""`python -m pytest_rlvr COMMAND`: tools for saved runs, without a model.

- `compare BASELINE.json CURRENT.json`: the gates' comparison of two runs (below).
- `report RESULTS.json [--baseline B.json] -o PATH.html`: the run's self-contained HTML report.
- `rescore TRACES.jsonl [-o RESULTS.json] [--results SAVED.json]`: score saved traces with today's checks.
- `merge A.json B.json ... -o ALL.json`: join the results of a run's shards (`--rlvr-shard=I/N`).

`compare` prints the table the `--rlvr-baseline` gates show (paired difference per scenario, its 95% bootstrap
interval, the verdict) and every difference between the runs; `--by-tier` gives each task tier of a scenario
its own row. Exit status: 0 without regression, 1 when
some scenario regressed, 2 for a usage error (a bad option; a missing, unreadable or malformed results
file, in one line), 3 when the runs are not comparable (no shared case, or another split or checks
version) and nothing regressed; `--allow-incomparable` makes that a warning.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .compare import MAX_DROP, MIN_SHARED, by_tier, compare, describe, read_results, render
from .options import non_negative_float, non_negative_int, positive_int

PROG = "python -m pytest_rlvr"
USAGE_ERROR, INCOMPARABLE = 2, 3
HINT = "--allow-incomparable makes this a warning"
COMMANDS = ("report", "rescore", "merge")
"""Modules of this package that each add one command: `add_command(commands)` registers its parser, whose
`run` default is the command (`run(args) -> exit status`)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description="pytest-rlvr tools")
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
    command.add_argument("--allow-incomparable", action="store_true",
                         help="warn instead of failing when the runs share no case or differ in split or "
                              "checks version, as --rlvr-allow-incomparable")
    command.add_argument("--by-tier", action="store_true",
                         help="a row per scenario and task tier (easy, medium, hard, infeasible), each paired and "
                              "judged on its own cases")
    command.set_defaults(run=run_compare)
    for name in COMMANDS:
        importlib.import_module(f".{name}", __package__).add_command(commands)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def run_compare(args: argparse.Namespace) -> int:
    try:
        baseline, current = read_results(args.baseline), read_results(args.current)
    except ValueError as exc:
        print(f"{PROG} compare: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    if args.by_tier:
        baseline, current = by_tier(baseline), by_tier(current)
    seed = args.seed if args.seed is not None else ((current.get("run") or {}).get("settings") or {}).get("seed")
    comparison = compare(baseline, current, args.max_drop, args.min_shared, seed=seed if isinstance(seed, int) else 0,
                         allow_incomparable=args.allow_incomparable)
    print(f"baseline {args.baseline} ({describe(baseline)}) vs current {args.current} ({describe(current)}); "
          f"max drop {args.max_drop:g}")
    regressed, incomparable = comparison.regressed, comparison.incomparable
    empty = not comparison.scenarios and not args.allow_incomparable  # the current run holds no case
    if regressed:
        verdict = f"regressions: {', '.join(regressed)}"
    elif incomparable:
        verdict = f"not comparable: {', '.join(incomparable)}; {HINT}"
    elif empty:
        verdict = f"not comparable: {args.current} holds no case; {HINT}"
    else:
        verdict = "no regression" if comparison.scenarios else "nothing compared"
    print(render(comparison, None, 100, False, [verdict]))
    if regressed:
        return 1
    return INCOMPARABLE if incomparable or empty else 0


if __name__ == "__main__":
    sys.exit(main())
