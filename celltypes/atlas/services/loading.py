"""load_demo: the bundled real Allen demo set -> the atlas tables and the file store, in one transaction.

Idempotent (every id is Allen's, or minted for a stable key through the registry of minted_ids, and every write
is an upsert) and atomic (demo_load wraps it in transaction.atomic; any TableError rolls everything back, and
files are staged, entering the store only when the transaction commits).
"""

import csv
import json
import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction
from django.db import models as dj

from celltypes.atlas import choices, filestore
from celltypes.atlas.bundled import DEMO_DIR
from celltypes.atlas.models import (
    ApiCellTypesSpecimenDetail,
    CellReporter,
    CellSomaLocation,
    Donor,
    EphysFeature,
    EphysResult,
    EphysSweep,
    HeldTraceWindow,
    NeuronalModel,
    NeuronalModelRun,
    NeuronalModelTemplate,
    NeuronReconstruction,
    Organism,
    Product,
    Specimen,
    SpecimenTag,
    Structure,
    TransgenicLine,
    WellKnownFile,
    WellKnownFileType,
)
from celltypes.atlas.services.loaded_rows import stale_rows_delete
from celltypes.atlas.services.minted_ids import IdMinter
from celltypes.atlas.services.versions import atlas_version_bump
from celltypes.atlas.tables import Row, TableError, read_table
from celltypes.atlas.vocabulary import LONG_SQUARE, SAME_TRACING_RTOL, SPECIES, STRUCTURE_NAMES
from celltypes.science.ephys.npz_sweeps import read_npz_sweep
from celltypes.science.errors import InvalidFileError

log = logging.getLogger(__name__)

SPECIMEN_TABLE = "allen19981_Conductance_Parameter/cell_types_specimen_details.csv"
EPHYS_FEATURE_TABLE = "BIPN162_Materials/cell_types/ephys_features.csv"
MORPHOLOGY_TABLE = "davidhbrann_CompClub-sklearn/cell_types/morphology_features.csv"
ALL_FEATURES_TABLE = "allen19981_Conductance_Parameter/all_features.csv"

SPECIES_TO_ORGANISM = {species.name.lower(): species.organism_id for species in SPECIES}
PRODUCT_BY_ORGANISM = {species.organism_id: species.product for species in SPECIES}

# The reconstruction values the cell table publishes (as nr__<name>): they identify its current reconstruction.
TABLE_RECONSTRUCTION_COLUMNS = (
    "max_euclidean_distance",
    "number_stems",
    "number_bifurcations",
    "average_contraction",
    "average_parent_daughter_ratio",
)
# Published reconstruction records: the 670-cell merge of the cell table's release first, then the older table.
MORPHOLOGY_SOURCES = (
    (ALL_FEATURES_TABLE, {"id": ["id_y"]}),
    (MORPHOLOGY_TABLE, {"id": ["neuron_reconstruction_id"]}),
)
RECONSTRUCTION_COLUMNS = [
    f.name
    for f in NeuronReconstruction._meta.concrete_fields
    if f.name not in ("id", "specimen", "neuron_reconstruction_type", "superseded", "tags")
]
EPHYS_FEATURE_COLUMNS = [f.name for f in EphysFeature._meta.concrete_fields if f.name not in ("id", "specimen")]
SWEEP_COLUMNS = [f.name for f in EphysSweep._meta.concrete_fields if f.name not in ("id", "specimen", "sampling_rate")]


# The tables load_demo writes, in writing order (a row's foreign keys point to tables before it), and its links.
LOADED_MODELS = (
    Organism,
    WellKnownFileType,
    NeuronalModelTemplate,
    Product,
    TransgenicLine,
    SpecimenTag,
    CellReporter,
    Structure,
    Donor,
    EphysResult,
    Specimen,
    CellSomaLocation,
    EphysFeature,
    EphysSweep,
    HeldTraceWindow,
    NeuronReconstruction,
    NeuronalModel,
    NeuronalModelRun,
    WellKnownFile,
    ApiCellTypesSpecimenDetail,
)
LINK_TABLES = (Specimen.products.through, Specimen.specimen_tags.through, Donor.transgenic_lines.through)


@dataclass
class _Rows:
    """Rows to upsert, keyed by primary key so a later source can refine an earlier one."""

    by_model: dict[type[dj.Model], dict[object, dj.Model]] = field(default_factory=lambda: defaultdict(dict))
    links: dict[type[dj.Model], set[tuple[int, int]]] = field(default_factory=lambda: defaultdict(set))

    def put(self, obj: dj.Model) -> dj.Model:
        self.by_model[type(obj)][obj.pk] = obj
        return obj

    def get(self, model: type[dj.Model], pk: object) -> dj.Model | None:
        return self.by_model[model].get(pk)


