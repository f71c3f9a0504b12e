"""Run a biophysical model in a NEURON process of its own, with progress and a wall-time limit.

Every run starts a fresh interpreter (``subprocess``, not ``fork``): NEURON's state is global to a process, a
run can crash it (a segfault in a mechanism, memory exhaustion) or hang, and two mechanism builds define the
same names and cannot share a process. The child imports only ``celltypes.science.biophys`` (a bare package
stands in for ``celltypes``, whose ``__init__`` would start Celery and Django), works in a temporary
directory (NEURON would otherwise load any ``x86_64/`` mechanisms in the caller's working directory), gets a
memory limit, and is killed with its process group when the wall time runs out or the caller is interrupted
(a Celery soft time limit raised inside ``on_progress`` included).

The parent checks everything it can first (the fit, the SWC, the stimulus, the mechanisms, compiled once
per digest), so bad input fails fast with a clear :class:`~.errors.BiophysError`.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..swc import read_swc
from . import child
from .errors import BiophysError, ModelError, NeuronUnavailableError, RunFailedError, RunTimeoutError
from .mechanisms import compiled_mechanisms, mod_files, neuron_unavailable_reason
from .model import AxonType, BiophysicalFit, ModelType
from .spikes import spike_times
from .stimulus import Stimulus

DEFAULT_WALL_TIME_LIMIT_S = 600.0
DEFAULT_MEMORY_LIMIT_MB = 4096
_CELLTYPES_DIR = Path(__file__).resolve().parents[2]
_BOOTSTRAP = (
    "import sys, types\n"
    "package = types.ModuleType('celltypes')\n"
    "package.__path__ = [sys.argv[1]]\n"
    "sys.modules['celltypes'] = package\n"
    "from celltypes.science.biophys.child import main\n"
    "sys.exit(main(sys.argv[2]))\n"
)

ProgressCallback = Callable[[float], None]


@dataclass(frozen=True, eq=False)
class RunResult:
    """A run's soma trace, as Allen's runner writes it, and its spikes."""

    t: NDArray[np.float64]  # s from the start of the stimulus
    v: NDArray[np.float64]  # mV: NEURON's soma potential minus the fit's junction potential
    spike_times: NDArray[np.float64]  # s, spike thresholds (see spikes.py)
    sampling_rate: int  # Hz of t and v (the stimulus's)
    dt: float  # ms, NEURON's time step
    simulation_seconds: float  # wall time of the simulation loop in the child
    wall_seconds: float  # wall time of the whole run: child start, model build, simulation, result


def run_model(
    *,
    fit: Mapping[str, Any] | str | os.PathLike[str],
    swc_path: str | os.PathLike[str],
    model_type: ModelType | str,
    stimulus: Stimulus,
    modfiles_dir: str | os.PathLike[str],
    mechanisms_cache_dir: str | os.PathLike[str],
    axon_type: AxonType | str = AxonType.TRUNCATED,
    on_progress: ProgressCallback | None = None,
    wall_time_limit: float = DEFAULT_WALL_TIME_LIMIT_S,
    memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB,
) -> RunResult:
    """Simulate one model with one stimulus.

    ``fit`` is Allen's fit JSON (a path or the parsed document), ``swc_path`` the reconstruction it was
    fitted on, ``modfiles_dir`` the model's ``.mod`` files, compiled once into ``mechanisms_cache_dir``.
    ``on_progress`` gets the fraction of simulated time done, every 1 % (it runs in the caller's thread).
    """
    if not isinstance(stimulus, Stimulus):
        raise BiophysError(f"stimulus must be a Stimulus (square_step or from_sweep), not {type(stimulus).__name__}")
    document = _fit_document(fit)
    model_type = _choice(ModelType, model_type, "model type")
    axon_type = _choice(AxonType, axon_type, "axon type")
    BiophysicalFit.from_dict(document).check_for(model_type)
    read_swc(swc_path)  # a broken SWC fails here with its line, not inside NEURON
    mod_files(modfiles_dir)
    reason = neuron_unavailable_reason()
    if reason:
        raise NeuronUnavailableError(reason)
    mechanisms = compiled_mechanisms(modfiles_dir, mechanisms_cache_dir)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="celltypes-biophys-") as workdir:
        work = Path(workdir)
        job = {
            "fit": document,
            "swc_path": str(Path(swc_path).resolve()),
            "model_type": model_type.value,
            "axon_type": axon_type.value,
            "sampling_rate": stimulus.sampling_rate,
            "simulation_rate": stimulus.simulation_rate,
            "mechanisms_digest": mechanisms.digest,
            "mechanisms_dir": str(mechanisms.directory),
            "library": str(mechanisms.library),
            "memory_limit_mb": memory_limit_mb,
        }
        (work / child.JOB_FILE).write_text(json.dumps(job))
        np.save(work / child.STIMULUS_FILE, stimulus.current)
        _run_child(work, on_progress, wall_time_limit)
        with np.load(work / child.RESULT_FILE) as result:
            t, v = result["t"], result["v"]
            simulation_seconds, dt = float(result["simulation_seconds"]), float(result["dt"])
    return RunResult(
        t=t,
        v=v,
        spike_times=spike_times(t, v),
        sampling_rate=stimulus.sampling_rate,
        dt=dt,
        simulation_seconds=simulation_seconds,
        wall_seconds=time.monotonic() - started,
    )


def _run_child(work: Path, on_progress: ProgressCallback | None, wall_time_limit: float) -> None:
    deadline = time.monotonic() + wall_time_limit
    env = {**os.environ, "NEURON_MODULE_OPTIONS": "-nogui"}
    with (work / "stderr.txt").open("w+") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", _BOOTSTRAP, str(_CELLTYPES_DIR), str(work)],
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            messages = _follow(process, deadline, on_progress, wall_time_limit)
            process.wait(timeout=max(deadline - time.monotonic(), 1.0))
        except subprocess.TimeoutExpired:
            raise RunTimeoutError(f"the run took longer than {wall_time_limit:g} s and was stopped") from None
        finally:
            _kill(process)
        if process.returncode != 0 or "done" not in messages:
            stderr.seek(0)
            errors = [m.removeprefix("error ") for m in messages if m.startswith("error ")]
            if errors and errors[-1].startswith("ModelError: "):
                raise ModelError(errors[-1].removeprefix("ModelError: "))
            detail = errors[-1] if errors else stderr.read()[-2000:].strip() or "no output"
            raise RunFailedError(f"NEURON run failed (exit {process.returncode}): {detail}")


def _follow(
    process: subprocess.Popen[bytes], deadline: float, on_progress: ProgressCallback | None, limit: float
) -> list[str]:
    """Read the child's channel until it closes, passing progress on; other lines are returned."""
    assert process.stdout is not None
    messages: list[str] = []
    pending = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RunTimeoutError(f"the run took longer than {limit:g} s and was stopped")
            if not selector.select(timeout=min(remaining, 1.0)):
                continue
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                return messages
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in (raw.decode(errors="replace").strip() for raw in lines):
                if line.startswith("progress "):
                    if on_progress is not None:
                        on_progress(float(line.removeprefix("progress ")))
                elif line:
                    messages.append(line)


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def _fit_document(fit: Mapping[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
    if isinstance(fit, Mapping):
        return dict(fit)
    try:
        document = json.loads(Path(fit).read_text())
    except (OSError, ValueError) as error:
        raise ModelError(f"fit {fit}: cannot read it as JSON ({error})") from None
    if not isinstance(document, dict):
        raise ModelError(f"fit {fit}: not a JSON object")
    return document


def _choice(kind: type[ModelType] | type[AxonType], value: Any, what: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in kind)
        raise ModelError(f"unknown {what} {value!r}; one of {allowed}") from None
