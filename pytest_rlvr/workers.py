"""pytest-xdist workers: which tests a worker has been handed but not yet run.

A worker collects every test but runs only those the controller sends it, in chunks. Its rollouts start
for the tests it has been sent, so that no worker rolls out another's cases. xdist has no public hook
for that queue; when its internals are not as expected, the worker falls back to the current and next
test, which is correct but less concurrent.
"""

from __future__ import annotations

import pytest


def is_worker(config: pytest.Config) -> bool:
    """Whether this process is an xdist worker."""
    return hasattr(config, "workerinput")


def queued_items(config: pytest.Config, session: pytest.Session) -> list[pytest.Item]:
    """The tests this worker has been handed and not yet started, in order (empty if unknown)."""
    for plugin in config.pluginmanager.get_plugins():
        queue = getattr(plugin, "torun", None)
        if type(plugin).__name__ != "WorkerInteractor" or queue is None or not hasattr(queue, "lock"):
            continue
        try:
            with queue.lock() as pending:
                indices = [i for i in pending if isinstance(i, int)]
        except (TypeError, AttributeError):
            return []
        return [session.items[i] for i in indices if 0 <= i < len(session.items)]
    return []
