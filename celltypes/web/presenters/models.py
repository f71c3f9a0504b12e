"""The models tab: a model's parameters in readable units."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from celltypes.science.glif import GlifConfig

# --- the models tab ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParameterRow:
    label: str
    value: str
    unit: str = ""
    name: str = ""  # the name in the model's file


def _g(value: float | None, scale: float = 1.0, digits: int = 4) -> str:
    if value is None or not math.isfinite(float(value)):
        return "—"
    return f"{float(value) * scale:.{digits}g}"


def glif_parameter_rows(config: GlifConfig) -> list[ParameterRow]:
    """A GLIF neuron_config in readable units, fitted coefficients applied (as the simulator applies them)."""
    resistance = float(config.R_input) / float(config.coefficient("G"))
    capacitance = float(config.C) * float(config.coefficient("C"))
    rows = []
    if config.El_reference is not None:
        rows.append(ParameterRow("Resting potential", _g(config.El_reference, 1e3), "mV", "El_reference"))
    rows += [
        ParameterRow("Input resistance", _g(resistance, 1e-6), "MΩ", "R_input / coeffs.G"),
        ParameterRow("Capacitance", _g(capacitance, 1e12), "pF", "C × coeffs.C"),
        ParameterRow("Membrane time constant", _g(resistance * capacitance, 1e3), "ms", "R × C"),
        ParameterRow(
            "Threshold above rest", _g(float(config.th_inf) * float(config.coefficient("th_inf")), 1e3), "mV", "th_inf"
        ),
    ]
    if config.th_adapt is not None:
        rows.append(ParameterRow("Adapted threshold above rest", _g(config.th_adapt, 1e3), "mV", "th_adapt"))
    rows += [
        ParameterRow("Spike cut", _g(config.spike_cut_length * float(config.dt), 1e3), "ms", "spike_cut_length × dt"),
        ParameterRow("Time step", _g(config.dt, 1e3), "ms", "dt"),
    ]
    amplitudes = config.asc_amp_coefficients
    for index, (tau, amplitude) in enumerate(zip(config.asc_tau_array, config.asc_amp_array, strict=False)):
        if config.AScurrent_dynamics_method.name == "none":
            break
        scaled = float(amplitude) * float(amplitudes[index] if index < len(amplitudes) else 1.0)
        rows.append(
            ParameterRow(f"After-spike current {index + 1}: amplitude", _g(scaled, 1e12), "pA", "asc_amp_array")
        )
        rows.append(
            ParameterRow(f"After-spike current {index + 1}: time constant", _g(tau, 1e3), "ms", "asc_tau_array")
        )
    for kind, method in (
        ("Voltage reset", config.voltage_reset_method),
        ("Threshold reset", config.threshold_reset_method),
        ("Threshold dynamics", config.threshold_dynamics_method),
        ("After-spike current reset", config.AScurrent_reset_method),
    ):
        params = ", ".join(
            f"{key} = {_g(value) if isinstance(value, int | float) else value}" for key, value in method.params.items()
        )
        rows.append(ParameterRow(kind, method.name + (f" ({params})" if params else ""), "", kind.lower()))
    return rows


_GENOME_UNITS = (
    ("gbar_", "S/cm²"),
    ("g_pas", "S/cm²"),
    ("e_pas", "mV"),
    ("decay_", "ms"),
    ("cm", "µF/cm²"),
    ("Ra", "Ω·cm"),
    ("gamma_", "fraction"),
)


def _genome_unit(name: str) -> str:
    return next((unit for prefix, unit in _GENOME_UNITS if name.startswith(prefix)), "")


def biophysical_parameter_rows(fit: dict[str, Any]) -> tuple[list[ParameterRow], list[ParameterRow]]:
    """A fit's conditions and passive properties, then its genome (one row per section and parameter)."""
    conditions = (fit.get("conditions") or [{}])[0]
    passive = (fit.get("passive") or [{}])[0]
    fitting = (fit.get("fitting") or [{}])[0]
    general = [
        ParameterRow("Temperature", _g(conditions.get("celsius")), "°C", "celsius"),
        ParameterRow("Initial potential", _g(conditions.get("v_init")), "mV", "v_init"),
        ParameterRow("Junction potential", _g(fitting.get("junction_potential")), "mV", "junction_potential"),
    ]
    if "ra" in passive:
        general.append(ParameterRow("Axial resistance", _g(passive.get("ra")), "Ω·cm", "ra"))
    if "e_pas" in passive:
        general.append(ParameterRow("Leak reversal", _g(passive.get("e_pas")), "mV", "e_pas"))
    for entry in passive.get("cm") or []:
        general.append(
            ParameterRow(f"Membrane capacitance ({entry.get('section')})", _g(entry.get("cm")), "µF/cm²", "cm")
        )
    for entry in (conditions.get("erev") or [])[:1]:
        general += [
            ParameterRow("Na⁺ reversal", _g(entry.get("ena")), "mV", "ena"),
            ParameterRow("K⁺ reversal", _g(entry.get("ek")), "mV", "ek"),
        ]
    if fitting.get("sweeps"):
        general.append(ParameterRow("Fitted on sweeps", ", ".join(str(s) for s in fitting["sweeps"]), "", "sweeps"))
    genome = []
    for gene in fit.get("genome") or []:
        name = str(gene.get("name", ""))
        try:
            value = _g(float(gene.get("value")))
        except (TypeError, ValueError):
            value = str(gene.get("value"))
        section = str(gene.get("section", ""))
        mechanism = gene.get("mechanism") or "passive"
        genome.append(ParameterRow(f"{section}: {name} ({mechanism})", value, _genome_unit(name), name))
    return general, genome
