"""Confluence Cloud v1 REST handlers (`/wiki/rest/api/...`): content, history, children, labels, spaces and
users, over the same site the v2 handlers serve. A page written through one API reads back through the other.

A v1 content object is a page or a footer comment. Responses carry what the client asked for with `expand`
(`body.storage`, `version`, `space`, `history.lastUpdated`, `ancestors`, `children.page`, `metadata.labels`,
`container`, `childTypes.all`, ...), everything else under `_expandable`, as Cloud answers. Relative links
(`_links.next`, `_expandable`) are relative to the `/wiki` context, as Cloud writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus, urlencode

from .confluence import (
    acting,
    check_title,
    filled,
    last_position,
    marker,
    read_body,
    remember,
    replies_to,
    root_comments,
    trash_page,
    v2_time,
)
from .documents import storage_to_adf
from .http import ApiError, Request, Response, confluence_v1_error, url
from .site import FooterComment, Page, Site, Space

API = "/rest/api"  # under the /wiki context
CONTEXT = "/wiki"
DEFAULT_EXPAND = ("space", "history", "version")
RENDERED = ("view", "export_view", "styled_view", "anonymous_export_view", "editor", "editor2")
BODY_FORMATS = ("storage", "atlas_doc_format", *RENDERED, "wiki", "dynamic", "raw")
PAGE_EXPANDABLE = ("childTypes", "container", "metadata", "operations", "schedulePublishDate", "children",
                   "restrictions", "history", "ancestors", "schedulePublishInfo", "body", "version", "descendants",
                   "space")
MAX_LIMIT = 200
STATUSES = ("current", "trashed", "deleted", "historical", "draft", "any")  # the `status` filter's values
Item = Page | FooterComment
Tree = dict[str, "Tree"]


# -- lookups ------------------------------------------------------------------------------------------------
def not_found(content_id: str) -> ApiError:
    return confluence_v1_error(404, f"No content found with id: ContentId{{id={content_id}}}")


def find(site: Site, content_id: str, statuses: tuple[str, ...] = ("current",)) -> tuple[Item, Page]:
    """(the page or comment, its page) with this id and one of these statuses.

    Raises:
        ApiError: 404 when there is none.
    """
    page = site.pages.get(content_id) if content_id.isdigit() else None
    if page is not None:
        if page.status in statuses or "any" in statuses:
            return page, page
        raise not_found(content_id)
    if content_id.isdigit() and ("current" in statuses or "any" in statuses):
        for page in site.pages.values():
            for comment in page.comments:
                if comment.id == content_id and page.status == "current":
                    return comment, page
    raise not_found(content_id)


def ancestors(site: Site, page: Page) -> list[Page]:
    """The page's ancestors, root first."""
    chain: list[Page] = []
    parent = page.parent
    while parent is not None and parent in site.pages and len(chain) < len(site.pages):
        chain.append(site.pages[parent])
        parent = site.pages[parent].parent
    return chain[::-1]


def children(site: Site, page: Page) -> list[Page]:
    return sorted((p for p in site.pages.values() if p.parent == page.id and p.status == "current"),
                  key=lambda p: p.position)


def comments_under(site: Site, item: Item) -> list[FooterComment]:
    """The comments directly under a page (its root comments, not the replies) or a comment (its replies)."""
    if isinstance(item, Page):
        return root_comments(item, inline=None)
    return replies_to(site.pages[item.page], item)


def descendants(site: Site, page: Page) -> list[Page]:
    """Every page below `page`, depth first in tree order."""
    out: list[Page] = []
    todo = children(site, page)[::-1]
    while todo and len(out) < len(site.pages):
        child = todo.pop()
        out.append(child)
        todo += children(site, child)[::-1]
    return out


def space_by_key(site: Site, key: str) -> Space:
    space = next((s for s in site.spaces.values() if s.key == key), None)
    if space is None:
        raise confluence_v1_error(404, f"No space found with key : {key}")
    return space


def expansions(req: Request) -> Tree:
    """The `expand` parameter as a tree: "body.storage,version" -> {"body": {"storage": {}}, "version": {}}."""
    tree: Tree = {}
    value = req.query.get("expand") or []
    for item in value if isinstance(value, list) else str(value).split(","):
        node = tree
        for part in str(item).strip().split("."):
            if part:
                node = node.setdefault(part, {})
    return tree


