"""An issue's life beyond edits: deleting it, moving it to another project (the bulk move API, done at once
and reported through its task), and its remote links (links to items outside Jira)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import history
from .http import ApiError, Request, Response, jira_error, url
from .jira import actor, find_issue, find_project
from .jira_json import API, user_json
from .site import ChangeItem, Issue, Project, RemoteLink, Site

MAX_REMOTE_LINKS = 5000  # Jira's per-issue limit on remote links
TASK_URL = f"{API}/bulk/queue"


# -- deleting -------------------------------------------------------------------------------------------------
def children_of(site: Site, issue: Issue) -> list[Issue]:
    return [i for i in site.issues.values() if i.parent == issue.id]


def delete_issue(site: Site, req: Request) -> Response:
    """`DELETE /issue/{key}`: the issue, its links and history go; its sub-tasks too with `deleteSubtasks=true`
    (else 400); the children of an epic stay, without a parent."""
    issue = find_issue(site, req)
    subtasks = [c for c in children_of(site, issue) if site.issue_types[c.issuetype].subtask]
    if subtasks and req.query.get("deleteSubtasks", "false") != "true":
        raise jira_error(400, f"The issue {issue.key} has subtasks: set deleteSubtasks=true to delete them with it.")
    for gone in (*subtasks, issue):
        del site.issues[gone.id]
        site.history.groups.pop(gone.id, None)
        for lid in [lid for lid, link in site.links.items() if gone.id in (link.inward, link.outward)]:
            del site.links[lid]
    site.tick()
    for child in children_of(site, issue):
        child.parent = None
    return Response(204)


# -- moving ---------------------------------------------------------------------------------------------------
def move_error(message: str) -> ApiError:
    """A 400 in `BulkOperationErrorResponse`'s form."""
    return ApiError(Response(400, {"errors": [{"message": message}]}))


def move_errors(collection: dict[str, Any]) -> dict[str, Any]:
    """Jira's ErrorCollection (what the request checks answer) as `BulkOperationErrorResponse`."""
    messages = [*collection.get("errorMessages", []), *collection.get("errors", {}).values()]
    return {"errors": [{"message": str(m)} for m in messages]}


def move_target(site: Site, mapping_key: str) -> tuple[Project, str, Issue | None]:
    """(project, issue type id, parent) a mapping key "<project>,<issue type id>[,<parent>]" names.

    Raises:
        ApiError: 400 for a project, issue type or parent the site does not have, or a type the project lacks.
    """
    parts = [p.strip() for p in mapping_key.split(",")]
    if len(parts) not in (2, 3) or not all(parts):
        raise move_error(f"Invalid target '{mapping_key}': use '<project id or key>,<issue type id>[,<parent>]'.")
    try:
        project = find_project(site, parts[0])
    except ApiError:
        raise move_error(f"The destination project '{parts[0]}' does not exist.") from None
    if parts[1] not in project.issue_types:
        raise move_error(f"The issue type '{parts[1]}' is not available in project {project.key}.")
    parent = site.issue(parts[2]) if len(parts) == 3 else None
    if len(parts) == 3 and (parent is None or parent.project != project.id):
        raise move_error(f"The destination parent '{parts[2]}' is not an issue of project {project.key}.")
    return project, parts[1], parent


def move(site: Site, issue: Issue, project: Project, type_id: str, parent: Issue | None, author: str) -> None:
    """Move one issue: a new key in `project` (the old one still finds it), the status kept where the target
    workflow has it (else its initial status), the old project's components and versions dropped."""
    before = Issue(**{**issue.__dict__})
    old_key, old_project = issue.key, site.projects[issue.project]
    statuses = {project.workflow.initial, *(t.to for t in project.workflow.transitions)}
    issue.former_keys = [*issue.former_keys, old_key]
    issue.key = f"{project.key}-{project.next_number}"
    project.next_number += 1
    issue.project, issue.issuetype = project.id, type_id
    if issue.status not in statuses:
        issue.status = project.workflow.initial
    issue.components, issue.fix_versions, issue.versions = [], [], []
    if parent is not None:
        issue.parent = parent.id
    elif issue.parent is not None and site.issues[issue.parent].project != project.id:
        issue.parent = None
    issue.updated = site.clock
    items = [ChangeItem("project", "project", old_project.id, old_project.name, project.id, project.name),
             ChangeItem("Key", "key", None, old_key, None, issue.key), *history.changes(site, before, issue)]
    history.record(site, issue.id, author, items)


