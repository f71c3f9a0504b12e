"""Reading Allen CSV tables by column name, with clear errors that name the file, line and column.

Other Allen snapshots order columns differently or name the id column differently (`specimen__id` vs
`specimen_id`); columns are looked up by name through a list of aliases, never by position.
"""

import csv
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

INT64 = (-(1 << 63), (1 << 63) - 1)


class TableError(Exception):
    """A table could not be loaded; the message names the file, and the line and column where known."""


@dataclass(frozen=True)
class Row:
    path: Path
    line: int
    values: Mapping[str, str]

    def where(self, column: str) -> str:
        return f"{self.path.name}, line {self.line}, column {column!r}"

    def text(self, column: str) -> str | None:
        value = self.values.get(column)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def integer(self, column: str, limits: tuple[int | None, int | None] = INT64) -> int | None:
        """The column as an integer within `limits` (default: what a 64-bit column holds); "12.0" and "1e3" count."""
        value = self.text(column)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            number = self._integral(column, value)
        low, high = limits
        if (low is not None and number < low) or (high is not None and number > high):
            raise TableError(f"{self.where(column)}: expected an integer from {low} to {high}, got {value!r}")
        return number

    def _integral(self, column: str, value: str) -> int:
        try:
            number = float(value)
        except ValueError:
            raise TableError(f"{self.where(column)}: expected an integer, got {value!r}") from None
        if not math.isfinite(number) or number != int(number):
            raise TableError(f"{self.where(column)}: expected an integer, got {value!r}")
        return int(number)

    def number(self, column: str) -> float | None:
        value = self.text(column)
        if value is None or value.lower() == "nan":
            return None
        try:
            number = float(value)
        except ValueError:
            raise TableError(f"{self.where(column)}: expected a number, got {value!r}") from None
        if not math.isfinite(number):
            raise TableError(f"{self.where(column)}: expected a finite number, got {value!r}")
        return number

    def boolean(self, column: str) -> bool | None:
        value = self.text(column)
        if value is None:
            return None
        lowered = value.lower()
        if lowered in ("true", "t", "1"):
            return True
        if lowered in ("false", "f", "0"):
            return False
        raise TableError(f"{self.where(column)}: expected true or false, got {value!r}")

    def require(self, value, column: str):
        if value is None:
            raise TableError(f"{self.where(column)}: a value is required")
        return value


def read_table(
    path: Path,
    *,
    required: Sequence[str],
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> Iterator[Row]:
    """Yield rows keyed by canonical column names.

    `required` columns must be present (under their own name or one of `aliases[name]`); other columns are
    passed through under their own names. A row with a different number of fields than the header is an error.
    """
    aliases = aliases or {}
    try:
        fh = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise TableError(f"{path}: cannot open ({exc.strerror})") from None
    with fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise TableError(f"{path.name}: the file is empty") from None
        except csv.Error as exc:
            raise TableError(f"{path.name}, line 1: {exc}") from None
        header = [name.strip().lstrip("\ufeff") for name in header]
        rename = _column_mapping(path, header, required, aliases)
        columns = [rename.get(name, name) for name in header]
        line = 1
        try:
            for fields in reader:
                line = reader.line_num
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                if len(fields) != len(columns):
                    raise TableError(f"{path.name}, line {line}: expected {len(columns)} fields, found {len(fields)}")
                yield Row(path, line, dict(zip(columns, fields, strict=True)))
        except csv.Error as exc:
            raise TableError(f"{path.name}, line {reader.line_num}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise TableError(f"{path.name}, after line {line}: not UTF-8 text ({exc.reason})") from None


def _column_mapping(
    path: Path, header: Sequence[str], required: Sequence[str], aliases: Mapping[str, Sequence[str]]
) -> dict[str, str]:
    rename: dict[str, str] = {}
    present = set(header)
    for column in required:
        if column in present:
            continue
        found = [name for name in aliases.get(column, ()) if name in present]
        if not found:
            also = f" (also looked for {', '.join(map(repr, aliases[column]))})" if aliases.get(column) else ""
            raise TableError(f"{path.name}: missing column {column!r}{also}")
        rename[found[0]] = column
    duplicates = {name for name in header if header.count(name) > 1 and name}
    if duplicates:
        raise TableError(f"{path.name}: duplicate column(s) {sorted(duplicates)}")
    return rename
