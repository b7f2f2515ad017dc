"""A minimal scenario for the benchmarks: set the label of the item with a given name.

Two tools, a two-call oracle, two checks; cheap enough that what a benchmark measures is the harness.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pytest_rlvr import Scenario, Task, ToolResult, check

NAMES = ("alpha", "bravo", "charlie", "delta")
TOOLS = [
    {"type": "function", "function": {"name": "list_items", "description": "List the items.",
                                      "parameters": {"type": "object", "properties": {}}}},
    {"type": "function", "function": {"name": "set_label", "description": "Label an item.", "parameters": {
        "type": "object", "properties": {"item_id": {"type": "string"}, "label": {"type": "string"}},
        "required": ["item_id", "label"]}}},
]


class World:
    """Items with labels; a fresh one per rollout."""

    def __init__(self, task: Task) -> None:
        self.items = {f"item-{task.seed}-{i}": {"name": n, "label": None} for i, n in enumerate(NAMES)}
        self.changed: dict[str, Any] = {}

    def call(self, name: str, arguments: str | Mapping[str, Any]) -> ToolResult:
        args = json.loads(arguments) if isinstance(arguments, str) else dict(arguments)
        if name == "list_items":
            body: Any = [{"id": i, **item} for i, item in self.items.items()]
            return ToolResult("", name, 200, body, json.dumps(body), operation=name)
        if name == "set_label" and args.get("item_id") in self.items:
            self.items[args["item_id"]]["label"] = args["label"]
            self.changed[args["item_id"]] = {"label": args["label"]}
            return ToolResult("", name, 204, None, "", write=True, operation=name, request=args)
        return ToolResult("", name, 404, None, "not found", error="unknown_tool" if name != "set_label" else None)

    def snapshot(self) -> dict[str, Any]:
        return {i: dict(item) for i, item in self.items.items()}

    def state_diff(self) -> dict[str, Any]:
        return dict(self.changed)


@check("process")
def read_first(trace, task):
    assert trace.calls and trace.calls[0][0].name == "list_items"


@check("outcome", weight=2)
def labelled(trace, task):
    assert trace.state_diff == task.data["expected_diff"]


def oracle(task: Task):
    results = yield [("list_items", {})]
    target = next(item["id"] for item in results[0].body if item["name"] == task.data["name"])
    yield [("set_label", {"item_id": target, "label": "done"})]


class ToyScenario(Scenario):
    """`count` eval tasks."""

    name = "bench-toy"
    system_prompt = "Label items."
    tools = TOOLS
    checks = (read_first, labelled)
    scripts = {"oracle": oracle}
    max_turns = 4

    def __init__(self, count: int) -> None:
        self.count = count

    def tasks(self, split: str, count: int | None = None, start: int = 0) -> list[Task]:
        total = self.count if count is None else min(count, self.count)
        return [self.task(start + i, split) for i in range(total)]

    def task(self, seed: int, split: str) -> Task:
        name = NAMES[seed % len(NAMES)]
        item = f"item-{seed}-{NAMES.index(name)}"
        return Task(id=f"bench-{seed:05d}", scenario=self.name, split=split, seed=seed, tier="easy",
                    prompt=f"Label {name} done.", data={"name": name, "expected_diff": {item: {"label": "done"}}})

    def environment(self, task: Task) -> World:
        return World(task)