def with_defaults(tree: Tree, names: tuple[str, ...] = DEFAULT_EXPAND) -> Tree:
    return {**{name: {} for name in names}, **tree}


@contextmanager
def v1_errors() -> Iterator[None]:
    """Errors of the helpers shared with v2 (titles, bodies), answered in v1's envelope."""
    try:
        yield
    except ApiError as exc:
        body = exc.response.body
        detail = body["errors"][0]["detail"] if isinstance(body, dict) and body.get("errors") else str(body)
        raise confluence_v1_error(exc.response.status, str(detail)) from None


def page_of(req: Request, items: list[Any], default_limit: int = 25) -> tuple[list[Any], int, int, str | None]:
    """(the items at `start`, start, limit, the next page's relative link or None): offset paging."""
    start = max(0, int(req.query.get("start") or 0))
    limit = min(max(0, int(req.query.get("limit", default_limit))), MAX_LIMIT)
    following = None
    if start + limit < len(items) and limit:
        query = {k: ",".join(map(str, v)) if isinstance(v, list) else v for k, v in req.query.items()}
        following = f"{concrete(req)}?{urlencode({**query, 'start': start + limit, 'limit': limit})}"
    return items[start:start + limit], start, limit, following


def concrete(req: Request) -> str:
    """The request's path relative to the /wiki context, with its path parameters filled in."""
    return filled(req).removeprefix(CONTEXT)


def collection(req: Request, results: list[dict[str, Any]], start: int, limit: int, following: str | None,
               **extra: Any) -> dict[str, Any]:
    links = {"base": url(CONTEXT), "context": CONTEXT, "self": url(CONTEXT + concrete(req))}
    if following:
        links["next"] = following
    return {"results": results, "start": start, "limit": limit, "size": len(results), **extra, "_links": links}


# -- rendering ----------------------------------------------------------------------------------------------
def friendly(when: str) -> str:
    return datetime.fromisoformat(when[:19]).strftime("%b %d, %Y")


def user_json(site: Site, account_id: str) -> dict[str, Any]:
    user = site.users.get(account_id)
    if user is None:
        return {"type": "unknown", "accountId": account_id, "accountType": "", "publicName": "Unknown user",
                "displayName": "Unknown user", "_links": {"self": url(f"{CONTEXT}{API}/user?accountId={account_id}")}}
    return {"type": "known", "accountId": user.account_id, "accountType": "atlassian", "email": user.email,
            "publicName": user.display_name, "displayName": user.display_name, "timeZone": user.time_zone,
            "profilePicture": {"path": f"/wiki/aa-avatar/{user.account_id}", "width": 48, "height": 48,
                               "isDefault": False},
            "isExternalCollaborator": False, "externalCollaborator": False,
            "_expandable": {"operations": "", "personalSpace": ""},
            "_links": {"self": url(f"{CONTEXT}{API}/user?accountId={user.account_id}")}}


def space_json(site: Site, space: Space, tree: Tree | None = None) -> dict[str, Any]:
    tree = tree or {}
    key = space.key
    expandable = {"settings": f"{API}/space/{key}/settings", "metadata": "", "operations": "",
                  "lookAndFeel": f"{API}/settings/lookandfeel?spaceKey={key}", "identifiers": "", "permissions": "",
                  "icon": "", "description": "", "theme": f"{API}/space/{key}/theme", "history": "",
                  "homepage": f"{API}/content/{space.homepage}"}
    out: dict[str, Any] = {"id": int(space.id), "key": key, "name": space.name, "type": space.type,
                           "status": space.status}
    if "description" in tree:
        text = {"plain": space.description, "view": space.description}
        out["description"] = {fmt: {"value": text[fmt], "representation": fmt, "embeddedContent": []}
                              for fmt in tree["description"] or {"plain": {}} if fmt in text}
    if "homepage" in tree and space.homepage in site.pages:
        out["homepage"] = content_json(site, site.pages[space.homepage], tree["homepage"])
    if "metadata" in tree:
        out["metadata"] = {"labels": {"results": [], "start": 0, "limit": 200, "size": 0}}
    if "icon" in tree:
        out["icon"] = {"path": "/images/logo/default-space-logo.svg", "width": 48, "height": 48, "isDefault": True}
    if "history" in tree:
        out["history"] = {"createdDate": v2_time(space.created), "createdBy": user_json(site, space.author)}
    out["_expandable"] = {k: v for k, v in expandable.items() if k not in out}
    out["_links"] = {"webui": f"/spaces/{key}", "self": url(f"{CONTEXT}{API}/space/{key}")}
    return out


