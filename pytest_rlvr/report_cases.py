"""The report's cases: one collapsible block per case with its checks, conversation and state diff.

Every value comes from the results file or the traces and is untrusted: it reaches the page only through
`report_html.h`, which escapes it. Case blocks carry `data-*` attributes that the page's script filters on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .report_charts import reward_bar
from .report_html import Html, as_text, compact, fmt, h, items, mapping, number, pre
from .trace import ToolCall, ToolResult, Trace, Turn

CELL_CUT = 600
"""The most characters of one value in the state diff table."""
ANSWER_CUT = 3000
"""The most characters of one API answer."""


@dataclass(frozen=True)
class Change:
    """A case's mean reward in the baseline and now."""

    baseline: float
    current: float

    @property
    def delta(self) -> float:
        return self.current - self.baseline


def status(case: Mapping[str, Any]) -> str:
    """passed, failed or errored."""
    if "error" in case:
        return "errored"
    return "passed" if case.get("passed") is True else "failed"


def failing_checks(case: Mapping[str, Any]) -> list[str]:
    """The checks that failed in some sample of the case, in declaration order."""
    return [name for name, entry in mapping(case.get("checks")).items()
            if any(held is False for held in items(mapping(entry).get("held")))]


def first_line(value: Any) -> str:
    """The first non-empty line of a message."""
    lines = [line for line in as_text(value).splitlines() if line.strip()]
    return lines[0].strip() if lines else ""


def _str(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else compact(value)


def case_block(index: int, case: Mapping[str, Any], traces: Mapping[int, Trace], have_traces: bool,
               change: Change | None = None) -> Html:
    """One case as a `<details>` element: the summary line, then every sample."""
    state = status(case)
    failing = failing_checks(case)
    mean = number(case.get("mean"))
    summary = h(
        "summary",
        h("span", state, cls=f"badge {state}"),
        h("code", _str(case.get("task_id")), cls="task"),
        h("span", _str(case.get("scenario")), cls="scenario"),
        h("span", _str(case.get("tier")) or "–", cls="tier"),
        h("span", reward_bar(mean), " ", fmt(mean), cls="reward") if state != "errored" else h("span", cls="reward"),
        h("span", _delta(change), cls="delta-cell") if change is not None else None,
        h("span", _failing_note(failing, state, case), cls="note-cell"),
    )
    body = [_error(case)] if state == "errored" else _samples(case, traces, have_traces)
    return h("details", summary, h("div", _facts(case), *body, cls="case-body"), cls="case", id=f"case-{index}",
             data_scenario=_str(case.get("scenario")), data_tier=_str(case.get("tier")), data_status=state,
             data_failing=json.dumps(failing))


def _delta(change: Change | None) -> Html | None:
    if change is None:
        return None
    kind = "worse" if change.delta < 0 else "better" if change.delta > 0 else "same"
    return h("span", f"{change.delta:+.3f}", h("span", f" was {change.baseline:.3f}", cls="muted"),
             cls=f"delta {kind}", title="change of the mean reward against the baseline")


def _failing_note(failing: Sequence[str], state: str, case: Mapping[str, Any]) -> Html | None:
    if state == "errored":
        return h("span", first_line(case.get("error")), cls="muted")
    if not failing:
        return None
    return h("span", f"{len(failing)} failing: {', '.join(failing[:3])}{' …' if len(failing) > 3 else ''}",
             cls="muted")


def _facts(case: Mapping[str, Any]) -> Html:
    rewards = [fmt(r) for r in items(case.get("rewards"))]
    facts = [("node", case.get("nodeid")), ("task seed", case.get("seed")), ("split", case.get("split")),
             ("checks version", case.get("checks_version")), ("threshold", fmt(case.get("threshold"), 2)),
             ("rewards", ", ".join(rewards) if rewards else None)]
    shown = [(name, value) for name, value in facts if value not in (None, "", "–")]
    return h("dl", [h("div", h("dt", name), h("dd", _str(value))) for name, value in shown], cls="facts")


def _error(case: Mapping[str, Any]) -> Html:
    label = h("div", "the case errored and was not scored", cls="label")
    return h("div", label, pre(_str(case.get("error")), "error"))


def _samples(case: Mapping[str, Any], traces: Mapping[int, Trace], have_traces: bool) -> list[Html]:
    rewards = items(case.get("rewards"))
    count = len(rewards) or len(traces)
    blocks = []
    for sample in range(count):
        reward = number(rewards[sample]) if sample < len(rewards) else None
        trace = traces.get(sample)
        content = [_checks(case, sample), _trace(trace, have_traces)]
        if count == 1:
            blocks.append(h("div", _sample_line(case, sample, reward, trace), *content, cls="sample"))
            continue
        blocks.append(h("details", h("summary", _sample_line(case, sample, reward, trace)), *content,
                        cls="sample", open=sample == 0))
    return blocks


def _sample_line(case: Mapping[str, Any], sample: int, reward: float | None, trace: Trace | None) -> Html:
    def at(key: str) -> Any:
        values = items(case.get(key))
        return values[sample] if sample < len(values) else None

    tokens = at("tokens")
    parts = [f"sample {sample}", f"reward {fmt(reward)}", _str(at("stop_reasons")) or None,
             f"{at('turns')} turn(s)" if at("turns") is not None else None,
             f"{tokens[0]:,} tokens in, {tokens[1]:,} out" if _pair(tokens) and any(tokens) else None,
             f"{trace.wall_s:.1f} s" if trace is not None and number(trace.wall_s) is not None else None]
    return h("span", reward_bar(reward), " ", " · ".join(p for p in parts if p), cls="sample-line")


def _pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)


