"""Allen's NeuronReconstruction features, computed from a :class:`~celltypes.science.swc.Morphology`.

Definitions follow Allen's published values (see shared docs "morphology-features"): only dendrite nodes
(basal 3 + apical 4) count; the soma node's centre is the reference point; the compartment from the soma
to the first node of each stem is left out of every length, path, surface and volume. A *section* runs
from a stem node, or a child of a branch point, down to the next branch point or tip; *initial* sections
start at a stem node.

Every feature is a small function of a Morphology registered in :data:`FEATURES` under Allen's column
name. Results are built-in ``int``/``float``; ``nan`` means "not measurable" (e.g. no bifurcation).
All tree walks are vectorised with pointer jumping, so the cost is O(n log depth) numpy work.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from .swc import DENDRITE_TYPES, SOMA, Morphology
from .values import finite_or_none

FeatureValue = int | float | None
Feature = Callable[[Morphology], int | float]

FEATURES: dict[str, Feature] = {}
FEATURE_LABELS: dict[str, tuple[str, str]] = {}  # name -> (label, unit), in registration (display) order

_SCALED = (
    "Allen published this with every radius multiplied by |cos 2θ|^(1/3), θ being the upright angle "
    "(a sign error in a rotation determinant), so the published value is smaller. "
)
_UPRIGHT = "Allen measures this after rotating the cell upright about z, by an angle the SWC does not carry. "

UNREPRODUCIBLE: dict[str, str] = {
    "overall_width": _UPRIGHT + "This is the x extent in the SWC frame.",
    "overall_height": _UPRIGHT + "This is the y extent in the SWC frame.",
    "average_diameter": _SCALED + "This is 2 × the mean dendrite radius of the SWC.",
    "soma_surface": _SCALED + "This is 4πr² with the SWC soma radius.",
    "total_surface": _SCALED + "This is Σ π (r_parent + r_child) L with the SWC radii.",
    "total_volume": _SCALED.replace("smaller. ", "smaller; its sum also lacks a factor r_parent in the Δr term. ")
    + "This is the frustum volume with the SWC radii.",
}


def feature(label: str, unit: str = "") -> Callable[[Feature], Feature]:
    """Register the decorated function in :data:`FEATURES` under its own name (an Allen column name), with the
    label and unit every page, table and API prints for it (:data:`FEATURE_LABELS`)."""

    def register(fn: Feature) -> Feature:
        FEATURES[fn.__name__] = fn
        FEATURE_LABELS[fn.__name__] = (label, unit)
        return fn

    return register


def _follow(pointer: NDArray[np.int64]) -> NDArray[np.int64]:
    """Pointer jumping: follow ``pointer`` until every node reaches a fixed point (pointer[i] == i)."""
    while True:
        jumped = pointer[pointer]
        if np.array_equal(jumped, pointer):
            return pointer
        pointer = jumped


def _accumulate(parent: NDArray[np.int64], values: NDArray) -> NDArray:
    """Sum of ``values`` over each node and all its ancestors (``parent`` -1 at roots)."""
    total = values.astype(np.float64, copy=True)
    ancestor = parent.copy()
    has = ancestor >= 0
    while has.any():
        idx = np.flatnonzero(has)
        up = ancestor[idx]
        total[idx] += total[up]
        ancestor[idx] = ancestor[up]
        has[idx] = ancestor[idx] >= 0
    return total


def _angles_deg(u: NDArray[np.float64], v: NDArray[np.float64]) -> NDArray[np.float64]:
    cross = np.linalg.norm(np.cross(u, v), axis=1)
    return np.degrees(np.arctan2(cross, np.einsum("ij,ij->i", u, v)))


@dataclass(eq=False)
class DendriteTree:
    """The dendrite-only forest of a morphology, with sections; computed once per Morphology."""

    xyz: NDArray[np.float64]
    radius: NDArray[np.float64]
    parent: NDArray[np.int64]  # dendrite parent index, -1 at a section-initial (stem) node
    soma: NDArray[np.float64]
    soma_radius: float
    number_stems: int

    @classmethod
    def of(cls, m: Morphology) -> DendriteTree:
        dendrite = np.isin(m.types, DENDRITE_TYPES)
        index = np.flatnonzero(dendrite)
        new_index = np.full(len(m) + 1, -1, dtype=np.int64)  # slot -1 maps roots to -1
        new_index[index] = np.arange(len(index))
        old_parent = m.parent[index]
        parent = new_index[old_parent]
        stems = (old_parent >= 0) & (m.types[np.maximum(old_parent, 0)] == SOMA)
        soma = m.soma_index
        return cls(m.xyz[index], m.radius[index], parent, m.xyz[soma], float(m.radius[soma]), int(stems.sum()))

    def __len__(self) -> int:
        return len(self.parent)

    @cached_property
    def children(self) -> NDArray[np.int64]:
        """Number of dendrite children of each node."""
        return np.bincount(self.parent[self.parent >= 0], minlength=len(self))

    @cached_property
    def segment_length(self) -> NDArray[np.float64]:
        """Length of the compartment to the parent; 0 for stem nodes (soma compartment left out)."""
        has = self.parent >= 0
        length = np.zeros(len(self))
        length[has] = np.linalg.norm(self.xyz[has] - self.xyz[self.parent[has]], axis=1)
        return length

    @cached_property
    def section_start(self) -> NDArray[np.bool_]:
        return (self.parent < 0) | ((self.parent >= 0) & (self.children[np.maximum(self.parent, 0)] >= 2))

    @cached_property
    def section_of(self) -> NDArray[np.int64]:
        """Section number of each node (sections numbered in order of their first node)."""
        start = self.section_start
        pointer = np.where(start, np.arange(len(self)), self.parent)
        first = _follow(pointer)
        numbering = np.cumsum(start) - 1
        return numbering[first]

    @cached_property
    def starts(self) -> NDArray[np.int64]:
        return np.flatnonzero(self.section_start)

    @cached_property
    def ends(self) -> NDArray[np.int64]:
        """Last node (tip or branch point) of each section."""
        last = np.flatnonzero(self.children != 1)
        ends = np.empty(len(self.starts), dtype=np.int64)
        ends[self.section_of[last]] = last
        return ends

    @cached_property
    def initial(self) -> NDArray[np.bool_]:
        return self.parent[self.starts] < 0

    @cached_property
    def section_parent(self) -> NDArray[np.int64]:
        """Index of the parent section (-1 for initial sections)."""
        up = self.parent[self.starts]
        return np.where(up < 0, -1, self.section_of[np.maximum(up, 0)])

    @cached_property
    def section_length(self) -> NDArray[np.float64]:
        """Path length of each section, including the compartment from its branch point."""
        return np.bincount(self.section_of, self.segment_length, minlength=len(self.starts))

    @cached_property
    def section_nodes(self) -> NDArray[np.int64]:
        return np.bincount(self.section_of, minlength=len(self.starts))

    @cached_property
    def branch_points(self) -> NDArray[np.int64]:
        return np.flatnonzero(self.children >= 2)

    @cached_property
    def bifurcations(self) -> NDArray[np.int64]:
        """Branch points with exactly two dendrite children."""
        return np.flatnonzero(self.children == 2)

    def daughter_starts(self, points: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """First and second daughter nodes of each of ``points`` (bifurcations)."""
        daughters = np.flatnonzero(np.isin(self.parent, points) & (self.parent >= 0))
        daughters = daughters[np.argsort(self.parent[daughters], kind="stable")]
        return daughters[0::2], daughters[1::2]


_TREES: weakref.WeakKeyDictionary[Morphology, DendriteTree] = weakref.WeakKeyDictionary()


def dendrite_tree(m: Morphology) -> DendriteTree:
    """The (cached) :class:`DendriteTree` of ``m``."""
    tree = _TREES.get(m)
    if tree is None:
        tree = _TREES[m] = DendriteTree.of(m)
    return tree


@feature("Nodes")
def number_nodes(m: Morphology) -> int:
    """Number of dendrite nodes."""
    return len(dendrite_tree(m))


@feature("Tips")
def number_tips(m: Morphology) -> int:
    """Dendrite nodes with no dendrite child."""
    return int(np.count_nonzero(dendrite_tree(m).children == 0))


@feature("Stems")
def number_stems(m: Morphology) -> int:
    """Dendrite nodes whose parent is the soma."""
    return dendrite_tree(m).number_stems


@feature("Bifurcations")
def number_bifurcations(m: Morphology) -> int:
    """Σ (k − 1) over dendrite nodes with k ≥ 2 dendrite children (a trifurcation counts 2)."""
    k = dendrite_tree(m).children
    return int(np.sum(k[k >= 2] - 1))


@feature("Branches")
def number_branches(m: Morphology) -> int:
    """Sections plus (k − 2) per k-furcation with k > 2: stems + 2 × bifurcations."""
    return number_stems(m) + 2 * number_bifurcations(m)


@feature("Max Euclidean distance from soma", "µm")
def max_euclidean_distance(m: Morphology) -> float:
    """Largest straight-line distance from the soma centre to any dendrite node (µm)."""
    tree = dendrite_tree(m)
    if not len(tree):
        return math.nan
    return float(np.sqrt(np.max(np.sum((tree.xyz - tree.soma) ** 2, axis=1))))


@feature("Total length", "µm")
def total_length(m: Morphology) -> float:
    """Sum of dendrite compartment lengths, soma-to-stem compartments left out (µm)."""
    return float(np.sum(dendrite_tree(m).segment_length))


@feature("Max path distance", "µm")
def max_path_distance(m: Morphology) -> float:
    """Largest path length from a stem's first node to any dendrite node (µm)."""
    tree = dendrite_tree(m)
    if not len(tree):
        return math.nan
    return float(np.max(_accumulate(tree.section_parent, tree.section_length)))


