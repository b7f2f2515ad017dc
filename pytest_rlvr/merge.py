"""`python -m pytest_rlvr merge A.json B.json ... -o ALL.json`: join the results of one run's shards.

The inputs must be the shards (`--rlvr-shard=I/N`) of one run, every one of them: the same settings (all but
those that say where files go and how the run was driven: shard, save, report, resume, baseline and the
other gate settings, concurrency, retries, backoff and timeout), model, policy backend, checks versions and
N; each index once; no case in two shards. The merged results hold every case, figures computed afresh
(`shard` None, `run.merged_from` naming the inputs, complete when every shard is); the shards' traces are
joined into `<ALL stem>.traces.jsonl`, so that `report` and `rescore` read the whole run. Exit status: 0, or
2 with one line naming the file and the difference.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .aggregate import aggregate
from .results import write_atomically

PROG = "python -m pytest_rlvr merge"
USAGE_ERROR = 2
WIDTH = 100
UNCHECKED = frozenset({"shard", "save", "report", "resume", "baseline", "max_drop", "min_rewards",
                       "allow_incomparable", "concurrency", "retries", "backoff_s", "timeout"})
"""Settings that may differ between the shards of one run: where files go, gates, how the run was driven."""


def add_command(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "merge", help="join the results of a run's shards (--rlvr-shard=I/N)",
        description="Join the results of every shard of one run (--rlvr-shard=I/N) into one results file, and "
                    "their traces into <stem>.traces.jsonl beside it.")
    command.add_argument("shards", type=Path, nargs="+", metavar="SHARD.json",
                         help="results of each shard, written by --rlvr-save")
    command.add_argument("-o", "--output", type=Path, required=True, metavar="ALL.json",
                         help="where to write the merged results")
    command.set_defaults(run=run)


class MergeError(Exception):
    """Shards that do not make one run, or a file that cannot be read or written: one line."""


@dataclass
class Shard:
    """One input: its results and which share of the run it holds."""

    path: Path
    document: dict[str, Any]
    index: int
    count: int

    @property
    def run(self) -> dict[str, Any]:
        return self.document.get("run") or {}

    @property
    def settings(self) -> dict[str, Any]:
        return self.run.get("settings") or {}

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def traces(self) -> Path | None:
        """Its traces: `<stem>.traces.jsonl` beside it (where a CI artifact lands), else where the run wrote them."""
        beside = traces_path(self.path)
        if beside.is_file():
            return beside
        recorded = self.run.get("traces")
        return Path(recorded) if isinstance(recorded, str) and Path(recorded).is_file() else None


def traces_path(results: Path) -> Path:
    """Where the traces of a results file lie: `<stem>.traces.jsonl` beside it."""
    return results.with_name(results.stem + ".traces.jsonl")


def read_shard(path: Path) -> Shard:
    """A shard's results.

    Raises:
        MergeError: The file is unreadable or malformed, or its run was not sharded.
    """
    from .compare import read_results

    try:
        document = read_results(path)
    except ValueError as exc:
        raise MergeError(str(exc)) from None
    value = ((document.get("run") or {}).get("settings") or {}).get("shard")
    if value is None:
        raise MergeError(f"{path} is not a shard: its run had no --rlvr-shard")
    index, _, count = str(value).partition("/")
    if not (index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
        raise MergeError(f"{path}: its shard {value!r} is not I/N with 1 <= I <= N")
    return Shard(path, document, int(index), int(count))


def check(shards: Sequence[Shard]) -> None:
    """That the shards are every shard of one run, once each, with no case in two.

    Raises:
        MergeError: The first difference found, naming the files.
    """
    first = shards[0]
    for shard in shards[1:]:
        if problem := _difference(first, shard):
            raise MergeError(f"{shard.path} is not a shard of the run of {first.path}: {problem}")
    held: dict[int, Shard] = {}
    for shard in shards:
        if (other := held.setdefault(shard.index, shard)) is not shard:
            if other.path.resolve() == shard.path.resolve():
                raise MergeError(f"{shard.path} is given twice")
            raise MergeError(f"{other.path} and {shard.path} are both shard {shard.label}")
    if missing := [i for i in range(1, first.count + 1) if i not in held]:
        given = ", ".join(f"{s.label} ({s.path})" for s in sorted(shards, key=lambda s: s.index))
        raise MergeError(f"shard {', '.join(f'{i}/{first.count}' for i in missing)} missing: a merge needs every "
                         f"shard of the run (given: {given})")
    owner: dict[tuple[str, str], Shard] = {}
    for shard in shards:
        for case in shard.document["cases"]:
            key = (case["scenario"], case["task_id"])
            if (other := owner.setdefault(key, shard)) is not shard:
                raise MergeError(f"{other.path} and {shard.path} both hold case {key[0]}[{key[1]}]: shards of one "
                                 "run share no case (were they run with different selections?)")


def _difference(first: Shard, shard: Shard) -> str | None:
    """How `shard` differs from `first` in what makes a run; None when it does not."""
    if shard.count != first.count:
        return f"it is shard {shard.label}, of {shard.count} shards, not {first.count}"
    names = sorted((set(first.settings) | set(shard.settings)) - UNCHECKED)
    if differ := [f"{n} {shard.settings.get(n)!r} vs {first.settings.get(n)!r}" for n in names
                  if shard.settings.get(n) != first.settings.get(n)]:
        return f"the settings differ: {'; '.join(differ)}"
    if shard.run.get("model") != first.run.get("model"):
        return f"the model differs: {shard.run.get('model')!r} vs {first.run.get('model')!r}"
    backends = [(s.run.get("policy") or {}).get("backend") for s in (shard, first)]
    if backends[0] != backends[1]:
        return f"the policy backend differs: {backends[0]!r} vs {backends[1]!r}"
    mine, theirs = (s.run.get("checks_versions") or {} for s in (shard, first))
    if differ := [f"{n} {', '.join(mine[n]) or '?'} vs {', '.join(theirs[n]) or '?'}" for n in sorted(mine)
                  if n in theirs and mine[n] and theirs[n] and mine[n] != theirs[n]]:
        return f"the checks versions differ: {'; '.join(differ)}"
    return None


def merged(shards: Sequence[Shard], output: Path) -> dict[str, Any]:
    """The results of the whole run."""
    first = min(shards, key=lambda s: s.index)
    cases = sorted((case for shard in shards for case in shard.document["cases"]),
                   key=lambda c: (c["scenario"], c["task_id"]))
    versions: dict[str, list[str]] = {}
    for shard in shards:
        for name, found in (shard.run.get("checks_versions") or {}).items():
            versions[name] = sorted({*versions.get(name, []), *found})
    run = {
        **first.run,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "settings": {**first.settings, "shard": None, "save": str(output.resolve()), "report": None},
        "checks_versions": versions,
        "traces": str(traces_path(output).resolve()),
        "resumed": None,
        "merged_from": [{"path": str(s.path), "shard": s.label, "created": s.run.get("created"),
                         "complete": bool(s.document.get("complete", True)), "cases": len(s.document["cases"]),
                         "git": s.run.get("git"), "resumed": s.run.get("resumed")}
                        for s in sorted(shards, key=lambda s: s.index)],
    }
    return {**first.document, "complete": all(s.document.get("complete", True) for s in shards), "run": run,
            "scenarios": {name: s.to_dict() for name, s in aggregate(cases).items()}, "cases": cases}


def join_traces(sources: Sequence[Path], target: Path) -> None:
    """Concatenate traces files, line for line, into `target` atomically.

    Raises:
        OSError: A file cannot be read or written.
    """
    texts = (source.read_text(encoding="utf-8", errors="replace") for source in sources)
    write_atomically(target, (text if not text or text.endswith("\n") else text + "\n" for text in texts))


def warnings(shards: Sequence[Shard]) -> list[str]:
    """What differs between the shards without making them different runs, and traces not found."""
    lines = []
    commits = {str((s.run.get("git") or {}).get("commit")) for s in shards}
    if len(commits) > 1:
        lines.append(f"the shards ran on different commits: {', '.join(sorted(commits))}")
    lines += [f"shard {s.label} ({s.path}) stopped early: the merged results are incomplete" for s in shards
              if not s.document.get("complete", True)]
    lines += [f"no traces found for {s.path} (looked for {traces_path(s.path)}): the merged traces lack its cases"
              for s in shards if s.traces is None]
    return lines


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args.shards, args.output)
    except MergeError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return USAGE_ERROR


def _run(paths: Sequence[Path], output: Path) -> int:
    from .results import write_results
    from .summary import render

    inputs = {p.resolve() for p in paths} | {traces_path(p).resolve() for p in paths}
    if output.resolve() in inputs or traces_path(output).resolve() in inputs:
        raise MergeError(f"-o {output}: give a path that is not one of the shards' files")
    shards = [read_shard(path) for path in paths]
    check(shards)
    document = merged(shards, output)
    try:
        join_traces([t for s in sorted(shards, key=lambda s: s.index) if (t := s.traces) is not None],
                    traces_path(output))
        write_results(output, document)
    except OSError as exc:
        raise MergeError(f"{exc.filename or output}: {exc.strerror or exc}") from None
    settings: Mapping[str, Any] = document["run"]["settings"]
    title = f"model {document['run'].get('model')} · split {settings.get('split')} · seed {settings.get('seed')}"
    print(render(aggregate(document["cases"]), title, WIDTH, False))
    for line in warnings(shards):
        print(f"warning: {line}")
    print(f"merged {len(shards)} shards ({len(document['cases'])} cases) into {output}; traces in "
          f"{traces_path(output)}")
    return 0
