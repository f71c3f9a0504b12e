"""Where the files bundled with the app live: the demo set, and the reference files read from it."""

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent / "demo_data"
# Allen's stimulus names by code (ipfx's copy of the ontology), inside a demo folder: names the stimuli of NWB files
# that do not store them.
STIMULUS_ONTOLOGY_FILE = "ipfx/ipfx/defaults/stimulus_ontology.json"
STIMULUS_ONTOLOGY = DEMO_DIR / STIMULUS_ONTOLOGY_FILE
# Allen's 16 channel mechanisms (.mod), the same in every biophysical model download.
ALLEN_MODFILES = DEMO_DIR / "AllenSDK/allensdk/test/model/peri_model/modfiles"
