"""SWC reconstructions and Allen marker files, read into plain numpy arrays.

An SWC line is ``id type x y z radius parent_id`` (parent ``-1`` for a root). Allen's files are space
separated with ``#`` comments; the reader also takes tabs, runs of spaces, CRLF, blank lines, trailing
``#`` comments and scientific notation. Ids, types and parents must be whole numbers within ±2^53, radii
zero or more. Broken input raises :class:`InvalidFileError` naming the line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
from numpy.typing import NDArray

from .errors import InvalidFileError

SOMA = 1
AXON = 2
BASAL_DENDRITE = 3
APICAL_DENDRITE = 4
DENDRITE_TYPES = (BASAL_DENDRITE, APICAL_DENDRITE)
COMPARTMENT_NAMES = {
    SOMA: "soma",
    AXON: "axon",
    BASAL_DENDRITE: "basal dendrite",
    APICAL_DENDRITE: "apical dendrite",
}

CUT_DENDRITE = 10
NO_RECONSTRUCTION = 20
MARKER_NAMES = {CUT_DENDRITE: "cut dendrite", NO_RECONSTRUCTION: "no reconstruction"}
# Allen's marker coordinates are one image voxel (x, y, z spacing in µm) off the SWC frame (AllenSDK Marker).
MARKER_VOXEL_OFFSET = (0.1144, 0.1144, 0.28)

_SWC_COLUMNS = 7
_WHOLE_COLUMNS = [0, 1, 6]  # id, type, parent
# Values are parsed as float64, which holds every integer below 2^53 exactly and no more: a larger id or
# parent would be rounded to another node's id, or overflow int64 into a negative number (a false root).
_EXACT_INTEGER_LIMIT = 2.0**53
_MARKER_COLUMNS = ("x", "y", "z", "radius", "shape", "name", "comment", "color_r", "color_g", "color_b")

PathOrText = str | os.PathLike[str]


def _frozen(array: NDArray) -> NDArray:
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class Morphology:
    """A reconstruction as arrays, one entry per node, parents always before their children.

    ``parent`` holds the *index* of each node's parent (``-1`` for a root); ``ids`` keeps the SWC ids.
    Nodes are in file order when the file lists parents first (Allen's files do), otherwise in a stable
    topological order.
    """

    ids: NDArray[np.int64]
    types: NDArray[np.int64]
    xyz: NDArray[np.float64]
    radius: NDArray[np.float64]
    parent: NDArray[np.int64]
    path: str | None = None
    comments: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        n = len(self.ids)
        if self.xyz.shape != (n, 3) or not len(self.types) == len(self.radius) == len(self.parent) == n:
            raise ValueError("ids, types, radius and parent need n entries and xyz shape (n, 3)")
        if np.any(self.parent >= np.arange(n)) or np.any(self.parent < -1):
            raise ValueError("parent must hold -1 or the index of an earlier node")
        if not np.any(self.types == SOMA):
            raise ValueError("a morphology needs a soma node (type 1)")
        for name in ("ids", "types", "xyz", "radius", "parent"):
            _frozen(getattr(self, name))  # the arrays are shared, not copied: they become read-only

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def x(self) -> NDArray[np.float64]:
        return self.xyz[:, 0]

    @property
    def y(self) -> NDArray[np.float64]:
        return self.xyz[:, 1]

    @property
    def z(self) -> NDArray[np.float64]:
        return self.xyz[:, 2]

    @property
    def soma_index(self) -> int:
        """Index of the reference soma node: the first root of type 1, else the first type-1 node."""
        soma = np.flatnonzero(self.types == SOMA)
        roots = soma[self.parent[soma] < 0]
        return int(roots[0] if len(roots) else soma[0])


@dataclass(frozen=True)
class Marker:
    """One row of an Allen reconstruction marker file, in the SWC frame (see MARKER_VOXEL_OFFSET)."""

    x: float
    y: float
    z: float
    radius: float
    shape: int
    name: int
    comment: str = ""
    color: tuple[int, int, int] = (0, 0, 0)

    @property
    def kind(self) -> str:
        """'cut dendrite' (10), 'no reconstruction' (20), or 'marker N' for other codes."""
        return MARKER_NAMES.get(self.name, f"marker {self.name}")


def _source(path_or_text: PathOrText | IO[str] | IO[bytes]) -> tuple[str, str]:
    """Return (text, path label) for a path, an open text file, or SWC/CSV text itself."""
    if hasattr(path_or_text, "read"):
        text = path_or_text.read()
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        return text, str(getattr(path_or_text, "name", "<stream>"))
    if isinstance(path_or_text, os.PathLike) or ("\n" not in path_or_text and "\r" not in path_or_text):
        path = Path(path_or_text)
        try:
            return path.read_text(encoding="utf-8-sig", errors="replace"), str(path)
        except OSError as exc:
            raise InvalidFileError(str(path), f"cannot read file: {exc.strerror or exc}") from exc
    return path_or_text, "<text>"


def _data_lines(text: str) -> tuple[list[int], list[str], list[str]]:
    """Split text into (1-based line numbers, data parts, leading comment lines)."""
    numbers: list[int] = []
    rows: list[str] = []
    comments: list[str] = []
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        data, hash_, comment = line.partition("#")
        data = data.strip()
        if data:
            numbers.append(number)
            rows.append(data)
        elif hash_ and not rows:
            comments.append(comment.strip())
    return numbers, rows, comments


def _swc_table(path: str, numbers: list[int], rows: list[str]) -> NDArray[np.float64]:
    tokens = [row.split() for row in rows]
    for number, row in zip(numbers, tokens, strict=True):
        if len(row) != _SWC_COLUMNS:
            raise InvalidFileError(
                path,
                f"expected {_SWC_COLUMNS} columns (id type x y z radius parent), got {len(row)}",
                f"line {number}",
            )
    try:
        table = np.array(tokens, dtype=np.float64).reshape(-1, _SWC_COLUMNS)
    except ValueError:
        for number, row in zip(numbers, tokens, strict=True):
            for value in row:
                try:
                    float(value)
                except ValueError:
                    raise InvalidFileError(path, f"not a number: {value!r}", f"line {number}") from None
        raise
    checks = (
        (~np.isfinite(table).all(axis=1), "id, type and parent must be whole numbers, coordinates finite"),
        (
            (table[:, _WHOLE_COLUMNS] != np.round(table[:, _WHOLE_COLUMNS])).any(axis=1),
            "id, type and parent must be whole numbers, coordinates finite",
        ),
        (
            (np.abs(table[:, _WHOLE_COLUMNS]) >= _EXACT_INTEGER_LIMIT).any(axis=1),
            "id, type and parent must lie within ±2^53 (a larger number cannot be read exactly)",
        ),
        (table[:, 5] < 0, "negative radius"),
    )
    failures = [(int(np.argmax(bad)), message) for bad, message in checks if bad.any()]
    if failures:
        row, message = min(failures, key=lambda failure: failure[0])  # the first bad line
        raise InvalidFileError(path, message, f"line {numbers[row]}")
    return table


def _parent_indices(path: str, numbers: list[int], ids: NDArray[np.int64], parent_ids: NDArray[np.int64]) -> NDArray:
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    dup = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
    if len(dup):
        rows = order[dup + 1]
        row = int(rows.min())
        raise InvalidFileError(path, f"duplicate node id {ids[row]}", f"line {numbers[row]}")
    is_root = parent_ids < 0
    pos = np.clip(np.searchsorted(sorted_ids, parent_ids), 0, len(ids) - 1)
    found = sorted_ids[pos] == parent_ids
    missing = ~is_root & ~found
    if missing.any():
        row = int(np.argmax(missing))
        raise InvalidFileError(path, f"parent id {parent_ids[row]} does not exist", f"line {numbers[row]}")
    return np.where(is_root, -1, order[pos])


def _topological_order(path: str, numbers: list[int], parent: NDArray[np.int64]) -> NDArray[np.int64] | None:
    """None when parents already come first; else a stable parents-first order. Raises on a cycle."""
    n = len(parent)
    if np.all(parent < np.arange(n)):
        return None
    children: list[list[int]] = [[] for _ in range(n)]
    for child, p in enumerate(parent.tolist()):
        if p >= 0:
            children[p].append(child)
    order: list[int] = []
    stack = [int(r) for r in np.flatnonzero(parent < 0)[::-1]]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(reversed(children[node]))
    if len(order) < n:
        seen = np.zeros(n, dtype=bool)
        seen[order] = True
        node = int(np.argmin(seen))
        path_nodes: list[int] = []
        while node not in path_nodes:
            path_nodes.append(node)
            node = int(parent[node])
        cycle = path_nodes[path_nodes.index(node) :]
        row = min(cycle)
        raise InvalidFileError(path, f"node is part of a parent cycle ({len(cycle)} nodes)", f"line {numbers[row]}")
    return np.asarray(order, dtype=np.int64)


def parse_swc(text: str, path: str = "<text>") -> Morphology:
    """Parse SWC text into a :class:`Morphology`; ``path`` only labels errors."""
    numbers, rows, comments = _data_lines(text)
    if not rows:
        raise InvalidFileError(path, "no SWC nodes found")
    table = _swc_table(path, numbers, rows)
    ids = table[:, 0].astype(np.int64)
    types = table[:, 1].astype(np.int64)
    parent = _parent_indices(path, numbers, ids, table[:, 6].astype(np.int64))
    if not np.any(types == SOMA):
        raise InvalidFileError(path, "no soma node (type 1)")
    order = _topological_order(path, numbers, parent)
    xyz = np.ascontiguousarray(table[:, 2:5])
    radius = table[:, 5].copy()
    if order is not None:
        new_index = np.empty_like(order)
        new_index[order] = np.arange(len(order))
        ids, types, xyz, radius = ids[order], types[order], xyz[order], radius[order]
        old_parent = parent[order]
        parent = np.where(old_parent < 0, -1, new_index[old_parent])
    return Morphology(ids=ids, types=types, xyz=xyz, radius=radius, parent=parent, path=path, comments=tuple(comments))


def read_swc(path_or_text: PathOrText | IO[str] | IO[bytes]) -> Morphology:
    """Read an SWC file: a path, an open file, or SWC text (a string is text if it holds a newline)."""
    text, path = _source(path_or_text)
    return parse_swc(text, path=path)


def write_swc(morphology: Morphology, destination: PathOrText | IO[str] | None = None) -> str:
    """Write ``morphology`` as SWC text (returned, and written to ``destination`` if given)."""
    parent_ids = np.where(morphology.parent < 0, -1, morphology.ids[morphology.parent])
    lines = [f"# {c}" if c else "#" for c in morphology.comments]
    lines.append("# id type x y z radius parent")
    for i, t, (x, y, z), r, p in zip(
        morphology.ids.tolist(),
        morphology.types.tolist(),
        morphology.xyz.tolist(),
        morphology.radius.tolist(),
        parent_ids.tolist(),
        strict=True,
    ):
        lines.append(f"{i} {t} {x!r} {y!r} {z!r} {r!r} {p}")
    text = "\n".join(lines) + "\n"
    if destination is not None:
        if hasattr(destination, "write"):
            destination.write(text)
        else:
            Path(destination).write_text(text, encoding="utf-8")
    return text


def _marker_row(path: str, number: int, cells: list[str]) -> Marker:
    if len(cells) < 6 or len(cells) > len(_MARKER_COLUMNS):
        raise InvalidFileError(
            path,
            f"expected {len(_MARKER_COLUMNS)} comma-separated columns ({','.join(_MARKER_COLUMNS)})",
            f"line {number}",
        )
    cells = [c.strip() for c in cells] + [""] * (len(_MARKER_COLUMNS) - len(cells))
    try:
        x, y, z, radius = (float(c) for c in cells[:4])
        shape, name = int(float(cells[4] or 0)), int(float(cells[5]))
        color = tuple(int(float(c)) if c else 0 for c in cells[7:10])
    except ValueError:
        raise InvalidFileError(path, "marker values must be numbers (except the comment)", f"line {number}") from None
    if not all(np.isfinite((x, y, z, radius))):
        raise InvalidFileError(path, "marker coordinates must be finite", f"line {number}")
    dx, dy, dz = MARKER_VOXEL_OFFSET
    return Marker(x - dx, y - dy, z - dz, radius, shape, name, cells[6], color)  # type: ignore[arg-type]


def parse_marker_file(text: str, path: str = "<text>") -> list[Marker]:
    """Parse Allen marker CSV text (``#`` lines skipped) into :class:`Marker` rows."""
    markers = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            markers.append(_marker_row(path, number, stripped.split(",")))
    return markers


def read_marker_file(path_or_text: PathOrText | IO[str] | IO[bytes]) -> list[Marker]:
    """Read an Allen marker file (``reconstruction.marker`` or OSB's ``*_marker_m.swc``)."""
    text, path = _source(path_or_text)
    return parse_marker_file(text, path=path)


def markers_of_kind(markers: Iterable[Marker], name: int) -> list[Marker]:
    return [m for m in markers if m.name == name]


def synthetic_morphology(n_nodes: int, seed: int = 0, stems: int = 7) -> Morphology:
    """A random but plausible tree (soma, axon, basal and apical dendrites) for load and size tests.

    Sections of 10-60 nodes, about 1.5 µm apart, grow in persistent directions from the soma (the
    first ``stems`` sections: one axon, one apical, the rest basal), then from random existing nodes.
    """
    rng = np.random.default_rng(seed)
    xyz = np.zeros((n_nodes, 3))
    types = np.full(n_nodes, SOMA, dtype=np.int64)
    parent = np.full(n_nodes, -1, dtype=np.int64)
    radius = np.full(n_nodes, 6.0)
    count, section = 1, 0
    while count < n_nodes:
        size = int(min(rng.integers(10, 61), n_nodes - count))
        if section < stems:
            start, kind = 0, (AXON, APICAL_DENDRITE)[section] if section < 2 else BASAL_DENDRITE
        else:
            start = int(rng.integers(1, count))
            kind = int(types[start])
        direction = rng.normal(size=3) - (0.0, 1.5 if kind == APICAL_DENDRITE else 0.0, 0.0)
        steps = 1.5 * direction / np.linalg.norm(direction) + rng.normal(scale=0.5, size=(size, 3))
        block = slice(count, count + size)
        xyz[block] = xyz[start] + np.cumsum(steps, axis=0)
        types[block] = kind
        parent[block] = np.r_[start, np.arange(count, count + size - 1)]
        radius[block] = np.linspace(1.0, 0.2, size)
        count += size
        section += 1
    return Morphology(
        ids=np.arange(1, n_nodes + 1, dtype=np.int64),
        types=types,
        xyz=xyz,
        radius=radius,
        parent=parent,
        path=f"<synthetic {n_nodes} nodes, seed {seed}>",
    )
