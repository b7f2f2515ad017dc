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
import numbers
import re
from collections.abc import Callable
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
READ_ONLY_POSTS = {"searchAndReconsileIssuesUsingJqlPost", "getBulkChangelogs", "getChangeLogsByIds"}
# Body properties that may be null where the schema does not say so: assignIssue's description says "If `name`
# or `accountId` is set to: ... `null`, the issue is set to unassigned."; Jira reads linkIssues' null `comment`
# (which pycontribs `jira` always sends) as no comment, as Jackson does for any optional object, and
# getBulkChangelogs' null `fieldIds` (which mcp-atlassian sends) as no filter.
DESCRIBED_NULLS = {"assignIssue": ("accountId",), "linkIssues": ("comment",), "getBulkChangelogs": ("fieldIds",)}


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
    placeholders: tuple[str, ...] = ()  # the path's {names}, in the order of the pattern's groups

    @property
    def write(self) -> bool:
        return self.method != "GET" and self.id not in READ_ONLY_POSTS


class Spec:
    """Every served operation of the three documents, by operationId, with compiled validators. An operationId
    that an earlier document (in PREFIX order) uses already is qualified with its document's name:
    `confluence-v1.getUser` beside Jira's `getUser`."""

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
        # Every `$ref` in the converted documents is absolute (urn:<document>#/...), so it resolves the same
        # wherever it is met: each is looked up once.
        self._validator_class = cached_refs(Draft4Validator, lambda ref: self.registry.resolver().lookup(ref).contents)
        self._compiled: dict[tuple[str, Any], Draft4Validator | None] = {}
        self._checks: dict[tuple[str, Any], Callable[[Any], bool] | None] = {}
        self.adf = adf_validator(adf, self.registry)
        self.adf_check = compiled(adf, lambda ref: pointer(adf, ref))  # True: valid ADF (see `compiled`)
        self.operations: dict[str, Operation] = {}
        for name, doc in self.documents.items():
            for path, item in doc["paths"].items():
                shared = item.get("parameters", [])
                for method, op in item.items():
                    if method != "parameters":
                        operation = self._operation(name, path, method, op, shared)
                        if operation.id in self.operations:  # Jira's and Confluence v1's getUser, say
                            operation.id = f"{name}.{operation.id}"
                        self.operations[operation.id] = operation
        self._by_depth: dict[int, list[Operation]] = {}  # operations by the number of "/" in their paths
        for operation in self.operations.values():
            self._by_depth.setdefault(operation.path.count("/"), []).append(operation)

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
                prop = {**prop, "type": [prop["type"], "null"]} if "type" in prop else {
                    "anyOf": [{"type": "null"}, prop]}
                body = {**body, "properties": {**body["properties"], name: prop}}
        responses = {
            code: (r.get("content") or {}).get("application/json", {}).get("schema")
            for code, r in op["responses"].items()
        }
        full = PREFIX[document] + path
        return Operation(op["operationId"], document, method.upper(), full, op.get("summary", ""),
                         op.get("description", ""), params, body, body_required, responses, *route(full))

    @cache  # noqa: B019 - one Spec per process
    def validator(self, document: str, schema_json: str) -> Draft4Validator:
        """A compiled validator for a schema (given as JSON text) inside `document`."""
        schema = json.loads(schema_json)
        return self._validator_class(schema, registry=self.registry)

    def body_validator(self, op: Operation) -> Draft4Validator | None:
        if op.body_schema is None:
            return None
        key = (op.id, "body")  # looked up per call: keyed by operation, not by the schema's JSON text
        if key not in self._compiled:
            self._compiled[key] = self.validator(op.document, json.dumps(op.body_schema, sort_keys=True))
        return self._compiled[key]

    def body_check(self, op: Operation) -> Callable[[Any], bool] | None:
        """The compiled verdict on a request body (True: valid), or None where only the validator applies."""
        return self._check((op.id, "body"), op.body_schema)

    def response_check(self, op: Operation, status: int) -> Callable[[Any], bool] | None:
        return self._check((op.id, status), op.responses.get(str(status)))

    def _check(self, key: tuple[str, Any], schema: dict[str, Any] | None) -> Callable[[Any], bool] | None:
        if key not in self._checks:
            self._checks[key] = compiled(schema, lambda ref: self.registry.resolver().lookup(ref).contents) \
                if schema else None
        return self._checks[key]

    def response_validator(self, op: Operation, status: int) -> Draft4Validator | None:
        key = (op.id, status)
        if key not in self._compiled:
            schema = op.responses.get(str(status))
            self._compiled[key] = self.validator(op.document, json.dumps(schema, sort_keys=True)) if schema else None
        return self._compiled[key]

    def match(self, method: str, path: str) -> tuple[Operation | None, dict[str, str], bool]:
        """The operation serving (method, path), its path parameters, and whether the path exists at all."""
        path_known = False
        for op in self._by_depth.get(path.count("/"), ()):  # a placeholder never spans a "/"
            m = op.pattern.match(path)
            if m:
                path_known = True
                if op.method == method:
                    return op, dict(zip(op.placeholders, m.groups(), strict=True)), True
        return None, {}, path_known


