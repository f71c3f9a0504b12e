"""Allen's biophysical models (perisomatic and all-active) run with NEURON, as Allen's own runner runs them.

``run_model`` compiles the model's mechanisms once per digest (``mechanisms.py``), builds the cell from
its fit and SWC in a NEURON process of its own (``model.py``, ``child.py``) and returns the soma trace and
spike times (``spikes.py``) for a square step or a sweep's stimulus (``stimulus.py``). NEURON is imported
only in that process, so this package imports without it. ``neuron_unavailable_reason()`` says whether
runs can work here, ``missing_build_tools()`` whether mechanisms can be compiled here.
"""

from .errors import (
    BiophysError,
    MechanismCompileError,
    ModelError,
    NeuronUnavailableError,
    RunFailedError,
    RunTimeoutError,
)
from .mechanisms import (
    CompiledMechanisms,
    compiled_mechanisms,
    mechanisms_digest,
    missing_build_tools,
    neuron_unavailable_reason,
)
from .model import AxonType, BiophysicalFit, ModelType
from .run import RunResult, run_model
from .spikes import spike_times
from .stimulus import Stimulus

__all__ = [
    "AxonType",
    "BiophysError",
    "BiophysicalFit",
    "CompiledMechanisms",
    "MechanismCompileError",
    "ModelError",
    "ModelType",
    "NeuronUnavailableError",
    "RunFailedError",
    "RunResult",
    "RunTimeoutError",
    "Stimulus",
    "compiled_mechanisms",
    "mechanisms_digest",
    "missing_build_tools",
    "neuron_unavailable_reason",
    "run_model",
    "spike_times",
]
