"""The state of a simulated Atlassian Cloud site: Jira projects and issues, Confluence spaces and pages.

Plain dataclasses; `snapshot()` gives canonical JSON data and `diff()` compares two snapshots.
"""

from __future__ import annotations

import pickle
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

BASE_URL = "https://sim.atlassian.net"
# Keys left out of diffs: timestamps and id counters depend on how many writes happened before, not on what
# was written.
VOLATILE = frozenset({"created", "updated", "createdAt", "resolutiondate", "clock", "next_id", "next_number"})


@dataclass
class User:
    account_id: str
    display_name: str
    email: str
    time_zone: str = "Etc/UTC"
    active: bool = True


@dataclass
class Status:
    id: str
    name: str
    category: str  # "new" | "indeterminate" | "done"


@dataclass
class Transition:
    id: str
    name: str
    to: str  # status id
    sources: list[str]  # status ids it is available from; empty means from any status (global)
    screen: list[str] = field(default_factory=list)  # fields on the transition screen
    required: list[str] = field(default_factory=list)  # of which required


@dataclass
class Workflow:
    name: str
    initial: str  # status id
    transitions: list[Transition]


@dataclass
class IssueType:
    id: str
    name: str
    description: str
    subtask: bool = False
    hierarchy_level: int = 0


@dataclass
class FieldConfig:
    """One field on a project's create/edit screen for an issue type."""

    id: str
    required: bool = False


@dataclass
class Project:
    id: str
    key: str
    name: str
    description: str
    lead: str  # account id
    type_key: str
    workflow: Workflow
    issue_types: list[str]  # issue type ids
    screens: dict[str, list[FieldConfig]]  # issue type id -> create screen
    next_number: int = 1


@dataclass
class Comment:
    id: str
    author: str
    body: dict[str, Any]  # ADF
    created: str
    updated: str
    visibility: dict[str, str] | None = None  # {"type": "group"|"role", "value": name}: who may read it
    update_author: str | None = None  # who edited it last, when not its author


@dataclass
class Worklog:
    id: str
    author: str
    started: str
    seconds: int
    created: str
    updated: str
    comment: dict[str, Any] | None = None  # ADF
    visibility: dict[str, str] | None = None


@dataclass
class Component:
    id: str
    project: str  # project id
    name: str
    description: str = ""
    lead: str | None = None  # account id


@dataclass
class Version:
    id: str
    project: str  # project id
    name: str
    description: str = ""
    released: bool = False
    archived: bool = False
    release_date: str | None = None  # yyyy-MM-dd
    start_date: str | None = None


@dataclass
class LinkType:
    id: str
    name: str
    inward: str  # "is blocked by"
    outward: str  # "blocks"


@dataclass
class IssueLink:
    id: str
    type: str  # link type id
    inward: str  # issue id: the issue the inward description applies to ("is blocked by")
    outward: str  # issue id ("blocks")


@dataclass
class ChangeItem:
    """One field's change in a change group, as Jira's changelog reports it (ids in from/to, names in *String)."""

    field: str
    field_id: str
    before: str | None
    before_string: str | None
    after: str | None
    after_string: str | None


@dataclass
class ChangeGroup:
    """One write's changes to one issue: who, when, what."""

    id: str
    author: str
    created: str
    items: list[ChangeItem]


@dataclass
class PageVersion:
    """A page as it was at one of its earlier versions."""

    number: int
    title: str
    body: str  # storage format
    adf: str | None
    author: str  # who wrote this version
    when: str


@dataclass
class History:
    """How the site got where it is: every issue's changelog and every page's earlier versions (by issue and
    page id), and the bulk operations' tasks (by task id). Not part of the snapshot: checks compare state."""

    groups: dict[str, list[ChangeGroup]] = field(default_factory=dict)
    next_id: int = 100000
    pages: dict[str, list[PageVersion]] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class RemoteLink:
    """A link from an issue to an item elsewhere (a web page, a Confluence page), as its creator described it."""

    id: str
    object: dict[str, Any]  # RemoteObject: url, title, summary, icon, status
    global_id: str | None = None
    relationship: str | None = None
    application: dict[str, Any] | None = None


@dataclass
class Issue:
    id: str
    key: str
    project: str  # project id
    issuetype: str
    summary: str
    status: str
    priority: str | None
    reporter: str
    created: str
    updated: str
    description: dict[str, Any] | None = None
    labels: list[str] = field(default_factory=list)
    assignee: str | None = None
    parent: str | None = None  # issue id
    resolution: str | None = None
    resolutiondate: str | None = None
    duedate: str | None = None
    comments: list[Comment] = field(default_factory=list)
    components: list[str] = field(default_factory=list)  # component ids
    fix_versions: list[str] = field(default_factory=list)  # version ids
    versions: list[str] = field(default_factory=list)  # affected version ids
    watchers: list[str] = field(default_factory=list)  # account ids
    worklogs: list[Worklog] = field(default_factory=list)
    remote_links: list[RemoteLink] = field(default_factory=list)
    former_keys: list[str] = field(default_factory=list)  # its keys in the projects it was moved out of


@dataclass
class Label:
    id: str
    name: str
    prefix: str = "global"


