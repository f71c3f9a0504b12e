"""What a full mirror sync brings over: every table the site and the AllenSDK read, in foreign-key order, and how
an upstream record becomes a row. Adding a table is one entry in TABLES (its RMA model must be in the RMA schema).

Scope: against api.brain-map.org most models hold rows of every Allen product (millions of specimens, donors, files),
so each table is paged with an RMA criteria that selects the Cell Types rows the way the AllenSDK's cell-types queries
do (`CELL_TYPES`: the specimens of the Mouse and Human Cell Types products, and what hangs on them); the small
vocabulary tables come whole. The apply retires only rows inside a table's scope, as our own RMA engine answers the
same criteria locally (`scoped_rows`): a local row outside it (a demo NWB specimen the loader made, a lab upload) is
nothing the upstream said anything about, so it stays.

Columns come from the RMA schema (celltypes/rma/schema.py): a table's attributes there are exactly what the
upstream serves and what a mirror writes. Our own columns (HIDDEN_FIELDS there: a file's size and sha256, a sweep's
sampling rate read from its NWB) are never overwritten by a sync. A file's owner columns are set from the owners'
`well_known_files` lists (FileOwners), the many-to-many links from the roots' lists (ManyLink).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from django.conf import settings
from django.db import connection
from django.db import models as dj
from django.utils import dateparse, timezone

from celltypes.atlas import models as m
from celltypes.rma.schema import RmaAttribute, model_named


class RecordError(ValueError):
    """An upstream record that does not map onto its table (the message names the column and the value)."""


REQUIRED = object()  # a column a record must carry


@dataclass(frozen=True)
class RowTable:
    """One upstream model written to one local table, rows keyed by Allen's id."""

    rma_model: str  # Allen's model name, as the RMA schema lists it
    model: type[dj.Model]  # the table written (NeuronReconstruction: the RMA model is its current-only proxy)
    criteria: str = ""  # the RMA criteria of the table's scope ("": the whole table)
    # NOT NULL columns whose JSON null means their default (Allen's image flags are null on many rows; any other
    # null in a NOT NULL column is a RecordError)
    null_is_default: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return self.rma_model

    @property
    def attributes(self) -> dict[str, RmaAttribute]:
        rma = model_named(self.rma_model)
        if rma is None:
            raise LookupError(f"{self.rma_model} is not in the RMA schema")
        return rma.attributes

    @property
    def key(self) -> str:
        """Allen's name of the primary key: the paging order."""
        pk = self.model._meta.pk.attname
        return next(name for name, attribute in self.attributes.items() if attribute.field == pk)

    def query(self, start_row: int, num_rows: int) -> str:
        return f"model::{self.rma_model},{_criteria(self.criteria)}{_options(self.key, start_row, num_rows)}"

    @cached_property
    def columns(self) -> tuple[tuple[str, str, object, Callable[[str, object], object]], ...]:
        """(Allen's name, attname, value when the record lacks the column or REQUIRED, checker) per column."""
        out = []
        for name, attribute in self.attributes.items():
            field = self.model._meta.get_field(attribute.field)
            if field.primary_key or not (field.null or field.has_default()):
                missing = REQUIRED
            else:
                missing = None if field.null else field.get_default()
            if name in self.null_is_default and (field.null or not field.has_default()):
                raise LookupError(f"{self.rma_model}.{name}: null_is_default names a column without a default")
            default = field.get_default() if name in self.null_is_default else REQUIRED
            out.append((name, attribute.field, missing, _checker(field, null_means=default)))
        return tuple(out)

    def values(self, record: dict) -> dict[str, object]:
        """The record as {attname: value} for every column we serve; RecordError when it does not map.

        A column the record lacks is null, or its default where it has one (Allen's NeuronReconstruction has no
        `superseded`: False); a required one it lacks is an error.
        """
        out = {}
        for name, attname, missing, check in self.columns:
            if name in record:
                out[attname] = check(name, record[name])
            elif missing is not REQUIRED:
                out[attname] = missing
            else:
                raise RecordError(f"no {name!r}")
        return out


