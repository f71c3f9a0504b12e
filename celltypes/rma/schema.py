"""THE whitelist: every RMA model, attribute and association name a query may use, and what it maps to.

Nothing a user types reaches the database except through these tables: names are looked up here, values are
passed to the ORM as parameters. Attribute names are Allen's column names (`db_column` where Django could not
use them, e.g. `specimen__id`); association names are Allen's (singular for to-one, plural for to-many).
"""

from dataclasses import dataclass, field
from functools import cache

from django.db import models as dj

from celltypes.atlas import models as m


@dataclass(frozen=True)
class RmaAssociation:
    name: str
    target: str  # RMA model name
    accessor: str  # Django relation name on the source model
    many: bool  # serialised as a list (to-many; also a one-to-one Allen lists, Specimen.ephys_features), else an object


@dataclass(frozen=True)
class RmaAttribute:
    name: str  # Allen's name
    field: str  # Django attname
    kind: str  # "int" | "float" | "bool" | "text"


@dataclass(frozen=True)
class RmaModel:
    name: str
    django_model: type[dj.Model]
    table: str
    attributes: dict[str, RmaAttribute]
    associations: dict[str, RmaAssociation] = field(default_factory=dict)
    computed: tuple[str, ...] = ()  # read-only attributes from properties (download_link)

    @property
    def element(self) -> str:
        """The singular XML element name: `ApiCellTypesSpecimenDetail` -> `api-cell-types-specimen-detail`."""
        out = []
        for index, char in enumerate(self.name):
            if char.isupper() and index:
                out.append("-")
            out.append(char.lower())
        return "".join(out)


# Our own bookkeeping columns, not part of Allen's records.
HIDDEN_FIELDS: dict[type[dj.Model], set[str]] = {
    m.WellKnownFile: {
        "ephys_result_id",
        "neuron_reconstruction_id",
        "neuronal_model_id",
        "neuronal_model_template_id",
        "neuronal_model_run_id",
        "size",
        "sha256",
    },
    m.EphysSweep: {"sampling_rate"},
}

# Rows that are ours and never Allen's record: a lab's own uploads (LabRecording) never reach the RMA API.
NOT_ALLENS: dict[type[dj.Model], dj.Q] = {
    m.Specimen: dj.Q(lab_recording__isnull=False),
    m.EphysSweep: dj.Q(specimen__lab_recording__isnull=False),
}


def rma_rows(django_model: type[dj.Model]) -> dj.QuerySet:
    """Every row of ``django_model`` an RMA answer may hold."""
    rows = django_model.objects.all()
    excluded = NOT_ALLENS.get(django_model)
    return rows.exclude(excluded) if excluded is not None else rows


MODELS: dict[str, type[dj.Model]] = {
    "ApiCellTypesSpecimenDetail": m.ApiCellTypesSpecimenDetail,
    "CellReporter": m.CellReporter,
    "CellSomaLocation": m.CellSomaLocation,
    "Donor": m.Donor,
    "EphysFeature": m.EphysFeature,
    "EphysResult": m.EphysResult,
    "EphysSweep": m.EphysSweep,
    "NeuronReconstruction": m.CurrentNeuronReconstruction,  # one per cell: older tracings are not served
    "NeuronalModel": m.NeuronalModel,
    "NeuronalModelRun": m.NeuronalModelRun,
    "NeuronalModelTemplate": m.NeuronalModelTemplate,
    "Organism": m.Organism,
    "Product": m.Product,
    "ProjectionImage": m.ProjectionImage,
    "SectionDataSet": m.SectionDataSet,
    "Specimen": m.Specimen,
    "SpecimenTag": m.SpecimenTag,
    "Structure": m.Structure,
    "SubImage": m.SubImage,
    "SectionImage": m.SubImage,  # Allen's SectionImage is a kind of SubImage (same table); the SDK queries it
    "TransgenicLine": m.TransgenicLine,
    "WellKnownFile": m.WellKnownFile,
    "WellKnownFileType": m.WellKnownFileType,
}

