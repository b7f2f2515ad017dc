"""Confluence Cloud v2 handlers (plus the v1 route that adds labels): (site, request) -> response.

Pages keep their earlier versions (in the site's history, beside the state); comments may answer comments
(replies); an inline comment is anchored to a passage of the page's text."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from .documents import adf_errors, adf_to_storage, storage_errors, storage_text, storage_to_adf
from .http import Request, Response, confluence_error, confluence_v1_error, url
from .site import FooterComment, Label, Page, PageVersion, Site, Space

V2 = "/wiki/api/v2"


def acting(site: Site, req: Request) -> str:
    """The authenticated user's account id (the site's own user for tool calls and unknown credentials)."""
    return req.user if req.user in site.users else site.myself


def filled(req: Request) -> str:
    """The request's path with its path parameters filled in."""
    path = req.path
    for name, value in req.params.items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    return path


def v2_time(when: str) -> str:
    """The site clock ("...000+0000", Jira's form) as Confluence v2 writes times: RFC 3339, "...000Z"."""
    return when[:-5] + "Z" if when.endswith("+0000") else when


def version_json(number: int, when: str, author: str) -> dict[str, Any]:
    return {"createdAt": v2_time(when), "message": "", "number": number, "minorEdit": False, "authorId": author}


def page_links(p: Page) -> dict[str, str]:
    return {"webui": f"/spaces/{p.space}/pages/{p.id}", "editui": f"/pages/resumedraft.action?draftId={p.id}",
            "tinyui": f"/x/{p.id}"}


def body_json(p: Page, fmt: str | None) -> dict[str, Any]:
    if fmt == "storage":
        return {"storage": {"representation": "storage", "value": p.body}}
    if fmt == "atlas_doc_format":
        return {"atlas_doc_format": {"representation": "atlas_doc_format",
                                     "value": p.adf or storage_to_adf(p.body)}}
    if fmt in ("view", "export_view", "anonymous_export_view", "styled_view", "editor"):
        return {fmt: {"representation": fmt, "value": p.body}}
    return {}


def page_json(site: Site, p: Page, fmt: str | None, single: bool = True, labels: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": p.id, "status": p.status, "title": p.title, "spaceId": p.space, "parentId": p.parent,
        "parentType": "page", "position": p.position, "authorId": p.author,
        "ownerId": p.author, "lastOwnerId": None, "createdAt": v2_time(p.created),
        "version": version_json(p.version, p.updated, p.author), "body": body_json(p, fmt),
        "_links": page_links(p),
    }
    if p.parent is None:  # a root page: the schema types both as non-null strings, so they are left out
        del out["parentId"], out["parentType"]
    if single:
        out["_links"]["base"] = url("/wiki")
    if labels:
        out["labels"] = {"results": [label_json(site.labels[i]) for i in p.labels],
                         "meta": {"hasMore": False, "cursor": ""}, "_links": {"self": f"{V2}/pages/{p.id}/labels"}}
    return out


def label_json(label: Label) -> dict[str, Any]:
    return {"id": label.id, "name": label.name, "prefix": label.prefix}


def space_json(s: Space) -> dict[str, Any]:
    return {"id": s.id, "key": s.key, "name": s.name, "type": s.type, "status": s.status, "authorId": s.author,
            "createdAt": v2_time(s.created), "homepageId": s.homepage,
            "description": {"plain": {"representation": "plain", "value": s.description}},
            "_links": {"webui": f"/spaces/{s.key}"}}


def listing(req: Request, items: list[Any], render: Callable[[Any], dict[str, Any]]) -> Response:
    """A cursor page of results with `_links.next` and the `Link` header, as v2 list endpoints answer."""
    limit = req.query.get("limit", 25)
    if not 1 <= limit <= 250:
        raise confluence_error(400, "limit must be between 1 and 250")
    start = 0
    if req.query.get("cursor"):
        try:
            start = int(base64.urlsafe_b64decode(str(req.query["cursor"]).encode()).decode())
        except (ValueError, UnicodeError):
            raise confluence_error(400, "Invalid cursor") from None
    page = items[start:start + limit]
    links: dict[str, str] = {"base": url("/wiki")}
    headers: dict[str, str] = {}
    if start + limit < len(items):
        cursor = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
        query = {k: ",".join(map(str, v)) if isinstance(v, list) else v for k, v in req.query.items()
                 if k != "cursor"}
        links["next"] = f"{filled(req)}?{urlencode({**query, 'cursor': cursor})}"
        headers["Link"] = f'<{links["next"]}>; rel="next", <{links["base"]}>; rel="base"'
    return Response(200, {"results": [render(i) for i in page], "_links": links}, headers)


