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


def model_messages(messages: list[dict[str, Any]], tool_format: str = "hermes") -> list[dict[str, Any]]:
    """Messages for a chat template, so that it renders each assistant turn's tool calls as the model wrote them.

    A turn whose calls all have object arguments keeps them as structured calls; for the XML format
    (`qwen3_coder`) each parameter is passed as the text that parses back to its value, since Qwen3.5's
    template writes values with Python's str() (false as False, null as None). A turn with any other call (a
    <tool_call> block that did not parse, arguments that are not an object) becomes text, all its calls in the
    order written: a template renders a message's text before its structured calls, and renders a call whose
    arguments are text as something the model never wrote (or fails), which training would then score.
    """
    out = []
    for m in messages:
        if m.get("tool_calls"):
            written = [(c["function"]["name"], c["function"]["arguments"]) for c in m["tool_calls"]]
            arguments = [None if isinstance(raw, str) and _unparsed_block(name, raw, tool_format) else _loaded(raw)
                         for name, raw in written]
            if all(isinstance(a, dict) for a in arguments):
                m = {**m, "tool_calls": [
                    {"type": "function", "function": {"name": name, "arguments": _for_template(args, tool_format)}}
                    for (name, _), args in zip(written, arguments, strict=True)]}
            else:
                blocks = "\n".join(_written(name, raw, tool_format) for name, raw in written)
                prose = m.get("content") or ""
                if prose:  # as the template joins a message's text and its first call
                    blocks = prose + ("\n\n" if tool_format == "qwen3_coder" else "\n") + blocks
                m = {**{k: v for k, v in m.items() if k != "tool_calls"}, "content": blocks}
        out.append(m)
    return out


def thinking_prefix(prompt: str) -> str:
    """"<think>" where the prompt leaves a thinking block open (a thinking template's generation prompt): the
    generation goes on inside it, and is parsed with the tag put back."""
    return "<think>" if prompt.rfind("<think>") > prompt.rfind("</think>") else ""


def _loaded(raw: Any) -> Any:
    """A call's arguments as JSON data where they parse, else the raw text."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _for_template(arguments: dict[str, Any], tool_format: str) -> dict[str, Any]:
    if tool_format != "qwen3_coder":
        return arguments
    return {key: _parameter(value) for key, value in arguments.items()}


def _parameter(value: Any) -> str:
    """A value as the XML format writes a parameter: a string as itself, unless the parser would read that as
    JSON (then quoted, as it must have been written); anything else as JSON (as the parser reads it back)."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, ensure_ascii=False)


def _written(name: str, raw: Any, tool_format: str) -> str:
    """A call as a <tool_call> block: an unparsed block as the model wrote it, any other in the format's form
    (the form the template gives a structured call)."""
    if isinstance(raw, str) and _unparsed_block(name, raw, tool_format):
        return f"<tool_call>\n{raw}\n</tool_call>"
    arguments = _loaded(raw)
    if tool_format == "qwen3_coder":
        if isinstance(arguments, dict):
            body = "".join(f"<parameter={k}>\n{_parameter(v)}\n</parameter>\n" for k, v in arguments.items())
        else:  # not from our parser, which always finds an object: shown as it came
            body = (raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)) + "\n"
        return f"<tool_call>\n<function={name}>\n{body}</function>\n</tool_call>"
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments}, ensure_ascii=False)}\n</tool_call>"


def _unparsed_block(name: str, raw: str, tool_format: str) -> bool:
    """Whether `raw` is a whole <tool_call> block that failed to parse (the parser keeps such a block as the
    call's raw text, with the name it could find), rather than the unparsed arguments of a named call."""
    xml = tool_format == "qwen3_coder" or raw.startswith("<function=")
    call = _xml(raw, "")[0] if xml else _hermes(raw, "")
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
        return [ToolCall(call_id, "", block.strip(), None, "a <tool_call> needs <function=name>")]
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