def version_json(site: Site, content_id: str, number: int, when: str, author: str) -> dict[str, Any]:
    return {"by": user_json(site, author), "when": v2_time(when), "friendlyWhen": friendly(when), "message": "",
            "number": number, "minorEdit": False, "contentTypeModified": False,
            "_expandable": {"collaborators": "", "content": f"{API}/content/{content_id}"},
            "_links": {"self": url(f"{CONTEXT}{API}/content/{content_id}/version/{number}")}}


def dates(item: Item) -> tuple[str, str]:
    """(created, last updated) of a page or comment (a comment keeps its creation time)."""
    return (item.created, item.updated) if isinstance(item, Page) else (item.created, item.created)


def history_json(site: Site, item: Item, tree: Tree) -> dict[str, Any]:
    created, updated = dates(item)
    out: dict[str, Any] = {"latest": True, "createdBy": user_json(site, item.author),
                           "ownedBy": user_json(site, item.author), "createdDate": v2_time(created)}
    if "lastUpdated" in tree:
        out["lastUpdated"] = version_json(site, item.id, item.version, updated, item.author)
    if "contributors" in tree:
        out["contributors"] = {"publishers": {"users": [user_json(site, item.author)],
                                              "userAccountIds": [item.author], "userKeys": [item.author]}}
    out["_expandable"] = {k: "" for k in ("lastUpdated", "previousVersion", "contributors", "nextVersion",
                                          "lastOwnedBy") if k not in out}
    out["_links"] = {"self": url(f"{CONTEXT}{API}/content/{item.id}/history")}
    return out


def body_json(item: Item, tree: Tree) -> dict[str, Any]:
    storage = item.body
    values = {"storage": storage, **dict.fromkeys(RENDERED, storage),
              "atlas_doc_format": (item.adf if isinstance(item, Page) else None) or storage_to_adf(storage)}
    out: dict[str, Any] = {fmt: {"value": values[fmt], "representation": fmt, "embeddedContent": [],
                                 "_expandable": {"content": f"{API}/content/{item.id}"}}
                           for fmt in tree if fmt in values}
    out["_expandable"] = {fmt: "" for fmt in BODY_FORMATS if fmt not in out}
    return out


def array_json(site: Site, items: list[Item], tree: Tree, path: str) -> dict[str, Any]:
    return {"results": [content_json(site, i, tree) for i in items], "start": 0, "limit": max(25, len(items)),
            "size": len(items), "_links": {"self": url(CONTEXT + path)}}


def children_json(site: Site, item: Item, tree: Tree, deep: bool) -> dict[str, Any]:
    where = f"{API}/content/{item.id}/{'descendant' if deep else 'child'}"
    kinds: dict[str, Callable[[], list[Item]]] = {"attachment": list,
                                                  "comment": lambda: list(comments_under(site, item))}
    if isinstance(item, Page):
        kinds["page"] = lambda: (descendants if deep else children)(site, item)
    out: dict[str, Any] = {kind: array_json(site, kinds[kind](), tree[kind], f"{where}/{kind}")
                           for kind in kinds if kind in tree}
    out["_expandable"] = {kind: f"{where}/{kind}" for kind in kinds if kind not in out}
    out["_links"] = {"self": url(CONTEXT + where)}
    return out


def labels_json(site: Site, item: Item) -> dict[str, Any]:
    labels = [site.labels[i] for i in item.labels] if isinstance(item, Page) else []
    return {"results": [{"prefix": lb.prefix, "name": lb.name, "id": lb.id, "label": lb.name} for lb in labels],
            "start": 0, "limit": 200, "size": len(labels),
            "_links": {"self": url(f"{CONTEXT}{API}/content/{item.id}/label")}}


def child_types_json(site: Site, item: Item) -> dict[str, Any]:
    where = url(f"{CONTEXT}{API}/content/{item.id}/child")
    has = {"attachment": False, "comment": bool(comments_under(site, item)),
           "page": isinstance(item, Page) and bool(children(site, item))}
    return {kind: {"value": value, "_links": {"self": f"{where}/{kind}"}} for kind, value in has.items()}