def find_page(site: Site, page_id: str) -> Page:
    page = site.pages.get(page_id)
    if page is None or page.status not in ("current", "archived", "draft"):
        raise confluence_error(404, None)
    return page


def read_body(body: Any) -> tuple[str, str | None]:
    """(storage value, ADF value if written in ADF) of a PageBodyWrite or PageNestedBodyWrite."""
    if isinstance(body, dict) and "representation" not in body and len(body) == 1:
        key, body = next(iter(body.items()))
        if isinstance(body, dict) and "representation" not in body and key in ("storage", "atlas_doc_format", "wiki"):
            body = {**body, "representation": key}  # PageNestedBodyWrite: the key names the representation
    if not isinstance(body, dict) or not isinstance(body.get("value"), str):
        raise confluence_error(400, "body must have a representation and a string value")
    representation, value = body.get("representation"), body["value"]
    if representation == "storage":
        problem = storage_errors(value)
        if problem:
            raise confluence_error(400, problem)
        return value, None
    if representation == "atlas_doc_format":
        try:
            doc = json.loads(value)
        except (ValueError, RecursionError):
            raise confluence_error(400, "atlas_doc_format value is not valid JSON") from None
        problem = adf_errors(doc)
        if problem:
            raise confluence_error(400, f"Invalid atlas_doc_format: {problem}")
        return adf_to_storage(doc), value
    if representation == "wiki":
        from html import escape

        return "".join(f"<p>{escape(line, quote=False)}</p>" for line in value.splitlines() if line.strip()), None
    raise confluence_error(400, "body representation must be one of storage, atlas_doc_format, wiki")


def check_title(site: Site, space: str, title: Any, exclude: str | None = None) -> str:
    if not isinstance(title, str) or not title.strip():
        raise confluence_error(400, "Title is required for a published page.")
    if len(title) > 255:
        raise confluence_error(400, "Title cannot be longer than 255 characters.")
    for p in site.pages.values():
        if p.space == space and p.status == "current" and p.title == title and p.id != exclude:
            raise confluence_error(400, "A page with this title already exists: A page already exists with "
                                        "the same TITLE in this space")
    return title


def remember(site: Site, page: Page) -> None:
    """Keep the page's current version in its history: call before a write that makes a new version."""
    site.history.pages.setdefault(page.id, []).append(
        PageVersion(page.version, page.title, page.body, page.adf, page.author, page.updated))


def replies_to(page: Page, comment: FooterComment) -> list[FooterComment]:
    return [c for c in page.comments if c.parent == comment.id]


def root_comments(page: Page, inline: bool | None = False) -> list[FooterComment]:
    """The comments on the page itself, not the replies that hang under them: the footer comments, the inline
    ones (`inline` True) or both (None)."""
    return [c for c in page.comments if c.parent is None and (inline is None or (c.inline is not None) == inline)]


def trash_page(site: Site, page: Page, error: Callable[[int, str], Exception]) -> None:
    """Move a page to the trash; its children move up to its parent, as Confluence does.

    Raises:
        Exception: `error(400, ...)` for a space's home page.
    """
    if any(s.homepage == page.id for s in site.spaces.values()):
        raise error(400, "A space's home page cannot be deleted: make another page the home page first.")
    for child in sorted((p for p in site.pages.values() if p.parent == page.id and p.status == "current"),
                        key=lambda p: p.position):
        child.parent, child.position = page.parent, last_position(site, page.parent)
    page.status = "trashed"
    page.updated = site.tick()


def last_position(site: Site, parent: str | None) -> int:
    """The position after every child of `parent`: new and moved pages go last, as in the page tree."""
    return 1 + max((p.position for p in site.pages.values() if p.parent == parent and parent is not None),
                   default=-1)


