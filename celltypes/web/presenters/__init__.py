"""What the cell page prints: selector results turned into labelled rows. Templates only loop over these.

Labels, units and colours come from :mod:`celltypes.atlas.vocabulary`; nothing here reads the database beyond the
objects the selectors already fetched. One module per tab; the names views use are re-exported here.
"""

from celltypes.web.presenters.cells import (
    Fact,
    FeatureValue,
    SomaDepth,
    cell_facts,
    ephys_feature_rows,
    feature_rows,
    morphology_feature_rows,
    soma_depth,
)
from celltypes.web.presenters.ephys import EphysTab, SweepBox, SweepGroup, ephys_tab, feature_comparisons, sweep_groups
from celltypes.web.presenters.models import ParameterRow, biophysical_parameter_rows, glif_parameter_rows
from celltypes.web.presenters.morphology import MorphologyPreview, MorphologyTab, SwcFetch, morphology_tab

__all__ = [
    "EphysTab",
    "Fact",
    "FeatureValue",
    "MorphologyPreview",
    "MorphologyTab",
    "ParameterRow",
    "SomaDepth",
    "SwcFetch",
    "SweepBox",
    "SweepGroup",
    "biophysical_parameter_rows",
    "cell_facts",
    "ephys_feature_rows",
    "ephys_tab",
    "feature_comparisons",
    "feature_rows",
    "glif_parameter_rows",
    "morphology_feature_rows",
    "morphology_tab",
    "soma_depth",
    "sweep_groups",
]