def content_json(site: Site, item: Item, tree: Tree | None = None, single: bool = False) -> dict[str, Any]:
    """A page or comment as v1 `Content`, with the expansions in `tree`."""
    tree = tree or {}
    if isinstance(item, Page):
        page, space = item, site.spaces[item.space]
        out: dict[str, Any] = {"id": item.id, "type": "page", "status": item.status, "title": item.title,
                               "extensions": {"position": item.position}}
        webui = f"/spaces/{space.key}/pages/{item.id}/{quote_plus(item.title)}"
        container: Callable[[], dict[str, Any]] = lambda: space_json(site, space, tree["container"])  # noqa: E731
        links = {"webui": webui, "edituiv2": f"/pages/resumedraft.action?draftId={item.id}", "tinyui": f"/x/{item.id}"}
    else:
        page = next(p for p in site.pages.values() if item in p.comments)
        space = site.spaces[page.space]
        out = {"id": item.id, "type": "comment", "status": "current", "title": f"Re: {page.title}",
               "extensions": {"location": "inline" if item.inline is not None else "footer"}}
        if item.inline is not None:
            out["extensions"]["inlineProperties"] = {"originalSelection": item.inline, "markerRef": marker(item)}
        container = lambda: content_json(site, page, tree["container"])  # noqa: E731
        links = {"webui": f"/spaces/{space.key}/pages/{page.id}/{quote_plus(page.title)}?focusedCommentId="
                          f"{item.id}#comment-{item.id}"}
    updated = dates(item)[1]
    render: dict[str, Callable[[Tree], Any]] = {
        "space": lambda t: space_json(site, space, t),
        "history": lambda t: history_json(site, item, t),
        "version": lambda t: version_json(site, item.id, item.version, updated, item.author),
        "body": lambda t: body_json(item, t),
        "ancestors": lambda t: [content_json(site, a, t) for a in ancestors(site, item)] if isinstance(item, Page)
        else [content_json(site, c, t) for c in page.comments if c.id == item.parent],
        "children": lambda t: children_json(site, item, t, deep=False),
        "descendants": lambda t: children_json(site, item, t, deep=True),
        "container": lambda t: container(),
        "metadata": lambda t: {"labels": labels_json(site, item), "_expandable": {
            k: "" for k in ("currentuser", "comments", "simple", "properties", "frontend", "likes")}}
        if "labels" in t else {"_expandable": {k: "" for k in ("currentuser", "comments", "simple", "properties",
                                                                "frontend", "likes", "labels")}},
        "childTypes": lambda t: child_types_json(site, item),
    }
    for name, subtree in tree.items():
        if name in render:
            out[name] = render[name](subtree)
    where = f"{API}/content/{item.id}"
    paths = {"container": f"{API}/space/{space.key}" if isinstance(item, Page) else f"{API}/content/{page.id}",
             "restrictions": f"{where}/restriction/byOperation", "history": f"{where}/history",
             "descendants": f"{where}/descendant", "space": f"{API}/space/{space.key}", "children": f"{where}/child"}
    out["_expandable"] = {k: paths.get(k, "") for k in PAGE_EXPANDABLE if k not in out}
    out["_links"] = {**links, "self": url(CONTEXT + where)}
    if single:
        out["_links"] |= {"base": url(CONTEXT), "context": CONTEXT, "collection": f"{API}/content"}
    return out


# -- content ------------------------------------------------------------------------------------------------
ORDER = {"history.createddate": lambda p: p.created, "created": lambda p: p.created, "title": lambda p: p.title,
         "id": lambda p: int(p.id), "version.createddate": lambda p: p.updated, "lastmodified": lambda p: p.updated}


def statuses_of(req: Request) -> tuple[str, ...]:
    """The `status` filter (default current).

    Raises:
        ApiError: 400 for a status the spec does not list.
    """
    given = tuple(req.query.get("status") or ["current"])
    wrong = [s for s in given if s not in STATUSES]
    if wrong:
        raise confluence_v1_error(400, f"Invalid value '{wrong[0]}' for parameter 'status'; expected one of: "
                                       f"{', '.join(STATUSES)}.")
    return given


