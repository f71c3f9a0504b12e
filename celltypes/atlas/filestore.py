"""The file store: local copies of well-known files, kept under CELLTYPES_DATA_DIR by WellKnownFile id.

Writes go to a temporary file in the same directory and are renamed into place, so a reader never sees a
half-written file. Derived files (converted NWB, rendered previews) live beside them under `derived/`.
"""

import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

CHUNK = 1 << 20


@dataclass(frozen=True)
class StoredFile:
    path: Path
    size: int
    sha256: str


def data_dir() -> Path:
    return Path(settings.CELLTYPES_DATA_DIR)


def well_known_file_path(file_id: int) -> Path:
    return data_dir() / "well_known_files" / str(file_id)


def derived_path(*parts: str) -> Path:
    return data_dir().joinpath("derived", *parts)


def write_atomic(target: Path, chunks: Iterable[bytes]) -> StoredFile:
    """Write `chunks` to `target` via temp-then-rename; return its size and sha256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return StoredFile(target, size, digest.hexdigest())


def read_chunks(source: Path) -> Iterable[bytes]:
    with source.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    for chunk in read_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


def store_well_known_file(file_id: int, source: Path | bytes) -> StoredFile:
    """Put `source` (a file, or the bytes themselves) into the store as file `file_id`.

    A no-op when an identical copy is already there.
    """
    target = well_known_file_path(file_id)
    is_bytes = isinstance(source, bytes)
    size = len(source) if is_bytes else source.stat().st_size
    digest = hashlib.sha256(source).hexdigest() if is_bytes else sha256_of(source)
    if target.is_file() and target.stat().st_size == size and sha256_of(target) == digest:
        return StoredFile(target, size, digest)
    return write_atomic(target, [source] if is_bytes else read_chunks(source))


@contextmanager
def well_known_file_lock(file_id: int) -> Iterator[None]:
    """Hold an exclusive lock on file `file_id` across processes and threads (one fetch at a time per file)."""
    path = data_dir() / "locks" / f"well_known_file_{file_id}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def open_well_known_file(file_id: int):
    """Open the local copy of a well-known file for reading (FileNotFoundError when not held)."""
    return well_known_file_path(file_id).open("rb")


def has_well_known_file(file_id: int) -> bool:
    return well_known_file_path(file_id).is_file()


def claim_marker(path: Path, *, stale_after: float) -> bool:
    """Create the in-flight marker ``path``; False when another process holds a fresh one.

    For work that must be started once but need not be waited for (a preview render): the marker is removed
    by whoever finishes the work, and one older than ``stale_after`` seconds counts as abandoned.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if time.time() - path.stat().st_mtime > stale_after:
            path.unlink(missing_ok=True)
    except FileNotFoundError:
        pass
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    os.close(fd)
    return True
