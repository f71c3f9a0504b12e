"""OpenAPI post-processing: every operation documents its error answers, the `format` switch and `fields`."""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "description": "`detail` for a whole-request error, else {parameter: what is wrong}.",
    "additionalProperties": True,
}
ERRORS = {
    "400": "A parameter is malformed or names something unknown.",
    "404": "No such record.",
    "406": "No renderer for the Accept header (JSON and CSV are offered).",
    "429": "Too many requests from this address; retry after the Retry-After header's seconds.",
}
# Answered by the HTTP server (gunicorn, runserver) before the application, as an HTML page.
URI_TOO_LONG = {
    "description": "The URL is longer than the HTTP server accepts (many long facet values): split the query.",
    "content": {"text/html": {"schema": {"type": "string"}}},
}
FORMAT = {
    "name": "format",
    "in": "query",
    "required": False,
    "description": "`csv` for CSV (or send `Accept: text/csv`).",
    "schema": {"type": "string", "enum": ["json", "csv"]},
}


def _fields_parameter(names: list[str]) -> dict[str, Any]:
    return {
        "name": "fields",
        "in": "query",
        "required": False,
        "description": "Sparse fields: a comma-separated list of the field names to return (default: all).",
        "style": "form",
        "explode": False,
        "schema": {"type": "array", "items": {"type": "string", "enum": names}, "minItems": 1, "uniqueItems": True},
    }


def _record_fields(result: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    """The field names of the record an operation returns (inside `results` for a list)."""
    components = result.get("components", {}).get("schemas", {})
    content = operation.get("responses", {}).get("200", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    for _ in range(3):
        if "$ref" in schema:
            schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
        elif "results" in schema.get("properties", {}):
            schema = schema["properties"]["results"].get("items", {})
        else:
            break
    return list(schema.get("properties", {}))


# Record ids are Allen's 64-bit integers; the URL pattern takes up to 18 digits (longer ones are a JSON 404).
ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


def add_errors_and_format(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path":
                    parameter["schema"] = dict(ID)
            responses = operation.setdefault("responses", {})
            for status, description in ERRORS.items():
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {
                            "application/json": {"schema": ERROR},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                )
            responses.setdefault("414", URI_TOO_LONG)
            parameters = operation.setdefault("parameters", [])
            names = {p.get("name") for p in parameters}
            if "format" not in names:
                parameters.append(FORMAT)
            fields = _record_fields(result, operation)
            if "fields" not in names and fields and not operation.get("operationId", "").endswith("facets_retrieve"):
                parameters.append(_fields_parameter(fields))
    return result
