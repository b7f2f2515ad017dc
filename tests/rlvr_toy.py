"""A tiny scenario for the harness's own tests: put a label on the item with a given name.

Scripts of known quality: oracle (every task), sloppy2 and sloppy10 (wrong on every 2nd / 10th task),
naive, spam.

No dependency on scenarios/. pytester tests copy this file into their sandbox as `toy.py`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from pytest_rlvr import Scenario, Task, ToolResult, check
from pytest_rlvr.generic import (
    no_duplicate_write,
    no_invalid_call,
    no_invented_tool,
    reads_before_writes,
    state_matches,
)

NAMES = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot")
LABELS = ("red", "green", "blue")
TOOLS = [
    {"type": "function", "function": {
        "name": "list_items", "description": "List every item with its id, name and label.",
        "parameters": {"type": "object", "properties": {}, "additionalProperties": False}}},
    {"type": "function", "function": {
        "name": "set_label", "description": "Set the label of an item.",
        "parameters": {"type": "object", "properties": {
            "item_id": {"type": "string", "pattern": "^item-[0-9]+$"},
            "label": {"type": "string", "enum": list(LABELS)}},
            "required": ["item_id", "label"], "additionalProperties": False}}},
]


def _result(name: str, status: int, body: Any, *, error: str | None = None, write: bool = False,
            request: dict[str, Any] | None = None) -> ToolResult:
    return ToolResult(call_id="", name=name, status=status, body=body, content=json.dumps(body), error=error,
                      write=write, operation=name if error != "unknown_tool" else None, request=request)


class ToyWorld:
    """Items with names and labels; a fresh one per rollout."""

    def __init__(self, task: Task) -> None:
        self.items = {f"item-{task.seed * 10 + i}": {"name": n, "label": None} for i, n in enumerate(NAMES)}
        self.initial = copy.deepcopy(self.items)

    def call(self, name: str, arguments: str | Mapping[str, Any]) -> ToolResult:
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except json.JSONDecodeError as exc:
                return _result(name, 400, {"errorMessages": [f"invalid JSON: {exc}"]}, error="invalid_json")
        if name == "list_items":
            return _result(name, 200, [{"id": i, **item} for i, item in self.items.items()])
        if name == "set_label":
            if not isinstance(arguments, Mapping) or set(arguments) != {"item_id", "label"} \
                    or arguments["label"] not in LABELS:
                return _result(name, 400, {"errors": {"arguments": "item_id and label required"}},
                               error="invalid_arguments", write=True, request=dict(arguments or {}))
            if arguments["item_id"] not in self.items:
                return _result(name, 404, {"errorMessages": ["no such item"]}, write=True,
                               request=dict(arguments))
            self.items[arguments["item_id"]]["label"] = arguments["label"]
            return _result(name, 204, None, write=True, request=dict(arguments))
        return _result(name, 404, {"errorMessages": [f"no tool {name}"]}, error="unknown_tool")

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(self.items)

    def state_diff(self) -> dict[str, Any]:
        return {i: {"label": item["label"]} for i, item in self.items.items()
                if item != self.initial[i]}


@check("arguments", weight=1)
def label_call_correct(trace, task):
    """The set_label calls name the target item and the wanted label."""
    calls = [c.arguments for c, r in trace.calls if c.name == "set_label"]
    assert calls, "set_label was never called"
    want = {"item_id": task.data["item_id"], "label": task.data["label"]}
    assert calls[-1] == want


def oracle(task: Task):
    results = yield [("list_items", {})]
    target = next(item["id"] for item in results[0].body if item["name"] == task.data["name"])
    yield [("set_label", {"item_id": target, "label": task.data["label"]})]
    return


def naive(task: Task):
    yield [("set_label", {"item_id": "item-1", "label": task.data["label"]})]
    yield "I labelled it."


def sloppy(every: int):
    """A script that acts like the oracle but labels the wrong item on every `every`-th task (by seed)."""

    def script(task: Task):
        if task.seed % every != every - 1:
            return (yield from oracle(task))
        results = yield [("list_items", {})]
        wrong = next(item["id"] for item in results[0].body if item["name"] != task.data["name"])
        yield [("set_label", {"item_id": wrong, "label": task.data["label"]})]

    return script


def spam(task: Task):
    for _ in range(3):
        yield [("set_label", {"item_id": "item-1", "label": "red"}), ("delete_everything", {})]


class ToyScenario(Scenario):
    """Label the item named X with label Y. `count` eval tasks; train tasks start at seed 1000."""

    tools = TOOLS
    system_prompt = "You manage a list of items. Use the tools."
    max_turns = 6
    checks = (
        label_call_correct,
        no_invented_tool(),
        no_invalid_call(),
        no_duplicate_write(),
        reads_before_writes({"set_label": {"list_items"}}),
        state_matches(expected=lambda task: task.data["expected_diff"], weight=2),
    )
    scripts = {"oracle": oracle, "naive": naive, "spam": spam, "sloppy2": sloppy(2), "sloppy10": sloppy(10)}

    def __init__(self, count: int = 3, name: str = "toy") -> None:
        self.name = name
        self.count = count

    def task(self, seed: int, split: str) -> Task:
        name = NAMES[seed % len(NAMES)]
        label = LABELS[seed % len(LABELS)]
        item_id = f"item-{seed * 10 + NAMES.index(name)}"
        return Task(
            id=f"{self.name}-{split}-{seed:04d}", scenario=self.name, split=split, seed=seed,
            tier="easy" if seed % 2 else "hard", prompt=f"Label the item named {name} {label}.",
            data={"name": name, "label": label, "item_id": item_id,
                  "expected_diff": {item_id: {"label": label}}},
        )

    def tasks(self, split: str, count: int | None = None, start: int = 0) -> list[Task]:
        base = 1000 if split == "train" else 0
        total = self.count if count is None else count
        if split == "eval":
            total = min(total, self.count - start)
        return [self.task(base + start + i, split) for i in range(max(total, 0))]

    def environment(self, task: Task) -> ToyWorld:
        return ToyWorld(task)
