"""The words of intracellular NWB files we rely on: clamp modes, units, patch-clamp series types."""

from __future__ import annotations

CURRENT_CLAMP = "CurrentClamp"
VOLTAGE_CLAMP = "VoltageClamp"
IZERO_CLAMP = "IZeroClamp"

AMPS = "Amps"
VOLTS = "Volts"

DISPLAY_SCALE = {AMPS: 1e12, VOLTS: 1e3}  # SI -> pA / mV, Allen EphysSweep's stimulus amplitude units

# NWB series type -> the clamp mode it records.
SERIES_CLAMP = {
    "CurrentClampSeries": CURRENT_CLAMP,
    "VoltageClampSeries": VOLTAGE_CLAMP,
    "IZeroClampSeries": IZERO_CLAMP,
    "CurrentClampStimulusSeries": CURRENT_CLAMP,
    "VoltageClampStimulusSeries": VOLTAGE_CLAMP,
}
# Clamp mode -> NWB 1 ancestry of its (response, stimulus) series, as Allen's files write them.
ANCESTRY = {
    CURRENT_CLAMP: (("CurrentClampSeries",), ("CurrentClampStimulusSeries",)),
    VOLTAGE_CLAMP: (("VoltageClampSeries",), ("VoltageClampStimulusSeries",)),
    IZERO_CLAMP: (("CurrentClampSeries", "IZeroClampSeries"), ("CurrentClampStimulusSeries",)),
}


def normalise_unit(unit: str | None, series_type: str | None, stimulus: bool) -> str:
    """``Amps`` or ``Volts`` from a stored unit ("pA", "A", "volts", ...), else from the series type."""
    text = (unit or "").strip()
    if text[:1] in ("A", "a") or text.lower().startswith("amp"):
        return AMPS
    if text[:1] in ("V", "v"):
        return VOLTS
    clamp = SERIES_CLAMP.get(series_type or "")
    if clamp is None:
        return text or "Unknown"
    current_stimulus = clamp in (CURRENT_CLAMP, IZERO_CLAMP)
    return AMPS if current_stimulus == stimulus else VOLTS
