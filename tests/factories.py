"""Factories for the rows tests build by hand, with Allen-shaped defaults. Real data comes from the demo set;
these make the few extra rows a test needs (a private SWC file of a cell, a thumbnail that sorts first)."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from celltypes.atlas import choices
from celltypes.atlas.models import WellKnownFile


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
