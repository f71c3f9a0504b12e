"""The plotly payload and the SVG/PNG thumbnails, on real demo reconstructions."""

from __future__ import annotations

import json
import struct
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import numpy as np
import pytest

from celltypes.science.morphology_views import (
    COLOURS,
    encode_png,
    morphology_plot_payload,
    polyline_indices,
    render_projection_png,
    render_projection_svg,
)
from celltypes.science.swc import Marker, parse_swc, read_marker_file, read_swc, synthetic_morphology

DEMO = Path(__file__).resolve().parents[3] / "celltypes" / "atlas" / "demo_data"
LARGEST = DEMO / "bmtk/examples/bio_nsg/bio_450cells/components/morphologies/485184849_reconstruction.swc"
BUNDLE = DEMO / "bmtk/examples/bio_all_active_sweep/models/neuronal_model_491766131"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def largest():
    return read_swc(LARGEST)


@pytest.fixture(scope="module")
def bundle():
    return read_swc(BUNDLE / "reconstruction.swc"), read_marker_file(BUNDLE / "reconstruction.marker")


def _compact_json(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _segments(index: np.ndarray) -> set[tuple[int, int]]:
    a, b = index[:-1], index[1:]
    ok = (a >= 0) & (b >= 0)
    return set(zip(a[ok].tolist(), b[ok].tolist(), strict=True))


@pytest.mark.parametrize("node_type", [2, 3, 4])
def test_polylines_draw_every_compartment_exactly_once(bundle, node_type):
    m = bundle[0]
    index = polyline_indices(m, node_type)
    children = np.flatnonzero((m.types == node_type) & (m.parent >= 0))
    expected = set(zip(m.parent[children].tolist(), children.tolist(), strict=True))
    pairs = list(zip(index[:-1].tolist(), index[1:].tolist(), strict=True))
    drawn = [p for p in pairs if min(p) >= 0]
    assert len(drawn) == len(expected)
    assert set(drawn) == expected
    assert index[0] >= 0 and index[-1] >= 0


def test_polylines_of_a_type_that_is_absent_are_empty(largest):
    assert len(polyline_indices(largest, 4)) == 0


def test_payload_has_one_trace_per_compartment_type_soma_and_markers(bundle):
    m, markers = bundle
    payload = morphology_plot_payload(m, markers)
    names = [t["name"] for t in payload["data"]]
    assert names == [
        "axon",
        "basal dendrite",
        "apical dendrite",
        "soma",
        "cut dendrite",
        "no reconstruction",
        "marker 30",
    ]
    by_name = {t["name"]: t for t in payload["data"]}
    colours = [by_name[n]["line"]["color"] for n in ("axon", "basal dendrite", "apical dendrite")]
    assert len(set(colours + [by_name["soma"]["marker"]["color"]])) == 4
    assert by_name["soma"]["marker"]["color"] == COLOURS[1] == "#000000"
    assert by_name["soma"]["x"] == [357.5] and by_name["soma"]["z"] == [27.0]
    assert len(by_name["cut dendrite"]["x"]) == 15
    assert all(t["type"] == "scatter3d" for t in payload["data"])
    assert payload["layout"]["scene"]["aspectmode"] == "data"


def test_payload_lines_use_none_separators_and_tenth_micron_coordinates(bundle):
    m, _ = bundle
    trace = morphology_plot_payload(m)["data"][1]
    index = polyline_indices(m, 3)
    assert trace["mode"] == "lines"
    assert len(trace["x"]) == len(index)
    assert [v is None for v in trace["x"]] == (index < 0).tolist()
    values = np.array([v for v in trace["x"] + trace["y"] + trace["z"] if v is not None])
    np.testing.assert_allclose(values * 10, np.round(values * 10), atol=1e-6)
    first = int(index[0])
    assert (trace["x"][0], trace["y"][0], trace["z"][0]) == tuple(np.round(m.xyz[first], 1).tolist())


def test_payload_json_of_the_largest_demo_swc_is_under_600_kb(largest):
    assert len(largest) == 10671
    payload = morphology_plot_payload(largest)
    assert len(_compact_json(payload)) < 600_000
    assert len(json.dumps(payload).encode()) < 600_000  # even with default separators


def test_payload_json_of_a_30000_node_tree_is_under_1_5_mb():
    m = synthetic_morphology(30_000, seed=1)
    assert len(_compact_json(morphology_plot_payload(m))) < 1_500_000


def test_payload_marker_points_keep_their_coordinates():
    m = parse_swc("1 1 0 0 0 5 -1\n2 3 10 0 0 1 1\n")
    marker = Marker(x=1.04, y=2.0, z=3.0, radius=0.0, shape=1, name=10)
    trace = morphology_plot_payload(m, [marker])["data"][-1]
    assert (trace["name"], trace["x"], trace["y"], trace["z"], trace["mode"]) == (
        "cut dendrite",
        [1.0],
        [2.0],
        [3.0],
        "markers",
    )


@pytest.mark.parametrize("plane", ["xy", "yz", "xz"])
def test_svg_projection_is_well_formed(bundle, plane):
    svg = render_projection_svg(bundle[0], plane=plane, width=240, height=180)
    root = ET.fromstring(svg)
    assert (root.get("width"), root.get("height")) == ("240", "180")
    paths = root.findall(f".//{SVG}path")
    assert [p.get("stroke") for p in paths] == [COLOURS[2], COLOURS[3], COLOURS[4]]
    coords = np.array([float(v) for p in paths for v in p.get("d").replace("M", " ").replace("L", " ").split()])
    assert coords.min() >= 0 and coords.max() <= 240
    assert root.find(f".//{SVG}circle").get("fill") == "#000000"


def test_svg_xy_keeps_the_aspect_ratio_of_the_cell(bundle):
    m = bundle[0]
    root = ET.fromstring(render_projection_svg(m, "xy", 400, 400))
    xs, ys = [], []
    for p in root.findall(f".//{SVG}path"):
        values = [float(v) for v in p.get("d").replace("M", " ").replace("L", " ").split()]
        xs += values[0::2]
        ys += values[1::2]
    span = np.ptp(m.xyz[:, :2], axis=0)
    assert (max(xs) - min(xs)) / (max(ys) - min(ys)) == pytest.approx(span[0] / span[1], rel=0.01)


def _decode_png(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, size = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body)
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
            assert body[8:10] == b"\x08\x02"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    w, h = size
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, w * 3 + 1)
    assert not raw[:, 0].any()
    return raw[:, 1:].reshape(h, w, 3)


