#!/usr/bin/env bash
# Create a separate venv with Allen's ipfx 2.1.2 (the reference for our ephys features) for the compat
# tests and benchmarks/bench_ephys.py.
#
# Default: <repo>/.ipfxvenv, override with IPFX_VENV=/path. Idempotent: does nothing when ipfx already imports.
# Recipe: ipfx without its dependencies (it would pull pynwb, matplotlib, argschema, ... that the feature
# extractors never import), then only what they do import: numpy, scipy, pandas. Works on Python 3.11.
# Usage: scripts/make_ipfx_venv.sh
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IPFX_VENV="${IPFX_VENV:-$REPO_ROOT/.ipfxvenv}"
PYTHON="${PYTHON:-python3}"
CHECK='from ipfx.feature_extractor import SpikeFeatureExtractor; from ipfx.stimulus_protocol_analysis import LongSquareAnalysis; from ipfx import feature_record'

if [ -x "$IPFX_VENV/bin/python" ] && "$IPFX_VENV/bin/python" -c "$CHECK" >/dev/null 2>&1; then
    echo "ipfx venv already usable: $IPFX_VENV"
    exit 0
fi

echo "Creating ipfx venv in $IPFX_VENV ..."
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

pip=("$IPFX_VENV/bin/python" -m pip --quiet --disable-pip-version-check --no-input)
step "$PYTHON" -m venv "$IPFX_VENV"
step "${pip[@]}" install --upgrade pip
step "${pip[@]}" install --no-deps ipfx==2.1.2
step "${pip[@]}" install numpy==2.4.6 scipy==1.17.1 pandas==2.3.3

if ! "$IPFX_VENV/bin/python" -c "$CHECK"; then
    echo "ERROR: ipfx still does not import in $IPFX_VENV" >&2
    exit 1
fi
echo "ipfx venv ready: $IPFX_VENV ($(( $(date +%s) - start )) s, $(du -sh "$IPFX_VENV" | cut -f1))"