@feature("Max branch order")
def max_branch_order(m: Morphology) -> int:
    """Largest number of branch points between a stem and a node (initial sections are order 0)."""
    tree = dendrite_tree(m)
    if not len(tree):
        return 0
    return int(np.max(_accumulate(tree.section_parent, ~tree.initial)))


@feature("Average contraction")
def average_contraction(m: Morphology) -> float:
    """Σ chord / Σ path length over non-initial sections (chord: branch point to section end)."""
    tree = dendrite_tree(m)
    later = ~tree.initial
    if not later.any():
        return math.nan
    starts, ends = tree.starts[later], tree.ends[later]
    chord = np.linalg.norm(tree.xyz[ends] - tree.xyz[tree.parent[starts]], axis=1)
    return float(np.sum(chord) / np.sum(tree.section_length[later]))


@feature("Average fragmentation", "nodes/section")
def average_fragmentation(m: Morphology) -> float:
    """Mean number of nodes per non-initial section."""
    tree = dendrite_tree(m)
    later = ~tree.initial
    return float(np.mean(tree.section_nodes[later])) if later.any() else math.nan


@feature("Average parent:daughter radius ratio")
def average_parent_daughter_ratio(m: Morphology) -> float:
    """Mean over branch points of (mean radius of the daughter nodes) / (radius of the branch point).

    A branch point of radius 0 has no ratio and is left out (Allen's code never divides by it).
    """
    tree = dendrite_tree(m)
    points = tree.branch_points
    points = points[tree.radius[points] > 0]
    if not len(points):
        return math.nan
    child = tree.parent >= 0
    daughter_sum = np.bincount(tree.parent[child], tree.radius[child], minlength=len(tree))
    ratio = daughter_sum[points] / tree.children[points] / tree.radius[points]
    return float(np.mean(ratio))