def submit_move(site: Site, req: Request) -> Response:
    """`POST /bulk/issues/move`: every valid mapping is carried out now; the task says what happened."""
    mappings = req.body.get("targetToSourcesMapping") or {}
    if not mappings:
        raise move_error("targetToSourcesMapping must map at least one target to the issues to move.")
    author = actor(site, req)
    plan: list[tuple[Issue, Project, str, Issue | None]] = []
    invalid = 0
    for key, mapping in mappings.items():
        project, type_id, parent = move_target(site, key)
        refs = mapping.get("issueIdsOrKeys") or []
        if not refs:
            raise move_error(f"The mapping '{key}' names no issues in issueIdsOrKeys.")
        if mapping.get("inferStatusDefaults") is False and not mapping.get("targetStatus"):
            raise move_error(f"The mapping '{key}' needs targetStatus, or inferStatusDefaults set to true.")
        is_subtask = site.issue_types[type_id].subtask
        if is_subtask and parent is None:
            raise move_error(f"The mapping '{key}' moves issues to a sub-task type: name their parent in the key.")
        for ref in refs:
            issue = site.issue(str(ref))
            if issue is None or site.issue_types[issue.issuetype].subtask != is_subtask:
                invalid += 1
                continue
            plan.append((issue, project, type_id, parent))
    when = site.tick()
    failed: dict[str, list[str]] = {}
    moved: list[int] = []
    for issue, project, type_id, parent in plan:
        if issue.project == project.id and issue.issuetype == type_id:
            failed[issue.id] = [f"The issue {issue.key} is already in project {project.key} with that type."]
            continue
        subtasks = [c for c in children_of(site, issue) if site.issue_types[c.issuetype].subtask]
        move(site, issue, project, type_id, parent, author)
        for sub in subtasks:  # sub-tasks follow their parent
            move(site, sub, project, sub.issuetype if sub.issuetype in project.issue_types else type_id, issue,
                 author)
        moved.append(int(issue.id))
    task_id = str(10000 + len(site.history.tasks))
    site.history.tasks[task_id] = {
        "taskId": task_id, "status": "COMPLETE", "progressPercent": 100, "submittedBy": user_json(site, author),
        "created": when, "started": when, "updated": when, "totalIssueCount": len(plan) + invalid,
        "processedAccessibleIssues": moved, "failedAccessibleIssues": failed,
        "invalidOrInaccessibleIssueCount": invalid}
    return Response(201, {"taskId": task_id}, {"Location": url(f"{TASK_URL}/{task_id}")})


def get_task(site: Site, req: Request) -> Response:
    task = site.history.tasks.get(req.params["taskId"])
    if task is None:
        raise move_error(f"No bulk operation task with id '{req.params['taskId']}' exists.")
    return Response(200, dict(task))


# -- remote links ---------------------------------------------------------------------------------------------
def remote_link_json(issue: Issue, link: RemoteLink) -> dict[str, Any]:
    """`RemoteIssueLink`."""
    out: dict[str, Any] = {"id": int(link.id), "self": url(f"{API}/issue/{issue.key}/remotelink/{link.id}")}
    if link.global_id is not None:
        out["globalId"] = link.global_id
    if link.application is not None:
        out["application"] = link.application
    out["relationship"] = link.relationship or "links to"
    out["object"] = link.object
    return out


def remote_values(body: dict[str, Any]) -> tuple[dict[str, Any], str | None, str | None, dict[str, Any] | None]:
    """(object, globalId, relationship, application) of a `RemoteIssueLinkRequest`.

    Raises:
        ApiError: 400 naming the field: an object without a title or URL, a global id over 255 characters.
    """
    thing = body.get("object") or {}
    for name in ("url", "title"):
        if not isinstance(thing.get(name), str) or not thing[name].strip():
            raise jira_error(400, errors={name: f"'{name}' is required."})
    global_id = body.get("globalId")
    if global_id is not None and len(str(global_id)) > 255:
        raise jira_error(400, errors={"globalId": "The global ID must be 255 characters or fewer."})
    return dict(thing), global_id, body.get("relationship"), body.get("application")