@dataclass
class FooterComment:
    """A comment on a page: at its foot, or (with `inline`) anchored to a passage of its text."""

    id: str
    page: str
    body: str  # storage format
    author: str
    created: str
    version: int = 1
    parent: str | None = None  # the comment it replies to; None for a comment on the page itself
    inline: str | None = None  # an inline comment's highlighted text


@dataclass
class Page:
    id: str
    space: str  # space id
    title: str
    parent: str | None
    body: str  # storage format
    author: str
    created: str
    updated: str
    status: str = "current"
    version: int = 1
    adf: str | None = None  # the atlas_doc_format value when the page was written in ADF
    labels: list[str] = field(default_factory=list)  # label ids
    comments: list[FooterComment] = field(default_factory=list)  # replies too, each after what it answers
    position: int = 0
    # Who may read and who may update it: {"read": {"user": [account ids], "group": [names]}, "update": ...};
    # kept and reported, not enforced (the site's users see every page).
    restrictions: dict[str, dict[str, list[str]]] = field(default_factory=dict)


@dataclass
class Space:
    id: str
    key: str
    name: str
    description: str
    homepage: str
    author: str
    created: str
    type: str = "global"
    status: str = "current"


@dataclass
class Site:
    """A whole site. Ids are strings; dicts keep creation order."""

    seed: int
    myself: str
    users: dict[str, User] = field(default_factory=dict)
    statuses: dict[str, Status] = field(default_factory=dict)
    issue_types: dict[str, IssueType] = field(default_factory=dict)
    priorities: dict[str, str] = field(default_factory=dict)  # id -> name
    resolutions: dict[str, str] = field(default_factory=dict)  # id -> name
    projects: dict[str, Project] = field(default_factory=dict)  # by id
    issues: dict[str, Issue] = field(default_factory=dict)  # by id
    spaces: dict[str, Space] = field(default_factory=dict)  # by id
    pages: dict[str, Page] = field(default_factory=dict)  # by id
    labels: dict[str, Label] = field(default_factory=dict)  # by id
    next_id: int = 10000
    clock: str = "2026-01-05T09:00:00.000+0000"
    groups: dict[str, list[str]] = field(default_factory=dict)  # group name -> account ids
    components: dict[str, Component] = field(default_factory=dict)  # by id
    versions: dict[str, Version] = field(default_factory=dict)  # by id
    link_types: dict[str, LinkType] = field(default_factory=dict)  # by id
    links: dict[str, IssueLink] = field(default_factory=dict)  # by id
    history: History = field(default_factory=History)  # left out of snapshots

    # -- ids and time ------------------------------------------------------------------------------------
    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def tick(self) -> str:
        """Advance the site's clock by a minute (once per write) and return the new time."""
        now = datetime.fromisoformat(self.clock) + timedelta(minutes=1)  # 100 times faster than strptime
        self.clock = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        return self.clock

    # -- lookups -----------------------------------------------------------------------------------------
    def issue(self, id_or_key: str) -> Issue | None:
        """By id, or by key case-insensitively (as Jira does); a moved issue by its former keys too."""
        if id_or_key in self.issues:
            return self.issues[id_or_key]
        wanted = id_or_key.upper()
        found = next((i for i in self.issues.values() if i.key == wanted), None)
        if found is None and "-" in wanted:
            found = next((i for i in self.issues.values() if wanted in i.former_keys), None)
        return found

    def project(self, id_or_key: str) -> Project | None:
        """By id, or by key (case-sensitive, as Jira's project endpoints are)."""
        if id_or_key in self.projects:
            return self.projects[id_or_key]
        return next((p for p in self.projects.values() if p.key == id_or_key), None)

    def label_named(self, name: str) -> Label | None:
        return next((label for label in self.labels.values() if label.name == name), None)

    # -- state ---------------------------------------------------------------------------------------------
    def clone(self) -> Site:
        return pickle.loads(pickle.dumps(self, pickle.HIGHEST_PROTOCOL))  # a deep copy, several times faster

    def snapshot(self) -> dict[str, Any]:
        """Canonical JSON data of the whole site (issues keyed by key, the rest by id), without the history:
        what checks compare is the state, and the changelog only records how it got there."""
        history, self.history = self.history, History()
        try:
            data = asdict(self)
        finally:
            self.history = history
        del data["history"]
        data["issues"] = {i["key"]: i for i in data["issues"].values()}
        return data


def diff(before: Any, after: Any, path: str = "") -> dict[str, dict[str, Any]]:
    """Flat differences between two snapshots: {"issues/OPS-3/labels": {"before": [...], "after": [...]}}.

    Time stamps (VOLATILE) are ignored; a created or deleted entity shows as one entry.
    """
    if before == after:
        return {}
    if isinstance(before, dict) and isinstance(after, dict):
        out: dict[str, dict[str, Any]] = {}
        for key in [*before, *(k for k in after if k not in before)]:
            if key in VOLATILE:
                continue
            sub = f"{path}/{key}" if path else str(key)
            if key not in before or key not in after:
                out[sub] = {"before": _strip(before.get(key)), "after": _strip(after.get(key))}
            else:
                out.update(diff(before[key], after[key], sub))
        return out
    return {path: {"before": _strip(before), "after": _strip(after)}}


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value
