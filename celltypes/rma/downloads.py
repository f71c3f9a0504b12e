"""Serving well-known files and model zips: where the bytes come from (file store, converted NWB)."""

import io
import json
import logging
import zipfile
from pathlib import Path

from celltypes.atlas import choices, filestore
from celltypes.atlas.models import NeuronalModel, WellKnownFile
from celltypes.science.errors import ScienceError
from celltypes.sync.client import UpstreamError
from celltypes.sync.services import upstream_client, well_known_file_fetch

log = logging.getLogger(__name__)


class FileUnavailable(Exception):
    """The file is known but we hold no local copy and cannot get one; `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(message)
        self.status = status


def well_known_file_source(wkf: WellKnownFile) -> tuple[Path, str]:
    """(local path, download file name) for a well-known file.

    NWB downloads are served in Allen's released NWB 1 layout (what the AllenSDK's NwbDataSet reads); a source
    in another layout (raw MIES NWB 1, NWB 2) is converted once and cached under derived/nwb1/.
    """
    path = filestore.well_known_file_path(wkf.id)
    if not path.is_file():
        _fetch_from_upstream(wkf)
    if wkf.well_known_file_type_id == choices.NWB_DOWNLOAD[0]:
        return _allen_nwb1(wkf, path), wkf.file_name
    return path, wkf.file_name


def _fetch_from_upstream(wkf: WellKnownFile) -> None:
    """Fetch-through: a file we know of but do not hold is fetched from the upstream once, then served from here."""
    client = upstream_client()
    if client is None:
        raise FileUnavailable(
            f"well-known file {wkf.id} ({wkf.file_name}) is not held by this server and no upstream is configured "
            "(CELLTYPES_UPSTREAM) to fetch it from"
        )
    try:
        stored = well_known_file_fetch(file_id=wkf.id, client=client)
    except UpstreamError as exc:
        raise FileUnavailable(
            f"well-known file {wkf.id} ({wkf.file_name}) is not held by this server and fetching it failed: {exc}",
            status=504 if exc.timed_out else 502,
        ) from exc
    wkf.size, wkf.sha256 = stored.size, stored.sha256  # the NWB 1 conversion below is cached under this digest


def _allen_nwb1(wkf: WellKnownFile, source: Path) -> Path:
    from celltypes.atlas.bundled import STIMULUS_ONTOLOGY
    from celltypes.science.nwb import LAYOUT_ALLEN_NWB1, read_nwb, write_allen_nwb1

    target = filestore.derived_path("nwb1", f"{wkf.id}-{(wkf.sha256 or 'x')[:16]}.nwb")
    if target.is_file():
        return target
    try:
        recording = read_nwb(source, STIMULUS_ONTOLOGY)  # names the stimuli of files that do not store them
        if recording.layout == LAYOUT_ALLEN_NWB1:
            return source
        target.parent.mkdir(parents=True, exist_ok=True)
        write_allen_nwb1(recording, target)
    except (ScienceError, OSError, ValueError) as exc:
        log.warning("cannot convert %s to Allen NWB 1: %s", source, exc)
        raise FileUnavailable(
            f"well-known file {wkf.id} could not be converted to Allen's NWB 1 layout: {exc}"
        ) from exc
    return target


def neuronal_model_zip(model: NeuronalModel) -> tuple[bytes, str]:
    """A zip laid out as Allen's model download.

    GLIF: `<id>_neuron_config.json`, `ephys_sweeps.json`, `neuronal_model.json`.
    Biophysical: the fit JSON, the SWC (and marker) of the specimen's reconstruction, `manifest.json`,
    `neuronal_model.json`.
    """
    buffer = io.BytesIO()
    record = {
        "id": model.id,
        "name": model.name,
        "specimen_id": model.specimen_id,
        "neuronal_model_template_id": model.neuronal_model_template_id,
        "neuron_reconstruction_id": model.neuron_reconstruction_id,
        "neuronal_model_template": {
            "id": model.neuronal_model_template.id,
            "name": model.neuronal_model_template.name,
            "description": model.neuronal_model_template.description,
        },
    }
    files = list(model.well_known_files.all())
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if model.neuronal_model_template_id in choices.GLIF_TEMPLATE_IDS:
            config = next((f for f in files if f.path.endswith("neuron_config.json")), None)
            if config is None:
                raise FileUnavailable(f"neuronal model {model.id} has no neuron_config file")
            archive.write(well_known_file_source(config)[0], f"{model.id}_neuron_config.json")
            sweeps = [
                {k: v for k, v in s.items() if k != "sampling_rate"}
                for s in model.specimen.ephys_sweeps.order_by("sweep_number").values()
            ]
            archive.writestr("ephys_sweeps.json", json.dumps(sweeps, indent=2))
        else:
            fit = next((f for f in files if f.well_known_file_type_id == choices.MODEL_PARAMETERS[0]), None)
            if fit is None:
                raise FileUnavailable(f"neuronal model {model.id} has no fit parameters file")
            fit_name = f"{model.id}_fit.json"
            archive.write(well_known_file_source(fit)[0], fit_name)
            for modfile in model.neuronal_model_template.well_known_files.filter(
                well_known_file_type_id=choices.MODEL_DESCRIPTION[0]
            ):
                path, name = well_known_file_source(modfile)
                archive.write(path, f"modfiles/{name}")
            morphology = None
            reconstruction = model.specimen.neuron_reconstructions.filter(well_known_files__size__isnull=False).first()
            for wkf in reconstruction.well_known_files.all() if reconstruction else []:
                try:
                    path, name = well_known_file_source(wkf)
                except FileUnavailable:
                    continue
                archive.write(path, name)
                if wkf.well_known_file_type_id == choices.RECONSTRUCTION[0]:
                    morphology = name
            manifest = {
                "biophys": [
                    {
                        "model_file": ["manifest.json", fit_name],
                        "model_type": model.neuronal_model_template.name,
                    }
                ],
                "runs": [
                    {
                        "sweeps": list(
                            model.specimen.ephys_sweeps.exclude(stimulus_name="Test").values_list(
                                "sweep_number", flat=True
                            )
                        )
                    }
                ],
                "neuron": [{"hoc": ["stdgui.hoc", "import3d.hoc"]}],
                "manifest": [
                    {"type": "dir", "spec": ".", "key": "BASEDIR"},
                    {"type": "dir", "spec": "work", "key": "WORKDIR", "parent_key": "BASEDIR"},
                    {"type": "file", "spec": morphology or "", "key": "MORPHOLOGY"},
                    {"type": "dir", "spec": "modfiles", "key": "MODFILE_DIR"},
                    {"type": "file", "spec": fit_name, "key": "fit_parameters"},
                ],
            }
            archive.writestr("manifest.json", json.dumps(manifest, indent=2))
        archive.writestr("neuronal_model.json", json.dumps(record, indent=2))
    return buffer.getvalue(), f"neuronal_model_{model.id}.zip"
