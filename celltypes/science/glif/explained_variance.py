"""Allen's explained variance ratio of a GLIF model (Teeter et al. 2018, Nature Communications 9:709).

How well a model's spike train predicts a cell's, on repeats of one noise stimulus (Noise 1 or Noise 2):

- each spike train (0/1 per sample) is convolved with a Gaussian of standard deviation ``sigma`` (10 ms),
  truncated to ``10 * sigma`` and normalised to sum 1;
- the explained variance of two traces ``a`` and ``b`` is
  ``(var a + var b - var(a - b)) / (var a + var b)``, and 1 when ``a - b`` is constant;
- the **data's** explained variance is the mean, over the recorded repeats, of that of each convolved repeat
  with the repeats' mean (the PSTH), with the full convolution (``N + M - 1`` samples);
- the **model's** is the mean over every (recorded repeat, model train) pair, with the convolution cut to the
  trains' own length (centred, ``(M - 1) // 2`` samples in);
- the ratio is the model's over the data's: 1 when the model explains the data as well as the repeats explain
  each other.

A GLIF model is deterministic: one model train, run on the stimulus of the first repeat at the recording's dt.
Plain numpy; spike trains are sparse, so each convolution adds the kernel at every spike (exact).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import ScienceError

ALLEN_SIGMA = 0.01  # s: Allen's published ratios use a 10 ms Gaussian
KERNEL_WIDTH_SIGMAS = 10  # the Gaussian window spans ten standard deviations


@dataclass(frozen=True)
class ExplainedVariance:
    data: float  # the recorded repeats' explained variance (about their PSTH)
    model: float  # the model's explained variance of the repeats
    repeats: int
    sigma: float  # s

    @property
    def ratio(self) -> float:
        """The model's over the data's: Allen's ``explained_variance_ratio``."""
        return self.model / self.data


def gaussian_kernel(sigma: float, dt: float) -> NDArray[np.float64]:
    """A Gaussian of standard deviation ``sigma`` s sampled every ``dt`` s over ``10 * sigma``, summing to 1
    (``int(10 * sigma / dt)`` samples, centred between the middle two when that number is even)."""
    if not (np.isfinite(sigma) and np.isfinite(dt) and sigma > 0 and dt > 0):
        raise ScienceError(f"sigma and dt must be positive numbers of seconds, got {sigma!r} and {dt!r}")
    width = sigma / dt
    length = int(width * KERNEL_WIDTH_SIGMAS)
    if length < 1:
        raise ScienceError(f"a Gaussian of {sigma:g} s is shorter than one step of {dt:g} s")
    offsets = np.arange(length, dtype=np.float64) - (length - 1) / 2.0
    kernel = np.exp(-0.5 * (offsets / width) ** 2)
    return kernel / kernel.sum()


def convolved_train(
    spike_indexes: ArrayLike, steps: int, kernel: NDArray[np.float64], *, full: bool
) -> NDArray[np.float64]:
    """The 0/1 train of length ``steps`` with spikes at ``spike_indexes`` (a repeated index counts once),
    convolved with ``kernel``: all ``steps + len(kernel) - 1`` samples when ``full``, else the centred ``steps``."""
    indexes = np.unique(np.asarray(spike_indexes, dtype=np.int64).reshape(-1))
    if len(indexes) and (indexes[0] < 0 or indexes[-1] >= steps):
        raise ScienceError(f"spike index {indexes[0] if indexes[0] < 0 else indexes[-1]} is outside 0..{steps - 1}")
    if len(kernel) > steps:
        raise ScienceError(f"the trains ({steps} steps) are shorter than the Gaussian window ({len(kernel)} steps)")
    out = np.zeros(steps + len(kernel) - 1)
    for index in indexes.tolist():
        out[index : index + len(kernel)] += kernel
    if full:
        return out
    start = (len(kernel) - 1) // 2
    return out[start : start + steps]


def explained_variance(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """``(var a + var b - var(a - b)) / (var a + var b)``; 1 when ``a - b`` does not vary."""
    difference = float(np.var(a - b))
    if difference == 0.0:
        return 1.0
    total = float(np.var(a)) + float(np.var(b))
    return (total - difference) / total


def spike_train_explained_variance(
    data_spike_indexes: Sequence[ArrayLike],
    model_spike_indexes: Sequence[ArrayLike],
    *,
    steps: int,
    dt: float,
    sigma: float = ALLEN_SIGMA,
) -> ExplainedVariance:
    """Allen's explained variance of the recorded repeats and of the model's trains (spike sample indexes on
    a common clock of ``steps`` samples of ``dt`` s)."""
    if len(data_spike_indexes) < 2:
        raise ScienceError(f"the explained variance needs at least 2 recorded repeats, got {len(data_spike_indexes)}")
    if not model_spike_indexes:
        raise ScienceError("the explained variance needs at least one model spike train")
    kernel = gaussian_kernel(sigma, dt)
    full = [convolved_train(train, steps, kernel, full=True) for train in data_spike_indexes]
    psth = np.mean(full, axis=0)
    data = float(np.mean([explained_variance(train, psth) for train in full]))
    same = [convolved_train(train, steps, kernel, full=False) for train in data_spike_indexes]
    models = [convolved_train(train, steps, kernel, full=False) for train in model_spike_indexes]
    model = float(np.mean([explained_variance(d, m) for m in models for d in same]))
    if data == 0.0:
        raise ScienceError("the recorded repeats explain none of each other's variance (no spikes?)")
    return ExplainedVariance(data=data, model=model, repeats=len(data_spike_indexes), sigma=sigma)


def spike_indexes(spike_times: ArrayLike, dt: float) -> NDArray[np.int64]:
    """Spike times (s from the sweep's first sample) as sample indexes (nearest sample)."""
    return np.rint(np.asarray(spike_times, dtype=np.float64) / dt).astype(np.int64)
