"""Tools derived from the official OpenAPI documents: what the model sees, and how a call becomes a request.

A tool is one operation (named by its operationId, described by its summary). Its parameters are the
operation's path parameters, a chosen few query parameters and the top-level properties of its request
body, flattened so that every parameter has a plain JSON type: nested objects are shown as `object` (the
form `transformers.utils.get_json_schema` gives a Python callable, so evaluation and training can show the
model the same schema). Descriptions are the spec's own, cut to their first sentence. The full nested
request schema is not shown; the simulator enforces it on the request, as the real service does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from .openapi import Operation, spec

# operationId -> (query parameters offered, body properties offered). A body that is not an object with
# properties (addLabelsToContent takes an array) is offered whole as the argument `body`.
OFFERED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "createIssue": ((), ("fields", "update")),
    "getIssue": (("fields", "expand"), ()),
    "editIssue": (("returnIssue",), ("fields", "update")),
    "searchAndReconsileIssuesUsingJql": (("jql", "fields", "maxResults", "nextPageToken"), ()),
    "searchAndReconsileIssuesUsingJqlPost": ((), ("jql", "fields", "maxResults", "nextPageToken")),
    "getTransitions": (("expand",), ()),
    "doTransition": ((), ("transition", "fields", "update")),
    "getComments": (("startAt", "maxResults", "orderBy"), ()),
    "addComment": ((), ("body",)),
    "getProject": (("expand",), ()),
    "searchProjects": (("query", "keys", "startAt", "maxResults"), ()),
    "getIssueTypesForProject": (("projectId",), ()),
    "getCreateIssueMetaIssueTypes": ((), ()),
    "getCreateIssueMetaIssueTypeId": ((), ()),
    "assignIssue": ((), ("accountId",)),
    "findUsers": (("query", "accountId", "maxResults"), ()),
    "createPage": ((), ("spaceId", "status", "title", "parentId", "body")),
    "getPages": (("space-id", "title", "status", "body-format", "limit", "cursor"), ()),
    "getPageById": (("body-format", "include-labels"), ()),
    "updatePage": ((), ("id", "status", "title", "body", "version", "parentId")),
    "getSpaces": (("keys", "ids", "limit", "cursor"), ()),
    "getSpaceById": ((), ()),
    "getPageDirectChildren": (("limit", "cursor"), ()),
    "getPageLabels": (("limit", "cursor"), ()),
    "getPageFooterComments": (("body-format",), ()),
    "createFooterComment": ((), ("pageId", "body")),
    "addLabelsToContent": ((), ()),
}


def _sentence(text: str, limit: int = 200) -> str:
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text or "")  # markdown links -> their text
    text = " ".join(text.replace("`", "").replace("*", "").split())
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def _flat(schema: dict[str, Any], op: Operation, top: bool = True) -> dict[str, Any]:
    """A schema reduced to plain JSON types, nested objects as bare `object`, enums only at the top level
    (what a Python signature and docstring can say, through `get_json_schema`)."""
    resolver = spec().registry.resolver()
    while "$ref" in schema:
        schema = resolver.lookup(schema["$ref"]).contents
    for combo in ("allOf", "anyOf"):
        if combo in schema and "type" not in schema:
            return _flat(schema[combo][0], op, top)
    # An untyped schema takes any value; the model is shown `object` where the value is a document (Jira's
    # comment body: "The comment text in Atlassian Document Format"), else `string`.
    kind = schema.get("type", "object" if "properties" in schema or "Document Format" in
                      schema.get("description", "") else "string")
    nullable = isinstance(kind, list) and "null" in kind
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    out: dict[str, Any] = {"type": "number" if kind == "number" else kind}
    if nullable:
        out["nullable"] = True  # as transformers' get_json_schema renders `X | None`
    if kind == "array":
        out["items"] = _flat(schema.get("items", {}), op, top=False)
    if top and "enum" in schema and kind in ("string", "integer"):
        out["enum"] = [v for v in schema["enum"] if v is not None]
    return out


@dataclass(frozen=True)
class Argument:
    name: str  # as the model writes it (a Python identifier)
    spec_name: str
    location: str  # "path" | "query" | "body" | "wholebody"
    schema: dict[str, Any]  # flattened, with description
    required: bool


@dataclass(frozen=True)
class Tool:
    name: str
    operation: Operation
    description: str
    arguments: tuple[Argument, ...]

    @property
    def parameters(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "object", "properties": {a.name: a.schema for a in self.arguments}}
        required = [a.name for a in self.arguments if a.required]
        if required:
            schema["required"] = required
        return schema

    @property
    def definition(self) -> dict[str, Any]:
        """The OpenAI-style tool definition the model sees."""
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}

    @property
    def validator(self) -> Draft202012Validator:
        return _validator(self.name)

    def argument_error(self, arguments: dict[str, Any]) -> tuple[str, str] | None:
        """(argument name, message) for the first argument that breaks the tool's schema, or None."""
        quick = _quick(self.name)
        error = None if quick is not None and quick(arguments) else best_match(self.validator.iter_errors(arguments))
        if error is None:
            for a in self.arguments:  # an empty path segment would address another resource
                if a.location == "path" and not str(arguments.get(a.name, "x")).strip():
                    return a.name, f"Invalid argument '{a.name}': the {a.spec_name} must not be empty."
            return None
        if error.validator == "additionalProperties":
            extra = sorted(set(arguments) - {a.name for a in self.arguments})
            return extra[0], f"Unexpected argument '{extra[0]}'; this tool takes: {', '.join(self.names)}."
        name = str(error.absolute_path[0]) if error.absolute_path else ""
        if error.validator == "required":
            name = error.message.split("'")[1]
        where = "/".join(str(p) for p in error.absolute_path)
        return name, f"Invalid argument '{where or name}': {error.message[:200]}"

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.arguments]

    def request(self, arguments: dict[str, Any]) -> tuple[str, dict[str, Any], Any]:
        """(path, query, body) for validated arguments. Scalars bound for the URL become strings."""
        path = self.operation.path
        query: dict[str, Any] = {}
        body: Any = {} if any(a.location == "body" for a in self.arguments) else None
        for a in self.arguments:
            if a.name not in arguments:
                continue
            value = arguments[a.name]
            if a.location == "path":
                path = path.replace("{" + a.spec_name + "}", _url_part(value))
                if a.spec_name in _body_properties(self.name):  # updatePage: the id in the path and the body
                    body[a.spec_name] = value
            elif a.location == "query":
                query[a.spec_name] = value
            elif a.location == "body":
                body[a.spec_name] = value
            else:
                body = value
        return path, query, body

    @property
    def body_names(self) -> set[str]:
        return {a.spec_name for a in self.arguments if a.location == "body"}


