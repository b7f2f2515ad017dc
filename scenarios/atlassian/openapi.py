"""The official OpenAPI documents (the subsets in specs/), as operations with compiled validators.

OpenAPI 3.0 schemas are JSON Schema draft-04 plus a few keywords. Two conversions make them checkable by
jsonschema, both recorded here because they are choices:

- `nullable: true` becomes a union with `null`;
- `oneOf` becomes `anyOf`: Atlassian's alternatives overlap (for example `PageBodyWrite` and
  `PageNestedBodyWrite` are both objects with no required property), so a literal `oneOf` would reject
  every body the real service accepts. Handlers check the chosen alternative themselves.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, ValidationError, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPECS = Path(__file__).parent / "specs"

# Where each document's paths live on the site.
PREFIX = {"jira-v3": "", "confluence-v2": "/wiki/api/v2", "confluence-v1": ""}
# POST operations that only read.
READ_ONLY_POSTS = {"searchAndReconsileIssuesUsingJqlPost"}
# Body properties that an operation's description lets be null where its schema does not: assignIssue's
# "If `name` or `accountId` is set to: ... `null`, the issue is set to unassigned."
DESCRIBED_NULLS = {"assignIssue": ("accountId",)}


def _convert(node: Any, urn: str) -> Any:
    """Make an OpenAPI schema a JSON Schema, with local `$ref`s made absolute (`urn:<document>#/...`)."""
    if isinstance(node, list):
        return [_convert(v, urn) for v in node]
    if not isinstance(node, dict):
        return node
    out = {("anyOf" if k == "oneOf" else k): _convert(v, urn) for k, v in node.items() if k != "nullable"}
    if isinstance(out.get("$ref"), str) and out["$ref"].startswith("#"):
        out["$ref"] = urn + out["$ref"]
    if node.get("nullable"):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [{"type": "null"}, out]}
    return out


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # "path" | "query"
    required: bool
    schema: dict[str, Any]
    description: str


@dataclass
class Operation:
    id: str
    document: str
    method: str
    path: str  # full path on the site, with {placeholders}
    summary: str
    description: str
    parameters: list[Parameter]
    body_schema: dict[str, Any] | None
    body_required: bool
    responses: dict[str, dict[str, Any] | None]
    pattern: re.Pattern[str] = field(repr=False, default=re.compile(""))

    @property
    def write(self) -> bool:
        return self.method != "GET" and self.id not in READ_ONLY_POSTS


class Spec:
    """Every served operation of the three documents, by operationId, with compiled validators."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        resources = []
        for name in PREFIX:
            doc = _convert(json.loads((SPECS / f"{name}.subset.json").read_text()), f"urn:{name}")
            self.documents[name] = doc
            resources.append((f"urn:{name}", Resource.from_contents(doc, default_specification=DRAFT4)))
        adf = json.loads((SPECS / "adf-schema.json").read_text())
        resources.append(("urn:adf", Resource.from_contents(adf, default_specification=DRAFT4)))
        self.registry = Registry().with_resources(resources)
        self.adf = adf_validator(adf, self.registry)
        self.operations: dict[str, Operation] = {}
        for name, doc in self.documents.items():
            for path, item in doc["paths"].items():
                shared = item.get("parameters", [])
                for method, op in item.items():
                    if method != "parameters":
                        self.operations[op["operationId"]] = self._operation(name, path, method, op, shared)

    def _resolve(self, document: str, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = self.registry.resolver().lookup(node["$ref"]).contents
        return node

    def _operation(self, document: str, path: str, method: str, op: dict, shared: list) -> Operation:
        params = []
        for raw in [*shared, *op.get("parameters", [])]:
            p = self._resolve(document, raw)
            if p["in"] in ("path", "query"):
                params.append(
                    Parameter(p["name"], p["in"], bool(p.get("required")), self._resolve(document, p.get("schema", {})),
                              p.get("description", ""))
                )
        body, body_required = None, False
        if "requestBody" in op:
            rb = self._resolve(document, op["requestBody"])
            body = rb.get("content", {}).get("application/json", {}).get("schema")
            body_required = bool(rb.get("required"))
            for name in DESCRIBED_NULLS.get(op["operationId"], ()):
                body = self._resolve(document, body)
                prop = body["properties"][name]
                body = {**body, "properties": {**body["properties"], name: {**prop, "type": [prop["type"], "null"]}}}
        responses = {
            code: (r.get("content") or {}).get("application/json", {}).get("schema")
            for code, r in op["responses"].items()
        }
        full = PREFIX[document] + path
        pattern = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(full)) + "$")
        return Operation(op["operationId"], document, method.upper(), full, op.get("summary", ""),
                         op.get("description", ""), params, body, body_required, responses, pattern)

    @cache  # noqa: B019 - one Spec per process
    def validator(self, document: str, schema_json: str) -> Draft4Validator:
        """A compiled validator for a schema (given as JSON text) inside `document`."""
        schema = json.loads(schema_json)
        return Draft4Validator(schema, registry=self.registry)

    def body_validator(self, op: Operation) -> Draft4Validator | None:
        if op.body_schema is None:
            return None
        return self.validator(op.document, json.dumps(op.body_schema, sort_keys=True))

    def response_validator(self, op: Operation, status: int) -> Draft4Validator | None:
        schema = op.responses.get(str(status))
        if not schema:
            return None
        return self.validator(op.document, json.dumps(schema, sort_keys=True))

    def match(self, method: str, path: str) -> tuple[Operation | None, dict[str, str], bool]:
        """The operation serving (method, path), its path parameters, and whether the path exists at all."""
        path_known = False
        for op in self.operations.values():
            m = op.pattern.match(path)
            if m:
                path_known = True
                if op.method == method:
                    return op, m.groupdict(), True
        return None, {}, path_known