@dataclass
class LoadReport:
    """Rows per table after the load, files staged for the store, and what could not be used (each warning names
    its file and line, or the specimen), which the load_demo command prints."""

    counts: dict[str, int]
    files_stored: int
    warnings: list[str]


class DemoLoader:
    def __init__(self, demo_dir: Path, staging: filestore.StagedFiles) -> None:
        self.demo = Path(demo_dir)
        self.staging = staging
        self.rows = _Rows()
        self.mint = IdMinter()
        self.warnings: list[str] = []
        self.files: list[tuple[int, Path, bytes | None]] = []  # (wkf id, source, replacement content)
        self.current_reconstruction: dict[int, int] = {}  # specimen id -> reconstruction id
        self.current_swc: dict[int, int] = {}  # specimen id -> the current reconstruction's SWC file id
        self.ephys_result_ids: dict[int, int] = {}  # specimen id -> Allen ephys_result id, where a record gives it

    # ---- entry point -------------------------------------------------------------------------------------
    def run(self) -> LoadReport:
        self._vocabularies()
        manifest = self._manifest()
        self._scan_bundle_metadata(manifest)
        self._specimen_table()
        self._ephys_features()
        self._morphology_tables()
        self._reconstruction_files(manifest)
        self._model_bundles(manifest)
        self._nwb_specimens(manifest)
        self._held_trace_windows(manifest)
        stored = self._store_files()
        self._write()
        counts = {model.__name__: model.objects.count() for model in self.rows.by_model}
        return LoadReport(counts=counts, files_stored=stored, warnings=self.warnings)

    # ---- sources -----------------------------------------------------------------------------------------
    def _vocabularies(self) -> None:
        for pk, name in choices.ORGANISMS:
            self.rows.put(Organism(id=pk, name=name))
        for pk, name in choices.WELL_KNOWN_FILE_TYPES:
            self.rows.put(WellKnownFileType(id=pk, name=name))
        for pk, name, description in choices.NEURONAL_MODEL_TEMPLATES:
            self.rows.put(NeuronalModelTemplate(id=pk, name=name, description=description))
        for organism_id, name in PRODUCT_BY_ORGANISM.items():
            self.rows.put(Product(id=self.mint("product", organism_id), name=name))

    def _manifest(self) -> list[Row]:
        path = self.demo / "MANIFEST.csv"
        return list(read_table(path, required=["path", "kind", "specimen_id", "neuronal_model_id"]))

    def _scan_bundle_metadata(self, manifest: list[Row]) -> None:
        """Allen ephys_result ids that model records carry (model_metadata.json's nested specimen)."""
        for row in manifest:
            if row.text("kind") in ("glif_model_metadata", "biophysical_model_metadata"):
                record = self._json(row)
                specimen = (record.get("specimen") if isinstance(record, dict) else None) or {}
                result = specimen.get("ephys_result") or {}
                if isinstance(specimen.get("id"), int) and isinstance(result.get("id"), int):
                    self.ephys_result_ids[specimen["id"]] = result["id"]

    def _specimen_table(self) -> None:
        path = self.demo / SPECIMEN_TABLE
        detail_fields = {f.db_column: f for f in ApiCellTypesSpecimenDetail._meta.concrete_fields}
        required = ["specimen__id", "specimen__name", "donor__id", "donor__species", "structure__id"]
        aliases = {"specimen__id": ["specimen_id", "id"], "specimen__name": ["specimen_name", "name"]}
        for row in read_table(path, required=required, aliases=aliases):
            specimen_id = row.require(row.integer("specimen__id"), "specimen__id")
            if self.rows.get(Specimen, specimen_id):
                raise TableError(f"{row.where('specimen__id')}: specimen {specimen_id} appears twice")
            organism_id = self._organism(row)
            donor = self._donor(row, organism_id)
            structure = self._structure(row)
            reporter = self._reporter(row)
            result_id = self.ephys_result_ids.get(specimen_id) or self.mint("ephys_result", specimen_id)
            result = self.rows.put(EphysResult(id=result_id, failed=False))
            specimen = self.rows.put(
                Specimen(
                    id=specimen_id,
                    name=row.require(row.text("specimen__name"), "specimen__name"),
                    hemisphere=row.text("specimen__hemisphere"),
                    is_cell_specimen=True,
                    donor_id=donor.id,
                    structure_id=structure.id if structure else None,
                    cell_reporter_id=reporter.id if reporter else None,
                    ephys_result_id=result.id,
                )
            )
            self.rows.links[Specimen.products.through].add((specimen_id, self.mint("product", organism_id)))
            for label, column in (("dendrite type", "tag__dendrite_type"), ("apical", "tag__apical")):
                if value := row.text(column):
                    tag = self.rows.put(
                        SpecimenTag(id=self.mint("tag", f"{label} - {value}"), name=f"{label} - {value}")
                    )
                    self.rows.links[Specimen.specimen_tags.through].add((specimen_id, tag.id))
            if any(row.text(c) for c in ("csl__x", "csl__y", "csl__z", "csl__normalized_depth")):
                self.rows.put(
                    CellSomaLocation(
                        id=specimen_id,
                        specimen_id=specimen_id,
                        x=row.number("csl__x"),
                        y=row.number("csl__y"),
                        z=row.number("csl__z"),
                        normalized_depth=row.number("csl__normalized_depth"),
                    )
                )
            if nwb_id := row.integer("erwkf__id"):
                self._file_record(
                    nwb_id,
                    choices.NWB_DOWNLOAD,
                    "EphysResult",
                    result.id,
                    f"{specimen.name}.nwb",
                    ephys_result_id=result.id,
                )
            self._table_reconstruction(row, specimen_id)
            self.rows.put(self._detail(row, detail_fields, specimen_id))

    def _table_reconstruction(self, row: Row, specimen_id: int) -> None:
        """The cell table's own account of the current reconstruction: its type, five values and SWC file id.

        Its id is Allen's nrwkf__id - 2 until a published record confirms or corrects it (_morphology_tables).
        """
        values = {name: _typed(row, f"nr__{name}", NeuronReconstruction, name) for name in TABLE_RECONSTRUCTION_COLUMNS}
        kind = row.text("nr__reconstruction_type")
        swc_id = row.integer("nrwkf__id")
        if not kind:
            if swc_id or any(value is not None for value in values.values()):
                self.warnings.append(
                    f"{row.where('nr__reconstruction_type')}: specimen {specimen_id} has reconstruction values "
                    "but no reconstruction type; its reconstruction was not loaded"
                )
            return
        recon_id = (swc_id - 2) if swc_id else self.mint("reconstruction", specimen_id)
        self.current_reconstruction[specimen_id] = recon_id
        if swc_id:
            self.current_swc[specimen_id] = swc_id
        self.rows.put(
            NeuronReconstruction(id=recon_id, specimen_id=specimen_id, neuron_reconstruction_type=kind, **values)
        )

    def _detail(self, row: Row, fields: dict, specimen_id: int) -> ApiCellTypesSpecimenDetail:
        values = {
            model_field.attname: _typed(row, column, ApiCellTypesSpecimenDetail, model_field.name)
            for column, model_field in fields.items()
            if column != "specimen__id"
        }
        return ApiCellTypesSpecimenDetail(specimen_id=specimen_id, **values)

    def _organism(self, row: Row) -> int:
        species = row.require(row.text("donor__species"), "donor__species")
        try:
            return SPECIES_TO_ORGANISM[species.lower()]
        except KeyError:
            raise TableError(f"{row.where('donor__species')}: unknown species {species!r}") from None

    def _donor(self, row: Row, organism_id: int) -> Donor:
        donor_id = row.require(row.integer("donor__id"), "donor__id")
        donor = self.rows.put(
            Donor(
                id=donor_id,
                name=row.text("donor__name") or str(donor_id),
                organism_id=organism_id,
                sex=row.text("donor__sex"),
                age=row.text("donor__age"),
                race=row.text("donor__race"),
                disease_state=row.text("donor__disease_state"),
                years_of_seizure_history=row.text("donor__years_of_seizure_history"),
            )
        )
        if line := row.text("line_name"):
            line_row = self.rows.put(TransgenicLine(id=self.mint("line", line), name=line))
            self.rows.links[Donor.transgenic_lines.through].add((donor_id, line_row.id))
        return donor

    def _structure(self, row: Row) -> Structure | None:
        structure_id = row.integer("structure__id")
        if structure_id is None:
            return None
        parent_id = row.integer("structure_parent__id")
        if parent_id is not None and parent_id != structure_id and not self.rows.get(Structure, parent_id):
            acronym = row.text("structure_parent__acronym") or str(parent_id)
            self.rows.put(Structure(id=parent_id, acronym=acronym, name=STRUCTURE_NAMES.get(acronym)))
        name = (row.text("structure__name") or "").strip('"') or None
        acronym = row.text("structure__acronym") or str(structure_id)
        existing = self.rows.get(Structure, structure_id)
        return self.rows.put(
            Structure(
                id=structure_id,
                acronym=acronym,
                name=name or (existing.name if existing else None) or STRUCTURE_NAMES.get(acronym),
                parent_id=parent_id if parent_id != structure_id else None,
            )
        )

    def _reporter(self, row: Row) -> CellReporter | None:
        status = row.text("cell_reporter_status")
        if not status:
            return None
        return self.rows.put(CellReporter(id=self.mint("reporter", status), name=status))

    def _ephys_features(self) -> None:
        path = self.demo / EPHYS_FEATURE_TABLE
        aliases = {"specimen_id": ["specimen__id"]}
        for row in read_table(path, required=["id", "specimen_id"], aliases=aliases):
            specimen_id = row.require(row.integer("specimen_id"), "specimen_id")
            if not self.rows.get(Specimen, specimen_id):
                self.warnings.append(
                    f"{row.where('specimen_id')}: EphysFeature {row.text('id')} of specimen {specimen_id}, which is "
                    "not in the cell table; skipped"
                )
                continue
            values = {name: _typed(row, name, EphysFeature) for name in EPHYS_FEATURE_COLUMNS}
            self.rows.put(EphysFeature(id=row.require(row.integer("id"), "id"), specimen_id=specimen_id, **values))

    def _morphology_tables(self) -> None:
        """Fill the published 30-column records and decide, per cell, which one is the current reconstruction.

        The record whose id the cell table names (nrwkf__id - 2) is the current one. Failing that, a record whose
        type and five published values (the cell table's nr__ columns) all agree with the cell table's, to a
        relative SAME_TRACING_RTOL; the 670-cell merge is of the cell table's release, so it is asked before the older
        402-record table. Any other record is an older, superseded tracing. A cell left without a published record
        keeps the cell table's five values, and the load report says so.
        """
        published = self._published_records()
        for specimen_id, current_id in list(self.current_reconstruction.items()):
            candidates = published.pop(specimen_id, [])
            matched = self._current_record(specimen_id, current_id, candidates)
            if matched is not None and matched != current_id:
                current = self.rows.by_model[NeuronReconstruction].pop(current_id)
                current.id = matched
                self.rows.put(current)
                self.current_reconstruction[specimen_id] = matched
            for row in candidates:
                self._fill_record(specimen_id, row)
            self._current_swc_record(specimen_id)
        for specimen_id, rows in published.items():
            for row in rows:
                self.warnings.append(
                    f"{row.where('id')}: reconstruction {row.integer('id')} of specimen {specimen_id}, which the cell "
                    "table lists without a reconstruction; skipped"
                )

    def _published_records(self) -> dict[int, list[Row]]:
        """Every published reconstruction record of a cell in the cell table, the cell table's release first."""
        by_specimen: dict[int, list[Row]] = defaultdict(list)
        for table, aliases in MORPHOLOGY_SOURCES:
            for row in read_table(self.demo / table, required=["id", "specimen_id"], aliases=aliases):
                if not row.text("id") and not row.text("neuron_reconstruction_type"):
                    continue  # a row of the merge with ephys features only
                specimen_id = row.require(row.integer("specimen_id"), "specimen_id")
                recon_id = row.require(row.integer("id"), "id")
                if not row.text("neuron_reconstruction_type"):
                    self.warnings.append(
                        f"{row.where('neuron_reconstruction_type')}: reconstruction {recon_id} has no type; skipped"
                    )
                elif not self.rows.get(Specimen, specimen_id):
                    self.warnings.append(
                        f"{row.where('specimen_id')}: reconstruction {recon_id} of specimen {specimen_id}, which is "
                        "not in the cell table; skipped"
                    )
                else:
                    by_specimen[specimen_id].append(row)
        return by_specimen

    def _current_record(self, specimen_id: int, current_id: int, candidates: list[Row]) -> int | None:
        """The id of the published record that is the cell's current reconstruction, or None (then reported)."""
        table = self.rows.get(NeuronReconstruction, current_id)
        named = [row for row in candidates if row.integer("id") == current_id]
        if named:
            if not any(_same_reconstruction(table, row) for row in named):
                self.warnings.append(
                    f"{named[0].where('id')}: reconstruction {current_id} differs from the cell table's type or "
                    "nr__ values; the cell table's values were kept"
                )
            return current_id
        for table_name, _ in MORPHOLOGY_SOURCES:
            source = self.demo / table_name
            rows = [row for row in candidates if row.path == source]
            agreeing = {row.integer("id") for row in rows if _same_reconstruction(table, row)}
            if len(agreeing) == 1:
                return agreeing.pop()
            if agreeing:
                self.warnings.append(
                    f"specimen {specimen_id}: reconstructions {sorted(agreeing)} of {source.name} all agree with "
                    f"the cell table; none was taken as current (the cell table's values were kept as {current_id})"
                )
                return None
        self.warnings.append(
            f"specimen {specimen_id}: no published record is reconstruction {current_id} or agrees with the cell "
            "table's type and five nr__ values; the cell table's values were kept"
        )
        return None

    def _fill_record(self, specimen_id: int, row: Row) -> None:
        """Add a published record's values to what is known of that reconstruction (the first source wins)."""
        recon_id = row.integer("id")
        record = self.rows.get(NeuronReconstruction, recon_id) or self.rows.put(
            NeuronReconstruction(
                id=recon_id,
                specimen_id=specimen_id,
                neuron_reconstruction_type=row.text("neuron_reconstruction_type"),
                superseded=True,
            )
        )
        if record.specimen_id != specimen_id:
            raise TableError(
                f"{row.where('id')}: reconstruction {recon_id} is of specimen {record.specimen_id}, not {specimen_id}"
            )
        for name in RECONSTRUCTION_COLUMNS:
            if getattr(record, name) is None and name in row.values:
                setattr(record, name, _typed(row, name, NeuronReconstruction))
        if record.tags is None:
            record.tags = row.text("tags")

    def _current_swc_record(self, specimen_id: int) -> None:
        """The well-known file record of the current reconstruction's SWC that the cell table names."""
        swc_id = self.current_swc.get(specimen_id)
        if swc_id is None:
            return
        recon_id = self.current_reconstruction[specimen_id]
        specimen = self.rows.get(Specimen, specimen_id)
        self._file_record(
            swc_id,
            choices.RECONSTRUCTION,
            "NeuronReconstruction",
            recon_id,
            specimen.name.replace(";", "_") + f"_{recon_id}_m.swc",
            neuron_reconstruction_id=recon_id,
        )

    def _reconstruction_files(self, manifest: list[Row]) -> None:
        swc_by_folder: dict[str, int] = {}
        for row in manifest:
            if row.text("kind") != "swc":
                continue
            specimen_id = row.require(row.integer("specimen_id"), "specimen_id")
            if not self.rows.get(Specimen, specimen_id):
                self.warnings.append(f"{row.text('path')}: specimen {specimen_id} is not in the cell table; skipped")
                continue
            named_id = row.integer("reconstruction_id")
            current_id = self.current_reconstruction.get(specimen_id)
            source = self.demo / row.values["path"]
            if current_id is not None and named_id in (None, current_id):
                recon_id = current_id
                wkf = next(
                    (
                        w
                        for w in self.rows.by_model[WellKnownFile].values()
                        if w.neuron_reconstruction_id == recon_id
                        and w.well_known_file_type_id == choices.RECONSTRUCTION[0]
                    ),
                    None,
                )
                file_id = wkf.id if wkf else self.mint("swc", row.values["path"])
            else:
                recon_id = named_id or self.mint("reconstruction", row.values["path"])
                if not self.rows.get(NeuronReconstruction, recon_id):
                    self.rows.put(
                        NeuronReconstruction(
                            id=recon_id,
                            specimen_id=specimen_id,
                            superseded=True,
                            neuron_reconstruction_type=None,
                        )
                    )
                file_id = self.mint("swc", row.values["path"])
            self._file_record(
                file_id,
                choices.RECONSTRUCTION,
                "NeuronReconstruction",
                recon_id,
                source.name,
                neuron_reconstruction_id=recon_id,
                source=source,
            )
            swc_by_folder[str(Path(row.values["path"]).parent)] = recon_id
        for row in manifest:
            if row.text("kind") != "marker":
                continue
            recon_id = swc_by_folder.get(str(Path(row.values["path"]).parent))
            if recon_id is None:
                self.warnings.append(f"{row.text('path')}: no reconstruction beside this marker file; skipped")
                continue
            source = self.demo / row.values["path"]
            self._file_record(
                self.mint("marker", row.values["path"]),
                choices.MARKER,
                "NeuronReconstruction",
                recon_id,
                source.name,
                neuron_reconstruction_id=recon_id,
                source=source,
            )

    def _model_bundles(self, manifest: list[Row]) -> None:
        bundles: dict[int, dict[str, Row]] = defaultdict(dict)
        for row in manifest:
            kind = row.text("kind") or ""
            if kind.startswith(("glif_", "biophysical_")):
                bundles[row.require(row.integer("neuronal_model_id"), "neuronal_model_id")][kind] = row
        for model_id, parts in sorted(bundles.items()):
            any_row = next(iter(parts.values()))
            specimen_id = any_row.integer("specimen_id")
            metadata = (
                self._json(parts["glif_model_metadata"])
                if "glif_model_metadata" in parts
                else (self._json(parts["biophysical_model_metadata"]) if "biophysical_model_metadata" in parts else {})
            )
            specimen_id = int(metadata.get("specimen_id") or specimen_id or 0)
            specimen = self.rows.get(Specimen, specimen_id)
            if specimen is None:
                self.warnings.append(f"model {model_id}: specimen {specimen_id} is not in the cell table; skipped")
                continue
            try:
                if "glif_neuron_config" in parts:
                    self._glif_model(model_id, specimen, metadata, parts)
                elif "biophysical_fit" in parts:
                    self._biophysical_model(model_id, specimen, metadata, parts["biophysical_fit"])
                if self.rows.get(NeuronalModel, model_id):
                    self._model_runs(model_id, metadata)
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise TableError(f"{any_row.values['path']}: model {model_id}: malformed record ({exc!r})") from None
            for kind in ("glif_ephys_sweeps", "biophysical_ephys_sweeps"):
                if kind in parts:
                    self._sweeps(specimen.id, parts[kind])

    def _glif_model(self, model_id: int, specimen: Specimen, metadata: dict, parts: dict[str, Row]) -> None:
        template_id = self._template_id(int(metadata["neuronal_model_template_id"]))
        self.rows.put(
            NeuronalModel(
                id=model_id,
                name=metadata.get("name") or f"GLIF {model_id}",
                specimen_id=specimen.id,
                neuronal_model_template_id=template_id,
            )
        )
        template = metadata.get("neuronal_model_template") or {}
        if template.get("name") and self.rows.get(NeuronalModelTemplate, template_id):
            self.rows.get(NeuronalModelTemplate, template_id).name = template["name"]
        config_row = parts["glif_neuron_config"]
        config = self._json(config_row)
        if isinstance(config, dict) and len(config) == 1 and next(iter(config)).isdigit():
            config = next(iter(config.values()))  # newer dumps wrap the config as {"<model id>": {...}}
        files = metadata.get("well_known_files") or []
        record = next((f for f in files if str(f.get("path", "")).endswith("neuron_config.json")), None)
        file_id = int(record["id"]) if record else self.mint("neuron_config", model_id)
        name = Path(record["path"]).name if record else f"{model_id}_neuron_config.json"
        self._file_record(
            file_id,
            choices.MODEL_PARAMETERS,
            "NeuronalModel",
            model_id,
            name,
            neuronal_model_id=model_id,
            content=json.dumps(config, indent=2).encode(),
        )

    def _biophysical_model(self, model_id: int, specimen: Specimen, metadata: dict, fit_row: Row) -> None:
        fit = self._json(fit_row)
        genome = fit.get("genome") if isinstance(fit, dict) else None
        if not isinstance(genome, list):
            raise TableError(f"{fit_row.values['path']}: not a biophysical fit (no 'genome' list)")
        template_id = self._template_id(
            int(
                metadata.get("neuronal_model_template_id")
                or (choices.ALL_ACTIVE_TEMPLATE_ID if len(genome) > 30 else choices.PERISOMATIC_TEMPLATE_ID)
            ),
        )
        template = self.rows.get(NeuronalModelTemplate, template_id)
        recon_id = self.current_reconstruction.get(specimen.id)
        self.rows.put(
            NeuronalModel(
                id=model_id,
                name=metadata.get("name") or f"{template.name}_{specimen.name}",
                specimen_id=specimen.id,
                neuronal_model_template_id=template_id,
                neuron_reconstruction_id=recon_id,
            )
        )
        files = metadata.get("well_known_files") or []
        record = next(
            (f for f in files if (f.get("well_known_file_type") or {}).get("name") == choices.MODEL_PARAMETERS[1]),
            None,
        )
        file_id = int(record["id"]) if record else self.mint("fit", model_id)
        name = Path(record["path"]).name if record else f"{model_id}_fit.json"
        source = self.demo / fit_row.values["path"]
        self._file_record(
            file_id,
            choices.MODEL_PARAMETERS,
            "NeuronalModel",
            model_id,
            name,
            neuronal_model_id=model_id,
            source=source,
        )

    def _model_runs(self, model_id: int, metadata: dict) -> None:
        """Allen's NeuronalModelRun records of the model, with its published fit measures (an id minted where the
        record gives none)."""
        runs = metadata.get("neuronal_model_runs") or []
        if not isinstance(runs, list):
            raise TypeError("neuronal_model_runs is not a list")
        for index, run in enumerate(runs):
            run_id = run.get("id")
            self.rows.put(
                NeuronalModelRun(
                    id=int(run_id) if run_id is not None else self.mint("neuronal_model_run", f"{model_id}:{index}"),
                    neuronal_model_id=model_id,
                    name=run.get("name"),
                    explained_variance_ratio=_json_typed(
                        run, "explained_variance_ratio", NeuronalModelRun, f"model {model_id} run {index}"
                    ),
                    rheobase_feature_average=_json_typed(
                        run, "rheobase_feature_average", NeuronalModelRun, f"model {model_id} run {index}"
                    ),
                )
            )

    def _template_id(self, template_id: int) -> int:
        if not self.rows.get(NeuronalModelTemplate, template_id):
            raise ValueError(f"neuronal model template {template_id} is not one of Allen's templates")
        return template_id

    def _sweeps(self, specimen_id: int, row: Row) -> None:
        records = self._json(row)
        if not isinstance(records, list):
            raise TableError(f"{row.values['path']}: expected a list of EphysSweep records")
        for index, record in enumerate(records):
            where = f"{row.values['path']}: record {index}"
            if not isinstance(record, dict):
                raise TableError(f"{where}: expected an EphysSweep object, got {type(record).__name__}")
            values = {name: _json_typed(record, name, EphysSweep, where) for name in ("id", *SWEEP_COLUMNS)}
            self.rows.put(EphysSweep(specimen_id=specimen_id, **values))

    def _nwb_specimens(self, manifest: list[Row]) -> None:
        from celltypes.atlas.services.nwb_specimens import nwb_specimen_rows

        for row in manifest:
            if row.text("kind") == "nwb":
                for obj in nwb_specimen_rows(self.demo / row.values["path"], self.demo, self.mint):
                    if isinstance(obj, tuple):
                        self._file_record(*obj[0], **obj[1])
                    else:
                        self.rows.put(obj)

    def _held_trace_windows(self, manifest: list[Row]) -> None:
        """The real sweep windows kept as .npz: a HeldTraceWindow each (ours, never served as Allen's record)."""
        for row in manifest:
            if row.text("kind") != "long_square_npz":
                continue
            relative = row.values["path"]
            try:
                window = read_npz_sweep(self.demo / relative)
            except InvalidFileError as exc:
                raise TableError(str(exc)) from None
            listed = row.integer("specimen_id")
            if listed != window.specimen_id:
                raise TableError(f"{relative}: holds specimen {window.specimen_id}, the manifest says {listed}")
            if self.rows.get(Specimen, window.specimen_id) is None:
                self.warnings.append(f"{relative}: specimen {window.specimen_id} is not in the cell table; skipped")
                continue
            self.rows.put(
                HeldTraceWindow(
                    id=self.mint("held_trace_window", relative),
                    specimen_id=window.specimen_id,
                    sweep_number=window.sweep_number,
                    stimulus_name=LONG_SQUARE,
                    stimulus_amplitude=window.stimulus_amplitude,
                    source_path=relative,
                    window_start=window.window_start,
                    window_end=window.window_end,
                    sampling_rate=window.sampling_rate,
                    provenance=window.provenance,
                )
            )

    # ---- helpers -----------------------------------------------------------------------------------------
    def _json(self, row: Row):
        path = self.demo / row.values["path"]
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TableError(f"{row.values['path']}: not readable JSON ({exc})") from None

    def _file_record(
        self,
        file_id: int,
        file_type: tuple[int, str],
        attachable_type: str,
        attachable_id: int,
        name: str,
        *,
        source: Path | None = None,
        content: bytes | None = None,
        **owner: int,
    ) -> None:
        existing = self.rows.get(WellKnownFile, file_id)
        path = f"/external/celltypes/{attachable_type.lower()}_{attachable_id}/{name}"
        wkf = existing or WellKnownFile(id=file_id)
        wkf.attachable_type = attachable_type
        wkf.attachable_id = attachable_id
        wkf.path = path
        wkf.well_known_file_type_id = file_type[0]
        for key, value in owner.items():
            setattr(wkf, key, value)
        self.rows.put(wkf)
        if source is not None or content is not None:
            self.files.append((file_id, source, content))

    def _write(self) -> None:
        self.mint.save()
        self._sweep_numbers_free()
        for model in LOADED_MODELS:
            objs = list(self.rows.by_model.get(model, {}).values())
            if not objs:
                continue
            if model is Structure:  # parents first
                objs.sort(key=lambda s: (s.parent_id is not None, s.id))
            update = [f.name for f in model._meta.concrete_fields if not f.primary_key]
            model.objects.bulk_create(
                objs,
                batch_size=500,
                update_conflicts=bool(update),
                unique_fields=[model._meta.pk.name] if update else None,
                update_fields=update or None,
            )
        for through in LINK_TABLES:
            first, second = (f.attname for f in through._meta.concrete_fields if not f.primary_key)
            through.objects.bulk_create(
                [through(**{first: a, second: b}) for a, b in sorted(self.rows.links[through])],
                batch_size=1000,
                ignore_conflicts=True,
            )
        gone = stale_rows_delete(
            rows={model: self.rows.by_model.get(model, {}).keys() for model in LOADED_MODELS},
            links={through: self.rows.links[through] for through in LINK_TABLES},
        )
        transaction.on_commit(lambda: [filestore.well_known_file_path(pk).unlink(missing_ok=True) for pk in gone])

    def _sweep_numbers_free(self) -> None:
        """Delete held sweeps that have a sweep number this load gives another sweep id (one sweep per number)."""
        sweeps = self.rows.by_model.get(EphysSweep, {})
        wanted = {(s.specimen_id, s.sweep_number): s.id for s in sweeps.values()}
        held = EphysSweep.objects.filter(specimen_id__in={s.specimen_id for s in sweeps.values()})
        numbers = held.values_list("pk", "specimen_id", "sweep_number")
        taken = [pk for pk, specimen_id, number in numbers if wanted.get((specimen_id, number), pk) != pk]
        EphysSweep.objects.filter(pk__in=taken).delete()

    def _store_files(self) -> int:
        """Stage the demo files for the file store and record their size and sha256 on the rows to be written."""
        for file_id, source, content in self.files:
            stored = self.staging.add(file_id, content if content is not None else source)
            wkf = self.rows.get(WellKnownFile, file_id)
            wkf.size, wkf.sha256 = stored.size, stored.sha256
        return len({file_id for file_id, _, _ in self.files})


