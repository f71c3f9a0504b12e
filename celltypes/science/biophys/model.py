"""A biophysical model built as Allen's runner builds it: the SWC, its axon replaced, the fit applied.

This follows ``allensdk.model.biophysical.utils`` (AllenSDK 2.16.2): ``Utils`` for perisomatic models,
``AllActiveUtils`` for all-active ones. The two differ in three places:

- **Axon.** Perisomatic: every reconstructed axon section is deleted and replaced by two 30 µm sections of
  1 µm diameter, the first attached to the *middle* of the soma. All-active, "truncated" (the runner's
  default, for the legacy all-active models): the two 30 µm sections take the reconstructed axon's
  diameters (its first section, and the first axon section whose middle lies more than 60 µm from the soma)
  and attach to the *end* (1.0) of the soma; an all-active model therefore needs a reconstructed axon.
  All-active "stub" uses the perisomatic replacement.
- **Passive properties.** Perisomatic: Ra, e_pas and cm come from the fit's ``passive`` block (cm per section
  array). All-active: only Ra comes from there; e_pas, cm and Ra per section array are genome entries.
- **Numbers.** The perisomatic code sets genome values, cm and reversal potentials through hoc text with
  ``%g``, so they take effect rounded to 6 significant digits; we round the same way.

Both insert ``pas`` everywhere, insert each genome mechanism in its section array and set the parameter,
set ek/ena per section array, and take celsius and v_init from the fit's ``conditions``. Every section gets
``nseg = 1 + 2 * int(L / 40)``. Section arrays named in a fit but absent from the cell (an aspiny cell has
no ``apic``) are skipped, as Allen's ``forsec``/``hasattr`` skip them.

:class:`BiophysicalFit` is plain data (no NEURON); :func:`build_cell` needs NEURON's ``h`` and runs only in
the process that simulates (see ``run.py``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from .errors import ModelError


class ModelType(StrEnum):
    """Allen's names for the two biophysical model types (NeuronalModelTemplate names)."""

    PERISOMATIC = "Biophysical - perisomatic"
    ALL_ACTIVE = "Biophysical - all active"


class AxonType(StrEnum):
    """How an all-active model replaces its axon (the runner's ``--axon_type``; default truncated)."""

    TRUNCATED = "truncated"
    STUB = "stub"


SECTION_ARRAYS = ("soma", "axon", "dend", "apic")
GLOBAL_SECTION = "glob"
AXON_SECTION_LENGTH = 30.0  # µm, each of the two replacement sections
STUB_AXON_DIAMETER = 1.0  # µm
TRUNCATION_DISTANCE = 60.0  # µm from the soma: where the truncated axon takes its second diameter
SEGMENT_LENGTH = 40.0  # µm: nseg = 1 + 2 * int(L / SEGMENT_LENGTH)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class GenomeParameter:
    section: str  # a SECTION_ARRAYS name or "glob"
    name: str  # e.g. gbar_NaV, g_pas, cm
    value: float
    mechanism: str  # "" for a property of pas or of the section itself


@dataclass(frozen=True)
class ReversalPotentials:
    section: str
    ek: float  # mV
    ena: float  # mV


@dataclass(frozen=True, kw_only=True)
class BiophysicalFit:
    """The parts of Allen's ``<id>_fit.json`` (``passive``, ``conditions``, ``genome``, ``fitting``) a run uses."""

    ra: float  # Ω·cm
    cm: tuple[tuple[str, float], ...]  # perisomatic: (section array, µF/cm²); empty for all-active
    e_pas: float | None  # mV; perisomatic only
    celsius: float
    v_init: float  # mV
    erev: tuple[ReversalPotentials, ...]
    genome: tuple[GenomeParameter, ...]
    junction_potential: float  # mV; Allen's output trace is v - junction_potential

    @classmethod
    def from_dict(cls, fit: Mapping[str, Any]) -> BiophysicalFit:
        """Read a fit JSON document; a missing or malformed part raises :class:`ModelError` naming it."""
        passive = _first(fit, "passive")
        conditions = _first(fit, "conditions")
        fitting = _first(fit, "fitting")
        cm = tuple((_section(c, "passive.cm"), _number(c, "cm", "passive.cm")) for c in passive.get("cm", []))
        erev = tuple(
            ReversalPotentials(
                section=_section(e, "conditions.erev"),
                ek=_number(e, "ek", "conditions.erev"),
                ena=_number(e, "ena", "conditions.erev"),
            )
            for e in conditions.get("erev", [])
        )
        genome = tuple(_genome_parameter(p) for p in _list(fit, "genome"))
        return cls(
            ra=_number(passive, "ra", "passive"),
            cm=cm,
            e_pas=_number(passive, "e_pas", "passive") if "e_pas" in passive else None,
            celsius=_number(conditions, "celsius", "conditions"),
            v_init=_number(conditions, "v_init", "conditions"),
            erev=erev,
            genome=genome,
            junction_potential=_number(fitting, "junction_potential", "fitting"),
        )

    def check_for(self, model_type: ModelType) -> None:
        """The perisomatic recipe needs e_pas in the passive block; raise if the fit lacks it."""
        if model_type is ModelType.PERISOMATIC and self.e_pas is None:
            raise ModelError("fit: a perisomatic model needs passive.e_pas (is this an all-active fit?)")


