"""A neuronal model as Allen's model download: a zip of its files and records.

GLIF: `<id>_neuron_config.json`, `ephys_sweeps.json`, `neuronal_model.json`. Biophysical: the fit JSON, the
template's NMODL files under `modfiles/`, the SWC (and marker) of the specimen's reconstruction when held,
`manifest.json`, `neuronal_model.json`.

Where a file's bytes come from is the caller's: `file_path(wkf)` gives the local path of a file the zip needs (the
HTTP app passes its fetch-through) or raises the caller's own error, which propagates. Files that are only nice to
have (the reconstruction's) are taken when the file store holds them in good order.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

from celltypes.atlas import choices, filestore
from celltypes.atlas.models import NeuronalModel, WellKnownFile

FilePath = Callable[[WellKnownFile], Path]


class ModelZipError(LookupError):
    """The model lacks a file record its zip needs."""


def neuronal_model_zip(model: NeuronalModel, *, file_path: FilePath) -> tuple[bytes, str]:
    """(zip bytes, download file name) of `model`, laid out as Allen's model download."""
    buffer = io.BytesIO()
    files = list(model.well_known_files.all())
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if model.neuronal_model_template_id in choices.GLIF_TEMPLATE_IDS:
            _glif(model, files, archive, file_path)
        else:
            _biophysical(model, files, archive, file_path)
        archive.writestr("neuronal_model.json", json.dumps(_model_record(model), indent=2))
    return buffer.getvalue(), f"neuronal_model_{model.id}.zip"


def _model_record(model: NeuronalModel) -> dict:
    template = model.neuronal_model_template
    return {
        "id": model.id,
        "name": model.name,
        "specimen_id": model.specimen_id,
        "neuronal_model_template_id": model.neuronal_model_template_id,
        "neuron_reconstruction_id": model.neuron_reconstruction_id,
        "neuronal_model_template": {"id": template.id, "name": template.name, "description": template.description},
    }


def _glif(model: NeuronalModel, files: list[WellKnownFile], archive: zipfile.ZipFile, file_path: FilePath) -> None:
    config = next((f for f in files if f.path.endswith("neuron_config.json")), None)
    if config is None:
        raise ModelZipError(f"neuronal model {model.id} has no neuron_config file")
    archive.write(file_path(config), f"{model.id}_neuron_config.json")
    sweeps = [
        {k: v for k, v in s.items() if k != "sampling_rate"}
        for s in model.specimen.ephys_sweeps.order_by("sweep_number").values()
    ]
    archive.writestr("ephys_sweeps.json", json.dumps(sweeps, indent=2))


def _biophysical(
    model: NeuronalModel, files: list[WellKnownFile], archive: zipfile.ZipFile, file_path: FilePath
) -> None:
    fit = next((f for f in files if f.well_known_file_type_id == choices.MODEL_PARAMETERS[0]), None)
    if fit is None:
        raise ModelZipError(f"neuronal model {model.id} has no fit parameters file")
    fit_name = f"{model.id}_fit.json"
    archive.write(file_path(fit), fit_name)
    for modfile in model.neuronal_model_template.well_known_files.filter(
        well_known_file_type_id=choices.MODEL_DESCRIPTION[0]
    ):
        archive.write(file_path(modfile), f"modfiles/{modfile.file_name}")
    morphology = None
    reconstruction = model.specimen.neuron_reconstructions.filter(well_known_files__size__isnull=False).first()
    for wkf in reconstruction.well_known_files.all() if reconstruction else []:
        held = filestore.held_well_known_file(wkf.id, size=wkf.size, sha256=wkf.sha256)
        if held is None:
            continue
        archive.write(held.path, wkf.file_name)
        if wkf.well_known_file_type_id == choices.RECONSTRUCTION[0]:
            morphology = wkf.file_name
    archive.writestr("manifest.json", json.dumps(_manifest(model, fit_name, morphology), indent=2))


def _manifest(model: NeuronalModel, fit_name: str, morphology: str | None) -> dict:
    """The manifest the AllenSDK's biophysical runner reads."""
    sweeps = model.specimen.ephys_sweeps.exclude(stimulus_name="Test").values_list("sweep_number", flat=True)
    return {
        "biophys": [{"model_file": ["manifest.json", fit_name], "model_type": model.neuronal_model_template.name}],
        "runs": [{"sweeps": list(sweeps)}],
        "neuron": [{"hoc": ["stdgui.hoc", "import3d.hoc"]}],
        "manifest": [
            {"type": "dir", "spec": ".", "key": "BASEDIR"},
            {"type": "dir", "spec": "work", "key": "WORKDIR", "parent_key": "BASEDIR"},
            {"type": "file", "spec": morphology or "", "key": "MORPHOLOGY"},
            {"type": "dir", "spec": "modfiles", "key": "MODFILE_DIR"},
            {"type": "file", "spec": fit_name, "key": "fit_parameters"},
        ],
    }
