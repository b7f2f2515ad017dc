"""Saved runs: the results JSON (per case, per scenario, how the run was made) and the traces JSONL."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import platform
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from .aggregate import aggregate, unique_records
from .settings import Settings
from .trace import Trace

RESULTS_FORMAT = "pytest-rlvr/results"
RESULTS_VERSION = 1
PACKAGES = ("pytest-rlvr", "pytest", "pluggy", "rich", "jsonschema", "pytest-xdist", "torch", "transformers",
            "trl", "peft", "accelerate", "vllm", "openai", "httpx")


class TraceLog:
    """Appends one trace per line, in a single write each, so that a killed run leaves whole lines only.

    Safe from several threads and from several processes (xdist workers) appending to the same file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._lock = threading.Lock()

    @staticmethod
    def start(path: Path, traces: Iterable[Trace] = ()) -> None:
        """Create the file with `traces` only (the run that owns it does this once, before any worker appends)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(trace.to_json() + "\n" for trace in traces))

    def append(self, trace: Trace) -> None:
        data = (trace.to_json() + "\n").encode()
        with self._lock:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def read_traces(path: Path) -> list[Trace]:
    """Every trace of a JSONL file."""
    return [Trace.from_json(line) for line in path.read_text().splitlines() if line.strip()]


def in_progress(path: Path) -> Path:
    """Where a run writes a file while it runs (`<name>.partial`); moved into place when the session ends."""
    return path.with_name(path.name + ".partial")


class SaveLock:
    """An exclusive lock on `<save>.lock`, held for a whole run, so that two runs never write one path."""

    def __init__(self, save: Path) -> None:
        self.path = save.with_name(save.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock; False when another process holds it.

        Raises:
            OSError: The lock file cannot be created.
        """
        while self._fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            # The holder before us may have removed the file while we waited for it: lock the file in place.
            with contextlib.suppress(FileNotFoundError):
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    self._fd = fd
                    break
            os.close(fd)
        return True

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            os.close(self._fd)
            self._fd = None


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape a run (read from metadata, nothing imported)."""
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def git_commit(directory: Path) -> dict[str, Any] | None:
    """The commit checked out in `directory` and whether the tree has changes; None outside a repository."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=directory,
                                capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}


def environment(root: Path) -> dict[str, Any]:
    """What the run ran on: package versions and the git commit."""
    return {"versions": package_versions(), "git": git_commit(root)}


def results_document(
    records: Iterable[Mapping[str, Any]],
    settings: Settings,
    policy: Mapping[str, Any] | None,
    root: Path,
    *,
    complete: bool = True,
    checks_versions: Mapping[str, list[str]] | None = None,
    resumed: Mapping[str, Any] | None = None,
    env: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The results: run metadata, per-scenario figures, and every case.

    `complete` is False for a run that was interrupted or is still running; `checks_versions` adds those
    of scenarios whose traces the run carries without having scored them (a resumed run's).
    """
    cases = sorted(unique_records(records), key=lambda r: (r["scenario"], r["task_id"]))
    stats = aggregate(cases)
    env = env if env is not None else environment(root)
    return {
        "format": RESULTS_FORMAT,
        "version": RESULTS_VERSION,
        "complete": complete,
        "run": {
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "model": settings.model,
            "policy": dict(policy) if policy else None,
            "settings": settings.to_dict(),
            "versions": env["versions"],
            "git": env["git"],
            "checks_versions": _merged(checks_versions or {}, {n: s.checks_versions for n, s in stats.items()}),
            "traces": str(settings.traces_path) if settings.traces_path else None,
            "resumed": dict(resumed) if resumed else None,
        },
        "scenarios": {name: s.to_dict() for name, s in stats.items()},
        "cases": list(cases),
    }


def _merged(carried: Mapping[str, list[str]], scored: Mapping[str, list[str]]) -> dict[str, list[str]]:
    return {**carried, **{name: versions for name, versions in scored.items() if versions or name not in carried}}


def write_results(path: Path, document: Mapping[str, Any]) -> None:
    """Write the results JSON atomically (a reader never sees half a file)."""
    write_atomically(path, json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")


def write_atomically(path: Path, text: str | Iterable[str]) -> None:
    """Write a text file (given whole or in pieces) through a temporary file beside it, so that a reader sees
    the old file or the new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), 0o644)  # mkstemp makes it private
            file.writelines([text] if isinstance(text, str) else text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


# -- resuming ------------------------------------------------------------------------------------------
RESUME_SETTINGS = ("model", "samples", "temperature", "max_tokens", "max_turns", "base_urls", "seed", "split")
"""The settings that make a saved rollout the one this run would make; all must match to resume."""


@dataclass
class SavedRun:
    """A saved run to resume: its results document and its finished cases' traces, in sample order."""

    path: Path
    document: dict[str, Any]
    cases: dict[tuple[str, str], list[Trace]]

    @property
    def checks_versions(self) -> dict[str, list[str]]:
        return dict((self.document.get("run") or {}).get("checks_versions") or {})

    @property
    def backend(self) -> str | None:
        return ((self.document.get("run") or {}).get("policy") or {}).get("backend")

    def differences(self, settings: Settings, flags: Mapping[str, str]) -> list[str]:
        """Each resume setting whose saved value differs from this run's, as 'FLAG: SAVED saved, NOW now'."""
        saved = (self.document.get("run") or {}).get("settings") or {}
        now = settings.to_dict()
        return [f"{flags.get(name, name)}: {saved.get(name)!r} saved, {now[name]!r} now"
                for name in RESUME_SETTINGS if saved.get(name) != now[name]]


def load_saved_run(path: Path, document: dict[str, Any], traces: Path, samples: int) -> SavedRun:
    """The cases of a saved run whose every sample (0 to `samples` - 1) has a trace in `traces`.

    A line that does not parse (a run killed while writing it) is skipped; a later trace of the same sample
    replaces an earlier one.
    """
    found: dict[tuple[str, str], dict[int, Trace]] = {}
    lines = traces.read_text().splitlines() if traces.is_file() else []
    for line in lines:
        try:
            trace = Trace.from_json(line)
        except (ValueError, TypeError, KeyError):
            continue
        found.setdefault((trace.scenario, trace.task_id), {})[trace.sample] = trace
    cases = {key: [by_sample[i] for i in range(samples)] for key, by_sample in found.items()
             if all(i in by_sample for i in range(samples))}
    return SavedRun(path, document, cases)
