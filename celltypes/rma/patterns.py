"""`$li` / `$il` patterns (`*` is the only wildcard) as SQL pattern matching, never as a regular expression.

A regular expression built from `*****Q` backtracks exponentially in Python's `re` (which is what Django's
`__regex` runs on SQLite). LIKE and GLOB match in time bounded by pattern length x text length on both databases.

* PostgreSQL: `LIKE` (case-sensitive) / `ILIKE`, escape character `\\`.
* SQLite: `LIKE` is case-insensitive (ASCII) there, so `$il` is `LIKE ... ESCAPE '\\'` and `$li` is `GLOB`, SQLite's
  case-sensitive LIKE with `*` for `%` (its own special characters are bracketed: `[*]`, `[?]`, `[[]`).
"""

import re

from django.db.models import Lookup

ESCAPE = "\\"
_LIKE_SPECIAL = re.compile(r"([\\%_])")
_GLOB_SPECIAL = re.compile(r"([*?\[])")
_STARS = re.compile(r"\*+")


def like_pattern(text: str) -> str:
    """`*` -> `%`; `%`, `_` and the escape character itself match literally."""
    return "%".join(_LIKE_SPECIAL.sub(r"\\\1", part) for part in _STARS.split(text))


def glob_pattern(text: str) -> str:
    """`*` stays the wildcard; GLOB's own `*`, `?` and `[` (none can come from the text) are bracketed."""
    return "*".join(_GLOB_SPECIAL.sub(r"[\1]", part) for part in _STARS.split(text))


class PatternMatch(Lookup):
    """`lhs` matches the RMA pattern `rhs` (plain text with `*` wildcards), case-sensitively (`$li`). Used as a filter
    expression, `Q(PatternMatch(F("name"), "*LIF*"))`; not registered as a field lookup."""

    lookup_name = "rma_li"
    prepare_rhs = False
    case_sensitive = True

    def as_sql(self, compiler, connection):
        lhs_sql, params = self.process_lhs(compiler, connection)
        if connection.vendor == "sqlite" and self.case_sensitive:
            return f"{lhs_sql} GLOB %s", [*params, glob_pattern(self.rhs)]
        operator = "LIKE" if self.case_sensitive or connection.vendor == "sqlite" else "ILIKE"
        return f"{lhs_sql} {operator} %s ESCAPE %s", [*params, like_pattern(self.rhs), ESCAPE]


class IPatternMatch(PatternMatch):
    """The same, ignoring case (`$il`)."""

    lookup_name = "rma_il"
    case_sensitive = False
