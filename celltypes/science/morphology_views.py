"""Pictures of a morphology: a compact plotly 3D figure dict, and SVG/PNG projection thumbnails.

All three draw the tree as polylines, one per compartment type: each chain follows a node's first child
of the same type, and a chain that starts below another type's node (or a branch point) begins with the
parent's point, so the drawing stays connected. Nothing here knows about requests or models.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from .swc import (
    APICAL_DENDRITE,
    AXON,
    BASAL_DENDRITE,
    COMPARTMENT_NAMES,
    CUT_DENDRITE,
    SOMA,
    Marker,
    Morphology,
)

COLOURS = {
    SOMA: "#000000",
    AXON: "#1f77b4",
    BASAL_DENDRITE: "#d62728",
    APICAL_DENDRITE: "#e377c2",
}
OTHER_COLOUR = "#7f7f7f"
MARKER_COLOURS = {CUT_DENDRITE: "#2ca02c", 20: "#ff7f0e"}
DRAW_ORDER = (AXON, BASAL_DENDRITE, APICAL_DENDRITE)  # later types are drawn on top

# Plane name -> (horizontal axis, vertical axis); y always runs down the picture, as in Allen's images.
PLANES = {"xy": (0, 1), "yz": (2, 1), "zy": (2, 1), "yx": (1, 0), "xz": (0, 2), "zx": (2, 0)}


def _line_types(m: Morphology) -> list[int]:
    present = set(np.unique(m.types).tolist()) - {SOMA}
    return [t for t in DRAW_ORDER if t in present] + sorted(present - set(DRAW_ORDER))


def polyline_indices(m: Morphology, node_type: int) -> NDArray[np.int64]:
    """Node indices tracing every compartment of ``node_type`` as polylines, ``-1`` between polylines."""
    n = len(m)
    sel = np.flatnonzero(m.types == node_type)
    if not len(sel):
        return np.empty(0, dtype=np.int64)
    parent = m.parent[sel]
    same = (parent >= 0) & (m.types[np.maximum(parent, 0)] == node_type)
    # A node continues its parent's chain when it is the parent's first child of the same type.
    continues = np.zeros(len(sel), dtype=bool)
    linked = np.flatnonzero(same)
    _, first = np.unique(parent[linked], return_index=True)
    continues[linked[first]] = True
    pointer = np.arange(n)
    pointer[sel[continues]] = parent[continues]
    while True:  # pointer jumping to each chain's head
        jumped = pointer[pointer]
        if np.array_equal(jumped, pointer):
            break
        pointer = jumped
    head = pointer[sel]
    nodes = sel[np.lexsort((sel, head))]  # parents come first, so index order is chain order
    head = pointer[nodes]
    is_first = np.r_[True, head[1:] != head[:-1]]
    heads = nodes[is_first]
    lead = m.parent[heads]  # the point each chain starts from (-1: none)
    has_lead = lead >= 0
    sizes = np.diff(np.r_[np.flatnonzero(is_first), len(nodes)])
    slots = sizes + has_lead + 1
    start = np.cumsum(slots) - slots
    out = np.full(int(slots.sum()), -1, dtype=np.int64)
    out[start[has_lead]] = lead[has_lead]
    chain_of = np.cumsum(is_first) - 1
    offset = np.arange(len(nodes)) - np.flatnonzero(is_first)[chain_of]
    out[start[chain_of] + has_lead[chain_of] + offset] = nodes
    return out[:-1]


def _with_gaps(values: NDArray[np.float64], gaps: NDArray[np.bool_]) -> list[float | None]:
    as_list = values.tolist()
    for i in np.flatnonzero(gaps).tolist():
        as_list[i] = None
    return as_list


def _line_trace(m: Morphology, node_type: int) -> dict | None:
    index = polyline_indices(m, node_type)
    if not len(index):
        return None
    gaps = index < 0
    xyz = np.round(m.xyz[index], 1)
    return {
        "type": "scatter3d",
        "mode": "lines",
        "name": COMPARTMENT_NAMES.get(node_type, f"type {node_type}"),
        "x": _with_gaps(xyz[:, 0], gaps),
        "y": _with_gaps(xyz[:, 1], gaps),
        "z": _with_gaps(xyz[:, 2], gaps),
        "line": {"color": COLOURS.get(node_type, OTHER_COLOUR), "width": 2},
        "hoverinfo": "name",
    }


def _soma_trace(m: Morphology) -> dict:
    soma = m.soma_index
    x, y, z = np.round(m.xyz[soma], 1).tolist()
    radius = round(float(m.radius[soma]), 2)
    return {
        "type": "scatter3d",
        "mode": "markers",
        "name": "soma",
        "x": [x],
        "y": [y],
        "z": [z],
        "marker": {"color": COLOURS[SOMA], "size": 8},
        "text": [f"soma, r = {radius} µm"],
        "hoverinfo": "text",
    }


def _marker_traces(markers: Iterable[Marker]) -> list[dict]:
    by_name: dict[int, list[Marker]] = {}
    for marker in markers:
        by_name.setdefault(marker.name, []).append(marker)
    traces = []
    for name, group in sorted(by_name.items()):
        traces.append(
            {
                "type": "scatter3d",
                "mode": "markers",
                "name": group[0].kind,
                "x": [round(g.x, 1) for g in group],
                "y": [round(g.y, 1) for g in group],
                "z": [round(g.z, 1) for g in group],
                "marker": {"color": MARKER_COLOURS.get(name, OTHER_COLOUR), "size": 4, "symbol": "diamond"},
                "hoverinfo": "name",
            }
        )
    return traces


def morphology_plot_payload(m: Morphology, markers: Sequence[Marker] = ()) -> dict:
    """A plotly figure dict: one line trace per compartment type, the soma, and the markers.

    Coordinates are rounded to 0.1 µm and polylines are separated by ``None``, which keeps the JSON of
    a 10,000-node reconstruction near 300 KB. The camera looks down z with y pointing down, as in the
    Allen image stacks.
    """
    traces = [t for t in (_line_trace(m, node_type) for node_type in _line_types(m)) if t]
    traces.append(_soma_trace(m))
    traces.extend(_marker_traces(markers))
    axis = {"showbackground": False, "zeroline": False}
    layout = {
        "scene": {
            "aspectmode": "data",
            "xaxis": {**axis, "title": {"text": "x (µm)"}},
            "yaxis": {**axis, "title": {"text": "y (µm)"}},
            "zaxis": {**axis, "title": {"text": "z (µm)"}},
            "camera": {"up": {"x": 0, "y": -1, "z": 0}, "eye": {"x": 0, "y": 0, "z": -2}},
        },
        "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
        "legend": {"x": 0, "y": 1, "itemsizing": "constant"},
        "uirevision": "morphology",
    }
    return {"data": traces, "layout": layout}


class _Frame:
    """Maps one plane of a morphology into a width × height picture, keeping the aspect ratio."""

    def __init__(self, m: Morphology, plane: str, width: int, height: int, margin: float) -> None:
        if plane not in PLANES:
            raise ValueError(f"plane must be one of {sorted(PLANES)}, not {plane!r}")
        if width < 1 or height < 1:
            raise ValueError("width and height must be positive")
        self.h_axis, self.v_axis = PLANES[plane]
        self.width, self.height = width, height
        points = m.xyz[:, (self.h_axis, self.v_axis)]
        low, high = points.min(axis=0), points.max(axis=0)
        span = np.maximum(high - low, 1e-9)
        self.scale = float(min((width - 2 * margin) / span[0], (height - 2 * margin) / span[1]))
        self.offset = np.array([width, height]) / 2 - self.scale * (low + high) / 2

    def __call__(self, xyz: NDArray[np.float64]) -> NDArray[np.float64]:
        return xyz[..., (self.h_axis, self.v_axis)] * self.scale + self.offset

    def soma_radius(self, m: Morphology, least: float) -> float:
        """The soma's radius in pixels, at least ``least`` and at most width + height (the soma lies inside the
        picture, so a larger disc covers it all: an absurd radius such as 1e200 µm draws a filled picture)."""
        radius = max(float(m.radius[m.soma_index]) * self.scale, least)
        return min(radius, float(self.width + self.height))


def _svg_path(points: NDArray[np.float64], gaps: NDArray[np.bool_]) -> str:
    parts = []
    move = True
    for (px, py), gap in zip(np.round(points, 1).tolist(), gaps.tolist(), strict=True):
        if gap:
            move = True
            continue
        parts.append(f"{'M' if move else 'L'}{px:g} {py:g}")
        move = False
    return "".join(parts)


def render_projection_svg(
    m: Morphology, plane: str = "xy", width: int = 300, height: int = 300, line_width: float = 1.0
) -> str:
    """An SVG thumbnail of the projection of ``m`` onto ``plane`` (see :data:`PLANES`)."""
    frame = _Frame(m, plane, width, height, margin=4)
    body = []
    for node_type in _line_types(m):
        index = polyline_indices(m, node_type)
        if len(index):
            d = _svg_path(frame(m.xyz[index]), index < 0)
            colour = COLOURS.get(node_type, OTHER_COLOUR)
            body.append(f'<path d="{d}" stroke="{colour}" />')
    cx, cy = frame(m.xyz[m.soma_index]).tolist()
    r = frame.soma_radius(m, least=1.5)
    body.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="{COLOURS[SOMA]}" />')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><g fill="none" stroke-width="{line_width:g}" '
        f'stroke-linecap="round" stroke-linejoin="round">{"".join(body)}</g></svg>'
    )


def _rgb(colour: str) -> NDArray[np.uint8]:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)


def _raster_lines(canvas: NDArray[np.uint8], points: NDArray[np.float64], gaps: NDArray[np.bool_], rgb) -> None:
    """Draw the polyline segments (consecutive non-gap points) 2 px thick into ``canvas``."""
    ok = ~gaps[:-1] & ~gaps[1:]
    a, b = points[:-1][ok], points[1:][ok]
    steps = np.ceil(np.max(np.abs(b - a), axis=1)).astype(np.int64) + 1
    seg = np.repeat(np.arange(len(a)), steps)
    t = (np.arange(len(seg)) - np.repeat(np.cumsum(steps) - steps, steps)) / np.repeat(np.maximum(steps - 1, 1), steps)
    xy = a[seg] + (b[seg] - a[seg]) * t[:, None]
    px = np.floor(xy).astype(np.int64)
    h, w = canvas.shape[:2]
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        x, y = px[:, 0] + dx, px[:, 1] + dy
        inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
        canvas[y[inside], x[inside]] = rgb


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(rgb: NDArray[np.uint8]) -> bytes:
    """Encode an (h, w, 3) uint8 array as an 8-bit RGB PNG."""
    h, w = rgb.shape[:2]
    raw = np.zeros((h, w * 3 + 1), dtype=np.uint8)  # filter byte 0 (None) per row
    raw[:, 1:] = rgb.reshape(h, w * 3)
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(raw.tobytes(), 6))
        + _png_chunk(b"IEND", b"")
    )


def render_projection_png(m: Morphology, plane: str = "xy", width: int = 300, height: int = 300) -> bytes:
    """A PNG thumbnail of the projection of ``m`` onto ``plane``; drawn at 2× and box-filtered."""
    ss = 2
    frame = _Frame(m, plane, width * ss, height * ss, margin=4 * ss)
    canvas = np.full((height * ss, width * ss, 3), 255, dtype=np.uint8)
    for node_type in _line_types(m):
        index = polyline_indices(m, node_type)
        if len(index) > 1:
            _raster_lines(canvas, frame(m.xyz[index]), index < 0, _rgb(COLOURS.get(node_type, OTHER_COLOUR)))
    cx, cy = frame(m.xyz[m.soma_index])
    r = frame.soma_radius(m, least=1.5 * ss)
    x0, y0 = max(int(cx - r), 0), max(int(cy - r), 0)
    x1, y1 = min(int(cx + r) + 2, width * ss), min(int(cy + r) + 2, height * ss)
    yy, xx = np.ogrid[y0 : max(y1, y0), x0 : max(x1, x0)]
    disc = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    canvas[y0 : y0 + disc.shape[0], x0 : x0 + disc.shape[1]][disc] = _rgb(COLOURS[SOMA])
    total = np.zeros((height, width, 3), dtype=np.uint16)
    for dy in range(ss):
        for dx in range(ss):
            total += canvas[dy::ss, dx::ss]
    return encode_png(((total + ss * ss // 2) // (ss * ss)).astype(np.uint8))