@cache
def _body_properties(name: str) -> frozenset[str]:
    """The top-level properties of an operation's request body schema."""
    body = spec().operations[name].body_schema or {}
    resolver = spec().registry.resolver()
    while "$ref" in body:
        body = resolver.lookup(body["$ref"]).contents
    return frozenset(body.get("properties") or ())


def _url_part(value: Any) -> str:
    from urllib.parse import quote

    return quote(str(value), safe="")


def _build(name: str) -> Tool:
    op = spec().operations[name]
    query_names, body_names = OFFERED[name]
    args: list[Argument] = []
    for p in op.parameters:
        if p.location == "path" or p.name in query_names:
            schema = _flat(p.schema, op)
            if p.location == "path":
                schema = {"type": "string"}  # ids are strings in bodies; the simulator checks the format
            args.append(Argument(p.name.replace("-", "_"), p.name, p.location,
                                 {**schema, "description": _sentence(p.description)}, p.required))
    body = op.body_schema
    if body is not None:
        resolver = spec().registry.resolver()
        while "$ref" in body:
            body = resolver.lookup(body["$ref"]).contents
        props = body.get("properties")
        if props and body_names:
            required = set(body.get("required", []))
            for prop in body_names:
                if any(a.name == prop for a in args):  # a path parameter also sent in the body
                    continue
                schema = _flat(props[prop], op)
                described = props[prop].get("description") or _describe(props[prop])
                args.append(Argument(prop, prop, "body", {**schema, "description": _sentence(described)},
                                     prop in required))
        elif not props:
            args.append(Argument("body", "body", "wholebody",
                                 {**_flat(body, op), "description": _sentence(_body_description(op))}, True))
    return Tool(name, op, f"{op.summary}. {_sentence(op.description)}", tuple(args))