def record_remote(site: Site, issue: Issue, author: str, link: RemoteLink, added: bool) -> None:
    text = f'This issue links to "{link.object.get("title")}"'
    item = ChangeItem("RemoteIssueLink", "RemoteIssueLink", *((None, None, link.id, text) if added else
                                                              (link.id, text, None, None)))
    issue.updated = site.tick()
    history.record(site, issue.id, author, [item])


def get_remote_links(site: Site, req: Request) -> Response:
    issue = find_issue(site, req)
    wanted = req.query.get("globalId")
    if wanted is None:
        return Response(200, [remote_link_json(issue, link) for link in issue.remote_links])  # type: ignore[arg-type]
    found = next((link for link in issue.remote_links if link.global_id == wanted), None)
    if found is None:
        raise jira_error(404, f"No remote link with global ID '{wanted}' on issue {issue.key}.")
    return Response(200, remote_link_json(issue, found))


def create_remote_link(site: Site, req: Request) -> Response:
    """Create a remote link, or update the one with the same `globalId` (200 then, 201 for a new one)."""
    issue = find_issue(site, req)
    thing, global_id, relationship, application = remote_values(req.body)
    author = actor(site, req)
    existing = next((link for link in issue.remote_links if global_id is not None and link.global_id == global_id),
                    None)
    if existing is not None:
        existing.object, existing.relationship, existing.application = thing, relationship, application
        issue.updated = site.tick()
        return Response(200, {"id": int(existing.id), "self": url(f"{API}/issue/{issue.key}/remotelink/"
                                                                  f"{existing.id}")})
    if len(issue.remote_links) >= MAX_REMOTE_LINKS:
        raise jira_error(413, f"The issue {issue.key} has the most remote links an issue can have.")
    lid = str(max([10000, *(int(x.id) for i in site.issues.values() for x in i.remote_links)]) + 1)
    link = RemoteLink(lid, thing, global_id, relationship, application)
    issue.remote_links.append(link)
    record_remote(site, issue, author, link, added=True)
    return Response(201, {"id": int(lid), "self": url(f"{API}/issue/{issue.key}/remotelink/{lid}")})


def find_remote(site: Site, req: Request) -> tuple[Issue, RemoteLink]:
    """The issue and its remote link of the path.

    Raises:
        ApiError: 404 for an unknown issue; 400 for a link id that is not a number or not the issue's.
    """
    issue = find_issue(site, req)
    lid = req.params["linkId"]
    found = next((link for link in issue.remote_links if link.id == lid), None)
    if found is None:
        raise jira_error(400 if not lid.isdigit() or any(lid == x.id for i in site.issues.values()
                                                         for x in i.remote_links) else 404,
                         f"The remote link '{lid}' does not exist on issue {issue.key}.")
    return issue, found


def get_remote_link(site: Site, req: Request) -> Response:
    issue, link = find_remote(site, req)
    return Response(200, remote_link_json(issue, link))


def update_remote_link(site: Site, req: Request) -> Response:
    issue, link = find_remote(site, req)
    link.object, link.global_id, link.relationship, link.application = remote_values(req.body)
    issue.updated = site.tick()
    return Response(204)


def delete_remote_link(site: Site, req: Request) -> Response:
    issue, link = find_remote(site, req)
    issue.remote_links.remove(link)
    record_remote(site, issue, actor(site, req), link, added=False)
    return Response(204)


def delete_remote_link_by_global_id(site: Site, req: Request) -> Response:
    issue = find_issue(site, req)
    found = next((link for link in issue.remote_links if link.global_id == req.query["globalId"]), None)
    if found is None:
        raise jira_error(404, f"No remote link with global ID '{req.query['globalId']}' on issue {issue.key}.")
    issue.remote_links.remove(found)
    record_remote(site, issue, actor(site, req), found, added=False)
    return Response(204)


HANDLERS: dict[str, Callable[[Site, Request], Response]] = {
    "deleteIssue": delete_issue, "submitBulkMove": submit_move, "getBulkOperationProgress": get_task,
    "getRemoteIssueLinks": get_remote_links, "createOrUpdateRemoteIssueLink": create_remote_link,
    "getRemoteIssueLinkById": get_remote_link, "updateRemoteIssueLink": update_remote_link,
    "deleteRemoteIssueLinkById": delete_remote_link,
    "deleteRemoteIssueLinkByGlobalId": delete_remote_link_by_global_id,
}