@dataclass(frozen=True)
class ListedLink:
    """Links read from each root record's list of `association` ids (one request per page of roots)."""

    rma_model: str
    association: str

    @property
    def name(self) -> str:
        return f"{self.rma_model}.{self.association}"

    @property
    def criteria(self) -> str:
        """The scope of the roots: their row table's."""
        return next(table.criteria for table in ROW_TABLES if table.rma_model == self.rma_model)

    def query(self, start_row: int, num_rows: int) -> str:
        return (
            f"model::{self.rma_model},{_criteria(self.criteria)}rma::include,{self.association},"
            f"{_options('id', start_row, num_rows)}[only$eq'id']"
        )

    def pairs(self, record: dict) -> list[tuple[int, int]]:
        """(root id, listed id) for each listed record."""
        return [(_id(record, "id"), _id(item, "id")) for item in _items(record, self.association)]


@dataclass(frozen=True)
class ManyLink(ListedLink):
    """A many-to-many link table (its pairs are exactly the upstream's)."""

    through: type[dj.Model]


@dataclass(frozen=True)
class FileOwners(ListedLink):
    """The well-known files an owner model lists: sets that owner column of WellKnownFile (ours, not served)."""

    owner_field: str  # the WellKnownFile foreign key's attname


Table = RowTable | ListedLink

# The Cell Types database's specimens, as the AllenSDK's (deprecated) CellTypesApi.list_cells selects them
CELL_TYPES = "products[name$in'Mouse Cell Types','Human Cell Types']"
CELLS = f"[is_cell_specimen$eq'true'],{CELL_TYPES}"
OF_CELLS = f"specimen({CELL_TYPES})"  # a row of a cell-types specimen
# Files by their owners' kinds: the cell-types records (a template's files are attached to its Product at Allen)
FILE_OWNER_KINDS = (
    "'EphysResult','NeuronReconstruction','NeuronalModel','NeuronalModelRun','NeuronalModelTemplate','Product'"
)
ATTACHED = f"[attachable_type$in{FILE_OWNER_KINDS}]"

ROW_TABLES: tuple[RowTable, ...] = (
    RowTable("Organism", m.Organism),  # the small vocabularies: whole
    RowTable("WellKnownFileType", m.WellKnownFileType),
    RowTable("NeuronalModelTemplate", m.NeuronalModelTemplate),
    RowTable("Product", m.Product),
    RowTable("TransgenicLine", m.TransgenicLine),
    RowTable("SpecimenTag", m.SpecimenTag),
    RowTable("CellReporter", m.CellReporter),
    RowTable("Structure", m.Structure),
    RowTable("Donor", m.Donor, f"specimens({CELL_TYPES})"),
    RowTable("EphysResult", m.EphysResult, OF_CELLS),
    RowTable("Specimen", m.Specimen, CELLS),
    RowTable(
        "SectionDataSet", m.SectionDataSet, OF_CELLS, null_is_default=frozenset({"failed", "delegate", "expression"})
    ),
    # also Allen's SectionImage (the same table)
    RowTable("SubImage", m.SubImage, OF_CELLS, null_is_default=frozenset({"annotated", "failed"})),
    RowTable("ProjectionImage", m.ProjectionImage, OF_CELLS, null_is_default=frozenset({"annotated", "failed"})),
    RowTable("CellSomaLocation", m.CellSomaLocation, OF_CELLS),
    RowTable("EphysFeature", m.EphysFeature, OF_CELLS),
    RowTable("EphysSweep", m.EphysSweep, OF_CELLS),
    RowTable("NeuronReconstruction", m.NeuronReconstruction, OF_CELLS),
    RowTable("NeuronalModel", m.NeuronalModel, OF_CELLS),
    RowTable("NeuronalModelRun", m.NeuronalModelRun, f"neuronal_model({OF_CELLS})"),
    RowTable("WellKnownFile", m.WellKnownFile, ATTACHED),
    RowTable("ApiCellTypesSpecimenDetail", m.ApiCellTypesSpecimenDetail),  # the Cell Types view: whole
)
LINK_TABLES: tuple[ManyLink | FileOwners, ...] = (
    ManyLink("Specimen", "specimen_tags", m.Specimen.specimen_tags.through),
    ManyLink("Specimen", "products", m.Specimen.products.through),
    ManyLink("Donor", "transgenic_lines", m.Donor.transgenic_lines.through),
    FileOwners("EphysResult", "well_known_files", "ephys_result_id"),
    FileOwners("NeuronReconstruction", "well_known_files", "neuron_reconstruction_id"),
    FileOwners("NeuronalModel", "well_known_files", "neuronal_model_id"),
    FileOwners("NeuronalModelTemplate", "well_known_files", "neuronal_model_template_id"),
    FileOwners("NeuronalModelRun", "well_known_files", "neuronal_model_run_id"),
)
TABLES: tuple[Table, ...] = (*ROW_TABLES, *LINK_TABLES)
OWNER_FIELDS = tuple(link.owner_field for link in LINK_TABLES if isinstance(link, FileOwners))


