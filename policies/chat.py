"""Prompts and tool calls as text: TRL's chat templates in, Hermes JSON or Qwen XML tool calls out.

The same rendering serves the in-process model, client-side rendering for servers, and training.
"""

from __future__ import annotations

import json
import re
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from pytest_rlvr.trace import ToolCall

THINK = re.compile(r"<think>.*?(</think>|$)", re.S)
TOOL_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.S)
XML_FUNCTION = re.compile(r"<function=([^>\s]+)>(.*?)(?:</function>|$)", re.S)
XML_PARAMETER = re.compile(r"<parameter=([^>\s]+)>\n?(.*?)\n?(?:</parameter>|$)", re.S)


@cache
def template(name: str) -> str:
    """A chat template shipped with TRL (so training recognises it), read without importing TRL."""
    import importlib.util

    spec = importlib.util.find_spec("trl")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("chat templates come from TRL: pip install 'pytest-rlvr[hf]'")
    path = Path(next(iter(spec.submodule_search_locations))) / "chat_templates" / name
    if not path.exists():
        raise FileNotFoundError(f"TRL has no chat template {name!r}")
    return path.read_text()


def model_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages for a chat template: tool-call arguments as objects where they parsed, raw text where not.

    A <tool_call> block that did not parse at all is shown as the model wrote it, in the message's text: as
    a structured call its whole text would render as a JSON string inside a well-formed call, which the model
    never wrote, and which training would then score in place of what it did write.
    """
    out = []
    for m in messages:
        if m.get("tool_calls"):
            calls, blocks = [], []
            for c in m["tool_calls"]:
                name, raw = c["function"]["name"], c["function"]["arguments"]
                if isinstance(raw, str) and _unparsed_block(name, raw):
                    blocks.append(f"<tool_call>\n{raw}\n</tool_call>")
                    continue
                try:
                    arguments = json.loads(raw) if isinstance(raw, str) else raw
                except ValueError:
                    arguments = raw
                calls.append({"type": "function", "function": {"name": name, "arguments": arguments}})
            m = {**m, "content": "\n".join(filter(None, [m.get("content") or "", *blocks]))}
            if calls:
                m["tool_calls"] = calls
            else:
                del m["tool_calls"]
        out.append(m)
    return out


def _unparsed_block(name: str, raw: str) -> bool:
    """Whether `raw` is a whole <tool_call> block that failed to parse (the parser keeps such a block as the
    call's raw text, with the name it could find), rather than the unparsed arguments of a named call."""
    call = _xml(raw, "")[0] if raw.lstrip().startswith("<function=") else _hermes(raw.strip(), "")
    return call.parse_error is not None and call.name == name and call.raw_arguments == raw


def parse(text: str, tool_format: str) -> tuple[str, list[ToolCall]]:
    """(text without thinking or tool calls, tool calls) from a completion. Malformed calls are kept raw."""
    visible = THINK.sub("", text)
    calls: list[ToolCall] = []
    for block in TOOL_CALL.findall(visible):
        call_id = f"call_{uuid.uuid4().hex[:12]}"
        if tool_format == "qwen3_coder" or block.strip().startswith("<function="):
            calls.extend(_xml(block, call_id))
        else:
            calls.append(_hermes(block.strip(), call_id))
    prose = TOOL_CALL.sub("", visible).strip()
    return prose, calls


def _hermes(block: str, call_id: str) -> ToolCall:
    try:
        data = json.loads(block)
    except ValueError as exc:
        name = re.search(r'"name"\s*:\s*"([^"]*)"', block)
        return ToolCall(call_id, name[1] if name else "", block, None, f"invalid JSON in <tool_call>: {exc}")
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return ToolCall(call_id, "", block, None, "a <tool_call> needs a JSON object with a string 'name'")
    arguments = data.get("arguments", data.get("parameters", {}))
    if isinstance(arguments, str):  # some models double-encode
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return ToolCall(call_id, data["name"], arguments, None, "the arguments are not valid JSON")
    raw = json.dumps(arguments, ensure_ascii=False)
    if not isinstance(arguments, dict):
        return ToolCall(call_id, data["name"], raw, None, "the arguments must be a JSON object")
    return ToolCall(call_id, data["name"], raw, arguments)


def _xml(block: str, call_id: str) -> list[ToolCall]:
    functions = XML_FUNCTION.findall(block)
    if not functions:
        return [ToolCall(call_id, "", block, None, "a <tool_call> needs <function=name>")]
    calls = []
    for n, (name, body) in enumerate(functions):
        arguments: dict[str, Any] = {}
        for key, value in XML_PARAMETER.findall(body):
            try:
                arguments[key] = json.loads(value)
            except ValueError:
                arguments[key] = value
        calls.append(ToolCall(f"{call_id}_{n}", name, json.dumps(arguments, ensure_ascii=False), arguments))
    return calls
