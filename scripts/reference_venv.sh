# Shared by scripts/make_sdk_venv.sh and scripts/make_ipfx_venv.sh (source it): a reference tool's own venv.
#   reference_venv_start NAME VENV CHECK   exits 0 when CHECK already runs in VENV; else creates the venv and
#                                          defines `step` (run quietly, show output on failure) and `pip` (array)
#   reference_venv_finish                  checks CHECK again and reports time and size
reference_venv_start() {
    RV_NAME="$1" RV_VENV="$2" RV_CHECK="$3"
    if [ -x "$RV_VENV/bin/python" ] && "$RV_VENV/bin/python" -c "$RV_CHECK" >/dev/null 2>&1; then
        echo "$RV_NAME venv already usable: $RV_VENV"
        exit 0
    fi
    echo "Creating $RV_NAME venv in $RV_VENV ..."
    RV_START=$(date +%s)
    RV_LOG="$(mktemp)"
    trap 'rm -f "$RV_LOG"' EXIT
    pip=("$RV_VENV/bin/python" -m pip --quiet --disable-pip-version-check --no-input)
    step "${PYTHON:-python3}" -m venv "$RV_VENV"
    step "${pip[@]}" install --upgrade pip
}

step() {
    if ! "$@" >"$RV_LOG" 2>&1; then
        echo "ERROR: failed: $*" >&2
        cat "$RV_LOG" >&2
        exit 1
    fi
}

reference_venv_finish() {
    if ! "$RV_VENV/bin/python" -c "$RV_CHECK"; then
        echo "ERROR: $RV_NAME still does not import in $RV_VENV" >&2
        exit 1
    fi
    echo "$RV_NAME venv ready: $RV_VENV ($(( $(date +%s) - RV_START )) s, $(du -sh "$RV_VENV" | cut -f1))"
}