# (model, association name, target model, Django accessor, many)
ASSOCIATIONS: list[tuple[str, str, str, str, bool]] = [
    ("Specimen", "donor", "Donor", "donor", False),
    ("Specimen", "structure", "Structure", "structure", False),
    ("Specimen", "cell_reporter", "CellReporter", "cell_reporter", False),
    ("Specimen", "ephys_result", "EphysResult", "ephys_result", False),
    ("Specimen", "specimen_tags", "SpecimenTag", "specimen_tags", True),
    ("Specimen", "products", "Product", "products", True),
    ("Specimen", "cell_soma_locations", "CellSomaLocation", "cell_soma_locations", True),
    ("Specimen", "ephys_sweeps", "EphysSweep", "ephys_sweeps", True),
    ("Specimen", "ephys_features", "EphysFeature", "ephys_features", True),
    ("Specimen", "neuron_reconstructions", "NeuronReconstruction", "neuron_reconstructions", True),
    ("Specimen", "neuronal_models", "NeuronalModel", "neuronal_models", True),
    ("Specimen", "data_sets", "SectionDataSet", "data_sets", True),
    ("Donor", "organism", "Organism", "organism", False),
    ("Donor", "transgenic_lines", "TransgenicLine", "transgenic_lines", True),
    ("Donor", "specimens", "Specimen", "specimens", True),
    ("Organism", "donors", "Donor", "donors", True),
    ("Structure", "parent_structure", "Structure", "parent", False),
    ("Structure", "specimens", "Specimen", "specimens", True),
    ("TransgenicLine", "donors", "Donor", "donors", True),
    ("SpecimenTag", "specimens", "Specimen", "specimens", True),
    ("Product", "specimens", "Specimen", "specimens", True),
    ("CellReporter", "specimens", "Specimen", "specimens", True),
    ("CellSomaLocation", "specimen", "Specimen", "specimen", False),
    ("EphysResult", "specimen", "Specimen", "specimen", False),
    ("EphysResult", "well_known_files", "WellKnownFile", "well_known_files", True),
    ("EphysSweep", "specimen", "Specimen", "specimen", False),
    ("EphysFeature", "specimen", "Specimen", "specimen", False),
    ("NeuronReconstruction", "specimen", "Specimen", "specimen", False),
    ("NeuronReconstruction", "well_known_files", "WellKnownFile", "well_known_files", True),
    ("NeuronalModel", "specimen", "Specimen", "specimen", False),
    (
        "NeuronalModel",
        "neuronal_model_template",
        "NeuronalModelTemplate",
        "neuronal_model_template",
        False,
    ),
    ("NeuronalModel", "well_known_files", "WellKnownFile", "well_known_files", True),
    ("NeuronalModel", "neuronal_model_runs", "NeuronalModelRun", "neuronal_model_runs", True),
    ("NeuronalModelTemplate", "well_known_files", "WellKnownFile", "well_known_files", True),
    ("NeuronalModelTemplate", "neuronal_models", "NeuronalModel", "neuronal_models", True),
    ("NeuronalModelRun", "neuronal_model", "NeuronalModel", "neuronal_model", False),
    ("NeuronalModelRun", "well_known_files", "WellKnownFile", "well_known_files", True),
    ("WellKnownFile", "well_known_file_type", "WellKnownFileType", "well_known_file_type", False),
    ("WellKnownFile", "ephys_result", "EphysResult", "ephys_result", False),
    ("WellKnownFile", "neuron_reconstruction", "NeuronReconstruction", "neuron_reconstruction", False),
    ("WellKnownFile", "neuronal_model", "NeuronalModel", "neuronal_model", False),
    ("SectionDataSet", "specimen", "Specimen", "specimen", False),
    ("SectionDataSet", "sub_images", "SubImage", "sub_images", True),
    ("SubImage", "data_set", "SectionDataSet", "data_set", False),
    ("SubImage", "specimen", "Specimen", "specimen", False),
    ("SectionImage", "data_set", "SectionDataSet", "data_set", False),
    ("SectionImage", "specimen", "Specimen", "specimen", False),
    ("ProjectionImage", "data_set", "SectionDataSet", "data_set", False),
    ("ProjectionImage", "specimen", "Specimen", "specimen", False),
]


def _kind(model_field: dj.Field) -> str:
    if isinstance(model_field, dj.BooleanField):
        return "bool"
    if isinstance(model_field, dj.FloatField):
        return "float"
    if isinstance(model_field, (dj.IntegerField, dj.BigIntegerField, dj.ForeignKey, dj.OneToOneField)):
        target = model_field.target_field if model_field.is_relation else model_field
        return "int" if isinstance(target, (dj.IntegerField, dj.BigIntegerField, dj.AutoField)) else "text"
    if isinstance(model_field, dj.JSONField):
        return "json"
    return "text"


def _attributes(django_model: type[dj.Model]) -> dict[str, RmaAttribute]:
    hidden = HIDDEN_FIELDS.get(django_model, set())
    out = {}
    for model_field in django_model._meta.concrete_fields:
        if model_field.attname in hidden:
            continue
        name = model_field.db_column or model_field.attname
        out[name] = RmaAttribute(name=name, field=model_field.attname, kind=_kind(model_field))
    return out


@cache
def schema() -> dict[str, RmaModel]:
    associations: dict[str, dict[str, RmaAssociation]] = {name: {} for name in MODELS}
    for source, name, target, accessor, many in ASSOCIATIONS:
        associations[source][name] = RmaAssociation(name, target, accessor, many)
    out = {}
    for name, django_model in MODELS.items():
        out[name] = RmaModel(
            name=name,
            django_model=django_model,
            table=django_model._meta.db_table,
            attributes=_attributes(django_model),
            associations=associations[name],
            computed=("download_link",) if django_model is m.WellKnownFile else (),
        )
    return out


def model_named(name: str) -> RmaModel | None:
    return schema().get(name)


def describe(model: RmaModel) -> dict:
    """Allen's DataDescription record for one model (the shape rma_builder.js reads)."""
    kinds = {"int": "integer", "float": "float", "bool": "boolean", "text": "string", "json": "text"}
    return {
        "DataDescription": {
            model.name: {
                "table": model.table,
                "fields": [{"name": a.name, "type": kinds[a.kind]} for a in model.attributes.values()]
                + [{"name": c, "type": "string"} for c in model.computed],
                "associations": [
                    {"name": a.name, "class": a.target, "type": "has_many" if a.many else "belongs_to"}
                    for a in model.associations.values()
                ],
            }
        }
    }