def _describe(schema: dict[str, Any]) -> str:
    """A description for an undescribed property: its first alternative's, or the keys it takes."""
    resolver = spec().registry.resolver()
    for alt in [*schema.get("allOf", []), *schema.get("anyOf", []), schema]:
        while "$ref" in alt:
            alt = resolver.lookup(alt["$ref"]).contents
        if alt.get("description"):
            return alt["description"]
        if alt.get("properties"):
            return "An object with " + ", ".join(alt["properties"]) + "."
    return ""


def _body_description(op: Operation) -> str:
    document = spec().documents[op.document]
    for item in document["paths"].values():
        for method, raw in item.items():
            if method != "parameters" and raw.get("operationId") == op.id:
                return raw.get("requestBody", {}).get("description", "The request body.")
    return "The request body."


@cache
def tool(name: str) -> Tool:
    """The tool for an operationId (KeyError when the simulator does not serve it)."""
    if name not in OFFERED:
        raise KeyError(name)
    return _build(name)


@cache
def _validator(name: str) -> Draft202012Validator:
    parameters = tool(name).parameters
    properties = {n: {**s, "type": [s["type"], "null"]} if s.get("nullable") else s
                  for n, s in parameters["properties"].items()}
    return Draft202012Validator({**parameters, "properties": properties, "additionalProperties": False})


# The JSON types of the flat tool schemas, as jsonschema's Draft 2020-12 type checker defines them.
_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def _quick_value(schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """An exact check for a flat argument schema (type, string enum, items), or None for anything else."""
    if set(schema) - {"type", "enum", "items", "description", "nullable"}:
        return None
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if not all(isinstance(k, str) and k in _TYPES for k in kinds):
        return None
    checks = [_TYPES[k] for k in kinds]
    enum = schema.get("enum")
    if enum is not None and not all(isinstance(e, str) for e in enum):
        return None
    allowed = frozenset(enum) if enum is not None else None
    items = _quick_value(schema["items"]) if "items" in schema else None
    if "items" in schema and items is None:
        return None

    def check(value: Any) -> bool:
        if not any(c(value) for c in checks):
            return False
        if allowed is not None and not (isinstance(value, str) and value in allowed):
            return False
        return items is None or not isinstance(value, list) or all(items(v) for v in value)

    return check


@cache
def _quick(name: str) -> Callable[[dict[str, Any]], bool] | None:
    """A fast, exact check of a tool's arguments against its (flat) schema: True means valid. jsonschema runs
    only when it says False, to find the error message; None when the schema has keywords it does not know."""
    schema = _validator(name).schema
    if set(schema) - {"type", "properties", "required", "additionalProperties"} or schema.get(
            "additionalProperties") is not False or schema.get("type") != "object":
        return None
    checks = {n: _quick_value(s) for n, s in schema["properties"].items()}
    if any(c is None for c in checks.values()):
        return None
    required = tuple(schema.get("required", ()))

    def check(arguments: dict[str, Any]) -> bool:
        if not isinstance(arguments, dict) or any(r not in arguments for r in required):
            return False
        for key, value in arguments.items():
            value_check = checks.get(key)
            if value_check is None or not value_check(value):
                return False
        return True

    return check


def definitions(names: list[str] | tuple[str, ...]) -> list[dict[str, Any]]:
    """OpenAI-style definitions for a list of tools, in that order."""
    return [tool(n).definition for n in names]


ALL_TOOLS = tuple(OFFERED)


def size(names: list[str] | tuple[str, ...]) -> int:
    """Characters of the compact JSON the tool definitions take in a prompt."""
    return len(json.dumps(definitions(names), separators=(",", ":")))
