"""The catalog's tools as Python methods, for TRL's `environment_factory`.

TRL builds a tool's schema from a method's signature and Google docstring (`get_json_schema`). Each method
here is generated from the catalog tool so that `get_json_schema(method)` equals the catalog's definition,
key order included: evaluation and training show the model the same tools from one source.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

from scenarios.atlassian import catalog

PY_TYPES: dict[str, type] = {"string": str, "integer": int, "boolean": bool, "number": float, "object": dict}


def annotation(schema: dict[str, Any]) -> Any:
    if schema["type"] == "array":
        base: Any = list[annotation(schema.get("items", {"type": "object"}))]  # type: ignore[misc]
    else:
        base = PY_TYPES[schema["type"]]
    return base | None if schema.get("nullable") else base


def docstring(tool: catalog.Tool) -> str:
    lines = [tool.description, "", "Args:"]
    for a in tool.arguments:
        choices = f" (choices: {json.dumps(a.schema['enum'])})" if "enum" in a.schema else ""
        lines.append(f"    {a.name}: {a.schema['description']}{choices}")
    return "\n".join(lines) + "\n"


def method(name: str) -> Callable[..., str]:
    """A method `name(self, **arguments) -> str` that sends the call to `self._call` (the environment)."""
    tool = catalog.tool(name)

    def call(self: Any, **arguments: Any) -> str:
        return self._call(name, arguments)

    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for a in tool.arguments:
        params.append(inspect.Parameter(a.name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation(a.schema),
                                        default=inspect.Parameter.empty if a.required else None))
    call.__name__ = call.__qualname__ = name
    call.__doc__ = docstring(tool)
    call.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    call.__annotations__ = {a.name: annotation(a.schema) for a in tool.arguments}
    return call
