"""Allen's XML: `<Response success=... ><plural-model><model>...` with underscores turned into hyphens."""

import math
import re
from xml.sax.saxutils import escape

# Characters XML 1.0 cannot carry at all (C0 controls but tab/newline/return, surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", value))


def _tag(name: str) -> str:
    return name.replace("_", "-")


def _value(name: str, value) -> str:
    tag = _tag(name)
    if value is None:
        return f'<{tag} nil="true"/>'
    if isinstance(value, bool):
        return f'<{tag} type="boolean">{"true" if value else "false"}</{tag}>'
    if isinstance(value, int):
        return f'<{tag} type="integer">{value}</{tag}>'
    if isinstance(value, float):
        if not math.isfinite(value):
            return f'<{tag} nil="true"/>'
        return f'<{tag} type="float">{value!r}</{tag}>'
    return f"<{tag}>{_text(str(value))}</{tag}>"


def _record(element: str, record: dict) -> str:
    parts = []
    for key, value in record.items():
        if isinstance(value, list):
            singular = key[:-1] if key.endswith("s") else key
            inner = "".join(_record(_tag(singular), item) for item in value)
            parts.append(f"<{_tag(key)}>{inner}</{_tag(key)}>")
        elif isinstance(value, dict):
            parts.append(_record(_tag(key), value))
        else:
            parts.append(_value(key, value))
    return f"<{element}>{''.join(parts)}</{element}>"


def document(
    *,
    success: bool,
    start_row: int,
    num_rows: int,
    total_rows: int,
    wrapper: str,
    element: str,
    records: list[dict] | None = None,
    message: str | None = None,
) -> bytes:
    attrs = (
        f'success="{"true" if success else "false"}" id="0" start_row="{start_row}" '
        f'num_rows="{num_rows}" total_rows="{total_rows}"'
    )
    if message is not None:
        body = f"<msg>{_text(message)}</msg>"
    else:
        body = f"<{_tag(wrapper)}>{''.join(_record(_tag(element), r) for r in records or [])}</{_tag(wrapper)}>"
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Response {attrs}>{body}</Response>\n'.encode()
