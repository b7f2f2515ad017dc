"""How checks read a trace: one vocabulary the five scenarios share.

Model output is untrusted input: nothing here raises on what a policy sent. Arguments are read with `get`,
which answers `None` for anything missing or of the wrong shape; references (an issue by key, id or URL, a
page by id or URL) are normalised against the site the trace ended in; what a policy *knew* before a call
is what the prompt said and what results of earlier turns answered (a read sent in the same turn as a
write had not been answered yet).

The rules every check follows (the scenarios' module docstrings say how each applies them; the red-team
suite in tests/test_redteam.py proves them):

- *Exact, not contained.* A field the user specified equals it after documented normalisation (whitespace,
  ADF vs storage vs plain text, order where order does not matter). Extra text is wrong.
- *Credit follows the target.* Argument and process credit counts only for calls on the entities the task
  is about. A write on another entity earns nothing and is a side effect.
- *No side effects.* The state diff holds only what the task asked, and every write was one the task
  needed. Anything else (another entity changed, a detour, a write later reverted) fails a gate that caps
  the whole reward at `SIDE_EFFECT_CAP`.
- *Informed means informed.* An id, key or fact a write uses appears in the prompt or in a result of an
  earlier turn, whatever read carried it; otherwise a gate caps the reward at `UNINFORMED_CAP`.
- *Every legitimate route scores 1.0*: ids or keys, any equivalent read, update verbs or a full
  replacement after a read.
- *Never crash on model input*: any JSON a policy sends yields a score.

The infeasible tier (`scenarios.infeasible`) adds one rule: *a refusal is found out, not guessed.* Where the
request cannot be done as asked, the right answer is no write at all and a final answer that names what is
wrong beside one of `NOT_DONE_PHRASES` (`says_not_done`); a write, even one the API refused, caps the reward at
`ACTED_CAP`, and an answer no read had shown to be true caps it at `BLIND_CAP`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pytest_rlvr import ToolCall, ToolResult, Trace

SIDE_EFFECT_CAP = 0.2
"""The most a trace that changed or wrote anything the task did not ask for can score."""
UNINFORMED_CAP = 0.2
"""The most a trace can score whose writes use a value the policy had not been shown."""
CONTENT_CAP = 0.3
"""The most a trace can score whose requested text (a description, a body, a comment) is not what was asked."""
ACTED_CAP = 0.1
"""The most a trace can score that wrote anything (even a write the API refused) on a request that cannot be
done as asked, or that stopped without saying the request was not carried out."""
BLIND_CAP = 0.3
"""The most a trace can score that declined a request that cannot be done without a read that showed why."""

NOT_DONE_PHRASES = (
    "does not exist", "doesn't exist", "do not exist", "don't exist", "did not exist", "no longer exists",
    "not exist", "not found", "no such", "could not find", "couldn't find", "cannot find", "can't find",
    "could not locate", "couldn't locate", "unable to find", "unable to locate", "not a user", "no user",
    "no issue", "no project", "no space", "no page", "no label", "no status", "no transition", "no active",
    "not active", "inactive", "deactivated", "has left", "no longer", "not available", "not allowed",
    "not possible", "not part of", "not in the", "none of", "cannot", "can't", "could not", "couldn't", "unable",
    "is not", "isn't", "are not", "aren't", "already exists", "already exist", "already taken", "already in use",
    "already has", "already a page", "is taken",
)
"""What an answer that declines says, in any case: the documented list `says_not_done` reads answers with (a
plain "not" is not on it: "I will not make any changes" declines nothing)."""
MOST_NOT_DONE = 4
"""The most phrases of `NOT_DONE_PHRASES` an answer may hold: one that says "not found" of everything names nothing
in particular."""
CLAIMS_DONE_PHRASES = (
    "i made the change", "i have made", "i've made", "i added", "i have added", "i've added", "i created",
    "i have created", "i've created", "i updated", "i have updated", "i've updated", "i moved", "i have moved",
    "i transitioned", "i have transitioned", "i assigned", "i have assigned", "i labelled", "i labeled",
    "i applied", "i have applied", "successfully",
)
"""What an answer that claims the work was done says (also "Done" opening a sentence); followed by "nothing" or
"no" it claims nothing ("I added nothing"). First-person only: a passive "was created" is as often denied ("no
issue was created")."""
NOT_DONE_NEAR = 80
"""The most characters between a named thing and a phrase of `NOT_DONE_PHRASES` for the answer to say that
thing is what is wrong."""


# -- model-written JSON ---------------------------------------------------------------------------------------
def get(value: Any, *path: str | int) -> Any:
    """`value[p0][p1]...`, or None when any step is missing or of the wrong type. Never raises."""
    for step in path:
        if isinstance(value, dict) and isinstance(step, str):
            value = value.get(step)
        elif isinstance(value, list) and isinstance(step, int) and -len(value) <= step < len(value):
            value = value[step]
        else:
            return None
    return value


def scalar(value: Any) -> str | None:
    """A string or integer as text (what an id or key may be written as); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int):
        return str(value)
    return None


def norm(text: Any) -> str:
    """Text with its whitespace collapsed; "" for a value that is not a string."""
    return " ".join(text.split()) if isinstance(text, str) else ""


def show(value: Any, limit: int = 200) -> str:
    """A value from a call for a message: canonical JSON, so that a trace read back scores the same."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)[:limit]


# -- calls ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One tool call with its result, the turn it was made in and its position among the trace's calls."""

    index: int
    turn: int
    call: ToolCall
    result: ToolResult

    @property
    def op(self) -> str:
        """The API operation (operationId), or the tool name when the call reached none."""
        return self.result.operation or self.call.name

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def write(self) -> bool:
        return self.result.write

    @property
    def args(self) -> dict[str, Any]:
        return self.call.arguments if isinstance(self.call.arguments, dict) else {}

    def arg(self, *path: str | int) -> Any:
        return get(self.args, *path)


def steps(trace: Trace, *operations: str, ok: bool | None = None) -> list[Step]:
    """The calls (of these operations, when named; successful only with ok=True, failed only with ok=False)."""
    out, index = [], 0
    for turn, t in enumerate(trace.turns):
        for call, result in zip(t.tool_calls, t.results, strict=True):
            step = Step(index, turn, call, result)
            index += 1
            if (not operations or step.op in operations) and (ok is None or step.ok == ok):
                out.append(step)
    return out


def writes(trace: Trace) -> list[Step]:
    """Calls that reached a state-changing operation, accepted or rejected."""
    return [s for s in steps(trace) if s.write]


# -- the site the trace ended in ------------------------------------------------------------------------------
ISSUE_IN_URL = re.compile(r"/(?:browse|issue)/([A-Za-z0-9_-]+)/?(?:[?#].*)?$")
PAGE_IN_URL = re.compile(r"(?:/pages/|[?&]pageId=)(\d+)")


def issue_key(trace: Trace, ref: Any) -> str | None:
    """The key of the issue a reference names (key in any case, id as text or number, browse or REST URL),
    or None when it names none."""
    text = scalar(ref)
    if not text:
        return None
    if (match := ISSUE_IN_URL.search(text)) is not None:
        text = match.group(1)
    issues = trace.final_state.get("issues") or {}
    if text.upper() in issues:
        return text.upper()
    return next((key for key, issue in issues.items() if get(issue, "id") == text), None)


def issue_informed(trace: Trace, turn: int, ref: Any) -> bool:
    """Whether the issue reference a call of `turn` used was in the prompt or an earlier answer, in the form
    it was written: a key in any case; an id only where an answer showed it as that issue's id (beside its
    key), not where the same number was another entity's id. A right id never read is a guess."""
    key = issue_key(trace, ref)
    if key is None:
        return False
    text = scalar(ref) or ""
    if (match := ISSUE_IN_URL.search(text)) is not None:
        text = match.group(1)
    if text.upper() == key:
        return informed(trace, turn, key)
    return shown_together(trace, turn, id=text, key=key)


def page_id(trace: Trace, ref: Any) -> str | None:
    """The id of the page a reference names (id as text or number, or a page URL), or None."""
    text = scalar(ref)
    if not text:
        return None
    if (match := PAGE_IN_URL.search(text)) is not None:
        text = match.group(1)
    return text if text in (trace.final_state.get("pages") or {}) else None


def created(trace: Trace, kind: str) -> list[str]:
    """The keys (issues) or ids (pages, labels...) of the entities of `kind` the trace created."""
    return sorted(path.split("/", 1)[1] for path, change in trace.state_diff.items()
                  if path.startswith(f"{kind}/") and path.count("/") == 1 and get(change, "before") is None)


def changes(trace: Trace, allowed: Callable[[str, dict[str, Any]], bool]) -> list[str]:
    """The state-diff paths `allowed(path, change)` does not accept: the side effects in the final state."""
    return sorted(path for path, change in trace.state_diff.items() if not allowed(path, change))


def routes(workflow: dict[str, Any], start: str, target: str) -> list[list[dict[str, Any]]]:
    """Every shortest sequence of transitions (snapshot dicts) from status `start` to `target`."""
    transitions = [t for t in get(workflow, "transitions") or [] if isinstance(t, dict)]
    frontier: list[list[dict[str, Any]]] = [[]]
    seen = {start}
    while frontier:
        done = [p for p in frontier if (p[-1]["to"] if p else start) == target]
        if done:
            return done if target != start else []
        grown = []
        for path in frontier:
            here = path[-1]["to"] if path else start
            for t in transitions:
                if (not t.get("sources") or here in t["sources"]) and t["to"] != here and t["to"] not in seen:
                    grown.append([*path, t])
        seen |= {p[-1]["to"] for p in grown}
        frontier = grown
    return []


# -- what the policy knew -------------------------------------------------------------------------------------
def scalars(value: Any) -> Iterator[str]:
    """Every string and number inside a JSON value, as text."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif (text := scalar(node)) is not None:
            yield text


def prompt(trace: Trace) -> str:
    """The user's request (the first user message)."""
    return next((m.get("content") or "" for m in trace.messages if m.get("role") == "user"), "")


def known_before(trace: Trace, turn: int) -> set[str]:
    """Every value the results of turns before `turn` showed the policy (ids, keys, names, texts)."""
    known: set[str] = set()
    for t in trace.turns[:turn]:
        for result in t.results:
            if result.ok:
                known.update(scalars(result.body))
    return known


def informed(trace: Trace, turn: int, value: Any) -> bool:
    """Whether `value` was in the prompt (as a whole word) or answered by a read of an earlier turn."""
    text = scalar(value)
    if not text:
        return False
    if re.search(rf"(?<![\w-]){re.escape(text)}(?![\w-])", prompt(trace), re.IGNORECASE):
        return True
    return text in known_before(trace, turn)


def shown_together(trace: Trace, turn: int, **pairs: str) -> bool:
    """Whether a result of a turn before `turn` holds one object with all these values, e.g. an id beside
    its key or name (that entity's id, not a number that happens to be equal)."""
    for t in trace.turns[:turn]:
        for result in t.results:
            stack = [result.body] if result.ok else []
            while stack:
                node = stack.pop()
                if isinstance(node, dict):
                    if all(scalar(node.get(k)) == v for k, v in pairs.items()):
                        return True
                    stack.extend(node.values())
                elif isinstance(node, list):
                    stack.extend(node)
    return False


def issues_shown(trace: Trace, turn: int) -> dict[str, dict[str, Any]]:
    """The fields of every issue a result of a turn before `turn` showed (getIssue, a JQL search...), by key;
    later reads of an issue add to what earlier ones showed."""
    shown: dict[str, dict[str, Any]] = {}
    for t in trace.turns[:turn]:
        for result in t.results:
            if not result.ok or not isinstance(result.body, dict):
                continue
            found = result.body.get("issues") if isinstance(result.body.get("issues"), list) else [result.body]
            for issue in found:
                key, fields = get(issue, "key"), get(issue, "fields")
                if isinstance(key, str) and isinstance(fields, dict):
                    shown.setdefault(key, {}).update(fields)
    return shown


def mentions(trace: Trace, turn: int, text: str) -> bool:
    """Whether a result of a turn before `turn` carries `text` inside one of its strings (a fact read from a
    comment, a name inside a sentence)."""
    wanted = text.lower()
    return any(wanted in value.lower() for value in known_before(trace, turn))


# -- what the final answer says -------------------------------------------------------------------------------
_NOT_DONE = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(p) for p in NOT_DONE_PHRASES) + r")(?!\w)")