def build_cell(
    h: Any,
    fit: BiophysicalFit,
    swc_path: str | Path,
    model_type: ModelType,
    axon_type: AxonType = AxonType.TRUNCATED,
) -> None:
    """Instantiate the SWC as top-level sections (soma, dend, apic, axon) in ``h`` and apply the fit."""
    fit.check_for(model_type)
    _load_swc(h, swc_path)
    if model_type is ModelType.ALL_ACTIVE and axon_type is AxonType.TRUNCATED:
        _replace_axon_truncated(h)
    else:
        _replace_axon_with_stub(h)
    if model_type is ModelType.PERISOMATIC:
        _apply_perisomatic(h, fit)
    else:
        _apply_all_active(h, fit)
    h.celsius = fit.celsius
    h.v_init = fit.v_init


def _load_swc(h: Any, swc_path: str | Path) -> None:
    h.load_file("stdgui.hoc")  # the hoc files Allen's model manifests list
    h.load_file("import3d.hoc")
    reader = h.Import3d_SWC_read()
    reader.input(str(swc_path))
    importer = h.Import3d_GUI(reader, 0)
    importer.instantiate(None)  # None: top-level section arrays, as Allen's `objref this` (nil)
    if not _sections(h, "soma"):
        raise ModelError(f"{swc_path}: the reconstruction has no soma")
    h.area(0.5, sec=h.soma[0])  # makes NEURON compute the geometry from the 3-d points


def _set_nseg(sections: Iterable[Any]) -> None:
    for sec in sections:
        sec.nseg = 1 + 2 * int(sec.L / SEGMENT_LENGTH)


def _delete_axon(h: Any) -> None:
    for sec in [s for s in h.allsec() if s.name().startswith("axon")]:
        h.delete_section(sec=sec)
    h("create axon[2]")


def _replace_axon_with_stub(h: Any) -> None:
    _set_nseg(h.allsec())
    _delete_axon(h)
    for sec in h.axon:
        sec.L = AXON_SECTION_LENGTH
        sec.diam = STUB_AXON_DIAMETER
    _set_nseg(h.axon)
    h.axon[0].connect(h.soma[0](0.5), 0.0)
    h.axon[1].connect(h.axon[0](1.0), 0.0)
    h.define_shape()


def _replace_axon_truncated(h: Any) -> None:
    _set_nseg(h.allsec())
    if not _sections(h, "axon"):
        raise ModelError("an all-active model with a truncated axon needs an axon in the reconstruction")
    diameters = [h.axon[0].diam, h.axon[0].diam]
    h.distance(sec=h.soma[0])  # origin of path distances
    for sec in h.allsec():
        if sec.name().startswith("axon") and h.distance(0.5, sec=sec) > TRUNCATION_DISTANCE:
            diameters[1] = sec.diam
            break
    _delete_axon(h)
    for sec, diameter in zip(h.axon, diameters, strict=True):
        sec.L = AXON_SECTION_LENGTH
        sec.diam = diameter
    _set_nseg(h.allsec())
    h.axon[0].connect(h.soma[0](1.0), 0.0)
    h.axon[1].connect(h.axon[0](1.0), 0.0)
    h.area(0.5, sec=h.soma[0])


