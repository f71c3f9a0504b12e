"""Full names of the mouse brain areas (Allen CCF structure names) that are parents in the cell table.

The cell table gives a parent's id and acronym but not its name; these are the Allen Reference Atlas names.
Human parents (gyri and lobes) appear as structures of their own in the table and carry their names there.
"""

STRUCTURE_NAMES: dict[str, str] = {
    "AUDp": "Primary auditory area",
    "AUDpo": "Posterior auditory area",
    "RSPagl": "Retrosplenial area, lateral agranular part",
    "RSPd": "Retrosplenial area, dorsal part",
    "RSPv": "Retrosplenial area, ventral part",
    "SSp": "Primary somatosensory area",
    "SSp-bfd": "Primary somatosensory area, barrel field",
    "SSp-n": "Primary somatosensory area, nose",
    "SSp-tr": "Primary somatosensory area, trunk",
    "SSp-un": "Primary somatosensory area, unassigned",
    "TEa": "Temporal association areas",
    "VISa": "Anterior area",
    "VISal": "Anterolateral visual area",
    "VISam": "Anteromedial visual area",
    "VISl": "Lateral visual area",
    "VISli": "Laterointermediate area",
    "VISp": "Primary visual area",
    "VISpl": "Posterolateral visual area",
    "VISpm": "posteromedial visual area",
    "VISpor": "Postrhinal area",
    "VISrl": "Rostrolateral area",
}
