"""Allen record dicts -> plain values for our models. Pure: no Django, no HTTP; every check names what is wrong."""

from __future__ import annotations

import math
from dataclasses import dataclass

RUN_METRICS = ("explained_variance_ratio", "rheobase_feature_average")  # Allen's published measures of a fit


class MappingError(ValueError):
    """An upstream record lacks something we need, or has it in the wrong shape."""


@dataclass(frozen=True)
class FileRecord:
    id: int
    path: str
    attachable_type: str
    attachable_id: int
    type_id: int
    type_name: str


@dataclass(frozen=True)
class ModelRecordSet:
    """What the AllenSDK's BiophysicalApi query returns for one neuronal model, flattened."""

    model_id: int
    name: str
    specimen_id: int
    template_id: int
    model_files: tuple[FileRecord, ...]
    template_files: tuple[FileRecord, ...]
    ephys_result: dict | None
    ephys_result_files: tuple[FileRecord, ...]
    reconstruction_files: dict[int, tuple[FileRecord, ...]]
    sweeps: tuple[dict, ...]
    runs: tuple[dict, ...] = ()  # {id, name?, metric: value} per run; a metric only where the record carries one


def _int(record: dict, key: str, where: str) -> int:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MappingError(f"{where}: '{key}' should be an integer, got {value!r}")
    return value


def _list(record: dict, key: str, where: str) -> list[dict]:
    value = record.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise MappingError(f"{where}: '{key}' should be a list of records")
    return value


def _run(record: dict, where: str) -> dict:
    """A NeuronalModelRun's id, name and the published metrics it carries (null or absent: not carried)."""
    run_id = _int(record, "id", f"{where} neuronal_model_run")
    where = f"{where} neuronal_model_run {run_id}"
    out: dict = {"id": run_id}
    name = record.get("name")
    if name is not None:
        if not isinstance(name, str):
            raise MappingError(f"{where}: 'name' should be text, got {name!r}")
        out["name"] = name
    for metric in RUN_METRICS:
        value = record.get(metric)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise MappingError(f"{where}: '{metric}' should be a finite number, got {value!r}")
        out[metric] = float(value)
    return out


def file_record(record: dict, where: str) -> FileRecord:
    where = f"{where} well_known_file {record.get('id')!r}"
    file_type = record.get("well_known_file_type")
    if not isinstance(file_type, dict):
        raise MappingError(f"{where}: no well_known_file_type")
    path = record.get("path")
    if not isinstance(path, str) or not path.strip("/"):
        raise MappingError(f"{where}: no path")
    if any(ord(char) < 32 for char in path):
        raise MappingError(f"{where}: the path has control characters")
    type_name = file_type.get("name")
    if not isinstance(type_name, str) or not type_name:
        raise MappingError(f"{where}: the file type has no name")
    return FileRecord(
        id=_int(record, "id", where),
        path=path,
        attachable_type=str(record.get("attachable_type") or ""),
        attachable_id=_int(record, "attachable_id", where),
        type_id=_int(file_type, "id", where),
        type_name=type_name,
    )


def _files(record: dict, where: str) -> tuple[FileRecord, ...]:
    return tuple(file_record(item, where) for item in _list(record, "well_known_files", where))


def model_record_set(record: dict) -> ModelRecordSet:
    """Flatten a NeuronalModel record with the includes of the SDK's `BiophysicalApi.build_rma`."""
    model_id = _int(record, "id", "neuronal model")
    where = f"neuronal model {model_id}"
    template = record.get("neuronal_model_template")
    specimen = record.get("specimen")
    if not isinstance(template, dict):
        raise MappingError(f"{where}: no neuronal_model_template")
    if not isinstance(specimen, dict):
        raise MappingError(f"{where}: no specimen")
    specimen_id = _int(specimen, "id", f"{where} specimen")
    ephys_result = specimen.get("ephys_result")
    if ephys_result is not None and not isinstance(ephys_result, dict):
        raise MappingError(f"{where}: ephys_result should be a record")
    if ephys_result is not None:
        _int(ephys_result, "id", f"{where} ephys_result")
    reconstructions = {}
    for reconstruction in _list(specimen, "neuron_reconstructions", where):
        recon_where = f"{where} neuron_reconstruction {reconstruction.get('id')!r}"
        reconstructions[_int(reconstruction, "id", recon_where)] = _files(reconstruction, recon_where)
    sweeps = _list(specimen, "ephys_sweeps", where)
    for sweep in sweeps:
        _int(sweep, "id", f"{where} ephys_sweep")
        _int(sweep, "sweep_number", f"{where} ephys_sweep {sweep.get('id')}")
    return ModelRecordSet(
        model_id=model_id,
        name=str(record.get("name") or ""),
        specimen_id=specimen_id,
        template_id=_int(template, "id", f"{where} template"),
        model_files=_files(record, where),
        template_files=_files(template, f"{where} template"),
        ephys_result=ephys_result,
        ephys_result_files=_files(ephys_result, f"{where} ephys_result") if ephys_result else (),
        reconstruction_files=reconstructions,
        sweeps=tuple(sweeps),
        runs=tuple(_run(run, where) for run in _list(record, "neuronal_model_runs", where)),
    )


def neuronal_model_query(model_id: int) -> str:
    """The records `BiophysicalApi.cache_data` reads, and the model's runs (their published metrics), as
    include-only paths (outer joins: nothing is dropped)."""
    paths = (
        "neuronal_model_template(well_known_files(well_known_file_type)),"
        "specimen(ephys_result(well_known_files(well_known_file_type)),"
        "neuron_reconstructions(well_known_files(well_known_file_type)),ephys_sweeps),"
        "well_known_files(well_known_file_type),neuronal_model_runs"
    )
    return f"model::NeuronalModel,rma::criteria,[id$eq{int(model_id)}],rma::include,{paths}"
