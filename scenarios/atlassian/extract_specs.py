"""Copy the operations the simulator serves out of Atlassian's official OpenAPI documents.

    python -m scenarios.atlassian.extract_specs PATH/TO/specs

writes `specs/<name>.subset.json`: the chosen path operations, unedited, and every component they reference
(transitively), with the source file's sha256 under `x-extracted-from`. The ADF schema is copied whole.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent / "specs"

OPERATIONS: dict[str, list[tuple[str, str]]] = {
    "jira-v3": [
        ("post", "/rest/api/3/issue"),
        ("get", "/rest/api/3/issue/{issueIdOrKey}"),
        ("put", "/rest/api/3/issue/{issueIdOrKey}"),
        ("get", "/rest/api/3/search/jql"),
        ("post", "/rest/api/3/search/jql"),
        ("get", "/rest/api/3/issue/{issueIdOrKey}/transitions"),
        ("post", "/rest/api/3/issue/{issueIdOrKey}/transitions"),
        ("get", "/rest/api/3/issue/{issueIdOrKey}/comment"),
        ("post", "/rest/api/3/issue/{issueIdOrKey}/comment"),
        ("get", "/rest/api/3/project/{projectIdOrKey}"),
        ("get", "/rest/api/3/project/search"),
        ("get", "/rest/api/3/issuetype/project"),
        ("get", "/rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes"),
        ("get", "/rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}"),
        ("put", "/rest/api/3/issue/{issueIdOrKey}/assignee"),
        ("get", "/rest/api/3/user/search"),
    ],
    "confluence-v2": [
        ("post", "/pages"),
        ("get", "/pages"),
        ("get", "/pages/{id}"),
        ("put", "/pages/{id}"),
        ("get", "/spaces"),
        ("get", "/spaces/{id}"),
        ("get", "/pages/{id}/direct-children"),
        ("get", "/pages/{id}/labels"),
        ("get", "/pages/{id}/footer-comments"),
        ("post", "/footer-comments"),
    ],
    "confluence-v1": [
        ("post", "/wiki/rest/api/content/{id}/label"),
    ],
}


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/"):
                found.add(value)
            else:
                found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def subset(spec: dict[str, Any], operations: list[tuple[str, str]]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path in operations:
        item = spec["paths"][path]
        kept = paths.setdefault(path, {k: v for k, v in item.items() if k == "parameters"})
        kept[method] = item[method]
    components: dict[str, dict[str, Any]] = {}
    todo = _refs(paths)
    seen: set[str] = set()
    while todo:
        ref = todo.pop()
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        value = spec["components"][kind][name.replace("~1", "/").replace("~0", "~")]
        components.setdefault(kind, {})[name] = value
        todo |= _refs(value) - seen
    out = {k: spec[k] for k in ("openapi", "info", "servers") if k in spec}
    out["paths"] = paths
    out["components"] = {kind: dict(sorted(items.items())) for kind, items in sorted(components.items())}
    return out


def main(source: Path) -> None:
    for name, operations in OPERATIONS.items():
        raw = (source / f"{name}.openapi.json").read_bytes()
        out = subset(json.loads(raw), operations)
        out["x-extracted-from"] = {
            "file": f"{name}.openapi.json",
            "sha256": hashlib.sha256(raw).hexdigest(),
            "operations": [f"{m.upper()} {p}" for m, p in operations],
        }
        (HERE / f"{name}.subset.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    shutil.copyfile(source / "adf-schema.json", HERE / "adf-schema.json")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/specs"))
