"""Reads for a cell's trace thumbnail (Allen's card picture: a short pulse's response in red, long squares' in
blue): the one rule of which held sweeps it draws, where the rendered SVG is kept, and whether it is there.

Only sweeps whose samples are held here are drawn, and the caption says which ones and from what ("drawn here"):
never a picture of a recording this copy does not hold. Nothing here writes.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.db.models import BigIntegerField, CharField, Value
from django.db.models.functions import Cast

from celltypes.atlas import choices, filestore
from celltypes.atlas.models import HeldTraceWindow, LabRecording, WellKnownFile
from celltypes.atlas.selectors.ephys import CellEphys, cell_ephys_get, held_window_path
from celltypes.atlas.selectors.morphology import PreviewState, PreviewStatus, is_held
from celltypes.atlas.vocabulary import (
    EPHYS_THUMBNAIL_MAX_LONG_SQUARES,
    LAB_RECORDING_PROVENANCE,
    LONG_SQUARE,
    SHORT_SQUARE,
    VOLTAGE_CLAMP_UNITS,
)

RENDER_VERSION = 1  # bump when the drawing changes: every thumbnail is drawn again


@dataclass(frozen=True)
class ThumbnailSweep:
    stimulus: str  # SHORT_SQUARE or LONG_SQUARE: its colour
    sweep_number: int
    amplitude: float | None  # pA


@dataclass(frozen=True)
class ThumbnailPlan:
    specimen_id: int
    sweeps: tuple[ThumbnailSweep, ...]  # drawn in this order (short pulse last, on top)
    source: str  # what the samples are read from, for the caption
    identity: str  # the held files' identity: a new file draws a new thumbnail

    @property
    def key(self) -> str:
        chosen = [(s.stimulus, s.sweep_number) for s in self.sweeps]
        text = json.dumps([RENDER_VERSION, self.specimen_id, chosen, self.identity])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def caption(self) -> str:
        """What the picture is, in full: each sweep and where its samples come from."""
        parts = [f"{_colour_word(s.stimulus)}: {s.stimulus} sweep {s.sweep_number}{_amplitude(s)}" for s in self.sweeps]
        return f"Drawn here from {self.source}: " + "; ".join(parts) + "."

    @property
    def label(self) -> str:
        """The short form a card prints under the picture."""
        numbers = ", ".join(str(s.sweep_number) for s in self.sweeps)
        return f"sweep{'s' if len(self.sweeps) > 1 else ''} {numbers} · drawn here"


def _colour_word(stimulus: str) -> str:
    return "red" if stimulus == SHORT_SQUARE else "blue"


def _amplitude(sweep: ThumbnailSweep) -> str:
    if sweep.amplitude is None or not math.isfinite(sweep.amplitude):
        return ""
    return f" ({sweep.amplitude:.4g} pA)"


@dataclass(frozen=True)
class _Candidate:
    number: int
    stimulus: str
    amplitude: float | None
    spikes: int | None
    sweep_id: int | None


def _candidates(ephys: CellEphys) -> list[_Candidate]:
    """Held current-clamp sweeps of a short pulse or a long square."""
    held = ephys.held_sweep_numbers
    found = {
        s.sweep_number: _Candidate(
            s.sweep_number, s.stimulus_name, s.stimulus_absolute_amplitude, s.num_spikes, getattr(s, "id", None)
        )
        for s in ephys.sweeps
        if s.sweep_number in held
        and s.stimulus_units != VOLTAGE_CLAMP_UNITS
        and s.stimulus_name in (SHORT_SQUARE, LONG_SQUARE)
    }
    for w in ephys.held_windows:  # the window's own stimulus wins over the table's record of the whole sweep
        tabled = found.get(w.sweep_number)
        found[w.sweep_number] = _Candidate(
            w.sweep_number, w.stimulus_name, w.stimulus_amplitude, tabled.spikes if tabled else None, None
        )
    return [c for c in found.values() if c.stimulus in (SHORT_SQUARE, LONG_SQUARE)]


def _long_squares(candidates: list[_Candidate], allens: int | None) -> list[_Candidate]:
    """Allen's thumbnail sweep (else the lowest that fires, else the first), the most hyperpolarising step and the
    strongest, at most EPHYS_THUMBNAIL_MAX_LONG_SQUARES, in amplitude order."""
    longs = sorted((c for c in candidates if c.stimulus == LONG_SQUARE), key=lambda c: (c.amplitude or 0.0, c.number))
    if not longs:
        return []
    firing = [c for c in longs if c.spikes]
    main = next((c for c in longs if allens is not None and c.sweep_id == allens), None)
    main = main or (firing[0] if firing else longs[0])
    chosen = {main.number: main}
    if (longs[0].amplitude or 0.0) < 0:
        chosen.setdefault(longs[0].number, longs[0])
    chosen.setdefault(longs[-1].number, longs[-1])
    picked = sorted(chosen.values(), key=lambda c: (c.amplitude or 0.0, c.number))
    return picked[:EPHYS_THUMBNAIL_MAX_LONG_SQUARES]


def _short_pulse(candidates: list[_Candidate]) -> _Candidate | None:
    """The weakest short pulse that fires, else the strongest."""
    shorts = sorted((c for c in candidates if c.stimulus == SHORT_SQUARE), key=lambda c: (c.amplitude or 0.0, c.number))
    return next((c for c in shorts if c.spikes), shorts[-1] if shorts else None)


def _source(ephys: CellEphys, windows: list[HeldTraceWindow]) -> tuple[str, str]:
    """(caption words, identity) of the held samples."""
    if ephys.lab_file_held:
        lab = ephys.lab_recording
        return f"{lab.file_name}, {LAB_RECORDING_PROVENANCE}", lab.sha256
    if windows:
        w = windows[0]
        span = f"{1e3 * w.window_start:.0f}-{1e3 * w.window_end:.0f} ms"
        identity = []
        for window in windows:
            stat = held_window_path(window).stat() if held_window_path(window).exists() else None
            identity.append(f"{window.source_path}:{stat.st_size if stat else 0}:{stat.st_mtime_ns if stat else 0}")
        return f"the held {span} window (not Allen's NWB file)", ";".join(identity)
    return f"{ephys.held_nwb.file_name}, held here", ephys.held_nwb.sha256 or str(ephys.held_nwb.size)


def ephys_thumbnail_plan(ephys: CellEphys, specimen_id: int) -> ThumbnailPlan | None:
    """Which held sweeps the thumbnail draws; None when no current-clamp short pulse or long square is held."""
    if not ephys.has_recording:
        return None
    candidates = _candidates(ephys)
    allens = ephys.record.thumbnail_sweep_id if ephys.record is not None else None
    longs = _long_squares(candidates, allens)
    short = _short_pulse(candidates)
    chosen = [*longs, *([short] if short else [])]
    if not chosen:
        return None
    numbers = {c.number for c in chosen}
    windows = [w for w in ephys.held_windows if w.sweep_number in numbers]
    source, identity = _source(ephys, windows)
    sweeps = tuple(ThumbnailSweep(c.stimulus, c.number, c.amplitude) for c in chosen)
    return ThumbnailPlan(specimen_id, sweeps, source, identity)


def ephys_thumbnail_plan_get(*, specimen_id: int) -> ThumbnailPlan | None:
    return ephys_thumbnail_plan(cell_ephys_get(specimen_id=specimen_id), specimen_id)


def thumbnail_dir(specimen_id: int) -> Path:
    return filestore.derived_path("ephys_thumbnails", str(int(specimen_id)))


def thumbnail_path(plan: ThumbnailPlan) -> Path:
    return thumbnail_dir(plan.specimen_id) / f"{plan.key}.svg"


def thumbnail_error_path(plan: ThumbnailPlan) -> Path:
    return thumbnail_dir(plan.specimen_id) / f"{plan.key}.error.txt"


def ephys_thumbnail_status(plan: ThumbnailPlan) -> PreviewStatus:
    """READY (with the SVG's path), FAILED (with why) or PENDING (not drawn yet)."""
    path = thumbnail_path(plan)
    if path.is_file():
        return PreviewStatus(PreviewState.READY, path=path)
    error = thumbnail_error_path(plan)
    if error.is_file():
        return PreviewStatus(PreviewState.FAILED, error=error.read_text(encoding="utf-8", errors="replace"))
    return PreviewStatus(PreviewState.PENDING)


def specimens_with_recording(specimen_ids: Iterable[int]) -> set[int]:
    """Which of these specimens have samples held here (a held window, a lab upload, or an NWB file held): the cards
    ask for a thumbnail of these only. One query for all of them, then a stat per NWB file."""
    ids = list(specimen_ids)
    if not ids:
        return set()
    # Typed NULLs (CAST): PostgreSQL types a bare NULL of a UNION's first branch as text.
    none_id, none_text = Cast(Value(None), BigIntegerField()), Cast(Value(None), CharField())
    rows = (
        HeldTraceWindow.objects.filter(specimen_id__in=ids)
        .order_by()
        .values_list("specimen_id", none_id, none_id, none_text)
        .union(
            LabRecording.objects.filter(specimen_id__in=ids)
            .order_by()
            .values_list("specimen_id", none_id, none_id, none_text),
            WellKnownFile.objects.filter(
                well_known_file_type_id=choices.NWB_DOWNLOAD[0], ephys_result__specimen__id__in=ids
            )
            .order_by()
            .values_list("ephys_result__specimen__id", "id", "size", "sha256"),
            all=True,
        )
    )
    return {specimen for specimen, file_id, size, sha256 in rows if file_id is None or is_held(file_id, size, sha256)}
