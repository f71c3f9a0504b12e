"""Well-known files: Allen's downloadable files (NWB, SWC, marker, fits, configs) and their types."""

from django.db import models


class WellKnownFileType(models.Model):
    id = models.BigIntegerField(primary_key=True)
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        db_table = "well_known_file_types"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class WellKnownFile(models.Model):
    """A file Allen serves at /api/v2/well_known_file_download/<id>.

    `attachable_type`/`attachable_id` are Allen's polymorphic owner columns; exactly one of the owner foreign keys
    below mirrors them so that the ORM can join. The local copy (if any) lives in the file store under this id.
    """

    id = models.BigIntegerField(primary_key=True)
    attachable_type = models.CharField(max_length=50)
    attachable_id = models.BigIntegerField()
    path = models.CharField(max_length=500)
    well_known_file_type = models.ForeignKey(WellKnownFileType, on_delete=models.PROTECT, related_name="+")
    ephys_result = models.ForeignKey(
        "atlas.EphysResult", on_delete=models.CASCADE, null=True, blank=True, related_name="well_known_files"
    )
    neuron_reconstruction = models.ForeignKey(
        "atlas.NeuronReconstruction",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="well_known_files",
    )
    neuronal_model = models.ForeignKey(
        "atlas.NeuronalModel",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="well_known_files",
    )
    neuronal_model_template = models.ForeignKey(
        "atlas.NeuronalModelTemplate",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="well_known_files",
    )
    neuronal_model_run = models.ForeignKey(
        "atlas.NeuronalModelRun",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="well_known_files",
    )
    # Ours: what the file store holds for this id (null until fetched or loaded).
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        db_table = "well_known_files"
        ordering = ["id"]
        indexes = [models.Index(fields=["attachable_type", "attachable_id"], name="wkf_attachable")]

    @property
    def download_link(self) -> str:
        return f"/api/v2/well_known_file_download/{self.id}"

    @property
    def file_name(self) -> str:
        return self.path.rsplit("/", 1)[-1]
