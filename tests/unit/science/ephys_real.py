"""The five REAL Allen Long Square sweep windows of the demo data, for the ephys tests and benchmark."""

from __future__ import annotations

from pathlib import Path

from celltypes.science.ephys.npz_sweeps import NpzSweep, read_npz_sweep
from celltypes.science.ephys.sweep_features import CurrentClampSweep, step_window

DEMO = Path(__file__).resolve().parents[3] / "celltypes/atlas/demo_data"
LONG_SQUARES = DEMO / "mackelab_IdentifyMechanisticModels_2020/allen_long_square"
# specimen id -> (sweep number, step amplitude pA)
REAL_SWEEPS = {
    509881736: (39, 130),
    518290966: (57, 170),
    526950199: (37, 110),
    555060623: (34, 90),
    566517779: (46, 150),
}


def real_sweep_path(specimen_id: int) -> Path:
    return LONG_SQUARES / f"specimen_{specimen_id}_sweep_{REAL_SWEEPS[specimen_id][0]}.npz"


def real_npz_sweep(specimen_id: int) -> NpzSweep:
    return read_npz_sweep(real_sweep_path(specimen_id))


def real_clamp_sweep(specimen_id: int) -> CurrentClampSweep:
    """The real window analysed over its step (0.205 s to 1.205 s), as ipfx would."""
    sweep = real_npz_sweep(specimen_id)
    return CurrentClampSweep(sweep.t, sweep.v, sweep.i, *step_window(sweep.t, sweep.i))
