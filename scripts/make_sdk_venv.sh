#!/usr/bin/env bash
# Create a separate venv with the real AllenSDK 2.16.2 for compatibility tests.
#
# The SDK pins numpy<1.24 / pandas 1.5.3, which clash with the main venv, so it lives
# in its own venv (default: <repo>/.sdkvenv, override with SDK_VENV=/path).
# Uses the minimal recipe of allen-api-protocol.md §6 (shared docs). Idempotent: does nothing
# when the SDK already imports. Usage: scripts/make_sdk_venv.sh
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SDK_VENV="${SDK_VENV:-$REPO_ROOT/.sdkvenv}"
CHECK='import allensdk, neuron; from allensdk.core.cell_types_cache import CellTypesCache; from allensdk.core.nwb_data_set import NwbDataSet'

# shellcheck source=scripts/reference_venv.sh
. "$REPO_ROOT/scripts/reference_venv.sh"
reference_venv_start "AllenSDK" "$SDK_VENV" "$CHECK"
step "${pip[@]}" install --no-deps allensdk==2.16.2
# allensdk's own pins (numpy<1.24, pandas==1.5.3, xarray<2023.2) are deliberately not honoured; the
# resulting "allensdk requires ..." notices from pip are harmless (allen-api-protocol.md §6).
step "${pip[@]}" install requests requests-toolbelt simplejson six jinja2 h5py "numpy<2" "pandas<3" \
    pynwb SimpleITK xarray
# NEURON, for the biophysical reference test (the SDK builds the model; tests/compat/test_biophys_reference.py).
step "${pip[@]}" install neuron==9.0.2

reference_venv_finish