def adf_validator(adf: dict[str, Any], registry: Registry) -> Draft4Validator:
    """A validator for ADF documents whose `anyOf` only tries the alternatives for the node's `type`.

    ADF lists every node kind as an alternative of an `anyOf`, several of them per kind (paragraph variants
    and so on). A plain `anyOf` descends into all of them at every level, which costs milliseconds for a
    small document and grows exponentially with nesting (a 6-deep invalid list took 40 s). An alternative
    whose `properties.type.enum` (through `$ref` and `allOf`) lacks the node's `type` can never match, so
    skipping it changes no verdict; it only spares the work and keeps the error context relevant.
    """
    kinds: dict[int, tuple[frozenset[str] | None, ...]] = {}
    keep: list[Any] = []  # the lists keyed by id() stay alive

    def node_types(schema: Any, seen: frozenset[str] = frozenset()) -> frozenset[str] | None:
        if not isinstance(schema, dict):
            return None
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/") and ref not in seen:
            return node_types(adf["definitions"].get(ref.split("/")[-1]), seen | {ref})
        enum = ((schema.get("properties") or {}).get("type") or {}).get("enum")
        found = frozenset(e for e in enum if isinstance(e, str)) if isinstance(enum, list) else None
        for sub in schema.get("allOf", []):
            more = node_types(sub, seen)
            if more is not None:
                found = more if found is None else found & more
        return found

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("anyOf"), list):
                kinds[id(node["anyOf"])] = tuple(node_types(s) for s in node["anyOf"])
                keep.append(node["anyOf"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(adf)

    def any_of(validator: Any, alternatives: list[Any], instance: Any, schema: dict[str, Any]) -> Any:
        types = kinds.get(id(alternatives))
        kind = instance.get("type") if isinstance(instance, dict) else None
        errors = []
        for index, (subschema, admits) in enumerate(zip(alternatives, types or [None] * len(alternatives),
                                                         strict=True)):
            if admits is not None and isinstance(kind, str) and kind not in admits:
                continue
            found = list(validator.descend(instance, subschema, schema_path=index))
            if not found:
                return
            errors.extend(found)
        yield ValidationError(f"{_short(instance)} is not valid under any of the given schemas", context=errors)

    validator_class = validators.extend(Draft4Validator, {"anyOf": any_of})
    return validator_class(adf, registry=registry)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:199] + "…"


@cache
def spec() -> Spec:
    return Spec()