def route(path: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """A path template's pattern, one group per {placeholder}, and the placeholders' names. Names are kept
    apart from the pattern: Confluence v2 names some with hyphens (`{page-id}`), which no regex group name takes."""
    names = tuple(re.findall(r"\{([^{}/]+)\}", path))
    return re.compile("^" + re.sub(r"\\\{[^{}/]+?\\\}", "([^/]+)", re.escape(path)) + "$"), names


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

    validator_class = validators.extend(cached_refs(Draft4Validator, lambda ref: pointer(adf, ref)),
                                        {"anyOf": any_of})
    return validator_class(adf, registry=registry)


def pointer(document: Any, ref: str) -> Any:
    """The node a local reference ("#/definitions/<name>", as all of ADF's are) points to."""
    target = document
    for part in ref.removeprefix("#/").split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target


def cached_refs(base: Any, resolve: Callable[[str], Any]) -> Any:
    """`base` with its `$ref`s resolved once and remembered: the same validation, without a registry lookup
    (a third of the time of a small document) each time a reference is followed. Only for validators whose
    references resolve the same wherever they are met (absolute ones, or all relative to one root)."""
    targets: dict[str, Any] = {}

    def ref(validator: Any, ref: str, instance: Any, schema: dict[str, Any]) -> Any:
        target = targets.get(ref)
        if target is None:
            target = targets[ref] = resolve(ref)
        yield from validator.descend(instance, target)

    return validators.extend(base, {"$ref": ref})


# -- a boolean fast path: the same verdicts as jsonschema, compiled once ----------------------------------------
class _Unsupported(Exception):
    """A keyword the compiler does not handle: the schema is left to jsonschema alone."""


_DRAFT4_TYPES: dict[str, Callable[[Any], bool]] = {  # jsonschema's draft 4 type checker
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, numbers.Number) and not isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "string": lambda v: isinstance(v, str),
}
# Keywords that look at the instance alone (they never descend): checked with jsonschema's own functions.
_LEAVES = frozenset({"enum", "minItems", "maxItems", "minLength", "maxLength", "minimum", "maximum", "pattern",
                     "uniqueItems", "multipleOf", "minProperties", "maxProperties"})
_HANDLED = frozenset({"$ref", "type", "properties", "additionalProperties", "required", "items", "anyOf", "allOf",
                      "format"}) | _LEAVES  # `format` asserts nothing without a format checker, as here
_BASE = Draft4Validator({})