def create_page(site: Site, req: Request) -> Response:
    b = req.body
    space = site.spaces.get(str(b["spaceId"]))
    if space is None:
        raise confluence_error(404, "Space not found, or you do not have permission to create a page in it.")
    status = b.get("status", "current")
    title = check_title(site, space.id, b.get("title")) if status == "current" else str(b.get("title") or "")
    if req.query.get("root-level") and b.get("parentId"):
        raise confluence_error(400, "parentId cannot be set for a root-level page.")
    parent = None if req.query.get("root-level") else b.get("parentId") or space.homepage
    if parent is not None:
        page = site.pages.get(str(parent))
        if page is None or page.space != space.id:
            raise confluence_error(404, f"Parent page {parent} was not found in space {space.key}.")
    storage, adf = read_body(b.get("body", {"representation": "storage", "value": ""}))
    when = site.tick()
    page = Page(site.new_id(), space.id, title, parent, storage, acting(site, req), when, when, status=status,
                adf=adf, position=last_position(site, parent))
    site.pages[page.id] = page
    return Response(200, page_json(site, page, "storage"))


def get_pages(site: Site, req: Request) -> Response:
    q = req.query
    pages = [p for p in site.pages.values() if p.status in (q.get("status") or ["current", "archived"])]
    if q.get("id"):
        pages = [p for p in pages if int(p.id) in q["id"]]
    if q.get("space-id"):
        pages = [p for p in pages if int(p.space) in q["space-id"]]
    if q.get("title"):
        pages = [p for p in pages if p.title == q["title"]]
    return listing(req, sort_pages(pages, q.get("sort")), lambda p: page_json(site, p, q.get("body-format"),
                                                                              single=False))


def sort_pages(pages: list[Page], order: str | None) -> list[Page]:
    if not order:
        return pages
    key = order.lstrip("-")
    keys = {"id": lambda p: int(p.id), "title": lambda p: p.title, "created-date": lambda p: p.created,
            "modified-date": lambda p: p.updated}
    return sorted(pages, key=keys.get(key, keys["id"]), reverse=order.startswith("-"))


def get_page(site: Site, req: Request) -> Response:
    page = find_page(site, req.params["id"])
    return Response(200, page_json(site, page, req.query.get("body-format"), labels=bool(
        req.query.get("include-labels"))))


def update_page(site: Site, req: Request) -> Response:
    page = find_page(site, req.params["id"])
    b = req.body
    if str(b["id"]) != page.id:
        raise confluence_error(400, "The page id in the body does not match the id in the path.")
    if b.get("spaceId") is not None and str(b["spaceId"]) != page.space:
        raise confluence_error(400, "Moving a page to another space is not supported.")
    version = b["version"].get("number")
    if not isinstance(version, int):
        raise confluence_error(400, "version.number is required.")
    if version != page.version + 1:
        raise confluence_error(409, f"Version must be incremented on update. Current version is: {page.version}")
    title = check_title(site, page.space, b["title"], exclude=page.id) if b["status"] == "current" else b["title"]
    parent = page.parent
    if b.get("parentId") is not None:
        parent = str(b["parentId"])
        target = site.pages.get(parent)
        if target is None or target.space != page.space:
            raise confluence_error(404, f"Parent page {parent} was not found in this space.")
        ancestor: str | None = parent
        while ancestor is not None:
            if ancestor == page.id:
                raise confluence_error(400, "A page cannot be moved under itself or its descendants.")
            ancestor = site.pages[ancestor].parent
    storage, adf = read_body(b["body"])
    remember(site, page)
    if parent != page.parent:  # a moved page goes last among its new siblings
        page.position = last_position(site, parent)
    page.title, page.parent, page.body, page.adf, page.status = title, parent, storage, adf, b["status"]
    page.version += 1
    page.updated = site.tick()
    return Response(200, page_json(site, page, "storage"))


def get_spaces(site: Site, req: Request) -> Response:
    q = req.query
    spaces = sorted(site.spaces.values(), key=lambda s: int(s.id))
    if q.get("keys"):
        spaces = [s for s in spaces if s.key in q["keys"]]
    if q.get("ids"):
        spaces = [s for s in spaces if int(s.id) in q["ids"]]
    return listing(req, spaces, space_json)


def get_space(site: Site, req: Request) -> Response:
    space = site.spaces.get(req.params["id"])
    if space is None:
        raise confluence_error(404, None)
    return Response(200, space_json(space))


def direct_children(site: Site, req: Request) -> Response:
    page = find_page(site, req.params["id"])
    kids = sorted((p for p in site.pages.values() if p.parent == page.id and p.status == "current"),
                  key=lambda p: p.position)
    return listing(req, kids, lambda p: {"id": p.id, "status": p.status, "title": p.title, "type": "page",
                                         "spaceId": p.space, "childPosition": p.position})


def page_labels(site: Site, req: Request) -> Response:
    page = find_page(site, req.params["id"])
    return listing(req, [site.labels[i] for i in page.labels], label_json)