def test_encode_png_round_trips_pixels():
    pixels = np.random.default_rng(0).integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(_decode_png(encode_png(pixels)), pixels)


@pytest.mark.parametrize("plane", ["xy", "yz"])
def test_png_projection_draws_the_cell(bundle, plane):
    m = bundle[0]
    pixels = _decode_png(render_projection_png(m, plane=plane, width=200, height=160))
    assert pixels.shape == (160, 200, 3)
    drawn = (pixels < 250).any(axis=2)
    assert 0.01 < drawn.mean() < 0.5
    assert pixels[0].min() == 255 and pixels[:, 0].min() == 255  # a white margin
    apical = np.all(np.abs(pixels.astype(int) - [0xE3, 0x77, 0xC2]) < 8, axis=2)
    assert apical.sum() > 50


def test_png_soma_is_black_at_its_projected_position():
    m = parse_swc("1 1 0 0 0 5 -1\n2 3 0 100 0 1 1\n3 3 100 100 0 1 2\n")
    pixels = _decode_png(render_projection_png(m, "xy", 108, 108))
    assert pixels[4:7, 4:7].max() < 40  # soma at the top-left corner (y runs down)
    assert tuple(pixels[104, 54]) != (255, 255, 255)  # the basal line along y = 100


def test_projection_rejects_an_unknown_plane(bundle):
    with pytest.raises(ValueError, match="plane"):
        render_projection_svg(bundle[0], plane="xw")
    with pytest.raises(ValueError, match="plane"):
        render_projection_png(bundle[0], plane="q")


@pytest.mark.parametrize("soma_radius", ["1e200", "1e6"])
def test_a_soma_larger_than_the_picture_fills_it(soma_radius):
    # Drawing used to build a (2r)² grid: a ValueError at 1e200 µm, a memory bomb at 1e6 µm.
    text = (BUNDLE / "reconstruction.swc").read_text()
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.split() and line.split()[1] == "1")
    cells = lines[first].split()
    lines[first] = " ".join([*cells[:5], soma_radius, cells[6]])
    m = parse_swc("\n".join(lines))
    pixels = _decode_png(render_projection_png(m, "xy", 60, 50))
    assert pixels.shape == (50, 60, 3) and pixels.max() < 40  # all soma (black)
    circle = ET.fromstring(render_projection_svg(m, "xy", 60, 50)).find(f"{SVG}g/{SVG}circle")
    assert float(circle.get("r")) <= 2 * (60 + 50)
