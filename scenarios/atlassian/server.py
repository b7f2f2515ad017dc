"""The simulated Atlassian Cloud site served over HTTP (WSGI, stdlib only), for real clients on loopback.

- Jira REST v3 under `/rest/api/3/…`, Confluence v2 under `/wiki/api/v2/…` and the v1 label route, all
  answered by `World.request`, the same core the tool layer uses.
- Jira REST v2 under `/rest/api/2/…` for the same operations: most client libraries default to v2. A v2
  request is the v3 request with plain-text `description`, `environment`, comment and worklog comment bodies
  (made ADF on the way in, one paragraph per line) and the v3 answer with those documents made plain text on
  the way out. `/rest/api/latest/…` is the same v2 (pycontribs `jira` sends `assign_issue()` there).
- `GET /rest/api/{2,3}/serverInfo`: what clients read first to learn they talk to Jira Cloud.
- Any `Basic` or `Bearer` credentials are accepted; none, or another scheme, gets the 401 the service gives.
  `Basic` credentials whose user part is a site user's email address act as that user (`/myself`,
  `currentUser()`, authors, who may read restricted comments); any others act as the site's own user.
- `POST /__sim/reset` restores the seeded state (`?seed=N` switches seed); `GET /__sim/state` gives the
  state diff since the start, for a harness that scores an episode.
- The site's absolute URLs (`self`, `_links.base`, `Location`) name this server, so clients that follow
  them stay on loopback.
- Absolute-form request targets (`GET http://acme.atlassian.net/rest/...`) are answered as the site that URL
  names: point a client's HTTP proxy at this server to give it a Cloud host name with nothing else changed.

One world per server; requests are answered one at a time under a lock (the world is not thread-safe).
"""

from __future__ import annotations

import base64
import json
import pickle
import re
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from .documents import adf_paragraphs, adf_text
from .generate import generate
from .http import Response, document_of, error_for
from .jira_fields import ALL_FIELDS, FIELD_NAMES, NAMES, NAVIGABLE, SCHEMAS
from .site import BASE_URL
from .world import MAX_BODY, World

REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
           403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
           413: "Payload Too Large", 422: "Unprocessable Entity", 500: "Internal Server Error"}
JSON_TYPE = "application/json;charset=UTF-8"
V2 = "/rest/api/2/"
V3 = "/rest/api/3/"
LATEST = "/rest/api/latest/"
CLAUSES = {"fixVersions": "fixVersion", "versions": "affectedVersion", "components": "component",
           "issuelinks": "issueLink", "attachment": "attachments"}
# Jira v2 operations whose documents change form: path pattern -> where the text fields are
_V2_COMMENT = re.compile(r"^/rest/api/2/issue/[^/]+/comment(/[^/]+)?$")
_V2_WORKLOG = re.compile(r"^/rest/api/2/issue/[^/]+/worklog(/[^/]+)?$")
# an absolute-form request target, what a client sends to its HTTP proxy: (scheme://authority, the rest)
_ABSOLUTE_FORM = re.compile(r"^(https?://[^/?#]+)(.*)$", re.IGNORECASE)


def server_info(base: str) -> dict[str, Any]:
    """`GET /rest/api/3/serverInfo` as Jira Cloud answers it."""
    return {"baseUrl": base, "displayUrl": base, "version": "1001.0.0-SNAPSHOT", "versionNumbers": [1001, 0, 0],
            "deploymentType": "Cloud", "buildNumber": 100296, "buildDate": "2025-11-01T00:00:00.000+0000",
            "serverTime": "2025-11-01T00:00:00.000+0000", "scmInfo": "0" * 40, "serverTitle": "Jira",
            "defaultLocale": {"locale": "en_US"}, "serverTimeZone": "Etc/UTC"}


def fields() -> list[dict[str, Any]]:
    """`GET /rest/api/3/field` (getFields): the system fields the site has, as `FieldDetails`."""
    return [{"id": name, "key": name, "name": NAMES[name], "custom": False, "orderable": name in FIELD_NAMES,
             "navigable": name in NAVIGABLE, "searchable": name not in ("subtasks", "watches", "timetracking"),
             "clauseNames": [CLAUSES.get(name, name)], "schema": SCHEMAS[name]} for name in ALL_FIELDS]


