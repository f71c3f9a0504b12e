"""Current-clamp electrophysiology: spike detection and Allen's spike, sweep and cell features.

``timeseries`` (filtered dV/dt, time lookup), ``spikes`` (detection + per-spike features), ``subthreshold``
(sag, time constant, input resistance), ``sweep_features``, ``cell_features``, ``downsample`` (plot traces),
``npz_sweeps`` (the real Long Square windows of the demo data). Each feature level keeps a registry of
name -> (label, unit, function) beside its functions: SPIKE_FEATURES, SWEEP_FEATURES, CELL_FEATURES.
"""
