"""A World: one simulated site for one rollout. Requests in, API-shaped responses out, every call recorded.

`request(method, path, query, body)` is the HTTP-level core; `call(name, arguments)` is the tool layer on
top of it. Nothing a model sends makes either raise: bad input gets the 4xx the real service gives.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jsonschema.exceptions import best_match

from pytest_rlvr.trace import ToolResult

from . import (
    catalog,
    confluence,
    confluence_pages,
    confluence_search,
    confluence_v1,
    jira,
    jira_activity,
    jira_lifecycle,
    jira_reference,
    jira_search,
)
from .documents import MAX_DEPTH, too_deep
from .generate import generate
from .http import ApiError, Request, Response, document_of, error_for
from .openapi import Operation, spec
from .site import Site, diff

if TYPE_CHECKING:
    from .served import ServedWorld

HANDLERS = {**jira.HANDLERS, **jira_search.HANDLERS, **jira_reference.HANDLERS, **jira_activity.HANDLERS,
            **jira_lifecycle.HANDLERS, **confluence.HANDLERS, **confluence_v1.HANDLERS, **confluence_pages.HANDLERS,
            **confluence_search.HANDLERS}
MAX_BODY = 5 * 1024 * 1024  # Confluence's documented request limit; Jira's is of the same order
# Jira binds JSON with Jackson, which takes an integer where a string id is declared: pycontribs `jira` sends
# `{"transition": {"id": 41}}` and Jira Cloud performs it. Only these reference ids are read that way.
NUMERIC_IDS = {"doTransition": ("transition",), "createIssue": ("transition",)}


class ConformanceError(AssertionError):
    """A response that breaks the official response schema: a bug in the simulator."""


class World:
    """A fresh site (from a seed or a prepared Site) and the tools offered on it."""

    check_responses = False  # tests turn this on: every response is validated against the spec
    strict = False  # tests turn this on: a handler's exception (a simulator bug) is raised, not answered 500

    def __init__(self, site: Site | int, tools: tuple[str, ...] | list[str] = catalog.ALL_TOOLS,
                 initial: dict[str, Any] | None = None) -> None:
        # The initial state is kept as pickled bytes (a fraction of a millisecond) and the site is a copy made
        # from them; the initial snapshot, which takes milliseconds, is only made when a diff is asked for, or
        # given by a caller that builds many worlds from one site (it is shared and read-only).
        self._start = pickle.dumps(generate(site) if isinstance(site, int) else site, pickle.HIGHEST_PROTOCOL)
        self.site: Site = pickle.loads(self._start)
        self.tools = tuple(tools)
        self._initial: dict[str, Any] | None = initial
        self._written = False  # no write has reached a handler: the state is the initial one
        self._current: dict[str, Any] | None = None  # the snapshot since the last write
        self.log: list[dict[str, Any]] = []

    @property
    def initial(self) -> dict[str, Any]:
        """The snapshot of the site as this world started."""
        if self._initial is None:
            self._initial = pickle.loads(self._start).snapshot()
        return self._initial

    # -- HTTP level ------------------------------------------------------------------------------------------
    def request(self, method: str, path: str, query: Mapping[str, Any] | None = None, body: Any = None,
                raw_body: str | None = None, user: str = "") -> Response:
        """Answer one request. `raw_body` is the body as text when it has not been parsed yet; `user` is the
        account id of the authenticated user ("" or an unknown one: the site's own user, as tool calls are)."""
        return self._request(method, path, query, body, raw_body, user=user)

    def _request(self, method: str, path: str, query: Mapping[str, Any] | None = None, body: Any = None,
                 raw_body: str | None = None, checked: bool = False, user: str = "") -> Response:
        """`checked`: the body comes from tool arguments whose size and nesting were checked already."""
        method = method.upper()
        path = path.split("?", 1)[0].rstrip("/") or "/"
        op, params, known = spec().match(method, path)
        document = document_of(path)
        query = dict(query or {})  # coerced in place to the declared types: the log shows what was understood
        unparsed = raw_body
        try:
            if op is None:
                if known:
                    raise error_for(document, 405, f"Method {method} is not allowed on {path}.")
                raise error_for(document, 404, f"No API operation at {path}.")
            if raw_body is not None:
                body = self._parse_body(op, raw_body)
                unparsed = None
            if not checked and too_deep(body):
                raise error_for(op.document, 400, f"The request body is nested more than {MAX_DEPTH} levels deep.")
            response = self._dispatch(op, params, query, body, checked, user)
        except ApiError as exc:
            response = exc.response
        except Exception as exc:  # a bug in a handler: answered as the real service would, and logged loudly
            if self.strict:
                raise
            response = Response(500, {"errorMessages": [f"Internal server error: {type(exc).__name__}: {exc}"],
                                      "errors": {}})
        if op is not None and op.id == "createIssues" and response.status == 400 and "errorMessages" in \
                (response.body or {}):  # bulk create declares its own 400 body: every error is an element's
            response = Response(400, {"issues": [], "errors": [{"status": 400, "elementErrors": response.body}]})
        elif op is not None and op.id == "submitBulkMove" and "errorMessages" in (response.body or {}):
            response = Response(response.status, jira_lifecycle.move_errors(response.body))  # its declared body
        if response.body is not None:
            response.headers.setdefault("Content-Type", "application/json;charset=UTF-8")
        entry = {"operation": op.id if op else None, "method": method, "path": path, "status": response.status,
                 "params": params, "query": query, "body": body, "response": response.body}
        if unparsed:  # a body that did not parse (or never reached the parser): its text
            entry["raw_body"] = unparsed[:2000]
        self.log.append(entry)
        if self.check_responses and op is not None:
            self._conform(op, response)
        return response

    def _parse_body(self, op: Operation, raw: str) -> Any:
        if len(raw) > MAX_BODY:
            raise error_for(op.document, 413, "The request is too large in size (over 5 MB).")
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise error_for(op.document, 400, f"Unexpected character in the request body: {exc}") from None
        except RecursionError:
            raise error_for(op.document, 400, f"The request body is nested more than {MAX_DEPTH} levels "
                                              f"deep.") from None

    def _dispatch(self, op: Operation, params: dict[str, str], query: dict[str, Any], body: Any,
                  checked: bool = False, user: str = "") -> Response:
        for p in op.parameters:
            if p.location == "path":
                schema = p.schema
                if schema.get("type") == "integer" and not params[p.name].isdigit():
                    raise error_for(op.document, 400, f"The path parameter '{p.name}' must be a number, "
                                                      f"not '{params[p.name]}'.")
            elif p.name in query:
                query[p.name] = coerce(query[p.name], p.schema, p.name, op)
            elif p.required:
                raise error_for(op.document, 400, f"The query parameter '{p.name}' is required.")
        if op.body_schema is not None:
            if body is None:
                if op.body_required:
                    raise error_for(op.document, 400, "The request body is missing.")
                body = {}
            elif not checked and len(json.dumps(body)) > MAX_BODY:
                raise error_for(op.document, 413, "The request is too large in size (over 5 MB).")
            if op.id in NUMERIC_IDS and isinstance(body, dict):
                body = numeric_ids(body, NUMERIC_IDS[op.id])
            validator, check = spec().body_validator(op), spec().body_check(op)
            error = None if validator is None or (check is not None and check(body)) else best_match(
                validator.iter_errors(body))
            if error is not None:
                where = "/".join(str(p) for p in error.absolute_path)
                name = str(error.absolute_path[0]) if error.absolute_path else None
                raise error_for(op.document, 400, f"Invalid request body{' at /' + where if where else ''}: "
                                                  f"{error.message[:300]}", name)
        if op.write:
            self._written, self._current = True, None
        return HANDLERS[op.id](self.site, Request(op.method, op.path, query, body, params, user))

    def _conform(self, op: Operation, response: Response) -> None:
        validator, check = spec().response_validator(op, response.status), spec().response_check(op, response.status)
        if validator is None or (check is not None and check(response.body)):
            return
        error = best_match(validator.iter_errors(response.body))
        if error is not None:
            raise ConformanceError(f"{op.id} {response.status} breaks the spec at "
                                   f"/{'/'.join(map(str, error.absolute_path))}: {error.message[:300]}")

    # -- tool level ------------------------------------------------------------------------------------------
    def call(self, name: str, arguments: str | Mapping[str, Any], call_id: str = "") -> ToolResult:
        """Execute a tool call from a model; rejected calls are answered, recorded, and change nothing."""
        try:
            raw = arguments if isinstance(arguments, str) else json.dumps(arguments, default=repr)
        except (ValueError, RecursionError):  # a circular or too deeply nested mapping from a Python caller
            raw = "<arguments not representable as JSON>"
        mark = len(self.log)
        if name not in self.tools:
            document = "jira-v3"
            status, body, error, op = 404, {"errorMessages": [
                f"Unknown tool '{name[:100]}'. The tools are: {', '.join(self.tools)}."], "errors": {}}, \
                "unknown_tool", None
        else:
            tool = catalog.tool(name)
            op = tool.operation
            document = op.document
            status, body, error = self._tool(tool, arguments, len(raw))
        result = ToolResult(call_id=call_id, name=name, status=status, body=body,
                            content=render(status, body), error=error,
                            write=bool(op and op.write), operation=op.id if op else None,
                            request=None if error else {"raw": raw[:2000]})
        del document
        # The log names the tool and its arguments as written; a rejected call, which reached no operation, too.
        if len(self.log) > mark:
            self.log[mark].update(tool=name, arguments=raw)
        else:
            self.log.append({"operation": result.operation, "method": None, "path": None, "status": status,
                             "tool": name, "arguments": raw, "error": error, "response": body})
        return result

    def _tool(self, tool: catalog.Tool, arguments: str | Mapping[str, Any],
              size: int) -> tuple[int, Any, str | None]:
        document = tool.operation.document
        if size > MAX_BODY:
            e = error_for(document, 413, "The request is too large in size (over 5 MB).").response
            return e.status, e.body, "invalid_arguments"
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError as exc:
                e = error_for(document, 400, f"The arguments are not valid JSON: {exc}").response
                return e.status, e.body, "invalid_json"
            except RecursionError:
                e = error_for(document, 400, f"The arguments nest more than {MAX_DEPTH} levels.").response
                return e.status, e.body, "invalid_json"
        if not isinstance(arguments, Mapping):
            e = error_for(document, 400, "The arguments must be a JSON object.").response
            return e.status, e.body, "invalid_json"
        if too_deep(arguments):
            e = error_for(document, 400, f"The arguments nest more than {MAX_DEPTH} levels.").response
            return e.status, e.body, "invalid_arguments"
        arguments = dict(arguments)
        problem = tool.argument_error(arguments)
        if problem:
            e = error_for(document, 400, problem[1], problem[0] or None).response
            return e.status, e.body, "invalid_arguments"
        path, query, body = tool.request(arguments)
        response = self._request(tool.operation.method, path, query, body, checked=True)
        return response.status, response.body, None

    # -- serving -------------------------------------------------------------------------------------------
    def serve(self) -> ServedWorld:
        """This world served on loopback to an agent: REST, MCP on demand, the log read back as tool calls."""
        from .served import ServedWorld

        return ServedWorld(self)

    # -- state ---------------------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The state as plain JSON data (shared until the next write: treat it as read-only)."""
        if not self._written:
            return self.initial
        if self._current is None:
            self._current = self.site.snapshot()
        return self._current

    def state_diff(self) -> dict[str, Any]:
        return diff(self.initial, self.snapshot()) if self._written else {}


def coerce(value: Any, schema: dict[str, Any], name: str, op: Operation) -> Any:
    """A query value (text from a URL, or JSON from a tool call) as the type its parameter declares."""
    kind = schema.get("type")
    try:
        if kind == "array":
            items = value if isinstance(value, list) else [v for v in str(value).split(",") if v != ""]
            return [coerce(v, schema.get("items", {}), name, op) for v in items]
        if isinstance(value, list | dict):
            raise ValueError
        if kind == "integer":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            number = int(value)
            if "maximum" in schema and number > schema["maximum"]:
                raise error_for(op.document, 400, f"Parameter '{name}' must not exceed the limit "
                                                  f"'{schema['maximum']}'")
            return number
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
            raise ValueError
        text = value if isinstance(value, str) else json.dumps(value)
        if schema.get("enum") == ["true", "false"] and text.lower() in ("true", "false"):
            return text.lower()  # a boolean spelled as a string: Jira parses it as Java does, in any case
        if "enum" in schema and text not in schema["enum"]:
            raise error_for(op.document, 400, f"Invalid value '{text[:100]}' for parameter '{name}'; expected "
                                              f"one of: {', '.join(map(str, schema['enum']))}.")
        return text
    except (ValueError, TypeError, OverflowError):
        raise error_for(op.document, 400, f"Invalid value for parameter '{name}': expected "
                                          f"{kind or 'a string'}.") from None


def numeric_ids(body: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """`body` with the integer `id` of each named reference object as the string Jackson makes of it."""
    for name in names:
        ref = body.get(name)
        if isinstance(ref, dict) and isinstance(ref.get("id"), int) and not isinstance(ref["id"], bool):
            body = {**body, name: {**ref, "id": str(ref["id"])}}
    return body


def render(status: int, body: Any) -> str:
    """What the model reads: the status and the JSON body, compact."""
    out: dict[str, Any] = {"status": status}
    if body is not None:
        out["body"] = body
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False)
