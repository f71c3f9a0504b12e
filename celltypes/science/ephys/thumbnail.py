"""A cell's trace thumbnail as Allen's cards draw it: the response to a short pulse and to long squares, each
aligned on its stimulus onset, on one voltage scale, as a small SVG (presentation attributes only, no style).

Each trace is cut to ``WINDOW`` around its onset and downsampled (min-max LTTB, which keeps spike peaks) to a few
points per pixel. Times in s, v in mV. Colours come in with the traces: this module knows no vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import numpy as np
from numpy.typing import NDArray

from .downsample import downsample_indexes

WINDOW = (-0.1, 1.1)  # s around the stimulus onset: a 1 s long square with a margin on each side
POINTS_PER_PIXEL = 2
MARGIN = 3  # px


@dataclass(frozen=True, eq=False)
class ThumbnailTrace:
    v: NDArray[np.float64]  # mV
    sampling_rate: float  # Hz
    onset: float  # s from the first sample: where the stimulus starts
    colour: str


def _cut(trace: ThumbnailTrace) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(t from the onset, v) of the samples inside WINDOW."""
    first = max(0, int(np.floor((trace.onset + WINDOW[0]) * trace.sampling_rate)))
    stop = min(len(trace.v), int(np.ceil((trace.onset + WINDOW[1]) * trace.sampling_rate)) + 1)
    if stop - first < 2:
        raise ValueError("the trace holds fewer than two samples around its stimulus onset")
    v = np.asarray(trace.v[first:stop], dtype=np.float64)
    t = np.arange(first, stop) / trace.sampling_rate - trace.onset
    return t, v


def render_thumbnail_svg(traces: list[ThumbnailTrace], width: int, height: int, *, title: str) -> str:
    """The traces (drawn in order: later ones on top) as an SVG of ``width`` x ``height`` px titled ``title``."""
    if not traces:
        raise ValueError("a thumbnail needs at least one trace")
    cut = [_cut(trace) for trace in traces]
    low = min(float(v.min()) for _, v in cut)
    high = max(float(v.max()) for _, v in cut)
    span = high - low if high > low else 1.0
    inner_w, inner_h = width - 2 * MARGIN, height - 2 * MARGIN
    lines = []
    for trace, (t, v) in zip(traces, cut, strict=True):
        keep = downsample_indexes(v, max(3, min(len(v), POINTS_PER_PIXEL * inner_w)))
        x = MARGIN + (t[keep] - WINDOW[0]) / (WINDOW[1] - WINDOW[0]) * inner_w
        y = MARGIN + (high - v[keep]) / span * inner_h
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True))
        lines.append(
            f'<polyline points="{points}" fill="none" stroke={quoteattr(trace.colour)} stroke-width="1" '
            'stroke-linejoin="round"/>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img"><title>{escape(title)}</title><rect width="{width}" height="{height}" fill="#ffffff"/>'
        + "".join(lines)
        + "</svg>"
    )