@feature("Average bifurcation angle, local", "°")
def average_bifurcation_angle_local(m: Morphology) -> float:
    """Mean angle (degrees) between the vectors from each bifurcation to its two child nodes."""
    tree = dendrite_tree(m)
    points = tree.bifurcations
    if not len(points):
        return math.nan
    first, second = tree.daughter_starts(points)
    return float(np.mean(_angles_deg(tree.xyz[first] - tree.xyz[points], tree.xyz[second] - tree.xyz[points])))


@feature("Average bifurcation angle, remote", "°")
def average_bifurcation_angle_remote(m: Morphology) -> float:
    """Mean angle (degrees) between the vectors from each bifurcation to the ends of its daughter sections."""
    tree = dendrite_tree(m)
    points = tree.bifurcations
    if not len(points):
        return math.nan
    first, second = tree.daughter_starts(points)
    end_first = tree.xyz[tree.ends[tree.section_of[first]]]
    end_second = tree.xyz[tree.ends[tree.section_of[second]]]
    return float(np.mean(_angles_deg(end_first - tree.xyz[points], end_second - tree.xyz[points])))


def _extent(m: Morphology, axis: int) -> float:
    values = dendrite_tree(m).xyz[:, axis]
    return float(np.ptp(values)) if len(values) else math.nan


@feature("Overall width", "µm")
def overall_width(m: Morphology) -> float:
    """x extent of the dendrite nodes in the SWC frame (µm); Allen rotates upright first."""
    return _extent(m, 0)


