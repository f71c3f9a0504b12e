"""Reads of Allen's images of a cell: its projection images and the image stack of its data sets."""

from __future__ import annotations

from dataclasses import dataclass, field

from celltypes.atlas.models import ProjectionImage, SubImage

STACK_MAX = 2000  # planes listed for one cell's viewer (Allen's stacks hold a few hundred)


def image_get(*, image_id: int) -> SubImage | ProjectionImage | None:
    """Allen's image record `image_id` (a plane of a stack or a projection), None when this copy lists none."""
    return SubImage.objects.filter(pk=image_id).first() or ProjectionImage.objects.filter(pk=image_id).first()


@dataclass(frozen=True)
class CellImages:
    """A cell's images as Allen lists them: projections (by id) and the planes of its stack (by section)."""

    projections: list[ProjectionImage] = field(default_factory=list)
    stack: list[SubImage] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.projections or self.stack)


def cell_images_get(*, specimen_id: int) -> CellImages:
    projections = list(ProjectionImage.objects.filter(specimen_id=specimen_id, failed=False).order_by("id"))
    stack = list(
        SubImage.objects.filter(data_set__specimen_id=specimen_id, failed=False, data_set__failed=False).order_by(
            "section_number", "id"
        )[:STACK_MAX]
    )
    return CellImages(projections=projections, stack=stack)
