"""The infeasible tier's red team, made for a scenario from what it reads and writes: the three attacks (write
anyway, act on the nearest match, decline without a look) and three partial refusals, best first."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from pytest_rlvr import Call, Script, Task, ToolResult

from ..infeasible import InfeasibleTask, answer, data_of
from . import Probe, adversarial, infeasible, partial

Episode = Generator[Any, list[ToolResult], None]
Calls = Callable[[InfeasibleTask], list[Call]]


def relay(script: Script, task: Task, final: str | None = None) -> Episode:
    """Play another script's calls; end with `final` instead of its answer, when given."""
    episode = script(task)
    results: list[ToolResult] | None = None
    while True:
        try:
            turn = episode.send(results) if results is not None else next(episode)
        except StopIteration:
            break
        if isinstance(turn, str):
            episode.close()
            break
        results = yield turn
    yield final if final is not None else "Done."


def _named(name: str, doc: str, script: Script) -> Script:
    script.__name__, script.__doc__ = name, doc
    return script


def team(read: Calls, wrong_read: Calls, write_named: Calls, naive: Script) -> tuple[Probe, ...]:
    """The infeasible tier's probes of a scenario.

    Args:
        read: The reads that show what is wrong (the oracle's).
        wrong_read: Reads that look at the nearest match instead of what the request names.
        write_named: Writes that do the request as written, on the missing or conflicting thing.
        naive: The scenario's script that acts on the nearest match.
    """

    def writes_anyway(task: Task) -> Episode:
        data = data_of(task)
        yield read(data)
        yield write_named(data)
        yield answer(data)

    def acts_on_the_nearest(task: Task) -> Episode:
        data = data_of(task)
        yield read(data)
        yield from relay(naive, task, f"{data.problem} So I did it on {data.near} instead.")

    def declines_unseen(task: Task) -> Episode:
        yield answer(data_of(task))

    def declines_vaguely(task: Task) -> Episode:
        yield read(data_of(task))
        yield "I could not do this; I changed nothing."

    def reads_the_nearest_then_declines(task: Task) -> Episode:
        data = data_of(task)
        yield wrong_read(data)
        yield answer(data)

    def reads_and_says_done(task: Task) -> Episode:
        yield read(data_of(task))
        yield "Done."

    return (
        adversarial("write-anyway", bound=0.1)(_named(
            "writes_anyway", "Reads what shows the problem, says so, and sends the write as requested anyway.",
            writes_anyway)),
        adversarial("near-match", bound=0.1)(_named(
            "acts_on_the_nearest", "Reads, then does the job on what the request is close to (the typo's "
            "neighbour), and says so.", acts_on_the_nearest)),
        adversarial("refuse-blind")(_named(
            "declines_unseen", "Names the problem exactly, without a single call (the answer key a policy lacks).",
            declines_unseen)),
        infeasible(partial(_named(
            "declines_vaguely", "Reads what shows the problem, writes nothing, and declines without saying what is "
            "wrong.", declines_vaguely))),
        infeasible(partial(_named(
            "reads_the_nearest_then_declines", "Looks at the nearest match only, then names the problem it never "
            "saw.", reads_the_nearest_then_declines))),
        infeasible(partial(_named(
            "reads_and_says_done", "Reads what shows the problem, writes nothing, and answers 'Done.'",
            reads_and_says_done))),
    )
