"""Issue history: every write to an issue records a change group (author, time from the site's clock, and
one item per field changed), as Jira's changelog reports it. The history is kept beside the state, never in
it: snapshots and state diffs, which checks compare, leave it out.

Also the history as JQL's WAS and CHANGED read it: per field, the values an issue held and from when.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .documents import adf_text
from .jira_json import user_json
from .site import ChangeGroup, ChangeItem, Issue, Site

# Issue attribute -> (changelog `field`, `fieldId`), in the order Jira lists them in a change group.
SINGLE = {"issuetype": ("issuetype", "issuetype"), "summary": ("summary", "summary"),
          "description": ("description", "description"), "priority": ("priority", "priority"),
          "labels": ("labels", "labels"), "assignee": ("assignee", "assignee"),
          "reporter": ("reporter", "reporter"), "duedate": ("duedate", "duedate"),
          "parent": ("IssueParentAssociation", "parent"), "resolution": ("resolution", "resolution"),
          "status": ("status", "status")}
# Multi-valued fields: one item per value added or removed.
MULTI = {"components": ("Component", "components"), "fix_versions": ("Fix Version", "fixVersions"),
         "versions": ("Version", "versions")}
# JQL field -> changelog `fieldId`: the fields whose history JQL searches (WAS, CHANGED), as in Jira.
SEARCHABLE = {"status": "status", "assignee": "assignee", "reporter": "reporter", "priority": "priority",
              "resolution": "resolution", "fixversion": "fixVersions"}


def _shown(site: Site, name: str, value: Any) -> tuple[str | None, str | None]:
    """(`from`/`to`, `fromString`/`toString`) for a single-valued field's value."""
    if value is None or value == []:
        return None, None
    match name:
        case "summary":
            return None, value
        case "description":
            return None, adf_text(value).rstrip("\n")
        case "labels":
            return None, " ".join(value)
        case "assignee" | "reporter":
            user = site.users.get(value)
            return value, user.display_name if user else value
        case "priority":
            return value, site.priorities.get(value, value)
        case "resolution":
            return value, site.resolutions.get(value, value)
        case "status":
            return value, site.statuses[value].name if value in site.statuses else value
        case "issuetype":
            return value, site.issue_types[value].name if value in site.issue_types else value
        case "parent":
            parent = site.issues.get(value)
            return value, parent.key if parent else value
    return value, value  # duedate


def _name(site: Site, attribute: str, value_id: str) -> str:
    table: Any = site.components if attribute == "components" else site.versions
    item = table.get(value_id)
    return item.name if item else value_id


def changes(site: Site, before: Issue, after: Issue) -> list[ChangeItem]:
    """The changelog items between two states of one issue."""
    items = []
    for attribute, (name, field_id) in SINGLE.items():
        old, new = getattr(before, attribute), getattr(after, attribute)
        if old != new:
            items.append(ChangeItem(name, field_id, *_shown(site, attribute, old), *_shown(site, attribute, new)))
    for attribute, (name, field_id) in MULTI.items():
        old, new = getattr(before, attribute), getattr(after, attribute)
        for gone in (v for v in old if v not in new):
            items.append(ChangeItem(name, field_id, gone, _name(site, attribute, gone), None, None))
        for added in (v for v in new if v not in old):
            items.append(ChangeItem(name, field_id, None, None, added, _name(site, attribute, added)))
    return items


def record(site: Site, issue_id: str, author: str, items: list[ChangeItem], when: str | None = None) -> None:
    """Add a change group to an issue's history (nothing when there are no items)."""
    if not items:
        return
    history = site.history
    history.next_id += 1
    group = ChangeGroup(str(history.next_id), author, when or site.clock, items)
    history.groups.setdefault(issue_id, []).append(group)


def record_write(site: Site, before: Issue, after: Issue, author: str) -> None:
    """Record what a write changed on an issue, at the site's current time."""
    record(site, after.id, author, changes(site, before, after))


def groups_of(site: Site, issue_id: str) -> list[ChangeGroup]:
    return site.history.groups.get(issue_id, [])


# -- representations ---------------------------------------------------------------------------------------
def item_json(item: ChangeItem) -> dict[str, Any]:
    """`ChangeDetails`. Jira sends an empty side as null; the schema types each side as a string, so an empty
    side is left out."""
    out = {"field": item.field, "fieldtype": "jira", "fieldId": item.field_id}
    for key, value in (("from", item.before), ("fromString", item.before_string), ("to", item.after),
                       ("toString", item.after_string)):
        if value is not None:
            out[key] = value
    return out


def group_json(site: Site, group: ChangeGroup, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """`Changelog` (only the items of `fields`, by fieldId or name, when given)."""
    wanted = None if fields is None else set(fields)
    items = [item_json(i) for i in group.items if wanted is None or i.field_id in wanted or i.field in wanted]
    return {"id": group.id, "author": user_json(site, group.author), "created": group.created, "items": items}


# -- the history as JQL reads it ---------------------------------------------------------------------------


def _aliases(site: Site, field: str) -> Callable[[str], list[str]]:
    if field in ("assignee", "reporter"):
        return lambda a: [a, site.users[a].display_name, site.users[a].email] if a in site.users else [a]
    if field == "status":
        return lambda s: [site.statuses[s].name, s] if s in site.statuses else [s]
    if field == "priority":
        return lambda p: [site.priorities[p], p] if p in site.priorities else [p]
    if field == "resolution":
        return lambda r: [site.resolutions[r], r] if r in site.resolutions else [r]
    return lambda v: [site.versions[v].name, v] if v in site.versions else [v]


def _current(issue: Issue, field: str) -> list[str]:
    if field == "fixversion":
        return list(issue.fix_versions)
    value = getattr(issue, field)
    return [value] if value else []


def timeline(site: Site, issue: Issue, field: str) -> list[tuple[list[str], str, list[str] | None]]:
    """The values a JQL history field (see SEARCHABLE) held, oldest first, as `jql.Segment`s: each value's
    aliases, the time it was set (the issue's creation for the first) and who set it (the aliases of the
    account; None for the values the issue was created with)."""
    field_id = SEARCHABLE[field]
    steps = [(g, [i for i in g.items if i.field_id == field_id]) for g in groups_of(site, issue.id)]
    steps = [(g, items) for g, items in steps if items]
    values = _current(issue, field)
    states = [list(values)]
    for _, items in reversed(steps):  # undo each change, newest first
        for item in items:
            if item.after is not None and item.after in values:
                values = [v for v in values if v != item.after]
            if item.before is not None and item.before not in values:
                values = [*values, item.before]
        states.append(list(values))
    states.reverse()
    alias, who = _aliases(site, field), _aliases(site, "assignee")
    starts = [(issue.created, None), *((g.created, who(g.author)) for g, _ in steps)]
    return [([a for v in state for a in alias(v)], start, by) for state, (start, by) in zip(states, starts,
                                                                                            strict=True)]