def _checks(case: Mapping[str, Any], sample: int) -> Html:
    failures = items(case.get("failures"))
    messages = mapping(failures[sample]) if sample < len(failures) else {}
    rows = []
    for name, entry in mapping(case.get("checks")).items():
        entry = mapping(entry)
        held_list = items(entry.get("held"))
        held = held_list[sample] if sample < len(held_list) else None
        verdict = {True: ("held", "held"), False: ("failed", "failed")}.get(held, ("–", "none"))
        message = messages.get(name)
        rows.append(h("tr", h("td", h("span", verdict[0], cls=f"badge {verdict[1]}")), h("td", h("code", name)),
                      h("td", _str(entry.get("group"))), h("td", fmt(entry.get("weight"), 1), cls="num"),
                      h("td", pre(_str(message), "message", 1500) if message else None),
                      cls="failed-row" if held is False else None))
    if not rows:
        return h("p", "no check outcomes recorded", cls="muted")
    head = h("tr", h("th", ""), h("th", "check"), h("th", "group"), h("th", "weight", cls="num"), h("th", "message"))
    return h("div", h("div", "checks", cls="label"), h("table", h("thead", head), h("tbody", rows), cls="data checks"))


def _trace(trace: Trace | None, have_traces: bool) -> Html:
    if trace is None:
        why = "no trace of this sample in the traces file" if have_traces else "traces not available"
        return h("p", why, cls="muted")
    return h("div", h("div", "conversation", cls="label"), _conversation(trace),
             h("div", "state diff", cls="label"), state_diff(trace.state_diff))


def _conversation(trace: Trace) -> Html:
    parts = []
    for message in items(trace.messages):
        message = mapping(message)
        role = message.get("role")
        if role == "system":
            parts.append(h("details", h("summary", "system prompt"), pre(_str(message.get("content"))),
                           cls="msg system"))
        elif role == "user":
            parts.append(h("div", h("div", "user", cls="who"), pre(_str(message.get("content"))), cls="msg user"))
        else:
            break  # the rest of the conversation is in the turns
    for number_, turn in enumerate(items(trace.turns), 1):
        if isinstance(turn, Turn):
            parts.append(_turn(number_, turn))
    parts.append(h("div", f"stopped: {_str(trace.stop_reason) or 'unknown'}", cls="stop"))
    return h("div", parts, cls="conversation")


