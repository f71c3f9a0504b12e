"""load_demo: the bundled real Allen demo set -> the atlas tables and the file store, in one transaction.

Idempotent (every id is Allen's, or minted deterministically from a stable key, and every write is an upsert)
and atomic (the caller wraps it in transaction.atomic; any TableError rolls everything back).
Ids that Allen's records do not give us (tags, lines, reporters, products, markers, soma locations) are minted
as LOCAL_ID_BASE + crc32(kind:key): always >= 9,000,000,000, far above Allen's ids, and stable across runs.
"""

import csv
import json
import logging
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.db import models as dj
from django.db import transaction

from celltypes.atlas import choices, filestore
from celltypes.atlas.models import (
    ApiCellTypesSpecimenDetail,
    CellReporter,
    CellSomaLocation,
    Donor,
    EphysFeature,
    EphysResult,
    EphysSweep,
    NeuronalModel,
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
from celltypes.atlas.services.versions import atlas_version_bump
from celltypes.atlas.structures import STRUCTURE_NAMES
from celltypes.atlas.tables import Row, TableError, read_table

log = logging.getLogger(__name__)

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo_data"
SPECIMEN_TABLE = "allen19981_Conductance_Parameter/cell_types_specimen_details.csv"
EPHYS_FEATURE_TABLE = "BIPN162_Materials/cell_types/ephys_features.csv"
MORPHOLOGY_TABLE = "davidhbrann_CompClub-sklearn/cell_types/morphology_features.csv"
ALL_FEATURES_TABLE = "allen19981_Conductance_Parameter/all_features.csv"
LOCAL_ID_BASE = 9_000_000_000

SPECIES_TO_ORGANISM = {"mus musculus": 2, "homo sapiens": 1}
PRODUCT_BY_ORGANISM = {2: "Mouse Cell Types", 1: "Human Cell Types"}

RECONSTRUCTION_COLUMNS = [
    f.name
    for f in NeuronReconstruction._meta.concrete_fields
    if f.name not in ("id", "specimen", "neuron_reconstruction_type", "superseded", "tags")
]
EPHYS_FEATURE_COLUMNS = [f.name for f in EphysFeature._meta.concrete_fields if f.name not in ("id", "specimen")]
SWEEP_COLUMNS = [f.name for f in EphysSweep._meta.concrete_fields if f.name not in ("id", "specimen", "sampling_rate")]


def local_id(kind: str, key: object) -> int:
    return LOCAL_ID_BASE + zlib.crc32(f"{kind}:{key}".encode())


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
    counts: dict[str, int]
    files_stored: int
    warnings: list[str]


class DemoLoader:
    def __init__(self, demo_dir: Path = DEMO_DIR) -> None:
        self.demo = Path(demo_dir)
        self.rows = _Rows()
        self.warnings: list[str] = []
        self.files: list[tuple[int, Path, bytes | None]] = []  # (wkf id, source, replacement content)
        self.current_reconstruction: dict[int, int] = {}  # specimen id -> reconstruction id
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
            self.rows.put(Product(id=local_id("product", organism_id), name=name))

    def _manifest(self) -> list[Row]:
        path = self.demo / "MANIFEST.csv"
        return list(read_table(path, required=["path", "kind", "specimen_id", "neuronal_model_id"]))

    def _scan_bundle_metadata(self, manifest: list[Row]) -> None:
        """Allen ephys_result ids that model records carry (model_metadata.json's nested specimen)."""
        for row in manifest:
            if row.text("kind") in ("glif_model_metadata", "biophysical_model_metadata"):
                record = self._json(row)
                specimen = record.get("specimen") or {}
                result = specimen.get("ephys_result") or {}
                if specimen.get("id") and result.get("id"):
                    self.ephys_result_ids[int(specimen["id"])] = int(result["id"])

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
            result_id = self.ephys_result_ids.get(specimen_id) or local_id("ephys_result", specimen_id)
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
            self.rows.links[Specimen.products.through].add((specimen_id, local_id("product", organism_id)))
            for label, column in (("dendrite type", "tag__dendrite_type"), ("apical", "tag__apical")):
                if value := row.text(column):
                    tag = self.rows.put(
                        SpecimenTag(id=local_id("tag", f"{label} - {value}"), name=f"{label} - {value}")
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
            if kind := row.text("nr__reconstruction_type"):
                swc_id = row.integer("nrwkf__id")
                recon_id = (swc_id - 2) if swc_id else local_id("reconstruction", specimen_id)
                self.current_reconstruction[specimen_id] = recon_id
                self.rows.put(
                    NeuronReconstruction(
                        id=recon_id,
                        specimen_id=specimen_id,
                        neuron_reconstruction_type=kind,
                        max_euclidean_distance=row.number("nr__max_euclidean_distance"),
                        number_stems=row.integer("nr__number_stems"),
                        number_bifurcations=row.integer("nr__number_bifurcations"),
                        average_contraction=row.number("nr__average_contraction"),
                        average_parent_daughter_ratio=row.number("nr__average_parent_daughter_ratio"),
                    )
                )
                if swc_id:
                    swc_name = specimen.name.replace(";", "_") + f"_{recon_id}_m.swc"
                    self._file_record(
                        swc_id,
                        choices.RECONSTRUCTION,
                        "NeuronReconstruction",
                        recon_id,
                        swc_name,
                        neuron_reconstruction_id=recon_id,
                    )
            self.rows.put(self._detail(row, detail_fields, specimen_id))

    def _detail(self, row: Row, fields: dict, specimen_id: int) -> ApiCellTypesSpecimenDetail:
        values = {}
        for column, model_field in fields.items():
            if column == "specimen__id":
                continue
            if column not in row.values:
                values[model_field.attname] = None
            elif isinstance(model_field, dj.BigIntegerField):
                values[model_field.attname] = row.integer(column)
            elif isinstance(model_field, dj.FloatField):
                values[model_field.attname] = row.number(column)
            else:
                values[model_field.attname] = row.text(column)
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
            line_row = self.rows.put(TransgenicLine(id=local_id("line", line), name=line))
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
        return self.rows.put(CellReporter(id=local_id("reporter", status), name=status))

    def _ephys_features(self) -> None:
        path = self.demo / EPHYS_FEATURE_TABLE
        aliases = {"specimen_id": ["specimen__id"]}
        for row in read_table(path, required=["id", "specimen_id"], aliases=aliases):
            specimen_id = row.require(row.integer("specimen_id"), "specimen_id")
            if not self.rows.get(Specimen, specimen_id):
                raise TableError(f"{row.where('specimen_id')}: specimen {specimen_id} is not in the cell table")
            values = {}
            for name in EPHYS_FEATURE_COLUMNS:
                model_field = EphysFeature._meta.get_field(name)
                if name not in row.values:
                    values[name] = None
                elif isinstance(model_field, dj.BooleanField):
                    values[name] = row.boolean(name)
                elif isinstance(model_field, dj.FloatField):
                    values[name] = row.number(name)
                else:
                    values[name] = row.integer(name)
            self.rows.put(EphysFeature(id=row.require(row.integer("id"), "id"), specimen_id=specimen_id, **values))

    def _morphology_tables(self) -> None:
        """Fill the published 30-column records. A record matching the cell table's nr__ values is the current
        reconstruction (its id wins over the nrwkf__id - 2 guess); any other record is an older, superseded one."""
        # The 670-cell merge is of the same release as the cell table, so it decides the current record first;
        # the older 402-record table then adds the superseded reconstructions it describes.
        sources = [
            (ALL_FEATURES_TABLE, {"id": ["id_y"]}),
            (MORPHOLOGY_TABLE, {"id": ["neuron_reconstruction_id"]}),
        ]
        confirmed: set[int] = set()
        for table, aliases in sources:
            for row in read_table(self.demo / table, required=["id", "specimen_id"], aliases=aliases):
                if not row.text("neuron_reconstruction_type"):
                    continue
                specimen_id = row.require(row.integer("specimen_id"), "specimen_id")
                recon_id = row.require(row.integer("id"), "id")
                if not self.rows.get(Specimen, specimen_id):
                    continue
                current_id = self.current_reconstruction.get(specimen_id)
                current = self.rows.get(NeuronReconstruction, current_id) if current_id else None
                if current is not None and recon_id == current.id:
                    confirmed.add(specimen_id)
                elif current is not None and specimen_id not in confirmed and _same_reconstruction(current, row):
                    confirmed.add(specimen_id)
                    self.rows.by_model[NeuronReconstruction].pop(current.id)
                    self._rekey_reconstruction_files(current.id, recon_id)
                    current.id = recon_id
                    self.rows.put(current)
                    self.current_reconstruction[specimen_id] = recon_id
                record = self.rows.get(NeuronReconstruction, recon_id) or self.rows.put(
                    NeuronReconstruction(
                        id=recon_id,
                        specimen_id=specimen_id,
                        neuron_reconstruction_type=row.text("neuron_reconstruction_type"),
                        superseded=True,
                    )
                )
                for name in RECONSTRUCTION_COLUMNS:
                    if getattr(record, name) is None and name in row.values:
                        is_int = isinstance(NeuronReconstruction._meta.get_field(name), dj.IntegerField)
                        setattr(record, name, row.integer(name) if is_int else row.number(name))
                if record.tags is None:
                    record.tags = row.text("tags")

    def _rekey_reconstruction_files(self, old_id: int, new_id: int) -> None:
        for wkf in self.rows.by_model[WellKnownFile].values():
            if wkf.neuron_reconstruction_id == old_id:
                wkf.neuron_reconstruction_id = new_id
                wkf.attachable_id = new_id

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
                file_id = wkf.id if wkf else local_id("swc", row.values["path"])
            else:
                recon_id = named_id or local_id("reconstruction", row.values["path"])
                if not self.rows.get(NeuronReconstruction, recon_id):
                    self.rows.put(
                        NeuronReconstruction(
                            id=recon_id,
                            specimen_id=specimen_id,
                            superseded=True,
                            neuron_reconstruction_type=None,
                        )
                    )
                file_id = local_id("swc", row.values["path"])
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
                local_id("marker", row.values["path"]),
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
            if "glif_neuron_config" in parts:
                self._glif_model(model_id, specimen, metadata, parts)
            elif "biophysical_fit" in parts:
                self._biophysical_model(model_id, specimen, metadata, parts["biophysical_fit"])
            for kind in ("glif_ephys_sweeps", "biophysical_ephys_sweeps"):
                if kind in parts:
                    self._sweeps(specimen.id, parts[kind])

    def _glif_model(self, model_id: int, specimen: Specimen, metadata: dict, parts: dict[str, Row]) -> None:
        template_id = int(metadata["neuronal_model_template_id"])
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
        file_id = int(record["id"]) if record else local_id("neuron_config", model_id)
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
        template_id = int(
            metadata.get("neuronal_model_template_id")
            or (choices.ALL_ACTIVE_TEMPLATE_ID if len(genome) > 30 else choices.PERISOMATIC_TEMPLATE_ID)
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
        file_id = int(record["id"]) if record else local_id("fit", model_id)
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

    def _sweeps(self, specimen_id: int, row: Row) -> None:
        records = self._json(row)
        if not isinstance(records, list):
            raise TableError(f"{row.values['path']}: expected a list of EphysSweep records")
        for index, record in enumerate(records):
            try:
                values = {name: record.get(name) for name in SWEEP_COLUMNS}
                self.rows.put(EphysSweep(id=int(record["id"]), specimen_id=specimen_id, **values))
            except (KeyError, TypeError, ValueError) as exc:
                raise TableError(f"{row.values['path']}: record {index}: {exc!r}") from None

    def _nwb_specimens(self, manifest: list[Row]) -> None:
        from celltypes.atlas.services.nwb_specimens import nwb_specimen_rows

        for row in manifest:
            if row.text("kind") == "nwb":
                for obj in nwb_specimen_rows(self.demo / row.values["path"], self.demo, local_id):
                    if isinstance(obj, tuple):
                        self._file_record(*obj[0], **obj[1])
                    else:
                        self.rows.put(obj)

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
        order = [
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
            NeuronReconstruction,
            NeuronalModel,
            WellKnownFile,
            ApiCellTypesSpecimenDetail,
        ]
        for model in order:
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
        for through, pairs in self.rows.links.items():
            fk_names = [f.name for f in through._meta.concrete_fields if not f.primary_key]
            through.objects.bulk_create(
                [through(**{f"{fk_names[0]}_id": a, f"{fk_names[1]}_id": b}) for a, b in sorted(pairs)],
                batch_size=1000,
                ignore_conflicts=True,
            )

    def _store_files(self) -> int:
        """Copy the demo files into the file store and record their size and sha256 on the rows to be written."""
        for file_id, source, content in self.files:
            stored = filestore.store_well_known_file(file_id, content if content is not None else source)
            wkf = self.rows.get(WellKnownFile, file_id)
            wkf.size, wkf.sha256 = stored.size, stored.sha256
        return len({file_id for file_id, _, _ in self.files})


def _same_reconstruction(record: NeuronReconstruction, row: Row) -> bool:
    try:
        stems, bifurcations = row.integer("number_stems"), row.integer("number_bifurcations")
        distance = row.number("max_euclidean_distance")
    except TableError:
        return False
    if stems != record.number_stems or bifurcations != record.number_bifurcations:
        return False
    if distance is None or record.max_euclidean_distance is None:
        return False
    return abs(distance - record.max_euclidean_distance) <= 1e-6 * max(1.0, abs(distance))


def demo_load(*, demo_dir: Path = DEMO_DIR) -> tuple[LoadReport, float]:
    """Load the bundled demo set in one transaction; any error rolls back every table."""
    started = time.perf_counter()
    with transaction.atomic():
        report = DemoLoader(demo_dir).run()
        atlas_version_bump()
    return report, time.perf_counter() - started


def manifest_rows(demo_dir: Path = DEMO_DIR) -> list[dict[str, str]]:
    with (demo_dir / "MANIFEST.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))
