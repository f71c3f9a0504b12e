"""Allen's GLIF ``neuron_config.json``, read into a checked, frozen :class:`GlifConfig`.

A config comes plain (``{"El": ..., "voltage_dynamics_method": ...}``) or, in newer Allen downloads, wrapped as
``{"<model id>": {...}}``. Each ``*_method`` entry is ``{"name": ..., "params": {...}}`` and must name a method
of :data:`METHODS` with exactly the parameters the AllenSDK's function takes. Anything the AllenSDK 2.16.2
``GlifNeuron`` could not run raises :class:`InvalidFileError` saying what is missing or wrong, where the SDK
would fail with a KeyError, a TypeError at the first spike, or a division by zero. A config it can run is
accepted, and ``to_dict`` gives the same dict back.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidFileError
from . import kernel

Number = float
Params = dict[str, Any]

# The six method slots of a config, in the order the AllenSDK's GlifNeuron takes them.
METHOD_KINDS = (
    "AScurrent_dynamics_method",
    "voltage_dynamics_method",
    "threshold_dynamics_method",
    "AScurrent_reset_method",
    "voltage_reset_method",
    "threshold_reset_method",
)


@dataclass(frozen=True, kw_only=True)
class GlifMethod:
    """One entry of Allen's method library: its slot, name, the parameters it needs, and what it does."""

    kind: str
    name: str
    params: tuple[str, ...]
    code: int
    summary: str


_THRESHOLD_PARAMS = ("a_spike", "b_spike", "a_voltage", "b_voltage")

METHODS: dict[str, dict[str, GlifMethod]] = {
    kind: {method.name: method for method in methods}
    for kind, methods in {
        "AScurrent_dynamics_method": (
            GlifMethod(
                kind="AScurrent_dynamics_method",
                name="exp",
                params=(),
                code=kernel.ASC_DYNAMICS_EXP,
                summary="each after-spike current decays as exp(-dt / asc_tau)",
            ),
            GlifMethod(
                kind="AScurrent_dynamics_method",
                name="none",
                params=(),
                code=kernel.ASC_DYNAMICS_NONE,
                summary="after-spike currents are zero at every step",
            ),
        ),
        "voltage_dynamics_method": (
            GlifMethod(
                kind="voltage_dynamics_method",
                name="linear_forward_euler",
                params=(),
                code=kernel.VOLTAGE_DYNAMICS_LINEAR_FORWARD_EULER,
                summary="C dV/dt = I + sum(after-spike currents) - G (V - El), forward Euler",
            ),
        ),
        "threshold_dynamics_method": (
            GlifMethod(
                kind="threshold_dynamics_method",
                name="inf",
                params=(),
                code=kernel.THRESHOLD_DYNAMICS_INF,
                summary="threshold stays at th_inf",
            ),
            GlifMethod(
                kind="threshold_dynamics_method",
                name="spike_component",
                params=_THRESHOLD_PARAMS,
                code=kernel.THRESHOLD_DYNAMICS_SPIKE_COMPONENT,
                summary="th_inf plus a spike component decaying as exp(-b_spike t)",
            ),
            GlifMethod(
                kind="threshold_dynamics_method",
                name="three_components_exact",
                params=_THRESHOLD_PARAMS,
                code=kernel.THRESHOLD_DYNAMICS_THREE_COMPONENTS_EXACT,
                summary="th_inf plus the spike component plus a voltage component (a_voltage, b_voltage), exact",
            ),
        ),
        "AScurrent_reset_method": (
            GlifMethod(
                kind="AScurrent_reset_method",
                name="sum",
                params=("r",),
                code=kernel.ASC_RESET_SUM,
                summary="at a spike each current becomes asc_amp plus r times what is left after the cut",
            ),
            GlifMethod(
                kind="AScurrent_reset_method",
                name="none",
                params=(),
                code=kernel.ASC_RESET_NONE,
                summary="currents stay zero (non-zero currents at a spike are an error)",
            ),
        ),
        "voltage_reset_method": (
            GlifMethod(
                kind="voltage_reset_method",
                name="zero",
                params=(),
                code=kernel.VOLTAGE_RESET_ZERO,
                summary="voltage resets to 0 (El)",
            ),
            GlifMethod(
                kind="voltage_reset_method",
                name="v_before",
                params=("a", "b"),
                code=kernel.VOLTAGE_RESET_V_BEFORE,
                summary="voltage resets to a * V(at the spike) + b",
            ),
        ),
        "threshold_reset_method": (
            GlifMethod(
                kind="threshold_reset_method",
                name="inf",
                params=(),
                code=kernel.THRESHOLD_RESET_INF,
                summary="threshold resets to th_inf",
            ),
            GlifMethod(
                kind="threshold_reset_method",
                name="three_components",
                params=("a_spike", "b_spike"),
                code=kernel.THRESHOLD_RESET_THREE_COMPONENTS,
                summary="spike component decays through the cut (b_spike), then a_spike is added",
            ),
        ),
    }.items()
}

