"""Allen's fixed vocabularies: ids the AllenSDK hard-codes, and well-known file types."""

from celltypes.atlas.vocabulary import SPECIES

# NeuronalModelTemplate ids, as hard-coded in allensdk GlifApi / BiophysicalApi.
PERISOMATIC_TEMPLATE_ID = 329230710
ALL_ACTIVE_TEMPLATE_ID = 491455321
GLIF_TEMPLATE_IDS = (395310469, 395310479, 395310475, 471355161, 395310498)
BIOPHYSICAL_TEMPLATE_IDS = (ALL_ACTIVE_TEMPLATE_ID, PERISOMATIC_TEMPLATE_ID)

NEURONAL_MODEL_TEMPLATES = (
    (329230710, "Biophysical - perisomatic", "Biophysical Neuronal Model Template"),
    (491455321, "Biophysical - all active", "Biophysical Neuronal Model Template"),
    (395310469, "1 Leaky Integrate and Fire (LIF)", "Generalized Leaky Integrate-and-Fire Model Template"),
    (395310479, "2 LIF + Reset Rules (LIF-R)", "Generalized Leaky Integrate-and-Fire Model Template"),
    (
        395310475,
        "3 LIF + Afterspike Currents (LIF-ASC)",
        "Generalized Leaky Integrate-and-Fire Model Template",
    ),
    (
        471355161,
        "4 LIF + Reset Rules + Afterspike Currents (LIF-R-ASC)",
        "Generalized Leaky Integrate-and-Fire Model Template",
    ),
    (
        395310498,
        "5 LIF + Reset Rules + Afterspike Currents + Threshold Adaptation (LIF-R-ASC-A)",
        "Generalized Leaky Integrate-and-Fire Model Template",
    ),
)

# WellKnownFileType ids and names from real Allen records.
NWB_DOWNLOAD = (481007198, "NWBDownload")
NWB_UNCOMPRESSED = (478840678, "NWBUncompressed")
RECONSTRUCTION = (303941301, "3DNeuronReconstruction")
MARKER = (486753749, "3DNeuronMarker")
MODEL_PARAMETERS = (329230374, "NeuronalModelParameters")
MODEL_DESCRIPTION = (292178729, "BiophysicalModelDescription")
MORPHOLOGY_THUMBNAIL = (480715721, "MorphologyThumbnail")
EPHYS_SUMMARY_THUMBNAIL = (480715749, "EphysSummaryThumbnail")
EPHYS_INST_THRESH_THUMBNAIL = (488673261, "EphysInstantaneousThresholdThumbnail")
WELL_KNOWN_FILE_TYPES = (
    NWB_DOWNLOAD,
    NWB_UNCOMPRESSED,
    RECONSTRUCTION,
    MARKER,
    MODEL_PARAMETERS,
    MODEL_DESCRIPTION,
    MORPHOLOGY_THUMBNAIL,
    EPHYS_SUMMARY_THUMBNAIL,
    EPHYS_INST_THRESH_THUMBNAIL,
)

ORGANISMS = tuple((species.organism_id, species.name) for species in SPECIES)
