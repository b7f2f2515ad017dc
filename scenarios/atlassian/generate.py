"""Seeded site generation: the same seed gives the same site, byte for byte."""

from __future__ import annotations

import random
from typing import Any

from .documents import adf_paragraphs
from .site import (
    Comment,
    Component,
    FieldConfig,
    FooterComment,
    Issue,
    IssueType,
    Label,
    LinkType,
    Page,
    Project,
    Site,
    Space,
    Status,
    Transition,
    User,
    Version,
    Workflow,
)

FIRST = ["Alice", "Bilal", "Chen", "Dana", "Emeka", "Farah", "Goran", "Hana", "Ivan", "Julia", "Kofi", "Lena",
         "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Yara"]
LAST = ["Nguyen", "Okafor", "Schmidt", "Haddad", "Kowalski", "Tanaka", "Moreau", "Silva", "Larsen", "Ibrahim",
        "Rossi", "Novak", "Park", "Fischer", "Costa", "Ahmed"]
PROJECTS = [("OPS", "Operations"), ("WEB", "Web Platform"), ("DATA", "Data Pipeline"), ("MOB", "Mobile Apps"),
            ("SEC", "Security"), ("PAY", "Payments"), ("INFRA", "Infrastructure"), ("CRM", "Customer Portal")]
SPACES = [("ENG", "Engineering"), ("OPSDOC", "Operations Handbook"), ("PROD", "Product"), ("HR", "People Team"),
          ("SUP", "Support Knowledge Base"), ("SEC", "Security Docs")]
PAGE_TITLES = ["Runbooks", "Architecture", "Onboarding", "Release Notes", "Incident Reviews", "On-call",
               "Team Rituals", "Roadmap", "Decision Log", "How-to Guides", "Meeting Notes", "Glossary",
               "Service Catalog", "Postmortems", "Style Guide", "FAQ"]
SUBJECTS = ["login page", "checkout flow", "nightly export", "search index", "billing webhook", "SSO callback",
            "CSV import", "audit log", "mobile push", "rate limiter", "cache warmer", "report builder",
            "password reset", "invoice PDF", "deploy pipeline", "metrics dashboard", "backup job", "API gateway"]
PROBLEMS = ["times out under load", "returns 500 for some users", "shows stale data", "is slow after deploy",
            "drops events", "fails on empty input", "double-charges on retry", "leaks memory"]
WORK = ["Add retries to", "Document", "Refactor", "Add monitoring for", "Migrate", "Add tests for", "Upgrade"]
LABELS = ["backend", "frontend", "customer", "regression", "tech-debt", "security", "performance", "ux",
          "needs-info", "q3-goal", "infra", "flaky"]
COMPONENTS = ["API", "Backend", "Frontend", "Database", "Mobile", "Infrastructure", "Documentation", "Billing",
              "Auth"]
VERSIONS = [("1.0", True, "2025-10-01"), ("1.1", True, "2025-12-01"), ("2.0", False, "2026-03-01")]
LINK_TYPES = [("10000", "Blocks", "is blocked by", "blocks"), ("10001", "Cloners", "is cloned by", "clones"),
              ("10002", "Duplicate", "is duplicated by", "duplicates"),
              ("10003", "Relates", "relates to", "relates to")]
PRIORITIES = {"1": "Highest", "2": "High", "3": "Medium", "4": "Low", "5": "Lowest"}
RESOLUTIONS = {"10000": "Done", "10001": "Won't Do", "10002": "Duplicate", "10003": "Cannot Reproduce"}
STATUSES = [("1", "To Do", "new"), ("2", "In Progress", "indeterminate"), ("3", "In Review", "indeterminate"),
            ("4", "Done", "done"), ("5", "Backlog", "new"), ("6", "Blocked", "indeterminate"),
            ("7", "Selected for Development", "new"), ("8", "Closed", "done"), ("9", "Waiting for Customer",
                                                                                  "indeterminate")]
ISSUE_TYPES = [("10001", "Task", "A small, distinct piece of work.", False, 0),
               ("10002", "Bug", "A problem or error.", False, 0),
               ("10003", "Story", "A user-facing feature.", False, 0),
               ("10004", "Epic", "A big user story that needs to be broken down.", False, 1),
               ("10005", "Sub-task", "A piece of work inside another issue.", True, -1)]