def get_content(site: Site, req: Request) -> Response:
    q = req.query
    statuses = statuses_of(req)
    pages = [p for p in site.pages.values() if "any" in statuses or p.status in statuses]
    if q.get("type", "page") != "page":
        pages = []  # the site has pages and their comments only: no blog posts
    if q.get("spaceKey"):
        pages = [p for p in pages if site.spaces[p.space].key == q["spaceKey"]]
    if q.get("title"):
        pages = [p for p in pages if p.title == q["title"]]
    if q.get("orderby"):
        field, _, direction = str(q["orderby"]).strip().partition(" ")
        if field.casefold() not in ORDER or direction.strip().casefold() not in ("", "asc", "desc"):
            raise confluence_v1_error(400, f"Unsupported orderby: '{q['orderby']}'. Use a field ({', '.join(ORDER)}) "
                                           f"and asc or desc.")
        pages.sort(key=ORDER[field.casefold()], reverse=direction.strip().casefold() == "desc")
    shown, start, limit, following = page_of(req, pages)
    tree = with_defaults(expansions(req))
    return Response(200, collection(req, [content_json(site, p, tree) for p in shown], start, limit, following))


def get_content_by_id(site: Site, req: Request) -> Response:
    """The content, or with `version` one of its earlier versions (status "historical")."""
    statuses = statuses_of(req)
    version = req.query.get("version")
    wanted = ("current", *statuses) if "historical" in statuses and version is not None else statuses
    item, _ = find(site, req.params["id"], wanted)
    tree = with_defaults(expansions(req))
    if version is None or version == item.version:
        return Response(200, content_json(site, item, tree, single=True))
    old = next((v for v in site.history.pages.get(item.id, []) if v.number == version), None)
    if old is None or not isinstance(item, Page):
        raise confluence_v1_error(404, f"No content found with id: ContentId{{id={item.id}}} and version {version}")
    view = Page(item.id, item.space, old.title, item.parent, old.body, old.author, item.created, old.when,
                status="historical", version=old.number, adf=old.adf, labels=item.labels, position=item.position)
    return Response(200, content_json(site, view, tree, single=True))


def create_content(site: Site, req: Request) -> Response:
    b = req.body
    kind = b.get("type")
    if kind == "comment":
        return create_comment(site, req)
    if kind != "page":
        raise confluence_v1_error(400, f"Content type '{kind}' cannot be created on this site: it has pages and "
                                       f"their comments (use type 'page' or 'comment').")
    key = (b.get("space") or {}).get("key")
    if not isinstance(key, str) or not key:
        raise confluence_v1_error(400, "A page needs a space: set space.key.")
    space = next((s for s in site.spaces.values() if s.key == key), None)
    if space is None:
        raise confluence_v1_error(403, f"Space '{key}' does not exist or you do not have permission to add content "
                                       f"to it.")
    status = b.get("status") or "current"
    if status not in ("current", "draft"):
        raise confluence_v1_error(400, f"A new page's status must be current or draft, not '{status}'.")
    with v1_errors():
        title = check_title(site, space.id, b.get("title")) if status == "current" else str(b.get("title") or "")
    parent = parent_of(site, b.get("ancestors"), space)
    storage, adf = body_of(b)
    when = site.tick()
    page = Page(site.new_id(), space.id, title, parent, storage, acting(site, req), when, when, status=status,
                adf=adf, position=last_position(site, parent))
    site.pages[page.id] = page
    return Response(200, content_json(site, page, with_defaults(expansions(req)), single=True))


def parent_of(site: Site, given: Any, space: Space) -> str | None:
    """The parent page id that `ancestors` names (its last element), None for a page at the space's root.

    Raises:
        ApiError: 404 for a parent that is not a current page of `space`.
    """
    if not given:
        return None
    last = given[-1] if isinstance(given, list) else None
    parent = str(last.get("id")) if isinstance(last, dict) and last.get("id") is not None else ""
    page = site.pages.get(parent)
    if page is None or page.space != space.id or page.status != "current":
        raise confluence_v1_error(404, f"Parent page {parent or '(no id)'} was not found in space {space.key}.")
    return parent


def body_of(b: dict[str, Any]) -> tuple[str, str | None]:
    """(storage, ADF text or None) of a v1 body: {"storage": {"value": ..., "representation": "storage"}}."""
    body = b.get("body")
    if not body:
        return "", None
    if not isinstance(body, dict) or len(body) != 1:
        raise confluence_v1_error(400, "The body must hold exactly one representation, such as "
                                       "{\"storage\": {\"value\": \"<p>...</p>\", \"representation\": \"storage\"}}.")
    (fmt, value), = body.items()
    if not isinstance(value, dict) or not isinstance(value.get("value"), str):
        raise confluence_v1_error(400, f"body.{fmt} needs a string value.")
    if fmt not in ("storage", "wiki", "atlas_doc_format", "editor", "editor2"):
        raise confluence_v1_error(400, f"Content cannot be written in the '{fmt}' representation: use storage, "
                                       f"wiki or atlas_doc_format.")
    representation = "storage" if fmt in ("editor", "editor2") else fmt
    with v1_errors():
        return read_body({"representation": representation, "value": value["value"]})