def add_labels(site: Site, req: Request) -> Response:
    page = site.pages.get(req.params["id"])
    if page is None or page.status not in ("current", "draft", "archived") or not req.params["id"].isdigit():
        raise confluence_v1_error(404, f"No content found with id: ContentId{{id={req.params['id']}}}")
    items = req.body if isinstance(req.body, list) else [req.body]
    names = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or "prefix" not in item:
            raise confluence_v1_error(400, "Each label needs a 'prefix' and a 'name'.")
        name = item["name"].strip().lower()
        if item["prefix"] not in ("global", "my", "team"):
            raise confluence_v1_error(400, f"Invalid label prefix: {item['prefix']}")
        if not name or len(name) > 255 or any(c in name for c in " :;,.?&[]()#^*@!"):
            raise confluence_v1_error(400, f"Invalid label name: '{item['name']}'")
        names.append(name)
    if len(set(names) | {site.labels[i].name for i in page.labels}) > 500:
        raise confluence_v1_error(400, "The content would have too many labels.")
    for name in dict.fromkeys(names):
        label = site.label_named(name)
        if label is None:
            label = Label(site.new_id(), name)
            site.labels[label.id] = label
        if label.id not in page.labels:
            page.labels.append(label.id)
    results = [{**label_json(site.labels[i]), "label": site.labels[i].name} for i in page.labels]
    return Response(200, {"results": results, "start": 0, "limit": 200, "size": len(results),
                          "_links": {"self": url(f"/wiki/rest/api/content/{page.id}/label"),
                                     "base": url("/wiki"), "context": "/wiki"}})


def comment_json(c: FooterComment, fmt: str | None, single: bool = False) -> dict[str, Any]:
    body = {"storage": {"representation": "storage", "value": c.body}} if fmt == "storage" else (
        {"atlas_doc_format": {"representation": "atlas_doc_format", "value": storage_to_adf(c.body)}}
        if fmt == "atlas_doc_format" else {})
    out = {"id": c.id, "status": "current", "title": "", "pageId": c.page,
           "version": version_json(c.version, c.created, c.author), "body": body,
           "_links": {"webui": f"/pages/{c.page}?focusedCommentId={c.id}"}}
    if c.parent is not None:
        out["parentCommentId"] = c.parent
    if single:
        out["_links"]["base"] = url("/wiki")
    return out


def footer_comments(site: Site, req: Request) -> Response:
    page = find_page(site, req.params["id"])
    return listing(req, root_comments(page), lambda c: comment_json(c, req.query.get("body-format")))


def create_footer_comment(site: Site, req: Request) -> Response:
    b = req.body
    parent = None
    if b.get("parentCommentId"):  # a reply: on the page of the comment it answers
        page, answered = find_comment(site, str(b["parentCommentId"]))
        parent = answered.id
        if b.get("pageId") and str(b["pageId"]) != page.id:
            raise confluence_error(400, "The parent comment is not on the page given as pageId.")
    elif not b.get("pageId"):
        raise confluence_error(400, "A footer comment needs a pageId or a parentCommentId (blog posts, attachments "
                                    "and custom content are not on this site).")
    else:
        found_page = site.pages.get(str(b["pageId"]))
        if found_page is None or found_page.status != "current":
            raise confluence_error(404, "The page was not found.")
        page = found_page
    if "body" not in b:
        raise confluence_error(400, "body is required.")
    storage, _ = read_body(b["body"])
    if not storage:
        raise confluence_error(400, "The comment body cannot be empty.")
    comment = FooterComment(site.new_id(), page.id, storage, acting(site, req), site.tick(), parent=parent)
    page.comments.append(comment)
    return Response(201, comment_json(comment, "storage", single=True),
                    {"location": url(f"{V2}/footer-comments/{comment.id}")})


def delete_page(site: Site, req: Request) -> Response:
    """To the trash; with `purge=true` a trashed page is deleted for good, with `draft=true` a draft."""
    page = site.pages.get(req.params["id"])
    wanted = "trashed" if req.query.get("purge") else "draft" if req.query.get("draft") else "current"
    if page is None or page.status != wanted:
        raise confluence_error(404, None)
    if wanted == "current":
        trash_page(site, page, confluence_error)
    else:
        del site.pages[page.id]
        site.history.pages.pop(page.id, None)
        site.tick()
    return Response(204)


def versions_of(site: Site, page: Page) -> list[PageVersion]:
    """Every version of a page, the current one last."""
    current = PageVersion(page.version, page.title, page.body, page.adf, page.author, page.updated)
    return [*site.history.pages.get(page.id, []), current]


