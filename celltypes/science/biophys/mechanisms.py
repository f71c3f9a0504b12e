"""Allen's channel mechanisms (the ``.mod`` files of a model download), compiled once per digest.

A build lives in ``<cache_dir>/<sha256>/``; the digest covers every ``.mod`` file's name and bytes, so a
changed or added file means a new build and two models with the same files share one. Builds are safe
between processes: whoever builds takes an exclusive lock (``<sha256>.lock``), compiles with NEURON's
``nrnivmodl`` in a temporary directory beside the cache entry and renames it into place, so a build is
either absent or complete; a second process waits for the lock and then finds the build done.

Loading (:func:`load_mechanisms`) happens in the process that runs NEURON, once: a process holds one set
of mechanisms, since two builds define the same mechanism names.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import BiophysError, MechanismCompileError, NeuronUnavailableError

MOD_SUFFIX = ".mod"
COMPILE_TIMEOUT_S = 900
LOCK_TIMEOUT_S = COMPILE_TIMEOUT_S + 60
BUILD_RECORD = "build.json"
_LIBRARY_PATTERNS = ("*/libnrnmech.so", "*/.libs/libnrnmech.so", "*/libnrnmech.dylib")

_loaded: dict[str, str] = {}  # digest -> library path, for this process


@dataclass(frozen=True)
class CompiledMechanisms:
    """A finished build: its digest, its directory and the shared library NEURON loads."""

    digest: str
    directory: Path
    library: Path


def mod_files(modfiles_dir: str | os.PathLike[str]) -> list[Path]:
    """The ``.mod`` files directly inside ``modfiles_dir``, sorted by name; an error if there are none."""
    directory = Path(modfiles_dir)
    if not directory.is_dir():
        raise MechanismCompileError(f"mechanism directory not found: {directory}")
    files = sorted(p for p in directory.iterdir() if p.suffix == MOD_SUFFIX and p.is_file())
    if not files:
        raise MechanismCompileError(f"no {MOD_SUFFIX} files in {directory}")
    return files


def mechanisms_digest(modfiles_dir: str | os.PathLike[str]) -> str:
    """sha256 over the names and bytes of the ``.mod`` files (the cache key of a build)."""
    digest = hashlib.sha256()
    for path in mod_files(modfiles_dir):
        body = path.read_bytes()
        digest.update(f"{path.name}\0{len(body)}\0".encode())
        digest.update(body)
    return digest.hexdigest()


def nrnivmodl_path() -> Path:
    """NEURON's mechanism compiler: beside this interpreter first (a venv), then on PATH."""
    beside = Path(sys.executable).parent / "nrnivmodl"
    if beside.exists():
        return beside
    found = shutil.which("nrnivmodl")
    if found is None:
        raise NeuronUnavailableError("nrnivmodl (NEURON's mechanism compiler) is not installed: pip install neuron")
    return Path(found)


def neuron_unavailable_reason() -> str | None:
    """Why biophysical runs cannot work here, or None when NEURON and nrnivmodl are both installed.

    Does not import NEURON (that is left to the run's own process).
    """
    if importlib.util.find_spec("neuron") is None:
        return "NEURON is not installed (pip install neuron)"
    try:
        nrnivmodl_path()
    except NeuronUnavailableError as error:
        return str(error)
    return None


def compiled_mechanisms(
    modfiles_dir: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str],
    *,
    nrnivmodl: str | os.PathLike[str] | None = None,
) -> CompiledMechanisms:
    """The build of ``modfiles_dir`` under ``cache_dir``, compiling it first if no process has yet.

    ``nrnivmodl`` names the compiler when it is not NEURON's own (see :func:`nrnivmodl_path`).
    """
    digest = mechanisms_digest(modfiles_dir)
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    final = cache / digest
    if not final.exists():
        with _exclusive_lock(cache / f"{digest}.lock"):
            if not final.exists():
                compiler = Path(nrnivmodl) if nrnivmodl else nrnivmodl_path()
                _compile_into(final, mod_files(modfiles_dir), digest, compiler)
    return CompiledMechanisms(digest=digest, directory=final, library=_library_in(final))


def load_mechanisms(mechanisms: CompiledMechanisms) -> None:
    """Load a build into this process's NEURON (once; a second, different build is refused)."""
    if mechanisms.digest in _loaded:
        return
    if _loaded:
        raise BiophysError(
            f"this process already holds mechanisms {next(iter(_loaded))[:12]}; "
            f"{mechanisms.digest[:12]} must run in a process of its own"
        )
    from neuron import h

    if not h.nrn_load_dll(str(mechanisms.library)):
        raise MechanismCompileError(f"NEURON could not load {mechanisms.library}")
    _loaded[mechanisms.digest] = str(mechanisms.library)


@contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """flock on a lock file, waiting at most LOCK_TIMEOUT_S (a build takes tens of seconds)."""
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise MechanismCompileError(f"timed out waiting for another build holding {path}") from None
                time.sleep(0.25)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def missing_build_tools() -> list[str]:
    """What nrnivmodl needs and this machine lacks: ``make`` and a C++ compiler (``$CXX``, c++ or g++)."""
    missing = [] if shutil.which("make") else ["make"]
    compilers = [os.environ.get("CXX") or "", "c++", "g++"]
    if not any(name and shutil.which(name) for name in compilers):
        missing.append("a C++ compiler")
    return missing


def _compile_into(final: Path, files: list[Path], digest: str, compiler: Path) -> None:
    if missing := missing_build_tools():
        needed = " and ".join(missing)
        raise MechanismCompileError(f"cannot compile mechanisms here: {needed} not found (apt-get install make g++)")
    build = Path(tempfile.mkdtemp(prefix=f".build-{digest[:12]}-", dir=final.parent))
    try:
        sources = build / "modfiles"
        sources.mkdir()
        for path in files:
            shutil.copyfile(path, sources / path.name)
        env = {**os.environ, "PATH": f"{compiler.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        started = time.monotonic()
        try:
            done = subprocess.run(
                [str(compiler), "modfiles"],
                cwd=build,
                env=env,
                capture_output=True,
                text=True,
                timeout=COMPILE_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise MechanismCompileError(f"nrnivmodl took longer than {COMPILE_TIMEOUT_S} s") from None
        if done.returncode != 0:
            tail = (done.stdout + done.stderr)[-2000:]
            raise MechanismCompileError(f"nrnivmodl failed (exit {done.returncode}):\n{tail}")
        library = _library_in(build)
        record = {
            "digest": digest,
            "files": [p.name for p in files],
            "library": str(library.relative_to(build)),
            "compile_seconds": round(time.monotonic() - started, 1),
        }
        (build / BUILD_RECORD).write_text(json.dumps(record, indent=1))
        os.rename(build, final)
    finally:
        shutil.rmtree(build, ignore_errors=True)


def _library_in(directory: Path) -> Path:
    for pattern in _LIBRARY_PATTERNS:
        found = sorted(directory.glob(pattern))
        if found:
            return found[0]
    raise MechanismCompileError(f"no compiled mechanism library (libnrnmech) in {directory}")
