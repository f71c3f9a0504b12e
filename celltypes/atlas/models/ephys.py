"""Electrophysiology: the per-cell result, its sweeps and its cell-level features (Allen's EphysFeature)."""

from django.db import models


class EphysResult(models.Model):
    id = models.BigIntegerField(primary_key=True)
    failed = models.BooleanField(default=False)
    sampling_rate = models.FloatField(null=True, blank=True)

    class Meta:
        db_table = "ephys_results"
        ordering = ["id"]


class EphysSweep(models.Model):
    id = models.BigIntegerField(primary_key=True)
    specimen = models.ForeignKey("atlas.Specimen", on_delete=models.CASCADE, related_name="ephys_sweeps")
    sweep_number = models.IntegerField()
    stimulus_name = models.CharField(max_length=100, null=True, blank=True, db_index=True)
    stimulus_description = models.CharField(max_length=200, null=True, blank=True)
    stimulus_units = models.CharField(max_length=20, null=True, blank=True)
    stimulus_absolute_amplitude = models.FloatField(null=True, blank=True)
    stimulus_relative_amplitude = models.FloatField(null=True, blank=True)
    stimulus_duration = models.FloatField(null=True, blank=True)
    stimulus_start_time = models.FloatField(null=True, blank=True)
    stimulus_interval = models.FloatField(null=True, blank=True)
    num_spikes = models.IntegerField(null=True, blank=True)
    peak_deflection = models.FloatField(null=True, blank=True)
    pre_vm_mv = models.FloatField(null=True, blank=True)
    post_vm_mv = models.FloatField(null=True, blank=True)
    slow_vm_mv = models.FloatField(null=True, blank=True)
    vm_delta_mv = models.FloatField(null=True, blank=True)
    leak_pa = models.FloatField(null=True, blank=True)
    pre_noise_rms_mv = models.FloatField(null=True, blank=True)
    post_noise_rms_mv = models.FloatField(null=True, blank=True)
    slow_noise_rms_mv = models.FloatField(null=True, blank=True)
    bridge_balance_mohm = models.FloatField(null=True, blank=True)
    # Ours, not Allen's: the sampling rate read from the NWB file when we hold it.
    sampling_rate = models.FloatField(null=True, blank=True)

    class Meta:
        db_table = "ephys_sweeps"
        ordering = ["specimen_id", "sweep_number"]
        constraints = [
            models.UniqueConstraint(fields=["specimen", "sweep_number"], name="ephys_sweep_unique_number"),
        ]


def _f() -> models.FloatField:
    return models.FloatField(null=True, blank=True)


class EphysFeature(models.Model):
    """Allen's 56-column cell-level feature record (one per specimen)."""

    id = models.BigIntegerField(primary_key=True)
    specimen = models.OneToOneField("atlas.Specimen", on_delete=models.CASCADE, related_name="ephys_features")
    adaptation = _f()
    avg_isi = _f()
    electrode_0_pa = _f()
    f_i_curve_slope = _f()
    fast_trough_t_long_square = _f()
    fast_trough_t_ramp = _f()
    fast_trough_t_short_square = _f()
    fast_trough_v_long_square = _f()
    fast_trough_v_ramp = _f()
    fast_trough_v_short_square = _f()
    has_burst = models.BooleanField(null=True, blank=True)
    has_delay = models.BooleanField(null=True, blank=True)
    has_pause = models.BooleanField(null=True, blank=True)
    input_resistance_mohm = _f()
    latency = _f()
    peak_t_long_square = _f()
    peak_t_ramp = _f()
    peak_t_short_square = _f()
    peak_v_long_square = _f()
    peak_v_ramp = _f()
    peak_v_short_square = _f()
    rheobase_sweep_id = models.BigIntegerField(null=True, blank=True)
    rheobase_sweep_number = models.IntegerField(null=True, blank=True)
    ri = _f()
    sag = _f()
    seal_gohm = _f()
    slow_trough_t_long_square = _f()
    slow_trough_t_ramp = _f()
    slow_trough_t_short_square = _f()
    slow_trough_v_long_square = _f()
    slow_trough_v_ramp = _f()
    slow_trough_v_short_square = _f()
    tau = _f()
    threshold_i_long_square = _f()
    threshold_i_ramp = _f()
    threshold_i_short_square = _f()
    threshold_t_long_square = _f()
    threshold_t_ramp = _f()
    threshold_t_short_square = _f()
    threshold_v_long_square = _f()
    threshold_v_ramp = _f()
    threshold_v_short_square = _f()
    thumbnail_sweep_id = models.BigIntegerField(null=True, blank=True)
    trough_t_long_square = _f()
    trough_t_ramp = _f()
    trough_t_short_square = _f()
    trough_v_long_square = _f()
    trough_v_ramp = _f()
    trough_v_short_square = _f()
    upstroke_downstroke_ratio_long_square = _f()
    upstroke_downstroke_ratio_ramp = _f()
    upstroke_downstroke_ratio_short_square = _f()
    vm_for_sag = _f()
    vrest = _f()

    class Meta:
        db_table = "ephys_features"
        ordering = ["id"]


class HeldTraceWindow(models.Model):
    """Ours, never Allen's record (the RMA schema does not list it): one window of one sweep of a cell whose samples
    the demo set holds outside any NWB file (e.g. Gonçalves et al. 2020's Long Square windows), read from
    ``source_path`` under the bundled demo folder. Times in s after the sweep's first sample."""

    id = models.BigIntegerField(primary_key=True)
    specimen = models.ForeignKey("atlas.Specimen", on_delete=models.CASCADE, related_name="held_trace_windows")
    sweep_number = models.IntegerField()
    stimulus_name = models.CharField(max_length=100)
    stimulus_amplitude = models.FloatField()  # pA, read from the samples
    source_path = models.CharField(max_length=300)  # relative to the demo folder
    window_start = models.FloatField()
    window_end = models.FloatField()
    sampling_rate = models.FloatField()  # Hz
    provenance = models.TextField()

    class Meta:
        db_table = "held_trace_windows"
        ordering = ["specimen_id", "sweep_number"]
        constraints = [
            models.UniqueConstraint(fields=["specimen", "sweep_number"], name="held_trace_window_unique_sweep"),
        ]

    def __str__(self) -> str:
        return f"sweep {self.sweep_number} of specimen {self.specimen_id} ({self.source_path})"


class LabRecording(models.Model):
    """Ours, never Allen's record: a lab's own NWB recording imported as a specimen of its own (``import_nwb``, or
    the admin's upload form). Its specimen and sweeps never reach the RMA API, and the REST API does not list them;
    the file is kept in the file store under ``lab_recordings/<specimen id>.nwb``, checked by its sha256."""

    specimen = models.OneToOneField(
        "atlas.Specimen", on_delete=models.CASCADE, primary_key=True, related_name="lab_recording"
    )
    file_name = models.CharField(max_length=255)  # as the lab named it
    sha256 = models.CharField(max_length=64, unique=True)
    size = models.BigIntegerField()
    layout = models.CharField(max_length=20)  # the reader's layout: nwb2, mies-nwb1, allen-nwb1
    nwb_version = models.CharField(max_length=40)
    species = models.CharField(max_length=100, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "lab_recordings"
        ordering = ["-imported_at"]

    def __str__(self) -> str:
        return f"{self.file_name} (lab upload, specimen {self.specimen_id})"