def page_versions(site: Site, req: Request) -> Response:
    page = find_page(site, req.params["id"])
    versions = versions_of(site, page)
    if req.query.get("sort") != "modified-date":
        versions.reverse()  # newest first, the default order
    return listing(req, versions, lambda v: {**version_json(v.number, v.when, v.author),
                                             "page": {"id": page.id, "title": v.title}})


def find_comment(site: Site, comment_id: str) -> tuple[Page, FooterComment]:
    """(its page, the comment) of a comment on a current page.

    Raises:
        ApiError: 404 when there is none.
    """
    found = next(((p, c) for p in site.pages.values() if p.status == "current" for c in p.comments
                  if c.id == comment_id), None)
    if found is None:
        raise confluence_error(404, f"No comment with id {comment_id} was found.")
    return found


def comment_children(site: Site, req: Request) -> Response:
    page, comment = find_comment(site, req.params["id"])
    return listing(req, replies_to(page, comment), lambda c: {k: v for k, v in comment_json(
        c, req.query.get("body-format")).items() if k != "pageId"})


def marker(comment: FooterComment) -> str:
    """The reference of an inline comment's highlight in the page (Confluence's are UUIDs)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"inline-comment:{comment.id}"))


def inline_json(c: FooterComment, fmt: str | None, single: bool = False) -> dict[str, Any]:
    """`InlineCommentModel` (`PageInlineCommentModel` in a page's list)."""
    out = {k: v for k, v in comment_json(c, fmt, single).items() if k != "parentCommentId" or c.parent}
    out["resolutionStatus"] = "open"
    if c.inline is not None:
        out["properties"] = {"inlineMarkerRef": marker(c), "inlineOriginalSelection": c.inline}
    return out


def inline_comments(site: Site, req: Request) -> Response:
    page = find_page(site, req.params["id"])
    return listing(req, root_comments(page, inline=True), lambda c: inline_json(c, req.query.get("body-format")))


def create_inline_comment(site: Site, req: Request) -> Response:
    """An inline comment on the `textSelectionMatchIndex`-th of the `textSelectionMatchCount` places the text
    appears in the page, or a reply (`parentCommentId`) to one."""
    b = req.body
    parent, selection = None, None
    if b.get("parentCommentId"):
        page, answered = find_comment(site, str(b["parentCommentId"]))
        parent = answered.id
    else:
        page = site.pages.get(str(b.get("pageId") or ""))
        if page is None or page.status != "current":
            raise confluence_error(404, "The page was not found.")
        given = b.get("inlineCommentProperties") or {}
        selection, count, index = (given.get(k) for k in ("textSelection", "textSelectionMatchCount",
                                                          "textSelectionMatchIndex"))
        if not isinstance(selection, str) or not selection.strip():
            raise confluence_error(400, "inlineCommentProperties.textSelection is required: the text to highlight.")
        found = storage_text(page.body).count(selection)
        if found == 0:
            raise confluence_error(400, "The text to highlight does not appear on the page.")
        if count != found or not isinstance(index, int) or not 0 <= index < found:
            raise confluence_error(400, f"The text appears {found} times on the page: give textSelectionMatchCount "
                                        f"{found} and a textSelectionMatchIndex from 0 to {found - 1}.")
    if "body" not in b:
        raise confluence_error(400, "body is required.")
    storage, _ = read_body(b["body"])
    if not storage:
        raise confluence_error(400, "The comment body cannot be empty.")
    comment = FooterComment(site.new_id(), page.id, storage, acting(site, req), site.tick(), parent=parent,
                            inline=selection)
    page.comments.append(comment)
    return Response(201, inline_json(comment, "storage", single=True),
                    {"location": url(f"{V2}/inline-comments/{comment.id}")})


HANDLERS: dict[str, Callable[[Site, Request], Response]] = {
    "createPage": create_page, "getPages": get_pages, "getPageById": get_page, "updatePage": update_page,
    "getSpaces": get_spaces, "getSpaceById": get_space, "getPageDirectChildren": direct_children,
    "getPageLabels": page_labels, "addLabelsToContent": add_labels, "getPageFooterComments": footer_comments,
    "createFooterComment": create_footer_comment,
    "deletePage": delete_page, "getPageVersions": page_versions, "getFooterCommentChildren": comment_children,
    "getPageInlineComments": inline_comments, "createInlineComment": create_inline_comment,
}