# -- Jira v2 <-> v3 --------------------------------------------------------------------------------------------
def text_to_adf(value: Any) -> Any:
    """A v2 plain-text body as the ADF v3 takes (non-strings pass through for v3 to judge)."""
    if not isinstance(value, str):
        return value
    return adf_paragraphs(value.split("\n")) if value.strip() else None


def adf_to_text(value: Any) -> Any:
    if isinstance(value, dict) and value.get("type") == "doc":
        return adf_text(value).rstrip("\n")
    return value


DOC_FIELDS = ("description", "environment")


def v2_request(path: str, body: Any) -> Any:
    """A v2 request body as v3 takes it: its plain-text documents made ADF."""
    if not isinstance(body, dict):
        return body
    body = dict(body)
    if _V2_COMMENT.match(path) and "body" in body:
        body["body"] = text_to_adf(body["body"])
    if _V2_WORKLOG.match(path) and "comment" in body:
        body["comment"] = text_to_adf(body["comment"])
    if path == V2 + "issueLink" and isinstance(body.get("comment"), dict) and "body" in body["comment"]:
        body["comment"] = {**body["comment"], "body": text_to_adf(body["comment"]["body"])}
    if path == V2 + "issue/bulk" and isinstance(body.get("issueUpdates"), list):
        body["issueUpdates"] = [v2_request(V2 + "issue", u) for u in body["issueUpdates"]]
    if isinstance(body.get("fields"), dict):
        body["fields"] = {k: text_to_adf(v) if k in DOC_FIELDS else v for k, v in body["fields"].items()}
    update = body.get("update")
    if isinstance(update, dict):
        update = body["update"] = dict(update)
        for name, ops in update.items():
            if not isinstance(ops, list):
                continue
            new = []
            for op in ops:
                if isinstance(op, dict):
                    op = {verb: (text_to_adf(v) if name in DOC_FIELDS else
                                 {**v, "body": text_to_adf(v.get("body"))} if name == "comment" and
                                 isinstance(v, dict) and "body" in v else v) for verb, v in op.items()}
                new.append(op)
            update[name] = new
    return body


def v2_response(body: Any) -> Any:
    """Every ADF document in an answer (descriptions, comment bodies, wherever they sit) as plain text."""
    if isinstance(body, list):
        return [v2_response(v) for v in body]
    if isinstance(body, dict):
        if body.get("type") == "doc" and "content" in body:
            return adf_to_text(body)
        return {k: v2_response(v) for k, v in body.items()}
    return body


