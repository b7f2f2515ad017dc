"""Confluence Cloud v1 search: `/wiki/rest/api/search` (pages, comments and spaces), `/content/search`
(content only) and `/search/user`, by CQL (see cql.py) over the site's records.

Results are in creation order unless the query has ORDER BY; paging follows Cloud's cursors (`_links.next`
and `prev`, relative to the /wiki context), and `start` where the operation has it. Excerpts are the
start of the plain text, without highlight markers.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from . import cql
from .confluence import acting, v2_time
from .confluence_v1 import (
    CONTEXT,
    MAX_LIMIT,
    Item,
    ancestors,
    concrete,
    content_json,
    expansions,
    friendly,
    page_of,
    space_json,
    user_json,
)
from .documents import storage_text
from .http import ApiError, Request, Response, confluence_v1_error, url
from .site import Page, Site, Space

EXCERPT = 200
_SPACES = re.compile(r"\s+")


def records(site: Site, statuses: tuple[str, ...], spaces: bool) -> list[dict[str, Any]]:
    """The site's searchable entities as CQL records; `_item` holds the page, comment or space."""
    out: list[dict[str, Any]] = []
    for page in site.pages.values():
        if page.status not in statuses:
            continue
        space = site.spaces[page.space]
        where = {"space": space.key, "space.title": space.name, "space.type": space.type}
        labels = [site.labels[i].name for i in page.labels]
        out.append({"type": "page", "id": page.id, **where, "title": page.title, "label": labels,
                    "text": [page.title, storage_text(page.body), *labels],
                    "ancestor": [a.id for a in ancestors(site, page)], "parent": page.parent, "creator": page.author,
                    "contributor": page.author, "created": page.created, "lastmodified": page.updated, "_item": page})
        if page.status == "current":
            out += [{"type": "comment", "id": c.id, **where, "title": f"Re: {page.title}",
                     "text": storage_text(c.body), "creator": c.author, "contributor": c.author,
                     "created": c.created, "lastmodified": c.created, "_item": c} for c in page.comments]
    if spaces:
        out += [{"type": "space", "id": s.id, "space": s.key, "space.title": s.name, "space.type": s.type,
                 "title": s.name, "text": [s.name, s.description], "creator": s.author, "created": s.created,
                 "lastmodified": s.created, "_item": s} for s in site.spaces.values() if s.status == "current"]
    return out


def cql_error(exc: cql.CqlError) -> ApiError:
    """Cloud's 400 for a query it cannot run; the reason is in `data.errors`."""
    return ApiError(Response(400, {"statusCode": 400, "message": str(exc), "data": {
        "authorized": True, "valid": False, "successful": False,
        "errors": [{"message": {"translation": exc.reason, "args": []}}]}}))


def context(site: Site, req: Request) -> tuple[dict[str, Any], tuple[str, ...]]:
    """(the CQL context: user, clock, cqlcontext's space and content; the content statuses searched)."""
    raw = req.query.get("cqlcontext")
    given: Any = {}
    if raw:
        try:
            given = json.loads(str(raw))
        except ValueError:
            given = None
        if not isinstance(given, dict):
            raise confluence_v1_error(400, "cqlcontext must be a JSON object, such as {\"spaceKey\": \"DEV\", "
                                           "\"contentId\": \"123\", \"contentStatuses\": [\"current\"]}.")
    statuses = given.get("contentStatuses") or ["current"]
    if not isinstance(statuses, list) or not all(isinstance(s, str) for s in statuses):
        raise confluence_v1_error(400, "cqlcontext.contentStatuses must be a list of statuses.")
    space, content = given.get("spaceKey"), given.get("contentId")
    return ({"current_user": acting(site, req), "now": site.clock,
             "space": str(space) if space is not None else None,
             "content": str(content) if content is not None else None}, tuple(statuses))


def run(site: Site, req: Request, spaces: bool) -> tuple[str, list[dict[str, Any]]]:
    query = str(req.query["cql"])
    ctx, statuses = context(site, req)
    try:
        return query, cql.search(query, records(site, statuses, spaces), **ctx)
    except cql.CqlError as exc:
        raise cql_error(exc) from None


def cursor_page(req: Request, items: list[Any], limit_cap: int) -> tuple[list[Any], int, int, dict[str, str]]:
    """(the items on this page, start, limit, next/prev links): Cloud's opaque cursors, or `start`."""
    q = req.query
    limit = min(max(0, int(q.get("limit", 25))), limit_cap)
    start = 0
    if q.get("cursor"):
        try:
            start = int(base64.urlsafe_b64decode(str(q["cursor"]).encode()).decode())
        except (ValueError, UnicodeError):
            raise confluence_v1_error(400, "The cursor is not valid: use the one in _links.next.") from None
    elif isinstance(q.get("start"), int):
        start = max(0, q["start"])
    kept = {k: ",".join(map(str, v)) if isinstance(v, list) else v for k, v in q.items()
            if k not in ("cursor", "start", "next", "prev", "limit")}
    links: dict[str, str] = {}
    for name, to in (("next", start + limit), ("prev", start - limit)):
        if (name == "next" and limit and to < len(items)) or (name == "prev" and start > 0):
            cursor = base64.urlsafe_b64encode(str(max(0, to)).encode()).decode()
            links[name] = f"{concrete(req)}?{urlencode({name: 'true', 'cursor': cursor, 'limit': limit, **kept})}"
    return items[start:start + limit], start, limit, links