def create_comment(site: Site, req: Request) -> Response:
    b = req.body
    container = b.get("container") or {}
    page_id = str(container.get("id", "")) if isinstance(container, dict) else ""
    page = site.pages.get(page_id)
    if page is None or page.status != "current":
        raise confluence_v1_error(404, f"The container page {page_id or '(none)'} was not found: a comment needs "
                                       f"container {{\"id\": <page id>, \"type\": \"page\"}}.")
    parent = None
    if b.get("ancestors"):  # a reply: its ancestors name the comment it answers
        last = b["ancestors"][-1] if isinstance(b["ancestors"], list) else None
        parent = str(last.get("id")) if isinstance(last, dict) and last.get("id") is not None else ""
        if all(c.id != parent for c in page.comments):
            raise confluence_v1_error(400, f"A reply's ancestor must be a comment on page {page.id}; "
                                           f"{parent or '(no id)'} is not.")
    storage, _ = body_of(b)
    if not storage.strip():
        raise confluence_v1_error(400, "The comment body cannot be empty.")
    comment = FooterComment(site.new_id(), page.id, storage, acting(site, req), site.tick(), parent=parent)
    page.comments.append(comment)
    tree = with_defaults(expansions(req), (*DEFAULT_EXPAND, "container"))
    return Response(200, content_json(site, comment, tree, single=True))


def update_content(site: Site, req: Request) -> Response:
    item, page = find(site, req.params["id"], ("current", "draft", "archived", "trashed"))
    b = req.body
    number = (b.get("version") or {}).get("number")
    if not isinstance(number, int) or isinstance(number, bool):
        raise confluence_v1_error(400, "version.number is required: the current version number plus one.")
    kind = "page" if isinstance(item, Page) else "comment"
    if b.get("type") is not None and b["type"] != kind:
        raise confluence_v1_error(400, f"Content type cannot be changed: content {item.id} is a {kind}.")
    if number != item.version + 1:
        raise confluence_v1_error(409, f"Version must be incremented on update. Current version is: {item.version}")
    if isinstance(item, FooterComment):
        storage, _ = body_of(b)
        if not storage.strip():
            raise confluence_v1_error(400, "The comment body cannot be empty.")
        item.body, item.version = storage, item.version + 1
        site.tick()
        return Response(200, content_json(site, item, with_defaults(expansions(req)), single=True))
    if page.status == "draft":
        raise confluence_v1_error(409, "Draft pages cannot be updated through this operation: publish the draft.")
    status = b.get("status") or req.query.get("status") or "current"
    if status not in ("current", "trashed"):
        raise confluence_v1_error(400, f"A page cannot be updated to status '{status}'.")
    if status == "trashed":
        trash(site, page)
        return Response(200, content_json(site, page, with_defaults(expansions(req)), single=True))
    with v1_errors():
        title = check_title(site, page.space, b.get("title"), exclude=page.id)
    parent = parent_of(site, b.get("ancestors"), site.spaces[page.space]) if b.get("ancestors") else page.parent
    below: str | None = parent
    while below is not None:
        if below == page.id:
            raise confluence_v1_error(400, "A page cannot be moved under itself or one of its descendants.")
        below = site.pages[below].parent
    storage, adf = body_of(b) if b.get("body") else (page.body, page.adf)
    remember(site, page)
    page.body, page.adf = storage, adf
    if parent != page.parent:
        page.position = last_position(site, parent)
    page.title, page.parent, page.status = title, parent, "current"
    page.version += 1
    page.updated = site.tick()
    return Response(200, content_json(site, page, with_defaults(expansions(req)), single=True))


def trash(site: Site, page: Page) -> None:
    """Move a page to the trash; its children move up to its parent, as Confluence does."""
    trash_page(site, page, confluence_v1_error)


