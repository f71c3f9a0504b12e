"""RMA query text -> syntax tree (and back). Pure Python, no Django.

Grammar: docs/allen-api-protocol.md §4. Every malformed input raises RmaError with a position;
nothing else escapes. Positions are 0-based character offsets into the text given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TypeVar

from .errors import RmaError
from .syntax import (
    VALUELESS_OPS,
    Association,
    Column,
    FieldRef,
    Filter,
    ModelStage,
    Op,
    Options,
    OrderBy,
    PipeStage,
    Query,
    ServiceStage,
    Stage,
    Tabular,
    Value,
)

_T = TypeVar("_T")

MAX_LENGTH = 20_000
MAX_DEPTH = 32
OPTION_NAMES = ("num_rows", "start_row", "order", "only", "except", "tabular", "count", "debug")

_WS = " \t\r\n\f\v"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REF = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?")
_UINT = re.compile(r"[0-9]{1,18}")
_LETTERS = re.compile(r"[A-Za-z]*")
_SEPARATORS = re.compile(r"[\s+]+")  # Django turns '+' into ' '; both separate words in options
_BARE_STOP = frozenset("[],'")
_MODEL_OPS = frozenset(Op) - {Op.IS}
_PARAM_OPS = frozenset(Op)
# A value is glued to a two-letter operator (`$eqfoo`), so the longer valueless words are tried first.
_VALUELESS_LONGEST_FIRST = sorted(VALUELESS_OPS, key=len, reverse=True)


def parse(text: str) -> Query:
    """Parse a pipeline query: `model::Specimen,rma::criteria,[id$eq1],rma::options[num_rows$eq'all']`."""
    if not isinstance(text, str):
        raise RmaError("the query must be text")
    if len(text) > MAX_LENGTH:
        raise RmaError(f"query too long ({len(text)} characters, at most {MAX_LENGTH})", MAX_LENGTH)
    return _Parser(text).query()


def parse_legacy(model: str, params: Mapping[str, str]) -> Query:
    """Parse the legacy form `/api/v2/data/<model>/query.json?criteria=...&include=...&num_rows=...`."""
    if not isinstance(model, str) or not _IDENT.fullmatch(model):
        raise RmaError(f"bad model name {model!r}")
    filters: list[Filter] = []
    paths: dict[str, tuple[Association, ...]] = {}
    for name in ("criteria", "include"):
        text = params.get(name)
        found: tuple[tuple[Filter, ...], tuple[Association, ...]] = ((), ())
        if text is not None and text.strip(_WS + "+"):
            found = _in_param(name, text, lambda p: p.path_list_text())
        filters.extend(found[0])
        paths[name] = found[1]
    return Query(
        (
            ModelStage(
                model=model,
                filters=tuple(filters),
                criteria=paths["criteria"],
                include=paths["include"],
                options=options_from_params(params),
                position=0,
            ),
        )
    )


def options_from_params(params: Mapping[str, str]) -> Options:
    """Options given as URL parameters (`num_rows=all&start_row=0&order=name+desc&...`)."""
    options = Options()
    for name in OPTION_NAMES:
        text = params.get(name)
        if text is None or not text.strip(_WS + "+"):
            continue
        options = options.merged(_in_param(name, text, lambda p, n=name: p.option_value_text(n)))
    return options


def merge_url_options(query: Query, params: Mapping[str, str]) -> Query:
    """Apply URL option parameters to the last model:: stage, as if appended as a last rma::options."""
    extra = options_from_params(params)
    if extra.is_empty():
        return query
    for index in range(len(query.stages) - 1, -1, -1):
        stage = query.stages[index]
        if isinstance(stage, ModelStage):
            stages = list(query.stages)
            stages[index] = replace(stage, options=stage.options.merged(extra))
            return Query(tuple(stages))
    raise RmaError("URL options (num_rows, order, ...) need a model:: stage")


def parse_params(params: Mapping[str, str], model: str | None = None) -> Query:
    """The query of a request: legacy form when the URL names a model, else `q=` (or `criteria=`)
    holding a pipeline, with URL option parameters merged in."""
    if model is not None:
        return parse_legacy(model, params)
    text = params.get("q") or params.get("criteria")
    if not text:
        include = params.get("include") or ""
        if include.lstrip(_WS + "+").startswith(("model::", "service::", "pipe::")):
            text = include
    if not text:
        raise RmaError("no query given: pass q=model::...")
    return merge_url_options(parse(text), params)


def _in_param(name: str, text: str, run: Callable[[_Parser], _T]) -> _T:
    if len(text) > MAX_LENGTH:
        raise RmaError(f"{name}: too long ({len(text)} characters, at most {MAX_LENGTH})", MAX_LENGTH)
    try:
        return run(_Parser(text))
    except RmaError as error:
        raise RmaError(f"in {name}: {error.message}", error.position) from None


@dataclass
class _StageDraft:
    stage: Stage
    filters: list[Filter]
    criteria: list[Association]
    include: list[Association]
    options: Options

    def build(self) -> Stage:
        if not isinstance(self.stage, ModelStage):
            return self.stage
        return replace(
            self.stage,
            filters=tuple(self.filters),
            criteria=tuple(self.criteria),
            include=tuple(self.include),
            options=self.options,
        )


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.end = len(text)
        while self.pos < self.end and text[self.pos] in _WS + "+":
            self.pos += 1
        while self.end > self.pos and text[self.end - 1] in _WS + "+":
            self.end -= 1

    # -- low level ------------------------------------------------------------------------
    def peek(self) -> str:
        return self.text[self.pos] if self.pos < self.end else ""

    def skip_ws(self) -> None:
        while self.pos < self.end and self.text[self.pos] in _WS:
            self.pos += 1

    def ident(self) -> str | None:
        match = _IDENT.match(self.text, self.pos, self.end)
        if match is None:
            return None
        self.pos = match.end()
        return match.group()

    def unexpected(self, expected: str = "") -> RmaError:
        hint = f", expected {expected}" if expected else ""
        if self.pos >= self.end:
            return RmaError(f"unexpected end of query{hint}", self.pos)
        return RmaError(f"unexpected {self.text[self.pos]!r}{hint}", self.pos)

    # -- pipeline -------------------------------------------------------------------------
    def query(self) -> Query:
        if self.pos >= self.end:
            raise RmaError("empty query", 0)
        drafts: list[_StageDraft] = []
        clause: str | None = None
        clause_pos = 0
        clause_items = 0
        while True:
            item_pos = self.pos
            axis = self.axis()
            if axis is not None:
                self.close_clause(clause, clause_items, clause_pos)
                clause, clause_items, clause_pos = None, 0, item_pos
                kind, name = axis
                if kind == "rma":
                    if not drafts or not isinstance(drafts[-1].stage, ModelStage):
                        raise RmaError(f"rma::{name} must follow a model:: stage", item_pos)
                    clause = name
                    clause_items = self.glued_clause_items(drafts[-1], clause)
                else:
                    drafts.append(self.stage(kind, name, item_pos))
            elif clause in ("criteria", "include"):
                self.path_item_into(drafts[-1], clause)
                clause_items += 1
            elif clause == "options":
                if self.peek() != "[":
                    raise self.unexpected("'[' starting an option")
                clause_items += self.options_into(drafts[-1])
            elif not drafts:
                raise RmaError("a query starts with model::, service:: or pipe::", item_pos)
            else:
                raise RmaError("expected rma::criteria, rma::include, rma::options or a new stage", item_pos)
            self.skip_ws()
            if self.pos >= self.end:
                break
            if self.peek() != ",":
                raise self.unexpected("','")
            self.pos += 1
            self.skip_ws()
            if self.pos >= self.end:
                raise RmaError("nothing after ','", self.pos - 1)
        self.close_clause(clause, clause_items, clause_pos)
        return Query(tuple(d.build() for d in drafts))

    def axis(self) -> tuple[str, str] | None:
        """`kind::name` at the cursor (consumed), or None if the item is not a stage or clause."""
        match = _IDENT.match(self.text, self.pos, self.end)
        if match is None or not self.text.startswith("::", match.end(), self.end):
            return None
        start = self.pos
        kind = match.group()
        self.pos = match.end() + 2
        name = self.ident()
        if kind not in ("model", "service", "pipe", "rma"):
            raise RmaError(f"unknown stage axis '{kind}::' (expected model::, service::, pipe:: or rma::)", start)
        if name is None:
            raise self.unexpected(f"a name after '{kind}::'")
        if kind == "rma" and name not in ("criteria", "include", "options"):
            raise RmaError(f"unknown clause 'rma::{name}' (expected criteria, include or options)", start)
        return kind, name

    def close_clause(self, clause: str | None, items: int, pos: int) -> None:
        if clause is not None and items == 0:
            what = "an option" if clause == "options" else "a filter or an association"
            raise RmaError(f"rma::{clause} is empty: expected {what} after it", pos)

    def stage(self, kind: str, name: str, pos: int) -> _StageDraft:
        if kind == "model":
            filters = self.filters(_MODEL_OPS, lists_anywhere=False)
            return _StageDraft(ModelStage(name, position=pos), filters, [], [], Options())
        params = tuple(self.filters(_PARAM_OPS, lists_anywhere=True))
        stage: Stage = ServiceStage(name, params, pos) if kind == "service" else PipeStage(name, params, pos)
        return _StageDraft(stage, [], [], [], Options())

    def glued_clause_items(self, draft: _StageDraft, clause: str) -> int:
        """`rma::criteria[id$in1,2]` / `rma::options[num_rows$eq10]`: items glued to the clause."""
        self.skip_ws()
        if self.peek() != "[":
            return 0
        if clause == "options":
            return self.options_into(draft)
        self.path_item_into(draft, clause)
        return 1

    def path_item_into(self, draft: _StageDraft, clause: str) -> None:
        filters, associations = self.path_item(depth=1)
        draft.filters.extend(filters)
        (draft.criteria if clause == "criteria" else draft.include).extend(associations)

    def options_into(self, draft: _StageDraft) -> int:
        count = 0
        while self.peek() == "[":
            draft.options = draft.options.merged(self.option())
            count += 1
            self.skip_ws()
        return count

    # -- path lists -----------------------------------------------------------------------
    def path_list_text(self) -> tuple[tuple[Filter, ...], tuple[Association, ...]]:
        """A whole text that is a path list (legacy `criteria=` / `include=` parameters)."""
        filters: list[Filter] = []
        associations: list[Association] = []
        while True:
            self.skip_ws()
            found_filters, found_associations = self.path_item(depth=1)
            filters.extend(found_filters)
            associations.extend(found_associations)
            self.skip_ws()
            if self.pos >= self.end:
                return tuple(filters), tuple(associations)
            if self.peek() != ",":
                raise self.unexpected("','")
            self.pos += 1

    def path_item(self, depth: int) -> tuple[list[Filter], list[Association]]:
        """One comma-free item: filters and associations, juxtaposed after a ']' (`[id$eq1]graph(x)`)."""
        filters: list[Filter] = []
        associations: list[Association] = []
        while True:
            if self.peek() == "[":
                filters.extend(self.filters(_MODEL_OPS, lists_anywhere=False))
            elif _IDENT.match(self.text, self.pos, self.end):
                association = self.association(depth)
                associations.append(association)
                if not association.filters or self.text[self.pos - 1] != "]":
                    break
            else:
                if not filters and not associations:
                    raise self.unexpected("an association name or '['")
                break
        return filters, associations

    def association(self, depth: int) -> Association:
        if depth > MAX_DEPTH:
            raise RmaError(f"associations nested too deeply (at most {MAX_DEPTH} levels)", self.pos)
        pos = self.pos
        name = self.ident()
        assert name is not None
        filters = self.filters(_MODEL_OPS, lists_anywhere=False)
        children: list[Association] = []
        if self.peek() == "(":
            self.pos += 1
            self.skip_ws()
            if self.peek() == ")":
                raise RmaError(f"empty parentheses after '{name}'", self.pos)
            while True:
                found_filters, found_associations = self.path_item(depth + 1)
                filters.extend(found_filters)
                children.extend(found_associations)
                self.skip_ws()
                if self.peek() == ",":
                    self.pos += 1
                    self.skip_ws()
                elif self.peek() == ")":
                    self.pos += 1
                    break
                else:
                    raise self.unexpected("',' or ')'")
        return Association(name, tuple(filters), tuple(children), pos)

    # -- filters --------------------------------------------------------------------------
    def filters(self, ops: frozenset[Op], lists_anywhere: bool) -> list[Filter]:
        found = []
        while self.peek() == "[":
            found.append(self.filter(ops, lists_anywhere))
        return found

    def filter(self, ops: frozenset[Op], lists_anywhere: bool) -> Filter:
        start = self.pos
        self.pos += 1
        self.skip_ws()
        if self.peek() == "]":
            raise RmaError("empty filter '[]'", start)
        table, attr = self.reference()
        self.skip_ws()
        if self.peek() == "]":
            self.pos += 1
            return Filter(attr, table, None, (), start)
        op = self.operator(ops)
        if op in VALUELESS_OPS:
            self.skip_ws()
            if self.peek() != "]":
                raise RmaError(f"'${op}' takes no value: write [{attr}${op}]", self.pos)
            self.pos += 1
            return Filter(attr, table, op, (), start)
        items = self.value_items("]", what=f"${op}")
        if len(items) > 1 and op is not Op.IN and not lists_anywhere:
            raise RmaError(f"a list of values needs $in, not ${op} (quote values containing ',')", items[1][2])
        return Filter(attr, table, op, tuple(Value(text, quoted) for text, quoted, _ in items), start)

    def reference(self) -> tuple[str | None, str]:
        first = self.ident()
        if first is None:
            raise self.unexpected("an attribute name")
        if self.peek() != ".":
            return None, first
        self.pos += 1
        second = self.ident()
        if second is None:
            raise self.unexpected("an attribute name after '.'")
        return first, second

    def operator(self, ops: frozenset[Op]) -> Op:
        if self.peek() != "$":
            raise self.unexpected("an operator such as $eq, or ']'")
        for op in _VALUELESS_LONGEST_FIRST:
            if op in ops and self.text.startswith(op, self.pos + 1, self.end):
                self.pos += 1 + len(op)
                return op
        word = self.text[self.pos + 1 : self.pos + 3]
        if word in ops:
            self.pos += 3
            return Op(word)
        written = _LETTERS.match(self.text, self.pos + 1, self.end).group()  # type: ignore[union-attr]
        known = " ".join(f"${op}" for op in Op if op in ops)
        raise RmaError(f"unknown operator '${written}' (known: {known})", self.pos)

    def value_items(self, closing: str, what: str) -> list[tuple[str, bool, int]]:
        """Comma-separated values up to `closing` (']' consumed; '' = end of text)."""
        items: list[tuple[str, bool, int]] = []
        while True:
            self.skip_ws()
            pos = self.pos
            char = self.peek()
            if char == "'":
                items.append((self.quoted(), True, pos))
                self.skip_ws()
            elif char in ("", "]", ","):
                missing = "a value" if not items else "a value after ','"
                raise RmaError(f"missing value: expected {missing} after {what}", pos)
            elif char == "[":
                raise self.unexpected("a value")
            else:
                scan = pos
                while scan < self.end and self.text[scan] not in _BARE_STOP:
                    scan += 1
                self.pos = scan
                items.append((self.text[pos:scan].rstrip(_WS), False, pos))
            char = self.peek()
            if char == ",":
                self.pos += 1
                continue
            if closing and char == closing:
                self.pos += 1
                return items
            if not closing and char == "":
                return items
            raise self.unexpected(f"',' or {closing!r}" if closing else "','")

    def quoted(self) -> str:
        start = self.pos
        parts = []
        scan = start + 1
        while True:
            close = self.text.find("'", scan, self.end)
            if close < 0:
                raise RmaError("unterminated quoted string", start)
            parts.append(self.text[scan:close])
            if close + 1 < self.end and self.text[close + 1] == "'":
                parts.append("'")
                scan = close + 2
                continue
            self.pos = close + 1
            return "".join(parts)

    # -- options --------------------------------------------------------------------------
    def option(self) -> Options:
        start = self.pos
        self.pos += 1
        self.skip_ws()
        name = self.ident()
        if name is None:
            raise self.unexpected("an option name")
        if name not in OPTION_NAMES:
            raise RmaError(f"unknown option '{name}' (known: {', '.join(OPTION_NAMES)})", start + 1)
        self.skip_ws()
        if not self.text.startswith("$eq", self.pos, self.end):
            if self.peek() == "$":
                raise RmaError(f"option '{name}' takes $eq", self.pos)
            raise self.unexpected("$eq")
        self.pos += 3
        return _option(name, self.value_items("]", what=f"{name}$eq"))

    def option_value_text(self, name: str) -> Options:
        """A whole text that is an option value (legacy URL parameter `order=name+desc`)."""
        return _option(name, self.value_items("", what=name))


def _option(name: str, items: list[tuple[str, bool, int]]) -> Options:
    if name in ("num_rows", "start_row", "count", "debug"):
        if len(items) != 1:
            raise RmaError(f"option '{name}' takes one value", items[1][2])
        text, _, pos = items[0]
        word = text.strip(_WS + "+").lower()
        if name == "num_rows" and word == "all":
            return Options(num_rows="all")
        if name in ("num_rows", "start_row"):
            if not _UINT.fullmatch(word):
                allowed = "a non-negative integer or 'all'" if name == "num_rows" else "a non-negative integer"
                raise RmaError(f"option '{name}' must be {allowed}, not {text!r}", pos)
            return Options(**{name: int(word)})
        choices = {"true": True, "false": False}
        if name == "debug":
            choices["preview"] = "preview"
        if word not in choices:
            raise RmaError(f"option '{name}' must be one of {', '.join(choices)}, not {text!r}", pos)
        return Options(**{name: choices[word]})
    pieces = []
    for text, _, pos in items:
        for piece in text.split(","):
            words = [w for w in _SEPARATORS.split(piece) if w]
            if not words:
                raise RmaError(f"empty item in option '{name}'", pos)
            pieces.append((words, pos))
    if name == "order":
        return Options(order=tuple(_order_by(words, pos) for words, pos in pieces))
    if name == "tabular":
        return Options(tabular=_tabular(pieces))
    refs = []
    for words, pos in pieces:
        if len(words) != 1:
            raise RmaError(f"option '{name}' takes column names, not {' '.join(words)!r}", pos)
        table, attr = _ref(words[0], pos)
        refs.append(FieldRef(attr, table))
    return Options(only=tuple(refs)) if name == "only" else Options(except_=tuple(refs))


def _ref(word: str, pos: int) -> tuple[str | None, str]:
    match = _REF.fullmatch(word)
    if match is None:
        raise RmaError(f"bad column name {word!r}", pos)
    first, second = match.groups()
    return (first, second) if second is not None else (None, first)


def _order_by(words: list[str], pos: int) -> OrderBy:
    direction = "asc"
    if len(words) == 2 and words[1].lower() in ("asc", "desc"):
        direction = words[1].lower()
    elif len(words) == 1 and re.search(r"\$(asc|desc)$", words[0], re.IGNORECASE):
        head, _, tail = words[0].rpartition("$")
        words, direction = [head], tail.lower()
    elif len(words) != 1:
        raise RmaError(f"bad order item {' '.join(words)!r} (expected 'attr', 'attr asc' or 'attr desc')", pos)
    table, attr = _ref(words[0], pos)
    return OrderBy(attr, table, "desc" if direction == "desc" else "asc")


def _tabular(pieces: list[tuple[list[str], int]]) -> Tabular:
    columns = []
    distinct = False
    for index, (words, pos) in enumerate(pieces):
        if words[0].lower() == "distinct":
            if index > 0:
                raise RmaError("'distinct' may only start the tabular list", pos)
            distinct = True
            words = words[1:]
        alias = None
        if len(words) == 3 and words[1].lower() == "as":
            if not _IDENT.fullmatch(words[2]):
                raise RmaError(f"bad column alias {words[2]!r}", pos)
            alias = words[2]
        elif len(words) != 1:
            raise RmaError(f"bad tabular column {' '.join(words)!r} (expected 'attr' or 'attr as alias')", pos)
        table, attr = _ref(words[0], pos)
        columns.append(Column(attr, table, alias))
    return Tabular(tuple(columns), distinct)


# -- back to text -------------------------------------------------------------------------------
def to_text(node: Query | Stage | Association | Filter | Value | Options) -> str:
    """Canonical query text for a tree (or part of one): `parse(to_text(q)) == q`."""
    if isinstance(node, Query):
        return ",".join(to_text(stage) for stage in node.stages)
    if isinstance(node, ModelStage):
        parts = ["model::" + node.model + "".join(to_text(f) for f in node.filters)]
        if node.criteria:
            parts += ["rma::criteria", *(to_text(a) for a in node.criteria)]
        if node.include:
            parts += ["rma::include", *(to_text(a) for a in node.include)]
        if not node.options.is_empty():
            parts.append("rma::options" + to_text(node.options))
        return ",".join(parts)
    if isinstance(node, ServiceStage | PipeStage):
        axis = "service::" if isinstance(node, ServiceStage) else "pipe::"
        return axis + node.name + "".join(to_text(f) for f in node.params)
    if isinstance(node, Association):
        children = f"({','.join(to_text(c) for c in node.children)})" if node.children else ""
        return node.name + "".join(to_text(f) for f in node.filters) + children
    if isinstance(node, Filter):
        ref = f"{node.table}.{node.attr}" if node.table else node.attr
        if node.op is None:
            return f"[{ref}]"
        return f"[{ref}${node.op}{','.join(to_text(v) for v in node.values)}]"
    if isinstance(node, Value):
        return "'" + node.text.replace("'", "''") + "'" if node.quoted else node.text
    if isinstance(node, Options):
        return _options_text(node)
    raise TypeError(f"cannot write {type(node).__name__} as RMA text")


def _ref_text(attr: str, table: str | None) -> str:
    return f"{table}.{attr}" if table else attr


def _options_text(options: Options) -> str:
    out = []
    if options.num_rows is not None:
        out.append("[num_rows$eq'all']" if options.num_rows == "all" else f"[num_rows$eq{options.num_rows}]")
    if options.start_row is not None:
        out.append(f"[start_row$eq{options.start_row}]")
    if options.order is not None:
        items = (_ref_text(o.attr, o.table) + (" desc" if o.direction == "desc" else "") for o in options.order)
        out.append(f"[order$eq{','.join(items)}]")
    for name, refs in (("only", options.only), ("except", options.except_)):
        if refs is not None:
            out.append(f"[{name}$eq{','.join(_ref_text(r.attr, r.table) for r in refs)}]")
    if options.tabular is not None:
        columns = [_ref_text(c.attr, c.table) + (f" as {c.alias}" if c.alias else "") for c in options.tabular.columns]
        out.append(f"[tabular$eq{'distinct ' if options.tabular.distinct else ''}{','.join(columns)}]")
    if options.count is not None:
        out.append(f"[count$eq{'true' if options.count else 'false'}]")
    if options.debug is not None:
        debug = "'preview'" if options.debug == "preview" else ("true" if options.debug else "false")
        out.append(f"[debug$eq{debug}]")
    return "".join(out)
