"""Copy the operations the simulator serves out of Atlassian's official OpenAPI documents.

    python -m scenarios.atlassian.extract_specs PATH/TO/specs

writes `specs/<name>.subset.json`: the chosen path operations and every component they reference
(transitively), with the source file's sha256 under `x-extracted-from`. The ADF schema is copied whole.
Nothing is edited by hand; where a schema contradicts its own operation's description and example, the
correction is made here (CORRECTIONS, each with its evidence) and listed under `x-extracted-from`.
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
        # What client libraries and agents read first: who am I, the site's reference data, users.
        ("get", "/rest/api/3/myself"),
        ("get", "/rest/api/3/project"),
        ("get", "/rest/api/3/issuetype"),
        ("get", "/rest/api/3/issuetype/{id}"),
        ("get", "/rest/api/3/priority"),
        ("get", "/rest/api/3/priority/{id}"),
        ("get", "/rest/api/3/status"),
        ("get", "/rest/api/3/status/{idOrName}"),
        ("get", "/rest/api/3/statuscategory"),
        ("get", "/rest/api/3/resolution"),
        ("get", "/rest/api/3/resolution/{id}"),
        ("get", "/rest/api/3/user"),
        ("get", "/rest/api/3/user/assignable/search"),
        ("get", "/rest/api/3/user/bulk"),
        ("get", "/rest/api/3/group"),
        ("get", "/rest/api/3/group/member"),
        ("get", "/rest/api/3/issue/{issueIdOrKey}/editmeta"),
        # Issue history.
        ("get", "/rest/api/3/issue/{issueIdOrKey}/changelog"),
        ("post", "/rest/api/3/issue/{issueIdOrKey}/changelog/list"),
        ("post", "/rest/api/3/changelog/bulkfetch"),
        # Watchers, single comments, links, worklogs, components, versions, bulk create.
        ("get", "/rest/api/3/issue/{issueIdOrKey}/watchers"),
        ("post", "/rest/api/3/issue/{issueIdOrKey}/watchers"),
        ("delete", "/rest/api/3/issue/{issueIdOrKey}/watchers"),
        ("get", "/rest/api/3/issue/{issueIdOrKey}/comment/{id}"),
        ("put", "/rest/api/3/issue/{issueIdOrKey}/comment/{id}"),
        ("delete", "/rest/api/3/issue/{issueIdOrKey}/comment/{id}"),
        ("get", "/rest/api/3/issueLinkType"),
        ("get", "/rest/api/3/issueLinkType/{issueLinkTypeId}"),
        ("post", "/rest/api/3/issueLink"),
        ("get", "/rest/api/3/issueLink/{linkId}"),
        ("delete", "/rest/api/3/issueLink/{linkId}"),
        ("get", "/rest/api/3/issue/{issueIdOrKey}/worklog"),
        ("post", "/rest/api/3/issue/{issueIdOrKey}/worklog"),
        ("get", "/rest/api/3/issue/{issueIdOrKey}/worklog/{id}"),
        ("put", "/rest/api/3/issue/{issueIdOrKey}/worklog/{id}"),
        ("delete", "/rest/api/3/issue/{issueIdOrKey}/worklog/{id}"),
        ("get", "/rest/api/3/project/{projectIdOrKey}/components"),
        ("get", "/rest/api/3/project/{projectIdOrKey}/component"),
        ("post", "/rest/api/3/component"),
        ("get", "/rest/api/3/component/{id}"),
        ("put", "/rest/api/3/component/{id}"),
        ("get", "/rest/api/3/project/{projectIdOrKey}/versions"),
        ("get", "/rest/api/3/project/{projectIdOrKey}/version"),
        ("post", "/rest/api/3/version"),
        ("get", "/rest/api/3/version/{id}"),
        ("put", "/rest/api/3/version/{id}"),
        ("post", "/rest/api/3/issue/bulk"),
        # Deleting and moving issues, remote links.
        ("delete", "/rest/api/3/issue/{issueIdOrKey}"),
        ("post", "/rest/api/3/bulk/issues/move"),
        ("get", "/rest/api/3/bulk/queue/{taskId}"),
        ("get", "/rest/api/3/issue/{issueIdOrKey}/remotelink"),
        ("post", "/rest/api/3/issue/{issueIdOrKey}/remotelink"),
        ("delete", "/rest/api/3/issue/{issueIdOrKey}/remotelink"),
        ("get", "/rest/api/3/issue/{issueIdOrKey}/remotelink/{linkId}"),
        ("put", "/rest/api/3/issue/{issueIdOrKey}/remotelink/{linkId}"),
        ("delete", "/rest/api/3/issue/{issueIdOrKey}/remotelink/{linkId}"),
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
        # Deleting pages, their versions, replies to comments, inline comments.
        ("delete", "/pages/{id}"),
        ("get", "/pages/{id}/versions"),
        ("get", "/footer-comments/{id}/children"),
        ("get", "/pages/{id}/inline-comments"),
        ("post", "/inline-comments"),
    ],
    "confluence-v1": [
        ("post", "/wiki/rest/api/content/{id}/label"),
        # Content (pages and comments) by id, title and space: what v1 clients and agents read and write.
        ("get", "/wiki/rest/api/content"),
        ("post", "/wiki/rest/api/content"),
        ("get", "/wiki/rest/api/content/{id}"),
        ("put", "/wiki/rest/api/content/{id}"),
        ("delete", "/wiki/rest/api/content/{id}"),
        ("get", "/wiki/rest/api/content/{id}/history"),
        ("get", "/wiki/rest/api/content/{id}/child"),
        ("get", "/wiki/rest/api/content/{id}/child/{type}"),
        ("get", "/wiki/rest/api/content/{id}/child/comment"),
        ("get", "/wiki/rest/api/content/{id}/descendant"),
        ("get", "/wiki/rest/api/content/{id}/descendant/{type}"),
        ("get", "/wiki/rest/api/content/{id}/label"),
        ("delete", "/wiki/rest/api/content/{id}/label"),
        ("delete", "/wiki/rest/api/content/{id}/label/{label}"),
        # CQL search.
        ("get", "/wiki/rest/api/search"),
        ("get", "/wiki/rest/api/content/search"),
        # Users and spaces.
        ("get", "/wiki/rest/api/user"),
        ("get", "/wiki/rest/api/user/current"),
        ("get", "/wiki/rest/api/user/bulk"),
        ("get", "/wiki/rest/api/search/user"),
        ("get", "/wiki/rest/api/space"),
        ("get", "/wiki/rest/api/space/{spaceKey}"),
        ("get", "/wiki/rest/api/space/{spaceKey}/content"),
        ("get", "/wiki/rest/api/space/{spaceKey}/content/{type}"),
        # Copies, restrictions and content properties of pages.
        ("post", "/wiki/rest/api/content/{id}/copy"),
        ("get", "/wiki/rest/api/content/{id}/restriction"),
        ("put", "/wiki/rest/api/content/{id}/restriction"),
        ("post", "/wiki/rest/api/content/{id}/restriction"),
        ("delete", "/wiki/rest/api/content/{id}/restriction"),
        ("get", "/wiki/rest/api/content/{id}/restriction/byOperation"),
        ("get", "/wiki/rest/api/content/{id}/property"),
    ],
}


REMOTE_LINK = {"$ref": "#/components/schemas/RemoteIssueLink"}
# (document, JSON pointer, value, evidence): schemas that contradict what their own operation documents.
CORRECTIONS: list[tuple[str, str, Any, str]] = [
    ("jira-v3", "/components/schemas/IssueBulkMovePayload/required", ["targetToSourcesMapping"],
     "submitBulkMove: the schema requires 'targetToMultipleSourceMapping', a property it does not define; its "
     "own example sends 'targetToSourcesMapping', the property it does define"),
    ("jira-v3", "/components/schemas/targetToSourcesMapping/required",
     ["inferClassificationDefaults", "inferFieldDefaults", "inferStatusDefaults", "inferSubtaskTypeDefault",
      "issueIdsOrKeys"],
     "submitBulkMove: the mapping requires 'issueIdOrKeys', a property it does not define; it defines "
     "'issueIdsOrKeys', which the example sends"),
    ("jira-v3", "/paths/~1rest~1api~13~1issue~1{issueIdOrKey}~1remotelink/get/responses/200/content/"
                "application~1json/schema", {"anyOf": [REMOTE_LINK, {"type": "array", "items": REMOTE_LINK}]},
     "getRemoteIssueLinks: 'When a remote issue link global ID is provided the record with that global ID is "
     "returned, otherwise all remote issue links are returned', and the example is an array of them"),
]


def correct(spec: dict[str, Any], document: str) -> list[str]:
    """Apply CORRECTIONS to a subset of `document`; their evidence, for the record."""
    done = []
    for name, pointer, value, evidence in CORRECTIONS:
        if name != document:
            continue
        *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
        node = spec
        for part in parents:
            node = node[part]
        node[last] = value
        done.append(f"{pointer}: {evidence}")
    return done


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
        corrections = correct(out, name)
        if corrections:
            out["x-extracted-from"]["corrections"] = corrections
        (HERE / f"{name}.subset.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    shutil.copyfile(source / "adf-schema.json", HERE / "adf-schema.json")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/specs"))
