"""Small display filters for the cell pages."""

from __future__ import annotations

import math
from typing import Any

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from celltypes.atlas import vocabulary

register = template.Library()

DASH = "—"


@register.simple_tag
def label(name: str) -> str:
    """A label of celltypes/atlas/vocabulary.py by its name, so that a template never writes it a second time."""
    value = getattr(vocabulary, name, None) if name.isupper() else None
    if not isinstance(value, str):
        raise template.TemplateSyntaxError(f"no label {name!r} in celltypes.atlas.vocabulary")
    return value


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


@register.filter
def stimulus_unit(units: str | None) -> str:
    """Allen's sweep amplitudes are in pA (units "Amps") or mV (units "Volts")."""
    return vocabulary.STIMULUS_UNITS.get(units or "", units or "")


@register.filter
def file_type_label(name: str | None) -> str:
    return vocabulary.file_type_label(name)


@register.filter
def species_label(value: str | None) -> str:
    return vocabulary.species_label(value) or DASH


@register.filter
def structure(value: str | None) -> str:
    return vocabulary.clean_structure_name(value) or DASH


@register.filter
def area(acronym: str | None) -> str:
    return vocabulary.area_label(acronym) or DASH


@register.filter
def relative_difference(value: float | None) -> str:
    """A relative difference ((computed − published) / |published|) as a signed percentage for the feature table."""
    if value is None:
        return DASH
    if not math.isfinite(value):
        return "∞"
    if value == 0:
        return "0 %"
    if abs(value) < 1e-6:
        return "< 0.0001 %"
    return f"{100 * value:+.3g} %".replace("-", "−")


@register.filter
def item(mapping: Any, key: str) -> Any:
    """`{{ values|item:name }}`: a dict value chosen by a variable (None when missing)."""
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def in_set(value: Any, container: Any) -> bool:
    """``value in container`` (a template cannot pass an ``in`` test to an include)."""
    return container is not None and value in container
