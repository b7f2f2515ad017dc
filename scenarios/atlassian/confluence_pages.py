"""Confluence Cloud v1 REST handlers for what a page carries beyond its content: copies, restrictions (who may
read and update it: kept and reported as Confluence reports them, not enforced) and content properties (the
site's pages have none)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from .confluence import acting, check_title, last_position, remember
from .confluence_v1 import (
    API,
    CONTEXT,
    body_of,
    collection,
    content_json,
    expansions,
    find,
    page_of,
    space_by_key,
    user_json,
    v1_errors,
    with_defaults,
)
from .http import Request, Response, confluence_v1_error, url
from .jira_reference import group_id
from .site import Page, Site

OPERATIONS = ("read", "update")  # the restrictions a page takes
KINDS = ("user", "group")


def find_page(site: Site, content_id: str) -> Page:
    """The current page with this id.

    Raises:
        ApiError: 404 for anything else (a comment, a trashed or missing page).
    """
    item, page = find(site, content_id)
    if item is not page:
        raise confluence_v1_error(404, f"Content {content_id} is a comment: only pages are copied or restricted.")
    return page


# -- copies ---------------------------------------------------------------------------------------------------
def copy_page(site: Site, req: Request) -> Response:
    """`POST /content/{id}/copy`: to a space's root (`space`), under a page (`parent_page`), or over a page
    (`existing_page`, a new version of it); labels and restrictions only when asked."""
    source = find_page(site, req.params["id"])
    b = req.body
    kind, value = b["destination"].get("type"), str(b["destination"].get("value") or "")
    title = b.get("pageTitle") or source.title
    storage, adf = (source.body, source.adf)
    if b.get("body"):
        storage, adf = body_of({"body": {k: v for k, v in b["body"].items() if v is not None}})
    if kind == "existing_page":
        target = site.pages.get(value)
        if target is None or target.status != "current":
            raise confluence_v1_error(404, f"The destination page {value} was not found.")
        with v1_errors():
            target.title = check_title(site, target.space, title, exclude=target.id)
        remember(site, target)
        target.body, target.adf = storage, adf
        target.version += 1
        target.updated = site.tick()
        page = target
    else:
        if kind == "space":
            space, parent = space_by_key(site, value), None
        elif kind == "parent_page":
            parent_page = site.pages.get(value)
            if parent_page is None or parent_page.status != "current":
                raise confluence_v1_error(404, f"The destination page {value} was not found.")
            space, parent = site.spaces[parent_page.space], parent_page.id
        else:
            raise confluence_v1_error(400, f"Invalid destination type '{kind}': use space, parent_page or "
                                           f"existing_page.")
        with v1_errors():
            title = check_title(site, space.id, title)
        when = site.tick()
        page = Page(site.new_id(), space.id, title, parent, storage, acting(site, req), when, when, adf=adf,
                    position=last_position(site, parent))
        site.pages[page.id] = page
    if b.get("copyLabels"):
        page.labels = list(dict.fromkeys([*page.labels, *source.labels]))
    if b.get("copyPermissions"):
        page.restrictions = {op: {k: list(v) for k, v in kinds.items()} for op, kinds in source.restrictions.items()}
    return Response(200, content_json(site, page, with_defaults(expansions(req)), single=True))


# -- restrictions ---------------------------------------------------------------------------------------------
def restriction_json(site: Site, page: Page, operation: str) -> dict[str, Any]:
    """`ContentRestriction`: the users and groups an operation is restricted to (none: anyone may)."""
    given = page.restrictions.get(operation, {})
    users = [user_json(site, a) for a in given.get("user", [])]
    groups = [{"type": "group", "name": g, "id": group_id(g)} for g in given.get("group", [])]
    where = f"{CONTEXT}{API}/content/{page.id}/restriction/byOperation/{operation}"
    return {"operation": operation,
            "restrictions": {"user": {"results": users, "start": 0, "limit": 200, "size": len(users)},
                             "group": {"results": groups, "start": 0, "limit": 200, "size": len(groups)}},
            "_expandable": {"content": f"{API}/content/{page.id}"}, "_links": {"self": url(where)}}


def restrictions_json(site: Site, page: Page, req: Request) -> dict[str, Any]:
    """`ContentRestrictionArray`."""
    results = [restriction_json(site, page, op) for op in OPERATIONS]
    shown, start, limit, following = page_of(req, results, default_limit=100)
    out = collection(req, shown, start, limit, following)
    out["restrictionsHash"] = hashlib.sha1(json.dumps(page.restrictions, sort_keys=True).encode()).hexdigest()
    return out


def get_restrictions(site: Site, req: Request) -> Response:
    return Response(200, restrictions_json(site, find_page(site, req.params["id"]), req))


def get_restrictions_by_operation(site: Site, req: Request) -> Response:
    page = find_page(site, req.params["id"])
    out: dict[str, Any] = {op: restriction_json(site, page, op) for op in OPERATIONS}
    out["_links"] = {"base": url(CONTEXT), "context": CONTEXT}
    return Response(200, out)


def requested(site: Site, body: Any) -> dict[str, dict[str, list[str]]]:
    """The restrictions a `ContentRestrictionAddOrUpdateArray` asks for, by operation and kind.

    Raises:
        ApiError: 400 for an operation other than read or update, an unknown account or group, or an entry
            that restricts to nobody.
    """
    items = body.get("results") if isinstance(body, dict) else body
    out: dict[str, dict[str, list[str]]] = {}
    for item in items or []:
        operation = item["operation"]
        if operation not in OPERATIONS:
            raise confluence_v1_error(400, f"Pages take 'read' and 'update' restrictions, not '{operation}'.")
        given = item["restrictions"]
        users = given.get("user") or []
        users = users.get("results", []) if isinstance(users, dict) else users
        accounts, names = [], []
        for user in users:
            account = user.get("accountId") if isinstance(user, dict) else None
            if account not in site.users:
                raise confluence_v1_error(400, f"No user with accountId '{account}' exists.")
            accounts.append(account)
        for group in given.get("group") or []:
            name = group.get("name") or next((g for g in site.groups if group_id(g) == group.get("id")), None)
            if name not in site.groups:
                raise confluence_v1_error(400, f"No group '{group.get('name') or group.get('id')}' exists.")
            names.append(name)
        if not accounts and not names:
            raise confluence_v1_error(400, f"The '{operation}' restriction names no user and no group.")
        kinds = out.setdefault(operation, {})
        for kind, values in (("user", accounts), ("group", names)):
            if values:
                kinds[kind] = list(dict.fromkeys([*kinds.get(kind, []), *values]))
    return out


def update_restrictions(site: Site, req: Request) -> Response:
    """`PUT`: the restrictions become those asked for."""
    page = find_page(site, req.params["id"])
    page.restrictions = requested(site, req.body)
    site.tick()
    return Response(200, restrictions_json(site, page, req))


def add_restrictions(site: Site, req: Request) -> Response:
    """`POST`: the users and groups asked for are added to the page's restrictions."""
    page = find_page(site, req.params["id"])
    for operation, kinds in requested(site, req.body).items():
        current = page.restrictions.setdefault(operation, {})
        for kind, values in kinds.items():
            current[kind] = list(dict.fromkeys([*current.get(kind, []), *values]))
    site.tick()
    return Response(200, restrictions_json(site, page, req))


def delete_restrictions(site: Site, req: Request) -> Response:
    page = find_page(site, req.params["id"])
    page.restrictions = {}
    site.tick()
    return Response(200, restrictions_json(site, page, req))


# -- content properties ---------------------------------------------------------------------------------------
def get_properties(site: Site, req: Request) -> Response:
    find(site, req.params["id"])
    return Response(200, collection(req, [], 0, int(req.query.get("limit") or 10), None))


HANDLERS: dict[str, Callable[[Site, Request], Response]] = {
    "copyPage": copy_page, "getRestrictions": get_restrictions,
    "getRestrictionsByOperation": get_restrictions_by_operation, "updateRestrictions": update_restrictions,
    "addRestrictions": add_restrictions, "deleteRestrictions": delete_restrictions,
    "getContentProperties": get_properties,
}