def _workflows(rng: random.Random) -> list[Workflow]:
    """Workflow templates. Transition names never equal their target status names; ids differ per template."""
    base = rng.randrange(1, 9) * 10
    t = lambda n, name, to, src, screen=(): Transition(  # noqa: E731
        str(base + n), name, to, list(src), list(screen), list(screen))
    return [
        Workflow("Software", "5", [
            t(1, "Select for development", "7", ["5"]), t(2, "Start progress", "2", ["7", "1"]),
            t(3, "Submit for review", "3", ["2"]), t(4, "Request changes", "2", ["3"]),
            t(5, "Approve", "4", ["3"], ["resolution"]), t(6, "Flag as blocked", "6", ["2", "3"]),
            t(7, "Unblock", "2", ["6"]), t(8, "Reopen", "5", ["4"]),
        ]),
        Workflow("Simple", "1", [
            t(1, "Start work", "2", ["1"]), t(2, "Resolve", "4", ["2"], ["resolution"]),
            t(3, "Stop work", "1", ["2"]), t(4, "Close as won't fix", "8", ["1", "2"], ["resolution"]),
            t(5, "Reopen issue", "1", ["4", "8"]),
        ]),
        Workflow("Support", "1", [
            t(1, "Triage", "2", ["1"]), t(2, "Ask customer", "9", ["2"]), t(3, "Customer replied", "2", ["9"]),
            t(4, "Mark fixed", "4", ["2"], ["resolution"]), t(5, "Escalate", "6", ["1", "2"]),
            t(6, "De-escalate", "2", ["6"]), t(7, "Close ticket", "8", ["4"]), t(8, "Back to queue", "1", []),
        ]),
    ]


def _screens(rng: random.Random, types: list[str]) -> dict[str, list[FieldConfig]]:
    """Create screens: project, issuetype and summary always required; the rest varies per project and type."""
    screens = {}
    for tid in types:
        fields = [FieldConfig("project", True), FieldConfig("issuetype", True), FieldConfig("summary", True)]
        fields.append(FieldConfig("description", tid == "10003" or rng.random() < 0.2))
        if tid != "10004":
            fields.append(FieldConfig("priority", tid == "10002" or rng.random() < 0.25))
        fields.append(FieldConfig("labels", rng.random() < 0.1))
        fields.append(FieldConfig("assignee", False))
        fields.append(FieldConfig("reporter", False))
        if rng.random() < 0.6:
            fields.append(FieldConfig("duedate", False))
        if tid == "10005":
            fields.append(FieldConfig("parent", True))
        elif tid != "10004":
            fields.append(FieldConfig("parent", False))
        screens[tid] = fields
    return screens


def _account_id(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(24))


def generate(seed: int) -> Site:
    """Build a whole site from a seed."""
    rng = random.Random(seed)
    site = Site(seed=seed, myself="")
    me = User(_account_id(rng), "Automation Agent", "agent@example.com")
    site.users[me.account_id] = me
    site.myself = me.account_id
    names = rng.sample([(f, la) for f in FIRST for la in LAST], 10)
    for first, last in names:
        u = User(_account_id(rng), f"{first} {last}", f"{first.lower()}.{last.lower()}@example.com",
                 rng.choice(["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Etc/UTC"]))
        site.users[u.account_id] = u
    people = [u for u in site.users.values() if u.account_id != me.account_id]
    site.statuses = {sid: Status(sid, name, cat) for sid, name, cat in STATUSES}
    site.issue_types = {t[0]: IssueType(*t) for t in ISSUE_TYPES}
    site.priorities = dict(PRIORITIES)
    site.resolutions = dict(RESOLUTIONS)

    workflows = _workflows(rng)
    for n, (key, name) in enumerate(rng.sample(PROJECTS, 3)):
        types = ["10001", "10002", *(["10003", "10004"] if rng.random() < 0.7 else []), "10005"]
        project = Project(str(10000 + n), key, name, f"{name} team work.", rng.choice(people).account_id,
                          "software", workflows[n % len(workflows)], types, _screens(rng, types))
        site.projects[project.id] = project
        _issues(rng, site, project, people)

    site.next_id = 65000
    for key, name in rng.sample(SPACES, 3):
        _space(rng, site, key, name, people)
    _extras(random.Random(f"jira-extras:{seed}"), site)
    return site


def _extras(rng: random.Random, site: Site) -> None:
    """Groups, link types, components and versions, and the issues' components and fix versions: drawn from
    their own random stream, so that everything else a seed gives stays as it was before they existed."""
    me = site.myself
    others = [a for a in site.users if a != me]
    site.groups = {"jira-software-users": list(site.users), "site-admins": [me],
                   "developers": [me, *sorted(rng.sample(others, 5), key=others.index)],
                   "support-team": sorted(rng.sample(others, 3), key=others.index)}
    site.link_types = {t[0]: LinkType(*t) for t in LINK_TYPES}
    for project in site.projects.values():
        for name in rng.sample(COMPONENTS, 3):
            cid = str(10100 + len(site.components))
            site.components[cid] = Component(cid, project.id, name, f"Work on the {name.lower()}.",
                                             rng.choice([None, project.lead]))
        for name, released, date in VERSIONS:
            vid = str(10200 + len(site.versions))
            site.versions[vid] = Version(vid, project.id, name, f"Release {name}.", released, False, date)
        components = [c.id for c in site.components.values() if c.project == project.id]
        versions = [v.id for v in site.versions.values() if v.project == project.id]
        for issue in (i for i in site.issues.values() if i.project == project.id):
            issue.components = sorted(rng.sample(components, rng.choice([0, 0, 1, 1, 2])), key=components.index)
            issue.fix_versions = [rng.choice(versions)] if rng.random() < 0.5 else []
        for fid in ("components", "fixVersions", "versions"):  # editable, never required
            for screen in project.screens.values():
                screen.append(FieldConfig(fid, False))