def _turn(number_: int, turn: Turn) -> Html:
    meta = [f"turn {number_}"]
    if isinstance(turn.tokens_in, int) and isinstance(turn.tokens_out, int) and (turn.tokens_in or turn.tokens_out):
        meta.append(f"{turn.tokens_in:,} tokens in, {turn.tokens_out:,} out")
    if (latency := number(turn.latency_s)) is not None and latency > 0:
        meta.append(f"{latency:.2f} s")
    calls = [c for c in items(turn.tool_calls) if isinstance(c, ToolCall)]
    results = [r for r in items(turn.results) if isinstance(r, ToolResult)]
    by_id = {r.call_id: r for r in results if isinstance(r.call_id, str)}
    blocks = [h("div", " · ".join(meta), cls="turn-head")]
    text_ = _str(turn.text)
    if text_.strip():
        blocks.append(h("div", h("div", "assistant", cls="who"), pre(text_), cls="msg assistant"))
    elif not calls:
        blocks.append(h("div", h("div", "assistant", cls="who"), h("p", "(no text)", cls="muted"),
                        cls="msg assistant"))
    for position, call in enumerate(calls):
        result = by_id.get(call.id) if isinstance(call.id, str) else None
        if result is None and position < len(results):
            result = results[position]
        blocks.append(_call(call, result))
    return h("div", blocks, cls="turn")


def _call(call: ToolCall, result: ToolResult | None) -> Html:
    head = [h("span", "tool call", cls="who"), h("code", _str(call.name), cls="tool")]
    if call.arguments is not None and call.parse_error is None:
        arguments = pre(as_text(call.arguments), "args")
    else:
        arguments = h("div", h("div", f"not parsed: {_str(call.parse_error) or 'no arguments'}", cls="parse-error"),
                      h("div", "as written:", cls="muted small"), pre(_str(call.raw_arguments), "raw"))
    body = [h("div", head, cls="call-head"), arguments]
    if result is not None:
        body.append(_answer(result))
    else:
        body.append(h("p", "no answer recorded", cls="muted"))
    return h("div", body, cls="msg call")


def _answer(result: ToolResult) -> Html:
    code = result.status if isinstance(result.status, int) and not isinstance(result.status, bool) else None
    ok = result.error is None and code is not None and 200 <= code < 300
    shown = as_text(result.body) if result.body is not None else _str(result.content)
    label = [h("span", str(code) if code is not None else "no status", cls=f"status {'ok' if ok else 'bad'}"),
             h("span", _str(result.operation), cls="op") if result.operation else None,
             h("span", _str(result.error), cls="badge failed") if result.error else None,
             h("span", "write", cls="badge write") if result.write is True else None,
             h("span", f"answer · {len(shown):,} characters" if shown else "empty answer", cls="muted")]
    if not shown:
        return h("div", label, cls="answer-line")
    return h("details", h("summary", label), pre(shown, "answer", ANSWER_CUT), cls="answer", open=not ok)


def state_diff(diff: Any) -> Html:
    """What the rollout changed on the simulated site: path, before, after."""
    if not diff:
        return h("p", "nothing changed on the site", cls="muted")
    if not isinstance(diff, Mapping):
        return pre(as_text(diff))
    rows = []
    for path, change in diff.items():
        change_ = mapping(change)
        if set(change_) >= {"before", "after"}:
            before, after = compact(change_["before"]), compact(change_["after"])
        else:
            before, after = "", compact(change)
        rows.append(h("tr", h("td", h("code", _str(path))), h("td", pre(before, "cell", CELL_CUT)),
                      h("td", pre(after, "cell", CELL_CUT))))
    head = h("tr", h("th", "path"), h("th", "before"), h("th", "after"))
    return h("table", h("thead", head), h("tbody", rows), cls="data diff")
