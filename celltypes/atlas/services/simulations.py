"""Model runs: a stimulus named by URL parameters, GLIF runs inline, biophysical runs on the worker (cached).

A run is fully described by its model id and a :class:`StimulusSpec`, which reads from and writes to a query
string (``stim=step&amp=150&start=0.1&dur=1&total=1.5``), so a run is a URL that reproduces its plot. Every
parameter has bounds, checked before anything runs; a bad one is a :class:`RunRequestError` naming it.

GLIF runs of up to ``CELLTYPES_GLIF_INLINE_MAX_STEPS`` steps take milliseconds (numba) and run in the request;
a longer one goes to the worker (:func:`glif_run_request`), its plot cached as
``derived/simulations/<model id>/glif-<digest of the parameters file, stimulus and dt>.json``. Biophysical runs
take seconds to minutes: a page asks :func:`biophysical_run_request`, which answers the cached result, or queues
the worker's task once (an in-flight marker and a task id made of the cache key dedupe it) and says how far it
has got. Results are cached in the file store as
``derived/simulations/<model id>/<stimulus digest>-<mechanisms digest>.npz``; the channel mechanisms are
compiled once per digest into ``derived/mechanisms/``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from celery import current_app
from celery.result import AsyncResult
from django.conf import settings
from numpy.typing import NDArray

from celltypes.atlas import filestore
from celltypes.atlas.bundled import ALLEN_MODFILES
from celltypes.atlas.selectors.models import (
    ALL_ACTIVE,
    GLIF,
    PERISOMATIC,
    HeldModel,
    HeldRecording,
    ProtocolSweep,
    RecordedSweep,
    biophysical_fit_read,
    cell_protocol_get,
    glif_config_read,
    held_recording_get,
    model_swc_path,
    recorded_sweep_read,
)
from celltypes.atlas.vocabulary import FITTED_RECONSTRUCTION_NOT_HELD
from celltypes.science import biophys, stimuli
from celltypes.science.biophys.stimulus import AMPERES_PER_NANOAMPERE, NEURON_BASE_RATE
from celltypes.science.ephys.downsample import downsample_indexes
from celltypes.science.errors import ScienceError
from celltypes.science.glif import GlifConfig, simulate
from celltypes.science.glif.simulate import MAX_STEPS as GLIF_SIMULATOR_MAX_STEPS

log = logging.getLogger(__name__)

BIOPHYSICAL_RUN_TASK = "atlas.biophysical_run"
GLIF_RUN_TASK = "atlas.glif_run"
STIMULUS_KINDS = {
    "step": "square step",
    "ramp": "ramp",
    "noise": "pink noise",
    "sweep": "a sweep of the cell",
    "recorded": "a recorded sweep (its own stimulus, drawn over the recording)",
}
GLIF_MAX_SECONDS = 25.0
BIOPHYSICAL_MAX_SECONDS = 5.0
GLIF_DT_RANGE = (1e-6, 1e-4)  # s; Allen's fits use 5e-5
GLIF_MAX_STEPS = GLIF_SIMULATOR_MAX_STEPS  # a worker's run: about a second, 160 MB of traces
GLIF_SECONDS_PER_STEP = 2e-7  # about what a run and its plot take (bench_glif.py); the progress estimate
GLIF_WALL_LIMIT_S = 120.0
MAX_AMPLITUDE_PA = 2000.0
MAX_SLOPE_PA_PER_S = 2000.0
MAX_CV = 2.0
MAX_SEED = 2**32 - 1
SWEEP_TAIL_S = 0.5  # simulated after a rebuilt sweep's stimulus ends
BIOPHYSICAL_RATE = NEURON_BASE_RATE
BIOPHYSICAL_WALL_LIMIT_S = 300.0
PLOT_POINTS = 4000
FI_STEP_SECONDS = 1.0  # the model f-I curve: 1 s steps, as Allen's Long Square


class RunRequestError(ValueError):
    """A run request with a missing, malformed or out-of-bounds parameter (the message names it)."""


@dataclass(frozen=True)
class StimulusSpec:
    """What to inject: amplitudes in pA, times in s. ``amplitude_pa`` is the step's height, the noise's mean;
    ``slope_pa_per_s`` the ramp's rise; a ``sweep`` is rebuilt from the cell's sweep table row; a ``recorded``
    sweep is the stimulus of the held NWB file's sweep, at its own sampling rate (``total_s`` its length)."""

    kind: str = "step"
    amplitude_pa: float = 100.0
    start_s: float = 0.1
    duration_s: float = 1.0
    total_s: float = 1.3
    slope_pa_per_s: float = 25.0
    cv: float = 0.2
    seed: int = 1
    sweep_number: int | None = None

    def query(self) -> dict[str, str]:
        """The URL parameters that name this stimulus (only those its kind uses)."""
        if self.kind in ("sweep", "recorded"):
            return {"stim": self.kind, "sweep": str(self.sweep_number)}
        params = {"stim": self.kind, "start": f"{self.start_s:g}", "dur": f"{self.duration_s:g}"}
        params["total"] = f"{self.total_s:g}"
        if self.kind == "ramp":
            params["slope"] = f"{self.slope_pa_per_s:g}"
        else:
            params["amp"] = f"{self.amplitude_pa:g}"
        if self.kind == "noise":
            params |= {"cv": f"{self.cv:g}", "seed": str(self.seed)}
        return params

    def label(self) -> str:
        if self.kind == "sweep":
            return f"sweep {self.sweep_number}"
        if self.kind == "recorded":
            return f"recorded sweep {self.sweep_number}"
        if self.kind == "ramp":
            return f"ramp {self.slope_pa_per_s:g} pA/s for {self.duration_s:g} s"
        if self.kind == "noise":
            return f"pink noise, mean {self.amplitude_pa:g} pA, CV {self.cv:g}, seed {self.seed}"
        return f"step {self.amplitude_pa:g} pA for {self.duration_s:g} s"