# The five GLIF levels of Teeter et al. 2018, by their methods:
# (AScurrent dynamics, AScurrent reset, threshold dynamics, threshold reset, voltage reset).
LEVELS = {
    ("none", "none", "inf", "inf", "zero"): 1,
    ("none", "none", "spike_component", "three_components", "v_before"): 2,
    ("exp", "sum", "inf", "inf", "zero"): 3,
    ("exp", "sum", "spike_component", "three_components", "v_before"): 4,
    ("exp", "sum", "three_components_exact", "three_components", "v_before"): 5,
}
LEVEL_NAMES = {1: "LIF", 2: "LIF-R", 3: "LIF-ASC", 4: "LIF-R-ASC", 5: "LIF-R-ASC-A"}

# Multipliers the AllenSDK applies when a config's "coeffs" leaves them out.
DEFAULT_COEFFS = ("th_inf", "C", "G", "b", "a")

_REQUIRED_NUMBERS = ("El", "dt", "R_input", "C", "th_inf", "init_voltage", "init_threshold")
_REQUIRED_ARRAYS = ("asc_tau_array", "asc_amp_array", "init_AScurrents")
_KNOWN = {
    *_REQUIRED_NUMBERS,
    *_REQUIRED_ARRAYS,
    *METHOD_KINDS,
    "El_reference",
    "th_adapt",
    "spike_cut_length",
    "coeffs",
}


@dataclass(frozen=True, kw_only=True)
class MethodConfig:
    """A config's ``{"name": ..., "params": {...}}`` for one method slot."""

    name: str
    params: Params = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "params": {key: _plain(value) for key, value in self.params.items()}}


@dataclass(frozen=True, kw_only=True)
class GlifConfig:
    """A GLIF neuron as Allen writes it; names follow the file. Voltages are relative to ``El`` (0 in Allen's fits);
    ``El_reference`` is the cell's resting potential in volts, when the file gives it."""

    model_id: str | None = None
    El: Number
    El_reference: Number | None = None
    dt: Number
    R_input: Number
    C: Number
    th_inf: Number
    th_adapt: Number | None
    spike_cut_length: int
    asc_tau_array: tuple[Number, ...]
    asc_amp_array: tuple[Number, ...]
    init_voltage: Number
    init_threshold: Number
    init_AScurrents: tuple[Number, ...]
    coeffs: dict[str, Number | tuple[Number, ...]] = field(default_factory=dict)
    AScurrent_dynamics_method: MethodConfig
    voltage_dynamics_method: MethodConfig
    threshold_dynamics_method: MethodConfig
    AScurrent_reset_method: MethodConfig
    voltage_reset_method: MethodConfig
    threshold_reset_method: MethodConfig
    extra: dict[str, Any] = field(default_factory=dict)  # keys the simulation does not use (type, dt_multiplier, ...)

    @classmethod
    def from_dict(cls, data: Any, *, path: str = "neuron_config") -> GlifConfig:
        """Read a plain or ``{"<model id>": {...}}`` config; ``path`` names the source in errors."""
        model_id, body = _unwrap(data, path)
        return _parse(body, model_id, path)

    def to_dict(self, *, wrapped: bool = False) -> dict[str, Any]:
        """The plain config dict (or ``{model_id: ...}`` with ``wrapped=True``), as Allen writes it."""
        body: dict[str, Any] = {
            "El": self.El,
            "dt": self.dt,
            "R_input": self.R_input,
            "C": self.C,
            "th_inf": self.th_inf,
            "th_adapt": self.th_adapt,
            "spike_cut_length": self.spike_cut_length,
            "asc_tau_array": list(self.asc_tau_array),
            "asc_amp_array": list(self.asc_amp_array),
            "init_voltage": self.init_voltage,
            "init_threshold": self.init_threshold,
            "init_AScurrents": list(self.init_AScurrents),
            "coeffs": {key: _plain(value) for key, value in self.coeffs.items()},
        }
        if self.El_reference is not None:
            body["El_reference"] = self.El_reference
        for kind in METHOD_KINDS:
            body[kind] = getattr(self, kind).to_dict()
        body.update(self.extra)
        if wrapped:
            if self.model_id is None:
                raise ValueError("this config has no model id to wrap it in")
            return {self.model_id: body}
        return body

    def method(self, kind: str) -> GlifMethod:
        return METHODS[kind][getattr(self, kind).name]

    def coefficient(self, name: str) -> Number:
        """A scalar multiplier from ``coeffs`` (th_inf, C, G, a, b), 1 when the config leaves it out."""
        return self.coeffs.get(name, 1.0)

    @property
    def asc_amp_coefficients(self) -> tuple[Number, ...]:
        return self.coeffs.get("asc_amp_array", (1.0,) * len(self.asc_tau_array))

    @property
    def level(self) -> int | None:
        """1-5 (Teeter et al. 2018) when the methods are one of the five GLIF levels, else None."""
        names = tuple(
            getattr(self, kind).name
            for kind in (
                "AScurrent_dynamics_method",
                "AScurrent_reset_method",
                "threshold_dynamics_method",
                "threshold_reset_method",
                "voltage_reset_method",
            )
        )
        return LEVELS.get(names)

    @property
    def level_name(self) -> str | None:
        return LEVEL_NAMES.get(self.level) if self.level else None


