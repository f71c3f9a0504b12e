"""What a fetched well-known file must look like before it is kept: the kind its type and name promise.

An NWB is HDF5 (and opens: a truncated HDF5 file does not), an SWC parses, a marker file parses, a JSON file is
JSON, a PNG starts like one; nothing but an HTML file may be an HTML page (what a proxy or an error page answers
with HTTP 200).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from celltypes.atlas import choices
from celltypes.science.errors import InvalidFileError
from celltypes.science.swc import parse_marker_file, parse_swc
from celltypes.sync.client import UpstreamError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body")


class FileKindError(UpstreamError):
    """The upstream answered with bytes that are not the kind of file promised (not retried: it would again)."""

    def __init__(self, file_name: str, problem: str) -> None:
        super().__init__(f"the upstream's {file_name} is not a valid file of its kind: {problem}", retryable=False)


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8-sig", errors="replace")


def _hdf5(path: Path) -> None:
    import h5py

    if not h5py.is_hdf5(path):
        raise ValueError("not an HDF5 file (no HDF5 signature)")
    try:
        with h5py.File(path, "r"):
            pass
    except OSError as exc:  # truncated or damaged: HDF5 checks the end-of-file address of its superblock
        raise ValueError(f"HDF5 that cannot be opened ({exc})") from None


def _swc(path: Path) -> None:
    parse_swc(_text(path), path=path.name)


def _marker(path: Path) -> None:
    parse_marker_file(_text(path), path=path.name)


def _json(path: Path) -> None:
    try:
        json.loads(path.read_bytes())
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None


def _png(path: Path) -> None:
    with path.open("rb") as fh:
        if fh.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
            raise ValueError("not a PNG image (no PNG signature)")


CHECKS_BY_TYPE: dict[int, Callable[[Path], None]] = {
    choices.NWB_DOWNLOAD[0]: _hdf5,
    choices.NWB_UNCOMPRESSED[0]: _hdf5,
    choices.RECONSTRUCTION[0]: _swc,
    choices.MARKER[0]: _marker,  # Allen names them `*_marker_m.swc`: the type decides, not the name
    choices.MODEL_PARAMETERS[0]: _json,
}
CHECKS_BY_SUFFIX: dict[str, Callable[[Path], None]] = {
    ".nwb": _hdf5,
    ".h5": _hdf5,
    ".json": _json,
    ".png": _png,
    ".swc": _swc,
}


def _not_html(path: Path) -> None:
    with path.open("rb") as fh:
        start = fh.read(512).lstrip().lower()
    if start.startswith(HTML_STARTS):
        raise ValueError("an HTML page")


def well_known_file_check(path: Path, *, type_id: int | None, file_name: str) -> None:
    """Raise FileKindError unless the file at `path` is what a well-known file of this type and name should be."""
    suffix = Path(file_name).suffix.lower()
    checks = []
    if suffix not in (".html", ".htm"):
        checks.append(_not_html)
    kind = CHECKS_BY_TYPE.get(type_id) if type_id is not None else None
    kind = kind or CHECKS_BY_SUFFIX.get(suffix)
    if kind is not None:
        checks.append(kind)
    for check in checks:
        try:
            check(path)
        except InvalidFileError as exc:
            raise FileKindError(file_name, f"{exc.message}" + (f" ({exc.where})" if exc.where else "")) from exc
        except ValueError as exc:
            raise FileKindError(file_name, str(exc)) from exc
