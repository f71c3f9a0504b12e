"""Chainable query vocabulary for the atlas models."""

from django.db import models


class SpecimenQuerySet(models.QuerySet):
    def cells(self) -> "SpecimenQuerySet":
        return self.filter(is_cell_specimen=True)

    def for_species(self, organism_name: str) -> "SpecimenQuerySet":
        return self.filter(donor__organism__name__iexact=organism_name)

    def with_reconstruction(self) -> "SpecimenQuerySet":
        return self.filter(neuron_reconstructions__superseded=False).distinct()

    def with_glif(self) -> "SpecimenQuerySet":
        from celltypes.atlas.choices import GLIF_TEMPLATE_IDS

        return self.filter(neuronal_models__neuronal_model_template_id__in=GLIF_TEMPLATE_IDS).distinct()
