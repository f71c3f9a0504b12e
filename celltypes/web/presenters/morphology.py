"""The morphology tab: the selector's data plus what it prints (published rows, previews, colour key)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from celltypes.atlas.selectors.morphology import NOT_COMPUTED, CellMorphology, PreviewState
from celltypes.atlas.vocabulary import (
    AGREEMENT_RTOL,
    COMPARTMENT_COLOURS,
    PREVIEW_SIZE,
    ColourKey,
)
from celltypes.web.presenters.cells import FeatureValue, morphology_feature_rows

# --- the morphology tab ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MorphologyPreview:
    """One rendered projection as the tab first shows it: ready (the image) or pending (an htmx fragment polls)."""

    plane: str
    state: str  # "ready" or "pending"
    size: int = PREVIEW_SIZE


@dataclass(frozen=True)
class MorphologyTab:
    """The morphology tab: the selector's data plus what it prints (published rows, previews, colour key)."""

    data: CellMorphology
    features: list[FeatureValue]
    previews: list[MorphologyPreview]
    colour_key: tuple[ColourKey, ...] = COMPARTMENT_COLOURS
    not_computed: tuple[str, ...] = tuple(NOT_COMPUTED)

    def __getattr__(self, name: str) -> Any:  # the selector's fields read through (reconstruction, drawn, ...)
        return getattr(self.data, name)

    @property
    def agreement_percent(self) -> str:
        return f"{100 * AGREEMENT_RTOL:g} %"

    @property
    def drawn_is_older(self) -> bool:
        return self.data.drawn is not None and self.data.drawn.superseded

    @property
    def current_features(self) -> dict[str, Any]:
        """Allen's published values of the current record, by column (shown beside an older drawn one)."""
        return {feature.name: feature.value for feature in self.features}


def morphology_tab(data: CellMorphology) -> MorphologyTab:
    previews = [
        MorphologyPreview(plane, "ready" if state is PreviewState.READY else "pending")
        for plane, state in data.preview_states.items()
    ]
    return MorphologyTab(data=data, features=morphology_feature_rows(data.reconstruction), previews=previews)