def table_named(name: str) -> Table:
    return next(table for table in TABLES if table.name == name)


def scoped_rows(table: RowTable) -> dj.QuerySet:
    """The local rows inside the table's scope, as our RMA engine answers its criteria (what a retire may touch)."""
    from celltypes.rma.parser import parse
    from celltypes.rma.planner import plan

    return plan(
        parse(f"model::{table.rma_model},{_criteria(table.criteria)}rma::options[num_rows$eq1]").stages[0]
    ).queryset


def _criteria(criteria: str) -> str:
    return f"rma::criteria,{criteria}," if criteria else ""


def _options(key: str, start_row: int, num_rows: int) -> str:
    return f"rma::options[num_rows$eq{int(num_rows)}][start_row$eq{int(start_row)}][order$eq'{key}']"


def _id(record: dict, key: str) -> int:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(f"{key!r} should be an integer id, got {value!r}")
    return value


def _items(record: dict, key: str) -> list[dict]:
    value = record.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise RecordError(f"{key!r} should be a list of records, got {type(value).__name__}")
    return value


def _checker(field: dj.Field, null_means: object = REQUIRED) -> Callable[[str, object], object]:
    """A function (Allen's name, value) -> the column's Python value; RecordError naming the column when the value
    has the wrong type or range. A null is None in a nullable column, `null_means` where given, else an error."""
    nullable = field.null and not field.primary_key
    if isinstance(field, dj.BooleanField):

        def valid(value: object) -> bool:
            return isinstance(value, bool)

        convert = None
    elif isinstance(field, dj.FloatField):

        def valid(value: object) -> bool:
            return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)

        convert = float
    elif isinstance(field, dj.IntegerField | dj.ForeignKey):
        internal = (field.target_field if field.is_relation else field).get_internal_type()
        low, high = connection.ops.integer_field_range(internal)

        def valid(value: object) -> bool:
            is_int = isinstance(value, int) and not isinstance(value, bool)
            return is_int and (low is None or value >= low) and (high is None or value <= high)

        convert = None
    elif isinstance(field, dj.DateTimeField | dj.DateField):
        parse = dateparse.parse_datetime if isinstance(field, dj.DateTimeField) else dateparse.parse_date

        def valid(value: object) -> bool:
            try:
                return isinstance(value, str) and parse(value) is not None
            except ValueError:
                return False

        def convert(value: str):
            parsed = parse(value)
            aware = isinstance(parsed, datetime) and settings.USE_TZ and timezone.is_naive(parsed)
            return timezone.make_aware(parsed, UTC) if aware else parsed

    else:  # text (a column of another kind needs its own branch here)
        limit = field.max_length

        def valid(value: object) -> bool:
            return isinstance(value, str) and (limit is None or len(value) <= limit)

        convert = None

    def check(name: str, value: object) -> object:
        if value is None:
            if nullable:
                return None
            if null_means is not REQUIRED:
                return null_means
            raise RecordError(f"{name!r} is required, got null")
        if not valid(value):
            raise RecordError(f"{name!r} is not a valid {field.get_internal_type()}: {_shown(value)}")
        return convert(value) if convert else value

    return check


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."