def delete_content(site: Site, req: Request) -> Response:
    purge = req.query.get("status") == "trashed"
    item, page = find(site, req.params["id"], ("trashed",) if purge else ("current", "draft", "archived"))
    if isinstance(item, FooterComment):  # with the replies under it, as Confluence deletes a thread
        gone = {item.id}
        for c in page.comments:
            if c.parent in gone:
                gone.add(c.id)
        page.comments[:] = [c for c in page.comments if c.id not in gone]
        site.tick()
    elif purge or item.status == "draft":
        del site.pages[item.id]
        site.history.pages.pop(item.id, None)
        site.tick()
    else:
        trash(site, item)
    return Response(204)


def get_history(site: Site, req: Request) -> Response:
    item, _ = find(site, req.params["id"], ("current", "draft", "archived", "trashed"))
    tree = {"lastUpdated": {}, **expansions(req)}
    return Response(200, history_json(site, item, tree))


# -- children -----------------------------------------------------------------------------------------------
def get_children(site: Site, req: Request) -> Response:
    item, _ = find(site, req.params["id"])
    return Response(200, children_json(site, item, expansions(req), deep=False))


def get_descendants(site: Site, req: Request) -> Response:
    item, _ = find(site, req.params["id"])
    return Response(200, children_json(site, item, expansions(req), deep=True))


def typed(site: Site, req: Request, deep: bool) -> Response:
    item, _ = find(site, req.params["id"])
    kind = req.params["type"]
    if kind == "comment":
        items: list[Item] = list(comments_under(site, item))
    elif kind == "page" and isinstance(item, Page):
        items = list((descendants if deep else children)(site, item))
    elif kind == "attachment":
        items = []
    else:
        raise confluence_v1_error(400, f"Content of type '{kind}' cannot be a child of a "
                                       f"{'page' if isinstance(item, Page) else 'comment'}.")
    shown, start, limit, following = page_of(req, items)
    tree = expansions(req)
    return Response(200, collection(req, [content_json(site, i, tree) for i in shown], start, limit, following))


def get_comments(site: Site, req: Request) -> Response:
    item, _ = find(site, req.params["id"])
    locations = req.query.get("location")
    comments = comments_under(site, item)
    if locations:  # a reply is where its thread is; no comment is resolved
        wanted = set(locations if isinstance(locations, list) else [locations])
        thread = {c.id: c for c in site.pages[item.page if isinstance(item, FooterComment) else item.id].comments}

        def location(c: FooterComment) -> str:
            while c.parent in thread:
                c = thread[c.parent]
            return "inline" if c.inline is not None else "footer"
        comments = [c for c in comments if location(c) in wanted]
    shown, start, limit, following = page_of(req, comments)
    tree = expansions(req)
    return Response(200, collection(req, [content_json(site, c, tree) for c in shown], start, limit, following))


# -- labels -------------------------------------------------------------------------------------------------
def get_labels(site: Site, req: Request) -> Response:
    item, _ = find(site, req.params["id"])
    data = labels_json(site, item)
    prefix = req.query.get("prefix")
    results = [x for x in data["results"] if prefix is None or x["prefix"] == prefix]
    shown, start, limit, following = page_of(req, results, default_limit=200)
    return Response(200, collection(req, shown, start, limit, following))


def remove_label(site: Site, page_id: str, name: str) -> Response:
    item, page = find(site, page_id, ("current", "draft", "archived"))
    if not isinstance(item, Page):
        raise confluence_v1_error(404, f"Label '{name}' is not on content {page_id}.")
    if page.status == "archived":
        raise confluence_v1_error(400, "Labels cannot be removed from archived content.")
    wanted = name.strip().lower().removeprefix("global:")
    label = next((i for i in page.labels if site.labels[i].name == wanted), None)
    if label is None:
        raise confluence_v1_error(404, f"Label '{name}' is not on content {page_id}.")
    page.labels.remove(label)
    return Response(204)


def remove_label_by_query(site: Site, req: Request) -> Response:
    return remove_label(site, req.params["id"], str(req.query["name"]))


def remove_label_by_path(site: Site, req: Request) -> Response:
    if "/" in req.params["label"]:
        raise confluence_v1_error(400, "A label name with '/' cannot be removed through the path: use "
                                       "DELETE /wiki/rest/api/content/{id}/label?name=...")
    return remove_label(site, req.params["id"], req.params["label"])


