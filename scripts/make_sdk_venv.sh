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
PYTHON="${PYTHON:-python3}"
CHECK='import allensdk, neuron; from allensdk.core.cell_types_cache import CellTypesCache; from allensdk.core.nwb_data_set import NwbDataSet'

if [ -x "$SDK_VENV/bin/python" ] && "$SDK_VENV/bin/python" -c "$CHECK" >/dev/null 2>&1; then
    echo "AllenSDK venv already usable: $SDK_VENV"
    exit 0
fi

echo "Creating AllenSDK venv in $SDK_VENV ..."
start=$(date +%s)
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# Run a step quietly; show its output only when it fails.
step() {
    if ! "$@" >"$log" 2>&1; then
        echo "ERROR: failed: $*" >&2
        cat "$log" >&2
        exit 1
    fi
}

pip=("$SDK_VENV/bin/python" -m pip --quiet --disable-pip-version-check --no-input)
step "$PYTHON" -m venv "$SDK_VENV"
step "${pip[@]}" install --upgrade pip
step "${pip[@]}" install --no-deps allensdk==2.16.2
# allensdk's own pins (numpy<1.24, pandas==1.5.3, xarray<2023.2) are deliberately not honoured; the
# resulting "allensdk requires ..." notices from pip are harmless (allen-api-protocol.md §6).
step "${pip[@]}" install requests requests-toolbelt simplejson six jinja2 h5py "numpy<2" "pandas<3" \
    pynwb SimpleITK xarray
# NEURON, for the biophysical reference test (the SDK builds the model; tests/compat/test_biophys_reference.py).
step "${pip[@]}" install neuron==9.0.2

if ! "$SDK_VENV/bin/python" -c "$CHECK"; then
    echo "ERROR: AllenSDK still does not import in $SDK_VENV" >&2
    exit 1
fi
echo "AllenSDK venv ready: $SDK_VENV ($(( $(date +%s) - start )) s, $(du -sh "$SDK_VENV" | cut -f1))"
