"""Plain h5py access whose every failure is an :class:`InvalidFileError` naming the HDF5 object at fault."""

from __future__ import annotations

import math
import os
from typing import Any, NoReturn

import h5py
import numpy as np

from ..errors import InvalidFileError

PathLike = str | os.PathLike[str]

# What h5py raises on a damaged file, a missing object or an unreadable value.
H5_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError)


class H5File:
    """An open HDF5 file and its path, with accessors that fail with the object's name."""

    def __init__(self, handle: h5py.File, path: str) -> None:
        self.h = handle
        self.path = path

    def fail(self, where: str | None, message: str) -> NoReturn:
        raise InvalidFileError(self.path, message, where=where)

    def has(self, name: str) -> bool:
        try:
            return name in self.h
        except (OSError, RuntimeError, KeyError, ValueError):
            return False

    def node(self, name: str, *, kind: type | None = None, required: bool = True) -> Any:
        if not self.has(name):
            if required:
                what = "dataset" if kind is h5py.Dataset else "group" if kind is h5py.Group else "object"
                self.fail(absolute(name), f"missing {what}")
            return None
        try:
            obj = self.h[name]
        except (OSError, RuntimeError, KeyError, ValueError) as exc:
            self.fail(absolute(name), f"cannot open ({exc})")
        if kind is not None and not isinstance(obj, kind):
            self.fail(absolute(name), f"expected a {'dataset' if kind is h5py.Dataset else 'group'}")
        return obj

    def group(self, name: str, required: bool = True) -> h5py.Group | None:
        return self.node(name, kind=h5py.Group, required=required)

    def value(self, name: str, required: bool = False) -> Any:
        dataset = self.node(name, kind=h5py.Dataset, required=required)
        if dataset is None:
            return None
        try:
            return dataset[()]
        except (OSError, RuntimeError, ValueError, TypeError) as exc:
            self.fail(absolute(name), f"cannot read ({exc})")

    def text(self, name: str) -> str | None:
        return text(self.value(name))

    def number(self, name: str) -> float | None:
        value = self.value(name)
        if value is None:
            return None
        try:
            number = as_float(np.asarray(value).reshape(-1)[0])
        except (ValueError, TypeError, IndexError):
            return None
        return number if math.isfinite(number) else None

    def attr(self, obj: h5py.HLObject, key: str, default: Any = None) -> Any:
        try:
            return obj.attrs.get(key, default)
        except (OSError, RuntimeError, ValueError, TypeError) as exc:
            self.fail(f"{obj.name}@{key}", f"cannot read attribute ({exc})")

    def attr_float(self, obj: h5py.HLObject, key: str, default: float | None = None, why: str = "") -> float:
        """A numeric attribute; a missing one is ``default``, or an error (``why`` says why it is needed)."""
        value = self.attr(obj, key)
        if value is None:
            if default is None:
                self.fail(obj.name, f"missing attribute '{key}'{why}")
            return default
        try:
            return as_float(value)
        except (ValueError, TypeError, IndexError):
            self.fail(obj.name, f"attribute '{key}' is not a number: {value!r}")

    def keys(self, name: str) -> list[str]:
        group = self.group(name)
        try:
            return list(group.keys())
        except (OSError, RuntimeError) as exc:
            self.fail(absolute(name), f"cannot list ({exc})")


def open_nwb(path: PathLike) -> H5File:
    """Open ``path`` read-only; FileNotFoundError when absent, InvalidFileError when not HDF5. Close ``.h``."""
    spath = os.fspath(path)
    if not os.path.exists(spath):
        raise FileNotFoundError(spath)
    try:
        return H5File(h5py.File(spath, "r"), spath)
    except OSError as exc:
        raise InvalidFileError(spath, f"not a readable HDF5 file ({exc})", where="/") from exc


def absolute(name: str) -> str:
    return name if name.startswith("/") else "/" + name


def text(value: Any) -> str | None:
    """A stored string (bytes, str, or a one-element array of either) as ``str``."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return None
        value = value.reshape(-1)[0]
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def texts(value: Any) -> list[str]:
    return [text(v) or "" for v in np.asarray(value).reshape(-1)] if value is not None else []


def as_float(value: Any) -> float:
    """Float from an HDF5 scalar; a float32 is taken at its shortest decimal (1e-12, not 1.00000002e-12)."""
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0]
    if isinstance(value, np.float32 | np.float16):
        return float(str(value))
    return float(value)