def _typed(row: Row, column: str, model: type[dj.Model], name: str | None = None) -> object:
    """Column `column` of `row` as the Python value of `model`'s field `name` (default: the column's name);
    an integer must fit the database column."""
    model_field = model._meta.get_field(name or column)
    if isinstance(model_field, dj.BooleanField):
        return row.boolean(column)
    if isinstance(model_field, dj.FloatField):
        return row.number(column)
    if isinstance(model_field, dj.IntegerField):
        return row.integer(column, connection.ops.integer_field_range(model_field.get_internal_type()))
    return row.text(column)


def _json_typed(record: dict, name: str, model: type[dj.Model], where: str) -> object:
    """`record[name]` checked against `model`'s field `name`: its type, and for an integer, the column's range."""
    model_field = model._meta.get_field(name)
    value = record.get(name)
    if value is None:
        if model_field.null:
            return None
        raise TableError(f"{where}: {name!r} is required")
    if isinstance(model_field, dj.BooleanField):
        ok = isinstance(value, bool)
    elif isinstance(model_field, dj.FloatField):
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    elif isinstance(model_field, dj.IntegerField):
        low, high = connection.ops.integer_field_range(model_field.get_internal_type())
        ok = isinstance(value, int) and not isinstance(value, bool)
        ok = ok and (low is None or value >= low) and (high is None or value <= high)
    else:
        ok = isinstance(value, str) and len(value) <= (model_field.max_length or len(value))
    if not ok:
        raise TableError(f"{where}: {name!r} is not a valid {model_field.get_internal_type()}: {value!r}")
    return value


