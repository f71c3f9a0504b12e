"""Small display filters for the cell pages."""

from __future__ import annotations

import math
from typing import Any

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from celltypes.web.cell_detail import clean_structure_name
from celltypes.web.facets import area_label

register = template.Library()

DASH = "—"


@register.filter
def attr(obj: Any, name: str) -> Any:
    """`{{ cell|attr:column.field }}`: a field chosen by a variable."""
    return getattr(obj, name, None)


@register.filter
def num(value: Any, digits: int | None = None) -> str:
    """A number for a table cell: a dash for null or NaN, `digits` decimals when given, else up to 4 significant."""
    if value is None or value == "":
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return DASH
        if digits is not None and digits != "":
            return f"{value:.{int(digits)}f}"
        return f"{value:.4g}"
    return str(value)


@register.filter
def wbr_underscores(name: str) -> str:
    """Let a long Allen column name break after its underscores."""
    return mark_safe(escape(name).replace("_", "_<wbr>"))


STIMULUS_UNITS = {"Amps": "pA", "Volts": "mV"}


@register.filter
def stimulus_unit(units: str | None) -> str:
    """Allen's sweep amplitudes are in pA (units "Amps") or mV (units "Volts")."""
    return STIMULUS_UNITS.get(units or "", units or "")


@register.filter
def species_label(value: str | None) -> str:
    lowered = (value or "").lower()
    if lowered.startswith("mus"):
        return "Mouse"
    if lowered.startswith("homo"):
        return "Human"
    return value or DASH


@register.filter
def structure(value: str | None) -> str:
    return clean_structure_name(value) or DASH


@register.filter
def area(acronym: str | None) -> str:
    return area_label(acronym) if acronym else DASH
