"""OpenAPI post-processing: every operation documents its error answers and the `format` switch."""

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
FORMAT = {
    "name": "format",
    "in": "query",
    "required": False,
    "description": "`csv` for CSV (or send `Accept: text/csv`).",
    "schema": {"type": "string", "enum": ["json", "csv"]},
}


def add_errors_and_format(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    for path in result.get("paths", {}).values():
        for operation in path.values():
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
            parameters = operation.setdefault("parameters", [])
            if not any(p.get("name") == "format" for p in parameters):
                parameters.append(FORMAT)
    return result
