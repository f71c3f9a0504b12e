"""The RMA syntax tree: what a query says, before anything is looked up in the schema.

All nodes are frozen dataclasses. `position` fields (0-based offsets into the query text, for
error messages) are left out of equality, so two queries that say the same thing compare equal.
Names (models, associations, attributes, tables) are kept exactly as written; whether they
exist is the planner's business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Literal

_NUMBER = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_PIPEVAR = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")


class Op(StrEnum):
    """Filter operators, written `$eq`, `$ne`, ... in a query."""

    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    IN = "in"
    LI = "li"  # LIKE, `*` is the wildcard
    IL = "il"  # ILIKE, `*` is the wildcard
    IS = "is"  # only in pipe::/service:: parameters
    NONNULL = "nonnull"  # IS NOT NULL, takes no value
    NULL = "null"  # IS NULL, takes no value


# Operators written without a value: `[nr__reconstruction_type$nonnull]`.
VALUELESS_OPS = frozenset({Op.NONNULL, Op.NULL})


class ValueKind(StrEnum):
    NUMBER = "number"
    STRING = "string"
    BOOL = "bool"
    NULL = "null"
    PIPEVAR = "pipevar"  # `$name`, a variable bound by an earlier pipe::list stage


@dataclass(frozen=True)
class Value:
    """One literal as written: `text` without the quotes; `quoted` tells whether it had them.

    Values are not converted here: `[id$eq'111']` and `[id$eq111]` both carry text "111";
    the planner coerces by the column's type. `*` wildcards of `$li`/`$il` are kept as they are.
    """

    text: str
    quoted: bool = False

    @property
    def kind(self) -> ValueKind:
        """Lexical category. Quoted values are always STRING (`'true'`, `'null'`, `'5'` included)."""
        if self.quoted:
            return ValueKind.STRING
        lowered = self.text.lower()
        if lowered == "null":
            return ValueKind.NULL
        if lowered in ("true", "false"):
            return ValueKind.BOOL
        if _NUMBER.fullmatch(self.text):
            return ValueKind.NUMBER
        if _PIPEVAR.fullmatch(self.text):
            return ValueKind.PIPEVAR
        return ValueKind.STRING


@dataclass(frozen=True)
class Filter:
    """`[attr]`, `[attr$op value]`, `[table.attr$in v1,v2]`.

    `op` is None for an existence test (`[attr]`, IS NOT NULL) and then `values` is empty, as it is for the
    valueless operators `$nonnull` / `$null`.
    `values` holds one Value for scalar operators, one or more for `$in` (and for the
    comma lists allowed in service::/pipe:: parameters).
    """

    attr: str
    table: str | None = None
    op: Op | None = None
    values: tuple[Value, ...] = ()
    position: int | None = field(default=None, compare=False)

    @property
    def value(self) -> Value | None:
        """The single value of a scalar filter, else None."""
        return self.values[0] if len(self.values) == 1 else None


@dataclass(frozen=True)
class Association:
    """`name[filter]...(child, child, ...)` in an rma::criteria or rma::include path list.

    Filters written inside the parentheses (`specimen([id$eq1],donor)`) are folded into
    `filters`: they constrain this association's model just the same.
    """

    name: str
    filters: tuple[Filter, ...] = ()
    children: tuple[Association, ...] = ()
    position: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class FieldRef:
    """A column named in `only` / `except`: `attr` or `table.attr`."""

    attr: str
    table: str | None = None


@dataclass(frozen=True)
class OrderBy:
    attr: str
    table: str | None = None
    direction: Literal["asc", "desc"] = "asc"


@dataclass(frozen=True)
class Column:
    """One `tabular` column: `attr`, `table.attr`, optionally `... as alias`."""

    attr: str
    table: str | None = None
    alias: str | None = None


@dataclass(frozen=True)
class Tabular:
    columns: tuple[Column, ...]
    distinct: bool = False


@dataclass(frozen=True)
class Options:
    """The merged `rma::options` of a stage. None means "not given" (the engine's default)."""

    num_rows: int | Literal["all"] | None = None
    start_row: int | None = None
    order: tuple[OrderBy, ...] | None = None
    only: tuple[FieldRef, ...] | None = None
    except_: tuple[FieldRef, ...] | None = None
    tabular: Tabular | None = None
    count: bool | None = None
    debug: bool | Literal["preview"] | None = None

    def merged(self, later: Options) -> Options:
        """These options overridden, field by field, by whatever `later` gives."""
        changes = {f.name: getattr(later, f.name) for f in fields(later) if getattr(later, f.name) is not None}
        return Options(**{**{f.name: getattr(self, f.name) for f in fields(self)}, **changes})

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


@dataclass(frozen=True)
class ModelStage:
    """`model::Name[filter]...,rma::criteria,...,rma::include,...,rma::options[...]`.

    `filters` are all filters on the root model: those glued to the model name and the bare
    filters of rma::criteria / rma::include path lists (all ANDed). `criteria` and `include`
    hold the association paths of every rma::criteria / rma::include clause, in order.
    """

    model: str
    filters: tuple[Filter, ...] = ()
    criteria: tuple[Association, ...] = ()
    include: tuple[Association, ...] = ()
    options: Options = Options()
    position: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ServiceStage:
    """`service::name[param$eqvalue]...` (parsed; the engine may report it unsupported)."""

    name: str
    params: tuple[Filter, ...] = ()
    position: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class PipeStage:
    """`pipe::list[var$eq'attr']` (parsed; the engine may report it unsupported)."""

    name: str
    params: tuple[Filter, ...] = ()
    position: int | None = field(default=None, compare=False)


Stage = ModelStage | ServiceStage | PipeStage


@dataclass(frozen=True)
class Query:
    stages: tuple[Stage, ...]

    @property
    def model_stages(self) -> tuple[ModelStage, ...]:
        return tuple(s for s in self.stages if isinstance(s, ModelStage))
