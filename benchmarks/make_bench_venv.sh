#!/usr/bin/env bash
# Build a separate venv with NeuroM for benchmarks/bench_morphology.py.
# NeuroM pulls in matplotlib, pandas, scipy and morphio; keep them out of the project's .venv.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="${BENCH_VENV:-$here/.benchvenv}"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "neurom==4.0.6" "numpy==2.2.6"
"$venv/bin/python" -c "import neurom, numpy; print('neurom', neurom.__version__, 'numpy', numpy.__version__)"