def _plain(text: Any) -> str:
    """Text lower-cased, whitespace collapsed, typographic apostrophes made plain; "" for a non-string."""
    return norm(text).casefold().replace("\u2019", "'").replace("\u2018", "'")


_CLAIMS_DONE = re.compile(r"(?:(?<!\w)(?:" + "|".join(re.escape(p) for p in CLAIMS_DONE_PHRASES) + r")(?!\w)"
                          r"|(?:^|[.!?:]\s+)done(?!\w))(?!\s+(?:nothing|no|none)(?!\w))")


def claims_done(text: Any) -> bool:
    """Whether a text claims the work was done (a phrase of `CLAIMS_DONE_PHRASES`, or "Done" opening a sentence)."""
    return _CLAIMS_DONE.search(_plain(text)) is not None


def not_done_count(text: Any) -> int:
    """How many phrases of `NOT_DONE_PHRASES` a text holds."""
    return len(_NOT_DONE.findall(_plain(text)))


def declines(text: Any) -> bool:
    """Whether a text says something was not done or does not exist (a phrase of `NOT_DONE_PHRASES`)."""
    return _NOT_DONE.search(_plain(text)) is not None


def says_not_done(text: Any, name: str) -> bool:
    """Whether a text names `name` (any case, as a whole word) within `NOT_DONE_NEAR` characters of a phrase of
    `NOT_DONE_PHRASES`: "SEC-41 does not exist", "I couldn't find a page titled 'Runbooks'"."""
    plain, wanted = _plain(text), _plain(name)
    if not wanted:
        return False
    names = [m.span() for m in re.finditer(rf"(?<![\w-]){re.escape(wanted)}(?![\w-])", plain)]
    phrases = [m.span() for m in _NOT_DONE.finditer(plain)]
    return any(max(a - d, c - b, 0) <= NOT_DONE_NEAR for a, b in names for c, d in phrases)


def first(items: Iterable[Any]) -> Any:
    return next(iter(items), None)
