"""Build celltypes/atlas/demo_data/MANIFEST.csv from the file table in demo_data/SOURCES.md.

Run once when the demo set changes; load_demo reads MANIFEST.csv (never SOURCES.md). Columns:
path, kind, specimen_id, neuronal_model_id, reconstruction_id, note.
"""

import csv
import re
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "celltypes" / "atlas" / "demo_data"
RECON_ID = re.compile(r"_(\d{6,})_m(?:_pia)?\.swc$")
# SWCs shipped without a reconstruction id in their name, identified by a node-for-node match of their computed
# features with a published NeuronReconstruction record (tests/unit/science/test_morphology.py), or by the
# model record shipped beside them.
KNOWN_RECONSTRUCTION_IDS = {
    "bmtk/examples/bio_all_active_sweep/models/neuronal_model_491766131/reconstruction.swc": "527109145",
    "bmtk/bmtk/tests/simulator/bionet/components/morphology/rorb_480169178_morphology.swc": "496079587",
    "bmtk/examples/bio_nsg/bio_450cells/components/morphologies/485184849_reconstruction.swc": "505202170",
    "ateam-tools/examples/rotation_cell_morph_example/cell_types/specimen_485931158/reconstruction.swc": "510988665",
}


def classify(path: str, specimen: str) -> tuple[str, str, str, str]:
    """(kind, neuronal_model_id, reconstruction_id, note) for one file."""
    name = path.rsplit("/", 1)[-1]
    parts = path.split("/")
    if path.endswith(".nwb"):
        return "nwb", "", "", "raw MIES recording; loaded as a specimen of its own"
    if path.endswith(".npz") and "allen_long_square/" in path:
        return (
            "long_square_npz",
            "",
            "",
            "real Long Square sweep window (not an NWB file); loaded as a HeldTraceWindow "
            "(ours and not an Allen record)",
        )
    if name.endswith(".swc") and "marker" in name:
        return "marker", "", "", "Allen marker CSV with an .swc suffix"
    if name.endswith(".marker"):
        return "marker", "", "", ""
    if name.endswith(".swc"):
        match = RECON_ID.search(name)
        if not specimen:
            return "unused", "", match.group(1) if match else "", "SWC not tied to a cell of the table"
        return "swc", "", match.group(1) if match else KNOWN_RECONSTRUCTION_IDS.get(path, ""), ""
    if "CellTypesDatabase/models/GLIF/" in path:
        return "glif_" + name.removesuffix(".json"), parts[-2], "", ""
    if name.endswith("fit.json") or name == "fit_parameters.json":
        if "CellTypesDatabase/models/" in path:
            return "biophysical_fit", parts[-2], "", ""
        if "neuronal_model_" in parts[-2]:
            return "biophysical_fit", parts[-2].removeprefix("neuronal_model_"), "", ""
        return "unused", "", "", "fit whose NeuronalModel id is not known"
    if "neuronal_model_" in path and name in ("ephys_sweeps.json", "model_metadata.json"):
        return "biophysical_" + name.removesuffix(".json"), parts[-2].removeprefix("neuronal_model_"), "", ""
    return "unused", "", "", "reference material, not loaded"


def main() -> int:
    rows = []
    for line in (DEMO / "SOURCES.md").read_text().splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        path, specimen = cells[0].strip("`"), cells[1]
        if path.endswith("/") or " (" in path:
            # a folder entry such as GLIF_Teeter_et_al_2018/.../ (15 files)
            folder = path.split("`")[0].rstrip("/ ")
            for file in sorted((DEMO / folder).glob("*")):
                rows.append([str(file.relative_to(DEMO)), "unused", specimen, "", "", "Teeter et al. 2018 fit"])
            continue
        if (path.endswith((".csv", ".md")) and "/" in path and "cell_types" in path) or path.endswith(".csv"):
            rows.append([path, "table", specimen, "", "", ""])
            continue
        kind, model_id, recon_id, note = classify(path, specimen)
        rows.append([path, kind, specimen, model_id, recon_id, note])
    missing = [r[0] for r in rows if not (DEMO / r[0]).exists()]
    if missing:
        print("missing files:", missing, file=sys.stderr)
        return 1
    with (DEMO / "MANIFEST.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "kind", "specimen_id", "neuronal_model_id", "reconstruction_id", "note"])
        writer.writerows(sorted(rows))
    print(f"{len(rows)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
