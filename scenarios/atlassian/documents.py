"""Document bodies: Atlassian Document Format (validated against the official schema) and storage format."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from html.entities import name2codepoint
from typing import Any

# Nesting levels of a JSON value. Deeper input is a 400, as the services' JSON parser (Jackson) refuses deep
# nesting; the real limit is higher, but validating deeper documents would exhaust Python's stack.
MAX_DEPTH = 64


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether a JSON value nests more than `limit` arrays and objects deep (checked level by level, without
    recursion)."""
    level = [value]
    depth = 0
    while level:
        depth += 1
        below = []
        for node in level:
            if isinstance(node, dict):
                node = node.values()
            elif not isinstance(node, list):
                continue
            for child in node:
                if isinstance(child, _CONTAINERS):
                    below.append(child)
        if below and depth >= limit:
            return True
        level = below
    return False


_CONTAINERS = (dict, list)


def adf_paragraphs(texts: list[str]) -> dict[str, Any]:
    """An ADF document with one paragraph per text."""
    return {"type": "doc", "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": t}]} for t in texts if t]}


_VERDICTS: dict[str, str | None] = {}  # ADF JSON text -> adf_errors(); the oldest go first past the limit
_VERDICTS_LIMIT = 2048  # documents; only documents under 64 KiB of JSON are remembered


def adf_errors(doc: Any) -> str | None:
    """Why `doc` is not valid ADF (the most specific schema error), or None when it is.

    Verdicts are remembered by the document's JSON text: the same document (a template, or the same answer
    sampled twice in a GRPO group) is validated once, in the few microseconds json.dumps takes.
    """
    try:
        key = json.dumps(doc, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError):  # not JSON: validate without remembering
        return _adf_errors(doc)
    if key in _VERDICTS:
        return _VERDICTS[key]
    if len(key) > 65536:
        return _adf_errors(doc)
    verdict = _VERDICTS[key] = _adf_errors(doc)
    if len(_VERDICTS) > _VERDICTS_LIMIT:
        try:
            _VERDICTS.pop(next(iter(_VERDICTS)), None)
        except (RuntimeError, StopIteration):  # another thread got there first
            pass
    return verdict


def _adf_errors(doc: Any) -> str | None:
    from .openapi import spec

    if too_deep(doc):
        return f"the document is nested more than {MAX_DEPTH} levels deep"
    validator = spec().adf
    if spec().adf_check(doc) if spec().adf_check is not None else validator.is_valid(doc):
        return None
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(doc))
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{error.message[:200]}" + (f" (at /{where})" if where else "")


def adf_text(node: Any) -> str:
    """The plain text of an ADF node: text nodes joined, blocks separated by newlines."""
    if isinstance(node, list):
        return "".join(adf_text(n) for n in node)
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    if node.get("type") == "hardBreak":
        return "\n"
    inner = adf_text(node.get("content", []))
    block = node.get("type") in {"paragraph", "heading", "listItem", "codeBlock", "blockquote", "tableCell"}
    return inner + "\n" if block else inner


def _entities(text: str) -> str:
    """HTML named entities (which XML lacks) as numeric references."""
    return re.sub(r"&([A-Za-z][A-Za-z0-9]*);",
                  lambda m: f"&#{name2codepoint[m[1]]};" if m[1] in name2codepoint and m[1] not in
                  ("amp", "lt", "gt", "quot", "apos") else m[0], text)


def storage_errors(value: str) -> str | None:
    """Why a storage-format (XHTML) body does not parse, or None when it does."""
    try:
        ET.fromstring(f'<root xmlns:ac="ac" xmlns:ri="ri">{_entities(value)}</root>')
    except ET.ParseError as exc:
        return f"Error parsing xhtml: {exc}"
    return None


def storage_text(value: str) -> str:
    """The plain text of a storage-format body; block elements end a line."""
    spaced = re.sub(r"</(p|h[1-6]|li|tr|div|pre|blockquote)>|<br\s*/?>", "\n", value)
    return html.unescape(re.sub(r"<[^>]+>", "", spaced))


def adf_to_storage(doc: dict[str, Any]) -> str:
    """A storage rendering of an ADF document (text blocks, headings, lists)."""

    def render(node: dict[str, Any]) -> str:
        kind = node.get("type")
        if kind == "text":
            return html.escape(str(node.get("text", "")), quote=False)
        if kind == "hardBreak":
            return "<br />"
        inner = "".join(render(n) for n in node.get("content", []) if isinstance(n, dict))
        tag = {"paragraph": "p", "bulletList": "ul", "orderedList": "ol", "listItem": "li",
               "blockquote": "blockquote", "codeBlock": "pre"}.get(str(kind))
        if kind == "heading":
            tag = f"h{int((node.get('attrs') or {}).get('level', 1))}"
        return f"<{tag}>{inner}</{tag}>" if tag else inner

    return render(doc)


def storage_to_adf(value: str) -> str:
    """An ADF rendering (as the JSON string Confluence returns) of a storage body: one paragraph per line."""
    return json.dumps(adf_paragraphs([line for line in storage_text(value).split("\n") if line.strip()]))