def _number(query: Mapping[str, str], key: str, default: float, low: float, high: float, what: str) -> float:
    raw = query.get(key)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise RunRequestError(f"{what} ({key}) must be a number, got {raw!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise RunRequestError(f"{what} ({key}) must lie between {low:g} and {high:g}, got {raw}")
    return value


def stimulus_spec_from_query(
    query: Mapping[str, str],
    protocol: list[ProtocolSweep],
    *,
    max_seconds: float,
    recording: HeldRecording | None = None,
) -> StimulusSpec:
    """Read a stimulus from URL parameters (defaults where absent), within ``max_seconds`` of simulated time;
    a recorded sweep needs the cell's held ``recording``."""
    kind = query.get("stim") or "step"
    if kind not in STIMULUS_KINDS:
        raise RunRequestError(f"stimulus (stim) must be one of {', '.join(STIMULUS_KINDS)}, got {kind!r}")
    if kind == "recorded":
        number = int(_number(query, "sweep", -1, 0, 10_000, "sweep number"))
        duration = recorded_sweep(recording, number).duration
        spec = StimulusSpec("recorded", 0.0, 0.0, duration, duration, 0.0, sweep_number=number)
    elif kind == "sweep":
        number = int(_number(query, "sweep", -1, 0, 10_000, "sweep number"))
        sweep = next((s for s in protocol if s.sweep_number == number), None)
        if sweep is None:
            numbers = ", ".join(str(s.sweep_number) for s in protocol) or "none"
            raise RunRequestError(f"sweep {number} is not a square or ramp sweep of this cell (those are: {numbers})")
        spec = sweep_spec(sweep)
    else:
        default = StimulusSpec(kind=kind)
        spec = StimulusSpec(
            kind=kind,
            amplitude_pa=_number(
                query, "amp", default.amplitude_pa, -MAX_AMPLITUDE_PA, MAX_AMPLITUDE_PA, "amplitude in pA"
            ),
            start_s=_number(query, "start", default.start_s, 0, max_seconds, "start in s"),
            duration_s=_number(query, "dur", default.duration_s, 0.001, max_seconds, "duration in s"),
            total_s=_number(query, "total", default.total_s, 0.002, max_seconds, "total time in s"),
            slope_pa_per_s=_number(
                query, "slope", default.slope_pa_per_s, -MAX_SLOPE_PA_PER_S, MAX_SLOPE_PA_PER_S, "ramp slope in pA/s"
            ),
            cv=_number(query, "cv", default.cv, 0, MAX_CV, "noise CV"),
            seed=int(_number(query, "seed", default.seed, 0, MAX_SEED, "noise seed")),
        )
        if spec.start_s + spec.duration_s > spec.total_s:
            raise RunRequestError(
                f"the stimulus ends at {spec.start_s + spec.duration_s:g} s, "
                f"after the run's total of {spec.total_s:g} s"
            )
    if spec.total_s > max_seconds:
        raise RunRequestError(f"this run would last {spec.total_s:g} s; runs of this model stop at {max_seconds:g} s")
    return spec


def sweep_spec(sweep: ProtocolSweep) -> StimulusSpec:
    """The square pulse or ramp of a sweep-table row, followed by :data:`SWEEP_TAIL_S` of rest."""
    total = sweep.start_s + sweep.duration_s + SWEEP_TAIL_S
    times = {"start_s": sweep.start_s, "duration_s": sweep.duration_s, "total_s": total}
    if sweep.is_ramp:
        slope = sweep.amplitude_pa / sweep.duration_s
        return StimulusSpec("sweep", 0.0, slope_pa_per_s=slope, sweep_number=sweep.sweep_number, **times)
    return StimulusSpec("sweep", sweep.amplitude_pa, slope_pa_per_s=0.0, sweep_number=sweep.sweep_number, **times)


def stimulus_current(spec: StimulusSpec, dt: float) -> NDArray[np.float64]:
    """The stimulus in amperes, one sample per ``dt`` seconds (``celltypes.science.stimuli``)."""
    common = {"start": spec.start_s, "duration": spec.duration_s, "total": spec.total_s, "dt": dt}
    try:
        if spec.kind == "noise":
            return stimuli.pink_noise(mean=spec.amplitude_pa * 1e-12, cv=spec.cv, seed=spec.seed, **common)
        if spec.kind == "ramp" or (spec.kind == "sweep" and spec.slope_pa_per_s):
            return stimuli.ramp(slope=spec.slope_pa_per_s * 1e-12, **common)
        return stimuli.long_square(amplitude=spec.amplitude_pa * 1e-12, **common)
    except ScienceError as error:
        raise RunRequestError(str(error)) from None


def recorded_sweep(recording: HeldRecording | None, sweep_number: int | None) -> RecordedSweep:
    """The held recording's sweep, or a RunRequestError saying why there is none."""
    if recording is None or not recording.held:
        raise RunRequestError("no recording of this cell is held here, so no recorded sweep can be run")
    if sweep_number not in recording.sweeps:
        raise RunRequestError(
            f"sweep {sweep_number} is not a current-clamp sweep of the held recording "
            f"(those are: {', '.join(str(n) for n in sorted(recording.sweeps)) or 'none'})"
        )
    try:
        return recorded_sweep_read(recording, sweep_number)
    except (ScienceError, OSError) as error:
        raise RunRequestError(f"sweep {sweep_number} of the held recording cannot be read: {error}") from None


def _recorded(held: HeldModel, spec: StimulusSpec) -> RecordedSweep:
    return recorded_sweep(held_recording_get(specimen_id=held.model.specimen_id), spec.sweep_number)


def recorded_payload(recorded: RecordedSweep, *, above_rest: bool = False) -> dict[str, Any]:
    """The recording to draw under the model: downsampled t (s) and v (mV), keeping its spikes. ``above_rest``
    (a GLIF model without a resting potential draws voltage above rest): minus the recording's own resting
    potential, the mean before its stimulus starts (said in the source)."""
    v = recorded.response * 1e3
    source = recorded.source + (" (spikes detected here)" if recorded.spikes_detected_here else "")
    if above_rest:
        onset = np.flatnonzero(recorded.stimulus != 0)
        before = v[: onset[0]] if len(onset) and onset[0] > 0 else v[: max(1, int(0.1 * recorded.sampling_rate))]
        rest = float(np.mean(before))
        v = v - rest
        source += f", drawn above its resting potential ({rest:.1f} mV, its mean before the stimulus)"
    t = np.arange(len(v)) / recorded.sampling_rate
    peaks = np.clip(np.rint(recorded.spike_times * recorded.sampling_rate).astype(np.int64), 0, max(len(v) - 1, 0))
    indexes = downsample_indexes(v, PLOT_POINTS, peaks)
    return {
        "recorded": {"t": np.round(t[indexes], 6).tolist(), "v": np.round(v[indexes], 3).tolist()},
        "recorded_spike_count": int(len(recorded.spike_times)),
        "recorded_source": source,
    }


def glif_dt(config: GlifConfig, query: Mapping[str, str]) -> float:
    return _number(query, "dt", float(config.dt), *GLIF_DT_RANGE, "time step in s")


def _plot(t: NDArray[np.float64], v: NDArray[np.float64], current: NDArray[np.float64], keep: Any) -> dict[str, Any]:
    """Downsampled t (s), v (mV, None in a GLIF spike cut) and the stimulus (pA) at the same samples."""
    filled = np.where(np.isfinite(v), v, np.nanmax(v) if np.isfinite(v).any() else 0.0)
    indexes = downsample_indexes(filled, PLOT_POINTS, keep)
    volts = np.round(v[indexes], 3)
    return {
        "t": np.round(t[indexes], 6).tolist(),
        "v": [None if not math.isfinite(x) else x for x in volts.tolist()],
        "i": np.round(current[indexes] * 1e12, 2).tolist(),
    }


def glif_run(held: HeldModel, spec: StimulusSpec, dt: float | None = None) -> dict[str, Any]:
    """Run a GLIF model on ``spec`` at ``dt`` (the config's by default): the plot's payload."""
    config = glif_config_read(held)
    dt = float(config.dt) if dt is None else dt
    recorded = _recorded(held, spec) if spec.kind == "recorded" else None
    if recorded is not None:  # as Allen runs its models on a sweep: at the recording's own time step
        dt = 1.0 / recorded.sampling_rate
    _check_glif_steps(spec, dt)
    current = recorded.stimulus if recorded is not None else stimulus_current(spec, dt)
    result = simulate(config, current, dt)
    offset = float(config.El_reference) if config.El_reference is not None else 0.0
    v = (result.voltage + offset) * 1e3
    t = np.arange(len(v)) * dt
    steps = np.asarray(result.spike_steps, dtype=np.int64)
    return {
        "model_id": held.id,
        "kind": GLIF,
        "stimulus": spec.label(),
        "query": spec.query() | ({"dt": f"{dt:g}"} if dt != float(config.dt) else {}),
        "dt": dt,
        "v_label": "membrane potential (mV)" if config.El_reference is not None else "voltage above rest (mV)",
        "spike_times": np.round(result.interpolated_spike_times, 6).tolist(),
        "spike_count": result.spike_count,
        "stopped_at_step": result.stopped_at_step,
        **_plot(t, v, current, steps[steps < len(v)]),
        **(recorded_payload(recorded, above_rest=config.El_reference is None) if recorded is not None else {}),
    }


def _check_glif_steps(spec: StimulusSpec, dt: float) -> float:
    steps = spec.total_s / dt
    if steps > GLIF_MAX_STEPS:
        raise RunRequestError(
            f"{spec.total_s:g} s at dt = {dt:g} s is {steps:.0f} steps; "
            f"runs here stop at {GLIF_MAX_STEPS} steps (shorten the run or raise dt)"
        )
    return steps


def glif_inline_max_steps() -> int:
    return int(settings.CELLTYPES_GLIF_INLINE_MAX_STEPS)


def glif_result_path(held: HeldModel, spec: StimulusSpec, dt: float) -> Path:
    """Where the plot of a worker's GLIF run is cached: keyed by the parameter file's content, stimulus and dt
    (and for a recorded sweep, the held file's identity)."""
    wkf = held.parameters_file
    parts: list[Any] = [wkf.sha256 or wkf.id if wkf else None, spec.query(), repr(float(dt))]
    if spec.kind == "recorded":  # the held file the stimulus comes from, as it is now
        recording = held_recording_get(specimen_id=held.model.specimen_id)
        if recording.file_id is not None:
            stat = filestore.well_known_file_path(recording.file_id).stat()
            parts.append([recording.file_id, stat.st_size, stat.st_mtime_ns])
    key = json.dumps(parts, sort_keys=True)
    return filestore.derived_path("simulations", str(held.id), f"glif-{hashlib.sha256(key.encode()).hexdigest()}.json")


def glif_task_query(spec: StimulusSpec, dt: float) -> dict[str, str]:
    """The URL parameters a worker's GLIF run reads back (dt exactly)."""
    return spec.query() | {"dt": repr(float(dt))}


def json_result_cached(target: Path, compute: Callable[[], dict[str, Any]]) -> Path:
    """A worker's job: write ``compute()`` to ``target`` as JSON unless it is there, then release the run's marker
    (queue_run_once's claim) whatever happened; ``target``."""
    try:
        if not target.is_file():
            filestore.write_atomic(target, [json.dumps(compute()).encode()])
    finally:
        run_marker(target).unlink(missing_ok=True)
    return target


def glif_run_cached(held: HeldModel, spec: StimulusSpec, dt: float) -> Path:
    """Run a GLIF model (on the worker) and cache its plot; the cached file's path."""
    return json_result_cached(glif_result_path(held, spec, dt), lambda: glif_run(held, spec, dt))


def glif_run_request(held: HeldModel, spec: StimulusSpec, dt: float) -> dict[str, Any]:
    """A GLIF run's plot: run now when short, else the worker's cached result or its state (queued once)."""
    if spec.kind == "recorded":
        dt = 1.0 / _recorded(held, spec).sampling_rate
    steps = _check_glif_steps(spec, dt)
    if steps <= glif_inline_max_steps():
        return glif_run(held, spec, dt) | {"state": "done"}
    path = glif_result_path(held, spec, dt)
    return queue_run_once(
        path,
        GLIF_RUN_TASK,
        [held.id, glif_task_query(spec, dt)],
        kind="glif",
        stale_after=GLIF_WALL_LIMIT_S + 60,
        done=lambda: _glif_cached_payload(path),
    )


def _glif_cached_payload(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) | {"state": "done", "on_worker": True}


def glif_expected_seconds(spec: StimulusSpec, dt: float) -> float:
    return spec.total_s / dt * GLIF_SECONDS_PER_STEP


def glif_fi_curve(held: HeldModel, amplitudes_pa: list[float]) -> list[tuple[float, float]]:
    """(amplitude pA, rate Hz) of the model on 1 s steps at each amplitude (the cell's Long Square amplitudes)."""
    config = glif_config_read(held)
    dt = float(config.dt)
    curve = []
    for amplitude in amplitudes_pa[:50]:
        spec = StimulusSpec("step", amplitude, 0.0, FI_STEP_SECONDS, FI_STEP_SECONDS)
        curve.append((amplitude, simulate(config, stimulus_current(spec, dt), dt).spike_count / FI_STEP_SECONDS))
    return curve


# ---- biophysical runs


def biophysical_stimulus(held: HeldModel, spec: StimulusSpec) -> biophys.Stimulus:
    """The soma current of a run: a recorded sweep's own samples at its rate (as Allen's runner plays a sweep),
    else the stimulus written at NEURON's 40 kHz."""
    try:
        if spec.kind == "recorded":
            recorded = _recorded(held, spec)
            return biophys.Stimulus.from_sweep(recorded.stimulus, recorded.sampling_rate)
        return biophys.Stimulus.from_sweep(stimulus_current(spec, 1.0 / BIOPHYSICAL_RATE), BIOPHYSICAL_RATE)
    except biophys.BiophysError as error:
        raise RunRequestError(str(error)) from None


def mechanisms_cache_dir() -> Path:
    return filestore.derived_path("mechanisms")


def biophysical_result_path(model_id: int, stimulus: biophys.Stimulus) -> Path:
    """Where the run of ``model_id`` on ``stimulus`` with Allen's mechanisms is cached."""
    mechanisms = biophys.mechanisms_digest(ALLEN_MODFILES)
    return filestore.derived_path("simulations", str(model_id), f"{stimulus.digest()}-{mechanisms}.npz")


def biophysical_unavailable_reason() -> str | None:
    """Why biophysical runs cannot happen here (NEURON or build tools missing), else None."""
    reason = biophys.neuron_unavailable_reason()
    if reason:
        return reason
    missing = biophys.missing_build_tools()
    return f"compiling the channel mechanisms needs {' and '.join(missing)}, not installed here" if missing else None


def _task_id(path: Path, kind: str) -> str:
    """The task id of the run that writes ``path`` (``<kind>-<model id>-<digest>``): the same run is one task."""
    return f"{kind}-{path.parent.name}-{path.stem.removeprefix(kind + '-')}"


def run_marker(path: Path) -> Path:
    return path.with_suffix(".running")


def biophysical_run(held: HeldModel, spec: StimulusSpec, on_progress: Callable[[float], None] | None = None) -> Path:
    """Run a perisomatic or all-active model on ``spec`` with NEURON and cache the result; its path."""
    if held.kind not in (PERISOMATIC, ALL_ACTIVE):
        raise RunRequestError(f"model {held.id} is not a biophysical model")
    stimulus = biophysical_stimulus(held, spec)
    target = biophysical_result_path(held.id, stimulus)
    if target.is_file():
        return target
    swc = model_swc_path(held)
    if swc is None:
        raise RunRequestError(FITTED_RECONSTRUCTION_NOT_HELD.format(model_id=held.id))
    try:
        result = biophys.run_model(
            fit=biophysical_fit_read(held),
            swc_path=swc,
            model_type=biophys.ModelType.PERISOMATIC if held.kind == PERISOMATIC else biophys.ModelType.ALL_ACTIVE,
            stimulus=stimulus,
            modfiles_dir=ALLEN_MODFILES,
            mechanisms_cache_dir=mechanisms_cache_dir(),
            on_progress=on_progress,
            wall_time_limit=BIOPHYSICAL_WALL_LIMIT_S,
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part.npz")
        np.savez(partial, t=result.t, v=result.v, spike_times=result.spike_times, wall_seconds=result.wall_seconds)
        partial.replace(target)
    finally:
        run_marker(target).unlink(missing_ok=True)
    return target


def biophysical_payload(held: HeldModel, spec: StimulusSpec, path: Path) -> dict[str, Any]:
    stimulus = biophysical_stimulus(held, spec)
    current = stimulus.current * AMPERES_PER_NANOAMPERE
    with np.load(path) as data:
        t, v, spikes, wall = data["t"], data["v"], data["spike_times"], float(data["wall_seconds"])
    n = min(len(t), len(current))
    peaks = np.searchsorted(t[:n], spikes)
    return {
        "model_id": held.id,
        "kind": held.kind,
        "state": "done",
        "stimulus": spec.label(),
        "query": spec.query(),
        "dt": 1.0 / stimulus.sampling_rate,
        "v_label": "membrane potential (mV)",
        "spike_times": np.round(spikes, 6).tolist(),
        "spike_count": int(len(spikes)),
        "wall_seconds": round(wall, 2),
        **_plot(t[:n], v[:n], current[:n], peaks[peaks < n]),
        **(recorded_payload(_recorded(held, spec)) if spec.kind == "recorded" else {}),
    }


def _task_state(task_id: str) -> tuple[str, Any]:
    """The task's state and meta from the result backend; ("UNKNOWN", None) when eager or unreachable."""
    if current_app.conf.task_always_eager:
        return "UNKNOWN", None
    try:
        result = AsyncResult(task_id, app=current_app)
        return result.state, result.info
    except Exception:
        log.warning("the result backend cannot be read for task %s", task_id, exc_info=True)
        return "UNKNOWN", None


def _progress(meta: Mapping[str, Any]) -> float:
    """How far a running task has got: its reported fraction, or the time since it started over the time it is
    expected to take (capped below 1)."""
    if "expected_s" in meta and "started" in meta:
        expected = max(float(meta["expected_s"]), 1e-3)
        return round(min(0.95, max(0.0, (time.time() - float(meta["started"])) / expected)), 3)
    return float(meta.get("fraction", 0.0))


def queue_run_once(
    path: Path,
    task_name: str,
    args: list[Any],
    *,
    kind: str,
    stale_after: float,
    done: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """The cached result (``done()``) when ``path`` is written, else queue ``task_name`` (which writes it) once, or
    say how far the queued run has got."""
    if path.is_file():
        return done()
    task_id = _task_id(path, kind)
    state, info = _task_state(task_id)
    if state == "FAILURE":
        return {"state": "failed", "error": str(info)}
    if filestore.claim_marker(run_marker(path), stale_after=stale_after):
        try:
            current_app.tasks[task_name].apply_async(args=args, task_id=task_id)
        except (biophys.BiophysError, RunRequestError, ScienceError) as error:  # eager Celery raises the run's error
            return {"state": "failed", "error": str(error)}
        except Exception:  # the broker cannot take it: say so, and let the next request try again
            log.warning("could not queue %s%r", task_name, args, exc_info=True)
            run_marker(path).unlink(missing_ok=True)
            return {"state": "failed", "error": "the simulation worker's queue cannot be reached; try again later"}
        if path.is_file():  # eager Celery ran it just now
            return done()
        return {"state": "queued", "progress": 0.0}
    meta = info if isinstance(info, dict) else {}
    return {"state": "running", "progress": _progress(meta)}


def biophysical_run_request(held: HeldModel, spec: StimulusSpec) -> dict[str, Any]:
    """The cached result's payload, or the run's state ({"state": "running", "progress": 0.3}), queueing it once."""
    reason = biophysical_unavailable_reason()
    if reason:
        return {"state": "unavailable", "error": reason}
    if model_swc_path(held) is None:
        return {"state": "unavailable", "error": FITTED_RECONSTRUCTION_NOT_HELD.format(model_id=held.id)}
    path = biophysical_result_path(held.id, biophysical_stimulus(held, spec))
    return queue_run_once(
        path,
        BIOPHYSICAL_RUN_TASK,
        [held.id, spec.query()],
        kind="biophys",
        stale_after=BIOPHYSICAL_WALL_LIMIT_S + 60,
        done=lambda: biophysical_payload(held, spec, path),
    )


def spec_from_task_query(held: HeldModel, query: Mapping[str, str]) -> StimulusSpec:
    return stimulus_spec_from_query(
        query,
        cell_protocol_get(specimen_id=held.model.specimen_id),
        max_seconds=BIOPHYSICAL_MAX_SECONDS,
        recording=held_recording_get(specimen_id=held.model.specimen_id),
    )


def glif_spec_from_task_query(held: HeldModel, query: Mapping[str, str]) -> tuple[StimulusSpec, float]:
    protocol = cell_protocol_get(specimen_id=held.model.specimen_id)
    recording = held_recording_get(specimen_id=held.model.specimen_id)
    spec = stimulus_spec_from_query(query, protocol, max_seconds=GLIF_MAX_SECONDS, recording=recording)
    return spec, glif_dt(glif_config_read(held), query)
