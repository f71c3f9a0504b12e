"""Neuronal models: Allen's 7 templates (GLIF 1-5, perisomatic, all-active), the fitted models and their runs."""

from django.db import models


class NeuronalModelTemplate(models.Model):
    id = models.BigIntegerField(primary_key=True)
    name = models.CharField(max_length=200)
    description = models.TextField(null=True, blank=True)

    class Meta:
        db_table = "neuronal_model_templates"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class NeuronalModel(models.Model):
    id = models.BigIntegerField(primary_key=True)
    name = models.CharField(max_length=300)
    specimen = models.ForeignKey("atlas.Specimen", on_delete=models.CASCADE, related_name="neuronal_models")
    neuronal_model_template = models.ForeignKey(
        NeuronalModelTemplate, on_delete=models.PROTECT, related_name="neuronal_models"
    )
    neuron_reconstruction_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        db_table = "neuronal_models"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class NeuronalModelRun(models.Model):
    id = models.BigIntegerField(primary_key=True)
    neuronal_model = models.ForeignKey(NeuronalModel, on_delete=models.CASCADE, related_name="neuronal_model_runs")
    name = models.CharField(max_length=300, null=True, blank=True)
    # Allen's measures of the fit (its RMA fields): the explained variance ratio of the model's spike trains on
    # held-out noise sweeps, and the biophysical fit's average feature error at rheobase.
    explained_variance_ratio = models.FloatField(null=True, blank=True)
    rheobase_feature_average = models.FloatField(null=True, blank=True)

    class Meta:
        db_table = "neuronal_model_runs"
        ordering = ["id"]
