"""The shape of an ephys feature registry entry; each level keeps its own dict beside its functions.

``spikes.SPIKE_FEATURES`` (per-spike arrays), ``sweep_features.SWEEP_FEATURES`` (one number per sweep) and
``cell_features.CELL_FEATURES`` (one number per cell) map a feature name (ipfx's or Allen's column name) to
its label, unit and function. Pages, tables and the API iterate these dicts; nothing writes a label twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Feature:
    name: str
    label: str
    unit: str  # "" for a plain ratio or fraction
    function: Callable[[Any], Any]

    @property
    def definition(self) -> str:
        """First line of the function's docstring."""
        return (self.function.__doc__ or "").strip().splitlines()[0]

    def __call__(self, subject: Any) -> Any:
        return self.function(subject)


def registrar(registry: dict[str, Feature]) -> Callable[..., Callable]:
    """A decorator factory ``feature(label, unit, name=None)`` registering functions in ``registry`` under
    ``name`` (default: the function's own name)."""

    def feature(label: str, unit: str, name: str | None = None) -> Callable:
        def register(fn: Callable) -> Callable:
            key = name or fn.__name__
            if key in registry:
                raise ValueError(f"feature {key!r} registered twice")
            registry[key] = Feature(key, label, unit, fn)
            return fn

        return register

    return feature