# -- the WSGI application ---------------------------------------------------------------------------------------
class SimulatorApp:
    """A WSGI application serving one seeded world."""

    def __init__(self, seed: int = 0, require_auth: bool = True, world: World | None = None,
                 control: bool = True) -> None:
        """`world`: serve this world (a task's prepared site, its tools and log) instead of a new one of `seed`;
        `control`: answer the `/__sim/` routes (off for an agent under test, which must not reset its site)."""
        self.require_auth = require_auth
        self.control_routes = control
        self.lock = threading.Lock()
        if world is None:
            self.reset(seed)
        else:
            self.seed, self._start, self.world = world.site.seed, world._start, world

    def reset(self, seed: int | None = None) -> None:
        with self.lock:
            if seed is not None or not hasattr(self, "_start"):
                self.seed = 0 if seed is None else seed
                self._start = pickle.dumps(generate(self.seed), pickle.HIGHEST_PROTOCOL)
            self.world = World(pickle.loads(self._start))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"].upper()
        path = environ.get("PATH_INFO", "/") or "/"
        base = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST') or environ['SERVER_NAME']}"
        absolute = _ABSOLUTE_FORM.match(path)
        if absolute:  # a client that uses this server as its HTTP proxy (RFC 9112 §3.2.2): the URL names the site
            base, path = absolute.group(1), absolute.group(2) or "/"
        query = {k: v[0] if len(v) == 1 else v
                 for k, v in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        raw = environ["wsgi.input"].read(min(length, MAX_BODY + 1)) if length > 0 else b""
        response, v2 = self.handle(method, path, query, raw, environ.get("HTTP_AUTHORIZATION", ""), base)
        if v2 and path.startswith(LATEST):
            response.headers = {k: v.replace(BASE_URL + V3, BASE_URL + LATEST) for k, v in response.headers.items()}
        text = b""
        headers = {k.title(): v.replace(BASE_URL, base) for k, v in response.headers.items()}
        if response.body is not None:
            if v2:
                body = v2_response(response.body)
                text = json.dumps(body, ensure_ascii=False).replace(BASE_URL + V3, base + V2)
            else:
                text = json.dumps(response.body, ensure_ascii=False)
            text = text.replace(BASE_URL, base).encode()
            headers.setdefault("Content-Type", JSON_TYPE)
        headers["Content-Length"] = str(len(text))
        start_response(f"{response.status} {REASONS.get(response.status, 'Unknown')}", list(headers.items()))
        return [text] if method != "HEAD" else []

    def handle(self, method: str, path: str, query: dict[str, Any], raw: bytes, auth: str,
               base: str) -> tuple[Response, bool]:
        """(response, whether it is a Jira v2 answer)."""
        path = path.rstrip("/") or "/"
        if path.startswith("/__sim/") and self.control_routes:
            return self.control(method, path, query), False
        scheme = auth.split(" ", 1)[0].lower()
        if self.require_auth and scheme not in ("basic", "bearer"):
            return Response(401, error_for(document_of(path), 401, "Client must be authenticated to access this "
                                                                    "resource.").response.body,
                            {"WWW-Authenticate": 'Basic realm="protected-area"'}), False
        if path.startswith(LATEST):  # Jira Cloud's "latest" is version 2
            path = V2 + path[len(LATEST):]
        v2 = path.startswith(V2)
        if path in (V2 + "serverInfo", V3 + "serverInfo") and method == "GET":
            return Response(200, server_info(base)), False
        if path in (V2 + "field", V3 + "field") and method == "GET":
            return Response(200, fields()), False
        if v2:
            path = V3 + path[len(V2):]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return error_for(document_of(path), 400, "The request body is not valid UTF-8.").response, v2
        body = None
        if v2 and text.strip():
            try:
                body = v2_request(V2 + path[len(V3):], json.loads(text))
            except (ValueError, RecursionError):
                pass  # the core answers malformed JSON
            else:
                text = json.dumps(body)
        with self.lock:
            user = self.account(auth)
            return self.world.request(method, path, query, None, raw_body=text, user=user), v2

    def account(self, auth: str) -> str:
        """The account `Basic` credentials name by email address; "" (the site's own user) otherwise."""
        scheme, _, credentials = auth.partition(" ")
        if scheme.lower() != "basic":
            return ""
        try:
            email = base64.b64decode(credentials.strip(), validate=True).decode("utf-8").partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            return ""
        return next((u.account_id for u in self.world.site.users.values() if u.email.lower() == email.lower()), "")

    def control(self, method: str, path: str, query: dict[str, Any]) -> Response:
        if path == "/__sim/reset" and method == "POST":
            seed = query.get("seed")
            if seed is not None and not str(seed).isdigit():
                return Response(400, {"error": "seed must be a non-negative integer"})
            self.reset(int(seed) if seed is not None else None)
            return Response(200, {"seed": self.seed})
        if path == "/__sim/state" and method == "GET":
            with self.lock:
                return Response(200, {"seed": self.seed, "diff": self.world.state_diff(), "log": self.world.log})
        return Response(404, {"error": f"no control route {method} {path}"})


# -- serving ----------------------------------------------------------------------------------------------------
class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


def make(app: SimulatorApp, host: str = "127.0.0.1", port: int = 0, quiet: bool = True) -> WSGIServer:
    """A threaded WSGI server for `app` (port 0: a free port; read it from `server.server_port`)."""
    return make_server(host, port, app, server_class=_Server,
                       handler_class=_QuietHandler if quiet else WSGIRequestHandler)


class Serving:
    """A server running in a background thread: `with Serving(seed) as s: s.url`."""

    def __init__(self, seed: int = 0, host: str = "127.0.0.1", port: int = 0, **app_options: Any) -> None:
        self.app = SimulatorApp(seed, **app_options)
        self.server = make(self.app, host, port)
        self.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="atlassian-sim", daemon=True)

    def __enter__(self) -> Serving:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
