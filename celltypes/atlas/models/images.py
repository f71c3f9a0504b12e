"""Allen's images of a cell: the image stack of a cell's data set (SubImage) and its projections (ProjectionImage).

Allen names and shapes: a ``SectionDataSet`` (table ``data_sets``) belongs to a specimen and holds the stack of
bright-field z planes, one ``SubImage`` (table ``sub_images``) each; a ``ProjectionImage`` belongs to the specimen
directly (the minimum/maximum intensity projections of the stack). The column set is the SubImage record of
Allen's RMA answers (the same for both kinds of image); the pixels themselves are not stored here: they are
fetched through from the upstream's ``/api/v2/section_image_download/<id>`` on first request
(celltypes/rma/images.py). Allen's records are kept verbatim, so ``image_type`` says what Allen calls an image.
"""

from django.db import models


def _int() -> models.BigIntegerField:
    return models.BigIntegerField(null=True, blank=True)


class SectionDataSet(models.Model):
    """A specimen's data set of section images (for a cell: its bright-field image stack)."""

    id = models.BigIntegerField(primary_key=True)
    name = models.CharField(max_length=200, null=True, blank=True)
    specimen = models.ForeignKey(
        "atlas.Specimen", on_delete=models.CASCADE, null=True, blank=True, related_name="data_sets"
    )
    failed = models.BooleanField(default=False)
    delegate = models.BooleanField(default=False)
    expression = models.BooleanField(default=False)
    plane_of_section_id = _int()
    reference_space_id = _int()
    section_thickness = models.FloatField(null=True, blank=True)
    storage_directory = models.CharField(max_length=500, null=True, blank=True)
    weight = _int()

    class Meta:
        db_table = "data_sets"
        ordering = ["id"]


class ImageColumns(models.Model):
    """The columns of Allen's SubImage record, shared by both kinds of image."""

    id = models.BigIntegerField(primary_key=True)
    annotated = models.BooleanField(default=False)
    axes = models.CharField(max_length=100, null=True, blank=True)
    bits_per_component = models.IntegerField(null=True, blank=True)
    expression_path = models.CharField(max_length=500, null=True, blank=True)
    failed = models.BooleanField(default=False)
    height = models.IntegerField(null=True, blank=True)
    image_height = models.IntegerField(null=True, blank=True)
    image_type = models.CharField(max_length=100, null=True, blank=True)
    image_width = models.IntegerField(null=True, blank=True)
    isi_experiment_id = _int()
    lims1_id = _int()
    number_of_components = models.IntegerField(null=True, blank=True)
    ophys_experiment_id = _int()
    path = models.CharField(max_length=500, null=True, blank=True)
    projection_path = models.CharField(max_length=500, null=True, blank=True)
    resolution = models.FloatField(null=True, blank=True)  # µm per pixel at full size
    section_number = models.IntegerField(null=True, blank=True)
    structure_id = _int()
    tier_count = models.IntegerField(null=True, blank=True)
    width = models.IntegerField(null=True, blank=True)
    x = models.IntegerField(null=True, blank=True)
    y = models.IntegerField(null=True, blank=True)

    class Meta:
        abstract = True


class SubImage(ImageColumns):
    """One image of a data set's stack (a z plane of the cell's bright-field stack)."""

    data_set = models.ForeignKey(
        SectionDataSet, on_delete=models.CASCADE, null=True, blank=True, related_name="sub_images"
    )
    specimen = models.ForeignKey(
        "atlas.Specimen", on_delete=models.CASCADE, null=True, blank=True, related_name="sub_images"
    )

    class Meta:
        db_table = "sub_images"
        ordering = ["section_number", "id"]
        indexes = [models.Index(fields=["data_set", "section_number"], name="sub_image_stack")]


class ProjectionImage(ImageColumns):
    """A projection of a cell's image stack (minimum or maximum intensity, along one axis)."""

    data_set = models.ForeignKey(
        SectionDataSet, on_delete=models.CASCADE, null=True, blank=True, related_name="projection_images"
    )
    specimen = models.ForeignKey("atlas.Specimen", on_delete=models.CASCADE, related_name="projection_images")

    class Meta:
        db_table = "projection_images"
        ordering = ["id"]
