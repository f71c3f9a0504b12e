from .cell_detail import ApiCellTypesSpecimenDetail
from .ephys import EphysFeature, EphysResult, EphysSweep, HeldTraceWindow, LabRecording
from .files import WellKnownFile, WellKnownFileType
from .images import ProjectionImage, SectionDataSet, SubImage
from .loading import LoadedRows, MintedId
from .morphology import ComputedMorphology, CurrentNeuronReconstruction, NeuronReconstruction
from .neuronal_models import NeuronalModel, NeuronalModelRun, NeuronalModelTemplate
from .specimens import (
    AtlasVersion,
    CellReporter,
    CellSomaLocation,
    Donor,
    Organism,
    Product,
    Specimen,
    SpecimenTag,
    Structure,
    TransgenicLine,
)

__all__ = [
    "ApiCellTypesSpecimenDetail",
    "AtlasVersion",
    "CellReporter",
    "CellSomaLocation",
    "ComputedMorphology",
    "CurrentNeuronReconstruction",
    "Donor",
    "EphysFeature",
    "EphysResult",
    "EphysSweep",
    "HeldTraceWindow",
    "LabRecording",
    "LoadedRows",
    "MintedId",
    "NeuronReconstruction",
    "NeuronalModel",
    "NeuronalModelRun",
    "NeuronalModelTemplate",
    "Organism",
    "Product",
    "ProjectionImage",
    "SectionDataSet",
    "Specimen",
    "SpecimenTag",
    "Structure",
    "SubImage",
    "TransgenicLine",
    "WellKnownFile",
    "WellKnownFileType",
]