def load_config(path: str | Path) -> GlifConfig:
    """Read a neuron_config.json file (plain or wrapped)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidFileError(str(path), f"cannot read the file: {error}") from error
    except json.JSONDecodeError as error:
        raise InvalidFileError(str(path), f"not JSON: {error.msg}", where=f"line {error.lineno}") from error
    return GlifConfig.from_dict(data, path=str(path))


def _unwrap(data: Any, path: str) -> tuple[str | None, Mapping[str, Any]]:
    if not isinstance(data, Mapping):
        raise InvalidFileError(path, f"a neuron_config is a JSON object, not {type(data).__name__}")
    if "voltage_dynamics_method" in data or "El" in data:
        return None, data
    if len(data) == 1:
        ((model_id, body),) = data.items()
        if isinstance(body, Mapping):
            return str(model_id), body
    raise InvalidFileError(
        path, 'neither a neuron_config nor {"<model id>": neuron_config}: found keys ' + ", ".join(map(str, data))
    )


def _parse(body: Mapping[str, Any], model_id: str | None, path: str) -> GlifConfig:
    required = (*_REQUIRED_NUMBERS, *_REQUIRED_ARRAYS, *METHOD_KINDS, "th_adapt", "spike_cut_length")
    missing = [key for key in required if key not in body]
    if missing:
        raise InvalidFileError(path, "the config lacks " + ", ".join(missing) + " (the AllenSDK requires them)")
    numbers = {key: _number(body[key], path, key) for key in _REQUIRED_NUMBERS}
    for key in ("dt", "R_input", "C"):
        if numbers[key] <= 0:
            raise InvalidFileError(path, f"must be positive, got {numbers[key]}", where=key)
    asc_tau = _numbers(body["asc_tau_array"], path, "asc_tau_array")
    n_currents = len(asc_tau)
    if n_currents > kernel.MAX_CURRENTS:
        raise InvalidFileError(path, f"more than {kernel.MAX_CURRENTS} after-spike currents", where="asc_tau_array")
    if any(tau <= 0 for tau in asc_tau):
        raise InvalidFileError(path, "after-spike time constants must be positive", where="asc_tau_array")
    arrays = {"asc_tau_array": asc_tau}
    for key in ("asc_amp_array", "init_AScurrents"):
        arrays[key] = _numbers(body[key], path, key, length=n_currents)
    config = GlifConfig(
        model_id=model_id,
        **numbers,
        El_reference=None if body.get("El_reference") is None else _number(body["El_reference"], path, "El_reference"),
        th_adapt=None if body["th_adapt"] is None else _number(body["th_adapt"], path, "th_adapt"),
        spike_cut_length=_cut_length(body["spike_cut_length"], path),
        **arrays,
        coeffs=_coeffs(body.get("coeffs", {}), n_currents, path),
        **{kind: _method(kind, body[kind], n_currents, path) for kind in METHOD_KINDS},
        extra={key: value for key, value in body.items() if key not in _KNOWN},
    )
    _check_combination(config, path)
    return config


def _check_combination(config: GlifConfig, path: str) -> None:
    """Method pairings the AllenSDK accepts at construction but cannot run."""
    thresholds = config.threshold_dynamics_method.name
    if config.threshold_reset_method.name == "three_components" and thresholds == "inf":
        raise InvalidFileError(
            path,
            "threshold_reset_method 'three_components' resets the threshold's spike component, which "
            "threshold_dynamics_method 'inf' does not have (the AllenSDK fails at the first spike)",
            where="threshold_reset_method",
        )
    if thresholds == "three_components_exact":
        b = config.threshold_dynamics_method.params["b_voltage"] * config.coefficient("b")
        conductance = 1.0 / config.R_input * config.coefficient("G")
        capacitance = config.C * config.coefficient("C")
        if b == 0 or b == conductance / capacitance:
            raise InvalidFileError(
                path,
                f"three_components_exact divides by b_voltage and by b_voltage - 1/tau_m; with b_voltage={b!r} "
                "it cannot run (the AllenSDK fails with a division by zero)",
                where="threshold_dynamics_method.params.b_voltage",
            )


def _method(kind: str, value: Any, n_currents: int, path: str) -> MethodConfig:
    if not isinstance(value, Mapping) or "name" not in value or "params" not in value:
        raise InvalidFileError(path, 'a method is {"name": ..., "params": {...}}', where=kind)
    name = value["name"]
    known = METHODS[kind]
    if name not in known:
        raise InvalidFileError(
            path, f"unknown method {name!r}; the AllenSDK knows {', '.join(sorted(known))}", where=f"{kind}.name"
        )
    params = value["params"]
    if not isinstance(params, Mapping):
        raise InvalidFileError(path, "params must be an object", where=f"{kind}.params")
    needed = known[name].params
    lacking = [key for key in needed if key not in params]
    if lacking:
        raise InvalidFileError(
            path,
            f"{kind} {name!r} needs parameter {', '.join(lacking)}, which this config lacks "
            "(the AllenSDK fails at the first spike without it)",
            where=f"{kind}.params",
        )
    unexpected = [key for key in params if key not in needed]
    if unexpected:
        raise InvalidFileError(
            path,
            f"{kind} {name!r} takes no parameter {', '.join(map(str, unexpected))} (the AllenSDK would fail on it)",
            where=f"{kind}.params",
        )
    checked: Params = {}
    for key in needed:
        where = f"{kind}.params.{key}"
        if key == "r":
            checked[key] = _numbers(params[key], path, where, length=n_currents)
        else:
            checked[key] = _number(params[key], path, where)
    return MethodConfig(name=name, params=checked)


def _coeffs(value: Any, n_currents: int, path: str) -> dict[str, Number | tuple[Number, ...]]:
    if not isinstance(value, Mapping):
        raise InvalidFileError(path, "coeffs must be an object", where="coeffs")
    coeffs: dict[str, Number | tuple[Number, ...]] = {}
    for key, item in value.items():
        where = f"coeffs.{key}"
        if key == "asc_amp_array":
            coeffs[key] = _numbers(item, path, where, length=n_currents)
        elif key in DEFAULT_COEFFS:
            coeffs[key] = _number(item, path, where)
        else:
            coeffs[key] = item  # unused by the simulation; kept as given
    return coeffs


def _cut_length(value: Any, path: str) -> int:
    number = _number(value, path, "spike_cut_length")
    if number < 0 or number != int(number):
        raise InvalidFileError(path, f"must be a whole number of steps >= 0, got {value!r}", where="spike_cut_length")
    return int(number)


def _number(value: Any, path: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidFileError(path, f"expected a finite number, got {value!r}", where=where)
    return float(value)


def _numbers(value: Any, path: str, where: str, length: int | None = None) -> tuple[float, ...]:
    if not isinstance(value, list | tuple):
        raise InvalidFileError(path, f"expected a list of numbers, got {value!r}", where=where)
    numbers = tuple(_number(item, path, f"{where}[{index}]") for index, item in enumerate(value))
    if length is not None and len(numbers) != length:
        raise InvalidFileError(
            path, f"has {len(numbers)} values but asc_tau_array has {length} (one per after-spike current)", where=where
        )
    return numbers


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
