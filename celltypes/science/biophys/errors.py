"""Errors of the biophysical runner; each says what to tell the user."""

from __future__ import annotations

from ..errors import ScienceError


class BiophysError(ScienceError):
    """Base class for errors raised while compiling, building or running a biophysical model."""


class NeuronUnavailableError(BiophysError):
    """NEURON (the `neuron` package) or its `nrnivmodl` compiler is not installed here."""


class MechanismCompileError(BiophysError):
    """`nrnivmodl` could not compile the channel mechanisms (its output tail is in the message)."""


class ModelError(BiophysError):
    """The fit or the morphology cannot make a model (missing keys, unknown sections, no soma, ...)."""


class RunTimeoutError(BiophysError):
    """The run did not finish within its wall-time limit; its process was killed."""


class RunFailedError(BiophysError):
    """The process running NEURON died or reported an error (the tail of its stderr is in the message)."""
