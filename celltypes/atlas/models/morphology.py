"""Reconstructions (Allen's NeuronReconstruction) and the features we compute from their SWC."""

from django.db import models


def _f() -> models.FloatField:
    return models.FloatField(null=True, blank=True)


class NeuronReconstruction(models.Model):
    """Allen's 30-column record. Published values are kept verbatim; computed ones live in ComputedMorphology."""

    id = models.BigIntegerField(primary_key=True)
    specimen = models.ForeignKey("atlas.Specimen", on_delete=models.CASCADE, related_name="neuron_reconstructions")
    neuron_reconstruction_type = models.CharField(max_length=30, null=True, blank=True, db_index=True)
    superseded = models.BooleanField(default=False)
    tags = models.TextField(null=True, blank=True)
    average_bifurcation_angle_local = _f()
    average_bifurcation_angle_remote = _f()
    average_contraction = _f()
    average_diameter = _f()
    average_fragmentation = _f()
    average_parent_daughter_ratio = _f()
    hausdorff_dimension = _f()
    max_branch_order = _f()
    max_euclidean_distance = _f()
    max_path_distance = _f()
    number_bifurcations = models.IntegerField(null=True, blank=True)
    number_branches = models.IntegerField(null=True, blank=True)
    number_nodes = models.IntegerField(null=True, blank=True)
    number_stems = models.IntegerField(null=True, blank=True)
    number_tips = models.IntegerField(null=True, blank=True)
    overall_depth = _f()
    overall_height = _f()
    overall_width = _f()
    scale_factor_x = _f()
    scale_factor_y = _f()
    scale_factor_z = _f()
    soma_surface = _f()
    total_length = _f()
    total_surface = _f()
    total_volume = _f()

    class Meta:
        db_table = "neuron_reconstructions"
        ordering = ["superseded", "id"]


class CurrentReconstructionManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(superseded=False)


class CurrentNeuronReconstruction(NeuronReconstruction):
    """Each cell's current reconstruction only: what the RMA API serves as Allen's NeuronReconstruction.

    The AllenSDK reads a cell's first reconstruction as *the* reconstruction and its morphology features one row
    per record, so the older (superseded) tracings, kept for the morphology pages, stay out of what it can read.
    """

    objects = CurrentReconstructionManager()

    class Meta:
        proxy = True


class ComputedMorphology(models.Model):
    """Features we computed from the reconstruction's SWC, stored beside the published ones."""

    reconstruction = models.OneToOneField(
        NeuronReconstruction, on_delete=models.CASCADE, primary_key=True, related_name="computed"
    )
    source_sha256 = models.CharField(max_length=64)
    features = models.JSONField(default=dict)
    error = models.TextField(null=True, blank=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "computed_morphologies"
