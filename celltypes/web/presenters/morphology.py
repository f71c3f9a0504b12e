"""The morphology tab: the selector's data plus what it prints (published rows, previews, colour key)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

from celltypes.atlas.models import ProjectionImage, SubImage, WellKnownFile
from celltypes.atlas.selectors.images import CellImages
from celltypes.atlas.selectors.morphology import NOT_COMPUTED, CellMorphology, PreviewState
from celltypes.atlas.vocabulary import (
    AGREEMENT_RTOL,
    ALLEN_IMAGE_SHOWN_WIDTH,
    ALLEN_IMAGE_ZOOMS,
    ALLEN_PROJECTION_LABEL,
    ALLEN_STACK_LABEL,
    COMPARTMENT_COLOURS,
    DRAWN_PROJECTION_LABEL,
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


def allen_image_downsample(width: int | None) -> int:
    """Allen's `downsample` (halvings) that brings an image `width` pixels wide to at most ALLEN_IMAGE_SHOWN_WIDTH."""
    downsample = 0
    while width and (width >> downsample) > ALLEN_IMAGE_SHOWN_WIDTH and downsample < 16:
        downsample += 1
    return downsample


@dataclass(frozen=True)
class AllenImage:
    """One of Allen's images as the tab shows it: fetched through /api/v2/section_image_download, downsampled."""

    image: SubImage | ProjectionImage
    label: str

    @property
    def downsample(self) -> int:
        return allen_image_downsample(self.image.width)

    @property
    def url(self) -> str:
        return reverse("section-image-download", args=[self.image.pk])

    @property
    def shown_url(self) -> str:
        return f"{self.url}?downsample={self.downsample}"

    @property
    def shown_width(self) -> int | None:
        return self.image.width >> self.downsample if self.image.width else None

    @property
    def shown_height(self) -> int | None:
        return self.image.height >> self.downsample if self.image.height else None

    @property
    def caption(self) -> str:
        """Allen's name for the image (its image_type), else its id."""
        return self.image.image_type or f"image {self.image.pk}"


@dataclass(frozen=True)
class ImageStack:
    """A cell's image stack for the viewer: the planes in section order, and what the script needs of each."""

    planes: list[AllenImage]
    label: str = ALLEN_STACK_LABEL
    zooms: tuple[int, ...] = ALLEN_IMAGE_ZOOMS

    @property
    def first(self) -> AllenImage:
        return self.planes[0]

    @property
    def script_data(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "zooms": list(self.zooms),
            "planes": [
                {
                    "id": plane.image.pk,
                    "section_number": plane.image.section_number,
                    "url": plane.url,
                    "downsample": plane.downsample,
                    "width": plane.shown_width,
                    "height": plane.shown_height,
                }
                for plane in self.planes
            ],
        }


@dataclass(frozen=True)
class MorphologyTab:
    """The morphology tab: the selector's data plus what it prints (published rows, previews, colour key)."""

    data: CellMorphology
    features: list[FeatureValue]
    previews: list[MorphologyPreview]
    allen_projections: list[AllenImage] = field(default_factory=list)
    stack: ImageStack | None = None
    colour_key: tuple[ColourKey, ...] = COMPARTMENT_COLOURS
    not_computed: tuple[str, ...] = tuple(NOT_COMPUTED)
    drawn_label: str = DRAWN_PROJECTION_LABEL

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


# Polling the SWC fetch: every second at first, slowing to every 5 s; after MAX_FETCH_POLLS (about ten minutes) the
# tab stops and offers to ask again.
MAX_FETCH_POLLS = 150


@dataclass(frozen=True)
class SwcFetch:
    """The SWC the tab would draw but the store lacks, and where its fetch from the upstream stands
    (celltypes.sync.file_fetch states: none, fetching, error, offline)."""

    file: WellKnownFile
    state: str
    message: str = ""
    attempt: int = 0
    retryable: bool = False  # an error the worker's task retries on its own: the tab keeps polling meanwhile

    @property
    def given_up(self) -> bool:
        """Polled for as long as the tab waits: show "not arrived yet" and a button to ask again."""
        return self.state == "fetching" and self.attempt >= MAX_FETCH_POLLS

    @property
    def polls(self) -> bool:
        """The tab asks the fetch status again: "none" at once (the first poll queues the fetch), then on a delay."""
        waiting = self.state in ("none", "fetching") or (self.state == "error" and self.retryable)
        return waiting and self.attempt < MAX_FETCH_POLLS

    @property
    def delay(self) -> int:
        """Seconds before the next poll: none at first (queue it), then 1 s, slowing to 5 s (5 s after an error)."""
        if self.state == "none":
            return 0
        return 5 if self.state == "error" else min(1 + self.attempt // 10, 5)

    @property
    def next_attempt(self) -> int:
        return self.attempt + 1

    @property
    def retries(self) -> bool:
        """The tab offers a button to ask again."""
        return self.state == "error" or self.given_up


def morphology_tab(data: CellMorphology, images: CellImages | None = None) -> MorphologyTab:
    """The tab; Allen's projection images, when listed, take the place of our drawings of the SWC."""
    images = images or CellImages()
    allen_projections = [AllenImage(image, ALLEN_PROJECTION_LABEL) for image in images.projections]
    previews = [
        MorphologyPreview(plane, "ready" if state is PreviewState.READY else "pending")
        for plane, state in data.preview_states.items()
    ]
    return MorphologyTab(
        data=data,
        features=morphology_feature_rows(data.reconstruction),
        previews=[] if allen_projections else previews,
        allen_projections=allen_projections,
        stack=ImageStack([AllenImage(plane, ALLEN_STACK_LABEL) for plane in images.stack]) if images.stack else None,
    )