@feature("Overall height", "µm")
def overall_height(m: Morphology) -> float:
    """y extent of the dendrite nodes in the SWC frame (µm); Allen rotates upright first."""
    return _extent(m, 1)


@feature("Overall depth", "µm")
def overall_depth(m: Morphology) -> float:
    """z extent of the dendrite nodes (µm)."""
    return _extent(m, 2)


@feature("Average diameter", "µm")
def average_diameter(m: Morphology) -> float:
    """Twice the mean dendrite node radius (µm)."""
    radius = dendrite_tree(m).radius
    return float(2.0 * np.mean(radius)) if len(radius) else math.nan


@feature("Soma surface", "µm²")
def soma_surface(m: Morphology) -> float:
    """4πr² of the soma node (µm²)."""
    radius = dendrite_tree(m).soma_radius
    return 4.0 * math.pi * radius * radius  # inf, not OverflowError, for an absurd radius (** raises)


@feature("Total surface", "µm²")
def total_surface(m: Morphology) -> float:
    """Σ π (r_parent + r_child) L over dendrite compartments (µm²)."""
    tree = dendrite_tree(m)
    has = tree.parent >= 0
    radii = tree.radius[tree.parent[has]] + tree.radius[has]
    return float(math.pi * np.sum(radii * tree.segment_length[has]))


@feature("Total volume", "µm³")
def total_volume(m: Morphology) -> float:
    """Σ π L (r_p² + r_p Δr + Δr²/3), Δr = r_child − r_parent, over dendrite compartments (µm³)."""
    tree = dendrite_tree(m)
    has = tree.parent >= 0
    r_parent = tree.radius[tree.parent[has]]
    delta = tree.radius[has] - r_parent
    frustum = r_parent**2 + r_parent * delta + delta**2 / 3.0
    return float(math.pi * np.sum(tree.segment_length[has] * frustum))


def allen_radius_scale(upright_angle: float) -> float:
    """|cos 2θ|^(1/3): the factor Allen's pipeline applied to every radius for upright angle θ (radians)."""
    return abs(math.cos(2.0 * upright_angle)) ** (1.0 / 3.0)


def allen_total_volume(m: Morphology, radius_scale: float = 1.0) -> float:
    """Allen's volume sum Σ π L (r_p² + Δr + Δr²/3) with every radius multiplied by ``radius_scale``."""
    tree = dendrite_tree(m)
    has = tree.parent >= 0
    r_parent = radius_scale * tree.radius[tree.parent[has]]
    delta = radius_scale * tree.radius[has] - r_parent
    return float(math.pi * np.sum(tree.segment_length[has] * (r_parent**2 + delta + delta**2 / 3.0)))


def allen_published_form(m: Morphology, upright_angle: float) -> dict[str, float]:
    """The six :data:`UNREPRODUCIBLE` features as Allen's pipeline publishes them for upright angle θ.

    Width and height are the x/y extents after rotating the dendrites by θ (counter-clockwise about z);
    the radius-based features use radii scaled by :func:`allen_radius_scale`.
    """
    tree = dendrite_tree(m)
    c, s = math.cos(upright_angle), math.sin(upright_angle)
    x, y = tree.xyz[:, 0], tree.xyz[:, 1]
    k = allen_radius_scale(upright_angle)
    return {
        "overall_width": float(np.ptp(c * x - s * y)),
        "overall_height": float(np.ptp(s * x + c * y)),
        "average_diameter": k * average_diameter(m),
        "soma_surface": k**2 * soma_surface(m),
        "total_surface": k * total_surface(m),
        "total_volume": allen_total_volume(m, k),
    }


@feature("Hausdorff dimension")
def hausdorff_dimension(m: Morphology) -> None:
    """Not computed (Allen's published column is empty too)."""
    return


def compute_features(m: Morphology) -> dict[str, FeatureValue]:
    """Every NeuronReconstruction feature by Allen column name.

    ``None`` where not measurable: no such structure (nan), or a value beyond float range (inf, from absurd
    radii or coordinates such as a soma radius of 1e200), which no table or JSON document could hold.
    """
    values: dict[str, FeatureValue] = {}
    for name, fn in FEATURES.items():
        with np.errstate(over="ignore", invalid="ignore"):
            value = fn(m)
        values[name] = finite_or_none(value)
    return values