def _issues(rng: random.Random, site: Site, project: Project, people: list[User]) -> None:
    reachable = _reachable(project.workflow)
    for _ in range(rng.randrange(6, 11)):
        tid = rng.choice([t for t in project.issue_types if t not in ("10005", "10004")])
        subject = rng.choice(SUBJECTS)
        summary = f"{rng.choice(WORK)} {subject}" if tid != "10002" else f"The {subject} {rng.choice(PROBLEMS)}"
        created = site.tick()
        status = rng.choice(reachable)
        done = site.statuses[status].category == "done"
        issue = Issue(
            id=str(10000 + len(site.issues) + 1), key=f"{project.key}-{project.next_number}",
            project=project.id, issuetype=tid, summary=summary, status=status,
            priority=rng.choice(list(site.priorities)), reporter=rng.choice(people).account_id,
            created=created, updated=created,
            description=adf_paragraphs([f"Reported while working on the {subject}."]),
            labels=sorted(rng.sample(LABELS, rng.randrange(0, 3))),
            assignee=rng.choice([None, *(u.account_id for u in people)]),
            resolution="10000" if done else None, resolutiondate=created if done else None,
        )
        project.next_number += 1
        for _ in range(rng.randrange(0, 3)):
            author = rng.choice(people)
            when = site.tick()
            issue.comments.append(Comment(str(20000 + sum(len(i.comments) for i in site.issues.values())
                                              + len(issue.comments)), author.account_id,
                                          adf_paragraphs([f"{author.display_name.split()[0]} looked at this."]),
                                          when, when))
        site.issues[issue.id] = issue


def _reachable(workflow: Workflow) -> list[str]:
    seen, todo = [workflow.initial], [workflow.initial]
    while todo:
        current = todo.pop()
        for t in workflow.transitions:
            if (not t.sources or current in t.sources) and t.to not in seen:
                seen.append(t.to)
                todo.append(t.to)
    return seen


def _space(rng: random.Random, site: Site, key: str, name: str, people: list[User]) -> None:
    space_id = site.new_id()
    when = site.tick()
    author = rng.choice(people).account_id
    home = Page(site.new_id(), space_id, f"{name} Home", None, f"<p>Welcome to the {name} space.</p>", author,
                when, when)
    site.pages[home.id] = home
    site.spaces[space_id] = Space(space_id, key, name, f"Pages of the {name} team.", home.id, author, when)
    titles = rng.sample(PAGE_TITLES, rng.randrange(4, 7))
    parents = [home]
    for n, title in enumerate(titles):
        parent = rng.choice(parents[:3])
        page = _page(rng, site, space_id, f"{title}" if parent is home else f"{parent.title}: {title}", parent,
                     people, n)
        parents.append(page)


def _page(rng: random.Random, site: Site, space: str, title: str, parent: Page, people: list[User],
          position: int) -> Page:
    when = site.tick()
    page = Page(site.new_id(), space, title, parent.id, f"<p>{title} for the team.</p><p>Owner: see history.</p>",
                rng.choice(people).account_id, when, when, position=position)
    for name in rng.sample(LABELS, rng.randrange(0, 3)):
        label = site.label_named(name) or Label(site.new_id(), name)
        site.labels[label.id] = label
        page.labels.append(label.id)
    if rng.random() < 0.3:
        page.comments.append(FooterComment(site.new_id(), page.id, "<p>Thanks, this helped.</p>",
                                           rng.choice(people).account_id, site.tick()))
    site.pages[page.id] = page
    return page


def field_values(site: Site) -> dict[str, Any]:
    """Known values per JQL field, for JQL's "value does not exist" errors."""
    return {
        "project": {v for p in site.projects.values() for v in (p.id, p.key, p.name)},
        "status": {v for s in site.statuses.values() for v in (s.id, s.name)},
        "issuetype": {v for t in site.issue_types.values() for v in (t.id, t.name)},
        "priority": {v for pair in site.priorities.items() for v in pair},
        "resolution": {v for pair in site.resolutions.items() for v in pair},
        "component": {v for c in site.components.values() for v in (c.id, c.name)},
        "fixversion": {v for x in site.versions.values() for v in (x.id, x.name)},
        "affectedversion": {v for x in site.versions.values() for v in (x.id, x.name)},
    }
