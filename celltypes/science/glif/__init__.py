"""GLIF point neurons as the AllenSDK's ``GlifNeuron`` runs them: Allen's configs, method library, simulator."""

from __future__ import annotations

from .config import LEVEL_NAMES, METHOD_KINDS, METHODS, GlifConfig, GlifMethod, MethodConfig, load_config
from .kernel import HAS_NUMBA
from .simulate import MAX_STEPS, GlifResult, rheobase, simulate

__all__ = [
    "HAS_NUMBA",
    "LEVEL_NAMES",
    "MAX_STEPS",
    "METHODS",
    "METHOD_KINDS",
    "GlifConfig",
    "GlifMethod",
    "GlifResult",
    "MethodConfig",
    "load_config",
    "rheobase",
    "simulate",
]
