"""CSV: a header row and flat rows; nested includes are left out (CSV implies tabular)."""

import csv
import io
import math


def table(records: list[dict]) -> bytes:
    out = io.StringIO()
    if records:
        columns = [k for k, v in records[0].items() if not isinstance(v, (list, dict))]
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for record in records:
            writer.writerow(["" if record.get(c) is None else _text(record.get(c)) for c in columns])
    return out.getvalue().encode()


def _text(value) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
