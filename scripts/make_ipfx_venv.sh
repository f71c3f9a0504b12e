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
CHECK='from ipfx.feature_extractor import SpikeFeatureExtractor; from ipfx.stimulus_protocol_analysis import LongSquareAnalysis; from ipfx import feature_record'

# shellcheck source=scripts/reference_venv.sh
. "$REPO_ROOT/scripts/reference_venv.sh"
reference_venv_start "ipfx" "$IPFX_VENV" "$CHECK"
step "${pip[@]}" install --no-deps ipfx==2.1.2
step "${pip[@]}" install numpy==2.4.6 scipy==1.17.1 pandas==2.3.3

reference_venv_finish
