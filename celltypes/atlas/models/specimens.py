"""Specimens and what describes them: donors, organisms, structures, lines, tags, soma locations, products."""

from django.db import models

from celltypes.atlas.querysets import SpecimenQuerySet


class Organism(models.Model):
    id = models.BigIntegerField(primary_key=True)
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        db_table = "organisms"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class TransgenicLine(models.Model):
    id = models.BigIntegerField(primary_key=True)
    name = models.CharField(max_length=200, unique=True)
    transgenic_line_type_name = models.CharField(max_length=50, default="driver")

    class Meta:
        db_table = "transgenic_lines"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Donor(models.Model):
    id = models.BigIntegerField(primary_key=True)
    name = models.CharField(max_length=200)
    organism = models.ForeignKey(Organism, on_delete=models.PROTECT, related_name="donors")
    sex = models.CharField(max_length=20, null=True, blank=True)
    age = models.CharField(max_length=40, null=True, blank=True)
    race = models.CharField(max_length=100, null=True, blank=True)
    disease_state = models.CharField(max_length=100, null=True, blank=True)
    years_of_seizure_history = models.CharField(max_length=20, null=True, blank=True)
    transgenic_lines = models.ManyToManyField(TransgenicLine, related_name="donors", blank=True)

    class Meta:
        db_table = "donors"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Structure(models.Model):
    id = models.BigIntegerField(primary_key=True)
    acronym = models.CharField(max_length=50)
    name = models.CharField(max_length=300, null=True, blank=True)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")

    class Meta:
        db_table = "structures"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.acronym


class SpecimenTag(models.Model):
    """Allen tags such as "dendrite type - spiny" and "apical - intact"."""

    id = models.BigIntegerField(primary_key=True)
    name = models.CharField(max_length=200, unique=True)

    class Meta:
        db_table = "specimen_tags"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class CellReporter(models.Model):
    id = models.BigIntegerField(primary_key=True)
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        db_table = "cell_reporters"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    id = models.BigIntegerField(primary_key=True)
    name = models.CharField(max_length=100, unique=True)
    abbreviation = models.CharField(max_length=50, null=True, blank=True)

    class Meta:
        db_table = "products"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Specimen(models.Model):
    id = models.BigIntegerField(primary_key=True)
    name = models.CharField(max_length=200, db_index=True)
    hemisphere = models.CharField(max_length=20, null=True, blank=True)
    is_cell_specimen = models.BooleanField(default=True)
    donor = models.ForeignKey(Donor, on_delete=models.PROTECT, null=True, blank=True, related_name="specimens")
    structure = models.ForeignKey(Structure, on_delete=models.PROTECT, null=True, blank=True, related_name="specimens")
    cell_reporter = models.ForeignKey(
        CellReporter, on_delete=models.PROTECT, null=True, blank=True, related_name="specimens"
    )
    ephys_result = models.OneToOneField(
        "atlas.EphysResult", on_delete=models.SET_NULL, null=True, blank=True, related_name="specimen"
    )
    specimen_tags = models.ManyToManyField(SpecimenTag, related_name="specimens", blank=True)
    products = models.ManyToManyField(Product, related_name="specimens", blank=True)

    objects = SpecimenQuerySet.as_manager()

    class Meta:
        db_table = "specimens"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class CellSomaLocation(models.Model):
    id = models.BigIntegerField(primary_key=True)
    specimen = models.ForeignKey(Specimen, on_delete=models.CASCADE, related_name="cell_soma_locations")
    x = models.FloatField(null=True)
    y = models.FloatField(null=True)
    z = models.FloatField(null=True)
    normalized_depth = models.FloatField(null=True)

    class Meta:
        db_table = "cell_soma_locations"
        ordering = ["id"]


class AtlasVersion(models.Model):
    """One row whose `version` goes up with every write to Allen's tables (load_demo, sync).

    Readers use it to key caches: a cached API answer is valid while the version is unchanged.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.BigIntegerField(default=0)

    class Meta:
        db_table = "atlas_version"
