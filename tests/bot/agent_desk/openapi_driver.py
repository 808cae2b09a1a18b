"""A small OpenAPI 3.0 driver for bot/agent_desk/openapi.yaml (no tests here).

schemathesis is not installed, so this reads the spec itself: it lists the
operations, turns their parameter and body schemas into Hypothesis strategies
(valid values mixed with invalid ones), and turns response schemas into
JSON Schema (``nullable`` and ``$ref`` resolved) to check answers with jsonschema.
"""
from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml
from hypothesis import strategies as st

from bot.agent_desk.pages import OPENAPI

SPEC: Dict[str, Any] = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
BASE = SPEC["servers"][0]["url"]

#: Any JSON value, nested a little: what a confused or hostile client might send.
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)


def resolve(node: Any) -> Any:
    """Follow a local ``$ref`` (``#/components/...``)."""
    while isinstance(node, Mapping) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def json_schema(schema: Any) -> Any:
    """The OpenAPI schema as plain JSON Schema: refs inlined, ``nullable`` as a null alternative."""
    schema = resolve(schema)
    if isinstance(schema, list):
        return [json_schema(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    converted = {key: json_schema(value) if key in ("items", "additionalProperties", "not") else value
                 for key, value in schema.items() if key not in ("nullable", "example", "description", "format")}
    if "properties" in schema:
        converted["properties"] = {name: json_schema(value) for name, value in schema["properties"].items()}
    if schema.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def valid(schema: Any) -> st.SearchStrategy:
    """Values that match ``schema`` (the subset of OpenAPI this spec uses)."""
    schema = resolve(schema)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") == "uuid":
            return st.uuids().map(str)
        return st.text(string.printable + "مرحباطلبي", min_size=0, max_size=min(schema.get("maxLength", 40), 40))
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum", -5), max_value=schema.get("maximum", 10**6))
    if kind == "number":
        return st.floats(allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(valid(schema.get("items", {})), max_size=3)
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries({k: valid(v) for k, v in properties.items() if k in required},
                                     optional={k: valid(v) for k, v in properties.items() if k not in required})
    return ANY_JSON


def loose(schema: Any) -> st.SearchStrategy:
    """Mostly valid values, sometimes anything at all (to find 5xx on bad input)."""
    return st.one_of(valid(schema), valid(schema), ANY_JSON)


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    spec: Mapping[str, Any]

    @property
    def scope(self) -> str:
        return self.spec["x-scope"]

    @property
    def statuses(self) -> List[int]:
        return sorted(int(code) for code in self.spec["responses"])

    @property
    def parameters(self) -> List[Mapping[str, Any]]:
        return [resolve(p) for p in self.spec.get("parameters", ())]

    def body_schema(self) -> Optional[Mapping[str, Any]]:
        body = self.spec.get("requestBody")
        json_body = (body or {}).get("content", {}).get("application/json")  # file uploads: no JSON body
        return json_body["schema"] if json_body else None

    def response_schema(self, status: int) -> Optional[Any]:
        answer = resolve(self.spec["responses"].get(str(status), {}))
        content = (answer.get("content") or {}).get("application/json")
        return json_schema(content["schema"]) if content else None

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


def operations() -> List[Operation]:
    return [Operation(path, method, op) for path, methods in SPEC["paths"].items() for method, op in methods.items()]


@st.composite
def requests(draw: Any, operation: Operation, handoff_ids: List[str]) -> Tuple[str, Dict[str, str], Any]:
    """(URL path under the API, query, JSON body or None) for one call of ``operation``."""
    path, query = operation.path, {}
    for parameter in operation.parameters:
        if parameter["in"] == "path" and parameter["name"] == "handoff_id":
            value = draw(st.one_of(st.sampled_from(handoff_ids), valid(parameter["schema"]),
                                   st.text(string.ascii_letters + string.digits + "-_~", min_size=1, max_size=20)))
        elif parameter["in"] == "path":
            value = draw(st.one_of(valid(parameter["schema"]), st.integers(0, 50)))
        elif draw(st.booleans()):
            value = draw(st.one_of(valid(parameter["schema"]), st.text(max_size=6)))
        else:
            continue
        value = str(value).lower() if isinstance(value, bool) else str(value)
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", value.replace("/", "%2F").replace("?", "%3F"))
        else:
            query[parameter["name"]] = value
    schema = operation.body_schema()
    body = draw(loose(schema)) if schema is not None else None
    return path, query, body


__all__ = ["ANY_JSON", "BASE", "Operation", "SPEC", "json_schema", "operations", "requests"]