def compiled(root: Any, resolve: Callable[[str], Any]) -> Callable[[Any], bool] | None:
    """Draft 4's verdict on an instance (True: valid) as one function compiled from the schema, or None when
    the schema uses a keyword it does not compile.

    jsonschema builds a new validator object at every step down a schema, a few microseconds each: most of
    the cost of validating a request. The validators call this first and run jsonschema only on what it
    rejects, to say why. Same verdicts (tests/test_simulator_world.py checks them against plain jsonschema);
    `anyOf` skips the alternatives whose `type` enum excludes the node's, as `adf_validator` does.
    """
    cells: dict[int, list[Any]] = {}
    keep: list[Any] = []

    def build(schema: Any) -> Callable[[Any], bool]:
        if not isinstance(schema, dict):
            raise _Unsupported(schema)
        if "$ref" in schema:  # draft 4 ignores the siblings of a reference
            return build(resolve(schema["$ref"]))
        cell = cells.get(id(schema))
        if cell is not None:  # met again (recursion, or shared): use it once it is built
            return cell[0] if cell[0] is not None else (lambda v: cell[0](v))
        cell = cells[id(schema)] = [None]
        keep.append(schema)
        cell[0] = combine(schema)
        return cell[0]

    def combine(schema: dict[str, Any]) -> Callable[[Any], bool]:
        unknown = set(schema) & set(Draft4Validator.VALIDATORS) - _HANDLED
        if unknown:
            raise _Unsupported(unknown)
        checks: list[Callable[[Any], bool]] = []
        if "type" in schema:
            names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not all(isinstance(n, str) and n in _DRAFT4_TYPES for n in names):
                raise _Unsupported(names)
            tests = [_DRAFT4_TYPES[n] for n in names]
            checks.append(tests[0] if len(tests) == 1 else lambda v: any(t(v) for t in tests))
        enum = schema.get("enum")
        leaves = set(schema) & _LEAVES
        if isinstance(enum, list) and enum and all(isinstance(e, str) for e in enum):  # the usual: names
            allowed = frozenset(enum)
            checks.append(lambda v: isinstance(v, str) and v in allowed)
            leaves.discard("enum")
        checks += [_leaf(keyword, schema) for keyword in sorted(leaves)]
        if "required" in schema:
            required = tuple(schema["required"])
            checks.append(lambda v: not isinstance(v, dict) or all(r in v for r in required))
        properties = [(name, build(sub)) for name, sub in (schema.get("properties") or {}).items()]
        if properties:
            def check_properties(v: Any) -> bool:
                if isinstance(v, dict):
                    for name, test in properties:
                        if name in v and not test(v[name]):
                            return False
                return True
            checks.append(check_properties)
        extra = schema.get("additionalProperties", True)
        if extra is not True and extra != {}:
            known = frozenset(schema.get("properties") or ())
            if extra is False:
                checks.append(lambda v: not isinstance(v, dict) or all(k in known for k in v))
            else:
                test_extra = build(extra)
                checks.append(lambda v: not isinstance(v, dict) or all(
                    test_extra(x) for k, x in v.items() if k not in known))
        if isinstance(schema.get("items"), dict):
            test_item = build(schema["items"])
            checks.append(lambda v: not isinstance(v, list) or all(test_item(x) for x in v))
        elif isinstance(schema.get("items"), list):  # draft 4's tuple form: one schema per position
            test_items = [build(sub) for sub in schema["items"]]
            checks.append(lambda v: not isinstance(v, list) or all(
                t(x) for t, x in zip(test_items, v, strict=False)))
        if "allOf" in schema:
            parts = [build(sub) for sub in schema["allOf"]]
            checks.append(lambda v: all(t(v) for t in parts))
        if "anyOf" in schema:
            alternatives = [(build(sub), node_types(sub)) for sub in schema["anyOf"]]

            def check_any(v: Any) -> bool:
                kind = v.get("type") if isinstance(v, dict) else None
                kind = kind if isinstance(kind, str) else None
                return any(test(v) for test, admits in alternatives
                           if kind is None or admits is None or kind in admits)
            checks.append(check_any)
        if not checks:
            return lambda v: True
        if len(checks) == 1:
            return checks[0]
        return lambda v: all(c(v) for c in checks)

    def node_types(schema: Any, depth: int = 0) -> frozenset[str] | None:
        """The `type` values a node schema admits (its `properties.type.enum`), None when not limited."""
        if not isinstance(schema, dict) or depth > 20:
            return None
        if "$ref" in schema:
            return node_types(resolve(schema["$ref"]), depth + 1)
        kind = (schema.get("properties") or {}).get("type")
        enum = kind.get("enum") if isinstance(kind, dict) and "$ref" not in kind else None
        found = frozenset(enum) if isinstance(enum, list) and all(isinstance(e, str) for e in enum) else None
        for sub in schema.get("allOf", []):
            more = node_types(sub, depth + 1)
            if more is not None:
                found = more if found is None else found & more
        return found

    try:
        return build(root)
    except _Unsupported:
        return None


def _leaf(keyword: str, schema: dict[str, Any]) -> Callable[[Any], bool]:
    function, value = Draft4Validator.VALIDATORS[keyword], schema[keyword]
    return lambda v: next(iter(function(_BASE, value, v, schema) or ()), None) is None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:199] + "…"


@cache
def spec() -> Spec:
    return Spec()
