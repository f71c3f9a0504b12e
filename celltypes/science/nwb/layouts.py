"""Which of the three layouts a file is in, and the reader of each.

* ``mies-nwb1``: raw MIES NWB 1.0.x (:mod:`.mies_nwb1`).
* ``allen-nwb1``: the Allen Cell Types Database download (:mod:`.allen_nwb1`).
* ``nwb2``: NWB 2.x icephys (:mod:`.nwb2`).
"""

from __future__ import annotations

import re
from types import ModuleType

from . import allen_nwb1, mies_nwb1, nwb2
from .hdf5 import H5File, text

LAYOUT_MIES_NWB1 = "mies-nwb1"
LAYOUT_ALLEN_NWB1 = "allen-nwb1"
LAYOUT_NWB2 = "nwb2"

# Each reader module has sweep_numbers(f) and read_sweeps(f, ontology, only=None).
READERS: dict[str, ModuleType] = {
    LAYOUT_MIES_NWB1: mies_nwb1,
    LAYOUT_ALLEN_NWB1: allen_nwb1,
    LAYOUT_NWB2: nwb2,
}


def nwb_version(f: H5File) -> str:
    version = f.text("nwb_version") if f.has("nwb_version") else None
    if version is None:
        version = text(f.attr(f.h, "nwb_version"))
    if not version:
        f.fail("/nwb_version", "not an NWB file (no nwb_version)")
    return version


def detect_layout(f: H5File, version: str) -> str:
    major = re.sub(r"^NWB-", "", version.strip())[:1]
    if major == "2":
        return LAYOUT_NWB2
    if major != "1":
        f.fail("/nwb_version", f"unsupported NWB version {version!r}")
    if f.has("epochs") and any(allen_nwb1.EPOCH_NAME.match(k) for k in f.keys("epochs")):
        return LAYOUT_ALLEN_NWB1
    return LAYOUT_MIES_NWB1
