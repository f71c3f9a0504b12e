"""The file store: local copies of well-known files, kept under CELLTYPES_DATA_DIR by WellKnownFile id.

Writes go to a temporary file in the same directory and are renamed into place, so a reader never sees a
half-written file. Derived files (converted NWB, rendered previews) live beside them under `derived/`.
"""

import fcntl
import hashlib
import os
import shutil
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
    size, digest = _size_and_digest(source)
    if _holds(target, size, digest):
        return StoredFile(target, size, digest)
    return write_atomic(target, _chunks(source))


def _size_and_digest(source: Path | bytes) -> tuple[int, str]:
    if isinstance(source, bytes):
        return len(source), hashlib.sha256(source).hexdigest()
    return source.stat().st_size, sha256_of(source)


def _chunks(source: Path | bytes) -> Iterable[bytes]:
    return [source] if isinstance(source, bytes) else read_chunks(source)


def _holds(target: Path, size: int, digest: str) -> bool:
    return target.is_file() and target.stat().st_size == size and sha256_of(target) == digest


class StagedFiles:
    """Well-known files written aside, to enter the store only when the database transaction that records them
    commits: call commit() from transaction.on_commit, and discard() when the transaction fails.

    The staging folder is inside the data directory, so that moving a file into the store is a rename.
    """

    def __init__(self) -> None:
        parent = data_dir() / "staging"
        parent.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(dir=parent))
        self.staged: set[int] = set()

    def add(self, file_id: int, source: Path | bytes) -> StoredFile:
        """Stage `source` as file `file_id` (nothing to stage when the store holds an identical copy)."""
        target = well_known_file_path(file_id)
        size, digest = _size_and_digest(source)
        if not _holds(target, size, digest):
            write_atomic(self.folder / str(file_id), _chunks(source))
            self.staged.add(file_id)
        return StoredFile(target, size, digest)

    def commit(self) -> None:
        for file_id in self.staged:
            target = well_known_file_path(file_id)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.folder / str(file_id), target)
        self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.staged = set()


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