def _apply_perisomatic(h: Any, fit: BiophysicalFit) -> None:
    for sec in h.allsec():
        sec.Ra = fit.ra
        sec.insert("pas")
        for seg in sec:
            seg.pas.e = fit.e_pas
    for section, cm in fit.cm:
        for sec in _sections(h, section):
            sec.cm = _as_hoc_text(cm)
    for parameter in fit.genome:
        _apply_genome_parameter(h, parameter, _as_hoc_text(parameter.value))
    for erev in fit.erev:
        _set_reversal_potentials(h, erev, _as_hoc_text(erev.ek), _as_hoc_text(erev.ena))


def _apply_all_active(h: Any, fit: BiophysicalFit) -> None:
    for sec in h.allsec():
        sec.Ra = fit.ra
        sec.insert("pas")
    for parameter in fit.genome:
        _apply_genome_parameter(h, parameter, parameter.value)
    for erev in fit.erev:
        _set_reversal_potentials(h, erev, erev.ek, erev.ena)


def _apply_genome_parameter(h: Any, parameter: GenomeParameter, value: float) -> None:
    if parameter.section == GLOBAL_SECTION:
        # Both of Allen's recipes write a global through hoc text with %g; the name was checked when read.
        h(f"{parameter.name} = {parameter.value:g}")
        return
    for sec in _sections(h, parameter.section):
        if parameter.mechanism:
            try:
                sec.insert(parameter.mechanism)
            except ValueError:
                raise ModelError(
                    f"genome: mechanism {parameter.mechanism!r} is not among the compiled mechanisms"
                ) from None
        try:
            setattr(sec, parameter.name, value)
        except (AttributeError, NameError, LookupError, ValueError):
            raise ModelError(f"genome: {parameter.name!r} is not a parameter of section {sec.name()}") from None


def _set_reversal_potentials(h: Any, erev: ReversalPotentials, ek: float, ena: float) -> None:
    # Allen's all-active code sets ek/ena only where the ion is in use; its perisomatic hoc would fail
    # elsewhere, so checking first changes nothing for a fit Allen can run.
    for sec in _sections(h, erev.section):
        if h.ismembrane("k_ion", sec=sec):
            sec.ek = ek
        if h.ismembrane("na_ion", sec=sec):
            sec.ena = ena


def _sections(h: Any, array: str) -> list[Any]:
    """The sections of a top-level array (``h.soma`` ...), or none when the cell lacks it."""
    return list(getattr(h, array)) if hasattr(h, array) else []


def _as_hoc_text(value: float) -> float:
    """A number as Allen's perisomatic code hands it to hoc: formatted with ``%g`` (6 significant digits)."""
    return float(f"{value:g}")


def _first(fit: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    block = fit.get(key)
    if not isinstance(block, list) or not block or not isinstance(block[0], Mapping):
        raise ModelError(f"fit: {key!r} must be a list holding one object")
    return block[0]


def _list(fit: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    block = fit.get(key)
    if not isinstance(block, list) or not all(isinstance(item, Mapping) for item in block):
        raise ModelError(f"fit: {key!r} must be a list of objects")
    return block


def _number(block: Mapping[str, Any], key: str, where: str) -> float:
    try:
        value = float(block[key])  # all-active fits write numbers as strings
    except KeyError:
        raise ModelError(f"fit: {where} lacks {key!r}") from None
    except (TypeError, ValueError):
        raise ModelError(f"fit: {where}.{key} is not a number: {block[key]!r}") from None
    if not math.isfinite(value):
        raise ModelError(f"fit: {where}.{key} is not finite")
    return value


def _section(block: Mapping[str, Any], where: str, allow_global: bool = False) -> str:
    section = block.get("section")
    allowed = SECTION_ARRAYS + ((GLOBAL_SECTION,) if allow_global else ())
    if section not in allowed:
        raise ModelError(f"fit: {where} section {section!r} is not one of {', '.join(allowed)}")
    return section


def _genome_parameter(block: Mapping[str, Any]) -> GenomeParameter:
    name = block.get("name")
    mechanism = block.get("mechanism") or ""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ModelError(f"fit: genome parameter name {name!r} is not a NEURON name")
    if not isinstance(mechanism, str) or (mechanism and not _NAME.match(mechanism)):
        raise ModelError(f"fit: genome mechanism {mechanism!r} is not a NEURON name")
    return GenomeParameter(
        section=_section(block, "genome", allow_global=True),
        name=name,
        value=_number(block, "value", f"genome {name}"),
        mechanism=mechanism,
    )