# -- spaces and users ---------------------------------------------------------------------------------------
def get_spaces(site: Site, req: Request) -> Response:
    q = req.query
    spaces = sorted(site.spaces.values(), key=lambda s: s.key)
    if q.get("spaceKey"):
        spaces = [s for s in spaces if s.key in q["spaceKey"]]
    if q.get("spaceId"):
        spaces = [s for s in spaces if int(s.id) in q["spaceId"]]
    for name, attribute in (("type", "type"), ("status", "status")):
        if q.get(name):
            spaces = [s for s in spaces if getattr(s, attribute) == q[name]]
    if q.get("label"):
        spaces = []  # the site's spaces have no labels
    shown, start, limit, following = page_of(req, spaces)
    tree = expansions(req)
    return Response(200, collection(req, [space_json(site, s, tree) for s in shown], start, limit, following))


def get_space(site: Site, req: Request) -> Response:
    space = space_by_key(site, req.params["spaceKey"])
    out = space_json(site, space, expansions(req))
    out["_links"] |= {"base": url(CONTEXT), "context": CONTEXT, "collection": f"{API}/space"}
    return Response(200, out)


def space_pages(site: Site, req: Request) -> list[Page]:
    space = space_by_key(site, req.params["spaceKey"])
    pages = sorted((p for p in site.pages.values() if p.space == space.id and p.status == "current"),
                   key=lambda p: int(p.id))
    return [p for p in pages if p.parent is None] if req.query.get("depth") == "root" else pages


def get_space_content(site: Site, req: Request) -> Response:
    pages = space_pages(site, req)
    shown, start, limit, following = page_of(req, pages)
    tree = expansions(req)
    page_array = collection(req, [content_json(site, p, tree) for p in shown], start, limit, following)
    page_array["_links"]["self"] = url(CONTEXT + concrete(req) + "/page")
    blogposts = {"results": [], "start": 0, "limit": limit, "size": 0,
                 "_links": {"self": url(CONTEXT + concrete(req) + "/blogpost")}}
    return Response(200, {"page": page_array, "blogpost": blogposts,
                          "_links": {"base": url(CONTEXT), "context": CONTEXT}})


def get_space_content_of_type(site: Site, req: Request) -> Response:
    pages = space_pages(site, req) if req.params["type"] == "page" else []
    space_by_key(site, req.params["spaceKey"])
    shown, start, limit, following = page_of(req, pages)
    tree = expansions(req)
    return Response(200, collection(req, [content_json(site, p, tree) for p in shown], start, limit, following))


def get_user(site: Site, req: Request) -> Response:
    account = str(req.query["accountId"])
    if account not in site.users:
        raise confluence_v1_error(404, f"No user found with accountId: {account}")
    return Response(200, user_json(site, account))


def get_current_user(site: Site, req: Request) -> Response:
    return Response(200, user_json(site, acting(site, req)))


def get_users_bulk(site: Site, req: Request) -> Response:
    wanted = [a.strip() for a in str(req.query["accountId"]).split(",") if a.strip()]
    limit = int(req.query.get("limit") or 200)
    results = [user_json(site, a) for a in dict.fromkeys(wanted) if a in site.users][:limit]
    return Response(200, {"results": results, "start": 0, "limit": limit, "size": len(results),
                          "_links": {"base": url(CONTEXT), "context": CONTEXT,
                                     "self": url(f"{CONTEXT}{API}/user/bulk")}})


HANDLERS: dict[str, Callable[[Site, Request], Response]] = {
    "getContent": get_content, "createContent": create_content, "getContentById": get_content_by_id,
    "updateContent": update_content, "deleteContent": delete_content, "getHistoryForContent": get_history,
    "getContentChildren": get_children, "getContentDescendants": get_descendants,
    "getContentChildrenByType": lambda site, req: typed(site, req, deep=False),
    "getDescendantsOfType": lambda site, req: typed(site, req, deep=True),
    "getContentComments": get_comments, "getLabelsForContent": get_labels,
    "removeLabelFromContentUsingQueryParameter": remove_label_by_query,
    "removeLabelFromContent": remove_label_by_path,
    "getSpace": get_space, "getContentForSpace": get_space_content,
    "getContentByTypeForSpace": get_space_content_of_type, "getBulkUserLookup": get_users_bulk,
    # Operation ids that Jira or Confluence v2 use as well: the spec qualifies v1's with the document's name.
    "confluence-v1.getSpaces": get_spaces, "confluence-v1.getUser": get_user,
    "confluence-v1.getCurrentUser": get_current_user,
}