def _same_reconstruction(table: NeuronReconstruction, row: Row) -> bool:
    """Whether a published record has the cell table's type and its five nr__ values (relative SAME_TRACING_RTOL)."""
    if row.text("neuron_reconstruction_type") != table.neuron_reconstruction_type:
        return False
    for name in TABLE_RECONSTRUCTION_COLUMNS:
        ours, theirs = getattr(table, name), _typed(row, name, NeuronReconstruction)
        if ours is None or theirs is None:
            return False
        if abs(ours - theirs) > SAME_TRACING_RTOL * max(1.0, abs(ours), abs(theirs)):
            return False
    return True


def demo_load(*, demo_dir: Path = DEMO_DIR) -> tuple[LoadReport, float]:
    """Load the bundled demo set in one transaction; any error rolls back every table, and the files it
    would have added or replaced enter the store only once the transaction commits."""
    started = time.perf_counter()
    staging = filestore.StagedFiles()
    try:
        with transaction.atomic():
            report = DemoLoader(demo_dir, staging).run()
            atlas_version_bump()
            transaction.on_commit(staging.commit)
    except BaseException:
        staging.discard()
        raise
    return report, time.perf_counter() - started


def manifest_rows(demo_dir: Path = DEMO_DIR) -> list[dict[str, str]]:
    with (demo_dir / "MANIFEST.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))
