"""Saved runs: the results JSON (per case, per scenario, how the run was made) and the traces JSONL."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import threading
from collections.abc import Iterable, Mapping
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
    def start(path: Path) -> None:
        """Create the file empty (the run that owns it does this once, before any worker appends)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")

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


def results_document(
    records: Iterable[Mapping[str, Any]],
    settings: Settings,
    policy: Mapping[str, Any] | None,
    root: Path,
) -> dict[str, Any]:
    """The results: run metadata, per-scenario figures, and every case."""
    cases = sorted(unique_records(records), key=lambda r: (r["scenario"], r["task_id"]))
    stats = aggregate(cases)
    return {
        "format": RESULTS_FORMAT,
        "version": RESULTS_VERSION,
        "run": {
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "model": settings.model,
            "policy": dict(policy) if policy else None,
            "settings": settings.to_dict(),
            "versions": package_versions(),
            "git": git_commit(root),
            "checks_versions": {name: s.checks_versions for name, s in stats.items()},
            "traces": str(settings.traces_path) if settings.traces_path else None,
        },
        "scenarios": {name: s.to_dict() for name, s in stats.items()},
        "cases": list(cases),
    }


def write_results(path: Path, document: Mapping[str, Any]) -> None:
    """Write the results JSON atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")
    partial.replace(path)
