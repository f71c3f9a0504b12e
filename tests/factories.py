"""Factories for the rows tests build by hand, with Allen-shaped defaults. Real data comes from the demo set;
these make the few extra rows a test needs (a private SWC file of a cell, a thumbnail that sorts first)."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from celltypes.atlas import choices
from celltypes.atlas.models import ProjectionImage, SectionDataSet, SubImage, WellKnownFile


class WellKnownFileFactory(DjangoModelFactory):
    """A well-known file record. Ids start far above Allen's and the loader's minted ids."""

    class Meta:
        model = WellKnownFile

    id = factory.Sequence(lambda n: 990_000_000_000 + n)
    path = factory.LazyAttribute(lambda o: f"/external/celltypes/test_{o.id}/file")
    well_known_file_type_id = choices.NWB_DOWNLOAD[0]

    class Params:
        # An SWC (3DNeuronReconstruction) of ``neuron_reconstruction``.
        swc = factory.Trait(
            well_known_file_type_id=choices.RECONSTRUCTION[0],
            attachable_type="NeuronReconstruction",
            attachable_id=factory.SelfAttribute("neuron_reconstruction.id"),
            path=factory.LazyAttribute(lambda o: f"/external/celltypes/test_{o.id}/test_m.swc"),
        )
        # An ephys summary thumbnail of ``ephys_result_id``.
        ephys_thumbnail = factory.Trait(
            well_known_file_type_id=choices.EPHYS_SUMMARY_THUMBNAIL[0],
            attachable_type="EphysResult",
            attachable_id=factory.SelfAttribute("ephys_result_id"),
            path="/external/ephys_summary.png",
        )


class SectionDataSetFactory(DjangoModelFactory):
    """A synthetic image data set of a specimen (the demo set holds none of Allen's)."""

    class Meta:
        model = SectionDataSet

    id = factory.Sequence(lambda n: 991_000_000_000 + n)
    specimen_id = 313862022


class SubImageFactory(DjangoModelFactory):
    """A synthetic z plane of ``data_set``'s stack."""

    class Meta:
        model = SubImage

    id = factory.Sequence(lambda n: 992_000_000_000 + n)
    data_set = factory.SubFactory(SectionDataSetFactory)
    image_type = "Primary"
    section_number = factory.Sequence(lambda n: n + 1)
    width = 640
    height = 480
    image_width = 640
    image_height = 480
    resolution = 0.1144
    path = factory.LazyAttribute(lambda o: f"/external/celltypes/test_{o.id}/stack.aff")


class ProjectionImageFactory(DjangoModelFactory):
    """A synthetic projection image of ``specimen_id``."""

    class Meta:
        model = ProjectionImage

    id = factory.Sequence(lambda n: 993_000_000_000 + n)
    specimen_id = 313862022
    image_type = "Maximum Intensity Projection XY"
    width = 640
    height = 480
    image_width = 640
    image_height = 480
    path = factory.LazyAttribute(lambda o: f"/external/celltypes/test_{o.id}/projection.aff")