def envelope(req: Request, query: str, results: list[dict[str, Any]], total: int, start: int, limit: int,
             links: dict[str, str]) -> dict[str, Any]:
    return {"results": results, "start": start, "limit": limit, "size": len(results), "totalSize": total,
            "cqlQuery": query, "searchDuration": 0, "archivedResultCount": 0,
            "_links": {"base": url(CONTEXT), "context": CONTEXT, **links, "self": url(CONTEXT + concrete(req))}}


def limit_cap(tree: dict[str, Any]) -> int:
    """Cloud's limit: 25 when rendered bodies are expanded, else the usual maximum."""
    return 25 if {"export_view", "styled_view"} & set(tree.get("body", {})) else MAX_LIMIT


def excerpt(text: str, strategy: Any) -> str:
    return "" if strategy == "none" else _SPACES.sub(" ", text).strip()[:EXCERPT]


def result_json(site: Site, record: dict[str, Any], tree: dict[str, Any], strategy: Any) -> dict[str, Any]:
    """One SearchResult: a content result or a space result."""
    item = record["_item"]
    if isinstance(item, Space):
        return {"space": space_json(site, item, tree.get("space")), "title": item.name,
                "excerpt": excerpt(item.description, strategy), "url": f"/spaces/{item.key}", "breadcrumbs": [],
                "entityType": "space", "iconCssClass": "aui-icon space-avatar",
                "lastModified": v2_time(item.created), "friendlyLastModified": friendly(item.created), "score": 1.0}
    content = content_json(site, item, tree.get("content"))
    space = site.spaces[item.space] if isinstance(item, Page) else site.spaces[record_page(site, item).space]
    return {"content": content, "title": content["title"], "excerpt": excerpt(storage_text(item.body), strategy),
            "url": content["_links"]["webui"], "resultGlobalContainer": {"title": space.name,
                                                                        "displayUrl": f"/spaces/{space.key}"},
            "breadcrumbs": [], "entityType": "content", "iconCssClass": f"aui-icon content-type-{content['type']}",
            "lastModified": v2_time(record["lastmodified"]), "friendlyLastModified": friendly(record["lastmodified"]),
            "score": 1.0}


def record_page(site: Site, item: Item) -> Page:
    return next(p for p in site.pages.values() if item in p.comments)


def search(site: Site, req: Request) -> Response:
    query, found = run(site, req, spaces=True)
    tree = expansions(req)
    shown, start, limit, links = cursor_page(req, found, limit_cap(tree.get("content", {})))
    results = [result_json(site, r, tree, req.query.get("excerpt")) for r in shown]
    return Response(200, envelope(req, query, results, len(found), start, limit, links))


def search_content(site: Site, req: Request) -> Response:
    query, found = run(site, req, spaces=False)
    tree = expansions(req)
    shown, start, limit, links = cursor_page(req, found, limit_cap(tree))
    results = [content_json(site, r["_item"], tree) for r in shown]
    body = envelope(req, query, results, len(found), start, limit, links)
    del body["archivedResultCount"]
    return Response(200, body)


def search_users(site: Site, req: Request) -> Response:
    query = str(req.query["cql"])
    people = [{"type": "user", "user": u.account_id, "user.accountid": u.account_id, "user.userkey": u.account_id,
               "user.fullname": u.display_name, "_user": u.account_id} for u in site.users.values() if u.active]
    try:
        found = cql.search(query, people, users=True, current_user=acting(site, req), now=site.clock)
    except cql.CqlError as exc:
        raise cql_error(exc) from None
    shown, start, limit, following = page_of(req, found)
    results = [{"user": user_json(site, r["_user"]), "title": r["user.fullname"], "excerpt": "",
                "url": f"/people/{r['_user']}", "breadcrumbs": [], "entityType": "user",
                "iconCssClass": "aui-icon content-type-profile", "lastModified": v2_time(site.clock),
                "score": 0.0} for r in shown]
    links = {"next": following} if following else {}
    return Response(200, envelope(req, query, results, len(found), start, limit, links))


HANDLERS: dict[str, Callable[[Site, Request], Response]] = {
    "searchByCQL": search, "searchContentByCQL": search_content, "searchUser": search_users,
}
