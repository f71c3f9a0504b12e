#!/usr/bin/env bash
# The whole suite: installs what it needs (dev requirements, the AllenSDK venv, Debian chromium), then pytest.
# Uses SQLite unless DATABASE_URL is set (CI runs it again against PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
scripts/bootstrap.sh --dev
scripts/make_sdk_venv.sh
scripts/make_ipfx_venv.sh
scripts/ensure_system_packages.sh
echo "database: ${DATABASE_URL:-sqlite (default)}"
set +e
"$VENV/bin/pytest" -q "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "no tests were collected" >&2
fi
exit "$status"
