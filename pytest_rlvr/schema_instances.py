"""Random instances of a JSON Schema, drawn with a seeded RNG (for the `random` probing policy).

Covers what tool schemas use: types (and lists of types), enum, const, properties, required,
additionalProperties, items, length and value bounds, patterns (sampled from the regular expression),
common formats, local `$ref`, anyOf/oneOf/allOf. Each candidate is checked with jsonschema and redrawn a
few times when it does not validate.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Mapping
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

_WORD = string.ascii_letters + string.digits + "_"
_TEXT = string.ascii_letters + string.digits + " -_."
_FORMATS = {
    "date-time": lambda rng: f"20{rng.randint(10, 30)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
    f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00.000+0000",
    "date": lambda rng: f"20{rng.randint(10, 30)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
    "email": lambda rng: f"{_word(rng, 3, 8)}@example.com",
    "uri": lambda rng: f"https://example.com/{_word(rng, 1, 8)}",
    "uuid": lambda rng: "-".join(_hex(rng, n) for n in (8, 4, 4, 4, 12)),
}


def _word(rng: random.Random, low: int, high: int) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(low, high)))


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


class _Sampler:
    def __init__(self, root: Mapping[str, Any], rng: random.Random, depth_limit: int = 6) -> None:
        self.root = root
        self.rng = rng
        self.depth_limit = depth_limit

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 32:
            ref = schema["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#"):
                return {}
            target: Any = self.root
            for part in ref.lstrip("#").strip("/").split("/") if ref != "#" else []:
                target = target[part.replace("~1", "/").replace("~0", "~")]
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            seen += 1
        return schema

    def draw(self, schema: Any, depth: int = 0) -> Any:
        if schema is True or schema == {} or not isinstance(schema, Mapping):
            return self.rng.choice([0, "x", True, None])
        schema = self.resolve(schema)
        rng = self.rng
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return rng.choice(list(schema["enum"]))
        for key in ("anyOf", "oneOf"):
            if key in schema:
                rest = {k: v for k, v in schema.items() if k != key}
                return self.draw({**rest, **self.resolve(rng.choice(schema[key]))}, depth)
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = self.resolve(part)
                merged["properties"] = {**merged.get("properties", {}), **part.get("properties", {})}
                merged["required"] = [*merged.get("required", []), *part.get("required", [])]
                merged.update({k: v for k, v in part.items() if k not in ("properties", "required")})
            return self.draw(merged, depth)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = rng.choice(kind)
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        return getattr(self, f"_{kind}", self._string)(schema, depth)

    def _object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties: Mapping[str, Any] = schema.get("properties", {})
        required = [p for p in schema.get("required", []) if p in properties]
        optional = [p for p in properties if p not in required]
        if depth < self.depth_limit:
            required += [p for p in optional if self.rng.random() < 0.5]
        chosen = required
        return {name: self.draw(properties[name], depth + 1) for name in chosen}

    def _array(self, schema: Mapping[str, Any], depth: int) -> list[Any]:
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", low + 3))
        if depth >= self.depth_limit:
            high = low
        items = [self.draw(schema.get("items", {}), depth + 1) for _ in range(self.rng.randint(low, high))]
        if schema.get("uniqueItems"):
            unique: list[Any] = []
            for item in items:
                if item not in unique:
                    unique.append(item)
            items = unique
        return items

    def _string(self, schema: Mapping[str, Any], depth: int) -> str:
        rng = self.rng
        if "pattern" in schema:
            try:
                return _from_regex(schema["pattern"], rng)
            except (re.error, ValueError, KeyError, TypeError):
                pass
        fmt = schema.get("format")
        if fmt in _FORMATS:
            return _FORMATS[fmt](rng)
        low = int(schema.get("minLength", 0))
        high = int(schema.get("maxLength", max(low, 12)))
        return "".join(rng.choice(_TEXT) for _ in range(rng.randint(low, max(low, min(high, low + 24)))))

    def _integer(self, schema: Mapping[str, Any], depth: int) -> int:
        low, high = self._bounds(schema, 1)
        value = self.rng.randint(int(-(-low // 1)), int(high // 1))
        step = schema.get("multipleOf")
        if isinstance(step, int) and step > 0:
            value -= value % step
        return value

    def _number(self, schema: Mapping[str, Any], depth: int) -> float:
        low, high = self._bounds(schema, 1e-6)
        return self.rng.uniform(low, high)

    def _bounds(self, schema: Mapping[str, Any], epsilon: float) -> tuple[float, float]:
        low = schema.get("minimum", -1000)
        high = schema.get("maximum", max(1000, low + 1000))
        if "exclusiveMinimum" in schema and not isinstance(schema["exclusiveMinimum"], bool):
            low = schema["exclusiveMinimum"] + epsilon
        if "exclusiveMaximum" in schema and not isinstance(schema["exclusiveMaximum"], bool):
            high = schema["exclusiveMaximum"] - epsilon
        return low, max(low, high)

    def _boolean(self, schema: Mapping[str, Any], depth: int) -> bool:
        return self.rng.random() < 0.5

    def _null(self, schema: Mapping[str, Any], depth: int) -> None:
        return None


def _from_regex(pattern: str, rng: random.Random) -> str:
    """A string that `re.search(pattern, s)` accepts (anchors are honoured by generating whole strings)."""
    return _emit(sre_parse.parse(pattern), rng)


def _emit(parsed: Any, rng: random.Random) -> str:
    out: list[str] = []
    c = sre_constants
    for op, arg in parsed:
        if op is c.LITERAL:
            out.append(chr(arg))
        elif op is c.NOT_LITERAL:
            out.append(rng.choice([ch for ch in _WORD if ord(ch) != arg]))
        elif op is c.ANY:
            out.append(rng.choice(_WORD))
        elif op is c.IN:
            out.append(_from_set(arg, rng))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            low, high, sub = arg
            high = min(high, low + 4) if high != c.MAXREPEAT else low + rng.randint(0, 4)
            out.extend(_emit(sub, rng) for _ in range(rng.randint(low, high)))
        elif op is c.SUBPATTERN:
            out.append(_emit(arg[-1], rng))
        elif op is c.BRANCH:
            out.append(_emit(rng.choice(arg[1]), rng))
        elif op in (c.AT, c.ASSERT, c.ASSERT_NOT):
            continue
        elif op is c.CATEGORY:
            out.append(_from_category(arg, rng))
        else:
            raise ValueError(f"unsupported regular expression construct {op}")
    return "".join(out)


def _from_category(category: Any, rng: random.Random) -> str:
    c = sre_constants
    if category is c.CATEGORY_DIGIT:
        return rng.choice(string.digits)
    if category is c.CATEGORY_SPACE:
        return " "
    if category is c.CATEGORY_WORD:
        return rng.choice(_WORD)
    if category is c.CATEGORY_NOT_DIGIT:
        return rng.choice(string.ascii_letters)
    return rng.choice(string.ascii_letters)


def _from_set(items: Any, rng: random.Random) -> str:
    c = sre_constants
    choices: list[str] = []
    negate = False
    for op, arg in items:
        if op is c.NEGATE:
            negate = True
        elif op is c.LITERAL:
            choices.append(chr(arg))
        elif op is c.RANGE:
            choices.extend(chr(i) for i in range(arg[0], min(arg[1], arg[0] + 255) + 1))
        elif op is c.CATEGORY:
            choices.extend({c.CATEGORY_DIGIT: string.digits, c.CATEGORY_WORD: _WORD,
                            c.CATEGORY_SPACE: " "}.get(arg, string.ascii_letters))
    if negate:
        choices = [ch for ch in _WORD if ch not in choices]
    return rng.choice(choices)


def random_instance(schema: Mapping[str, Any], rng: random.Random, attempts: int = 20) -> Any:
    """A random instance of `schema`, valid whenever one of `attempts` draws validates.

    Args:
        schema: A JSON Schema (draft 7 or 2020-12; local `$ref`s resolve against it).
        rng: The random source; the same seed gives the same instance.
        attempts: How many draws to try before returning the last (possibly invalid) one.
    """
    import jsonschema  # deferred: only the random policy needs it

    validator = jsonschema.validators.validator_for(schema)(schema)
    sampler = _Sampler(schema, rng)
    instance = sampler.draw(schema)
    for _ in range(attempts - 1):
        if validator.is_valid(instance):
            break
        instance = sampler.draw(schema)
    return instance
