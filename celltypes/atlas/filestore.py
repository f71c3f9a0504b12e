"""The file store: local copies of well-known files, kept under CELLTYPES_DATA_DIR by WellKnownFile id.

Writes go to a temporary file in the same directory and are checked, then renamed into place, so a reader never
sees a half-written or failed file. Derived files (converted NWB, rendered previews) live beside them under
`derived/`. A held file counts as good only while it matches the size and sha256 recorded for it.
"""

import fcntl
import hashlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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


def lab_recording_path(specimen_id: int) -> Path:
    """A lab's own NWB recording (LabRecording), never one of Allen's well-known files."""
    return data_dir() / "lab_recordings" / f"{specimen_id}.nwb"


def derived_path(*parts: str) -> Path:
    return data_dir().joinpath("derived", *parts)


class LockTimeout(TimeoutError):
    """Another process or thread held the lock for longer than we were willing to wait."""


def write_atomic(target: Path, chunks: Iterable[bytes], *, check: Callable[[Path], None] | None = None) -> StoredFile:
    """Write `chunks` to `target` via temp-then-rename; return its size and sha256.

    `check(temporary_path)` runs on the complete file before the rename; when it (or `chunks`) raises, nothing is
    kept.
    """
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
            identity = _identity(os.fstat(fh.fileno()))  # a rename keeps the inode and mtime
        if check is not None:
            check(Path(tmp_name))
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _digest_remember(target, identity, digest.hexdigest())
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


# The sha256 of files already hashed, by path, valid while the file's inode, size and mtime are unchanged: a file
# replaced (rename) or rewritten is hashed again. Per process; cleared when full.
_DIGESTS: dict[str, tuple[tuple[int, int, int], str]] = {}
_DIGESTS_MAX = 4096
_DIGESTS_LOCK = threading.Lock()


def _identity(stat: os.stat_result) -> tuple[int, int, int]:
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _digest_remember(path: Path, identity: tuple[int, int, int], sha256: str) -> None:
    with _DIGESTS_LOCK:
        if len(_DIGESTS) >= _DIGESTS_MAX:
            _DIGESTS.clear()
        _DIGESTS[str(path)] = (identity, sha256)


def open_with_sha256(path: Path) -> tuple[BinaryIO, int, str]:
    """Open `path` for reading, with the size and sha256 of the very bytes the open file holds.

    Hashed once per change of the file (FileNotFoundError when there is none). A file replaced after the open is
    not mixed up with the one being read: the digest is keyed by what was opened.
    """
    fh = path.open("rb")
    try:
        identity = _identity(os.fstat(fh.fileno()))
        with _DIGESTS_LOCK:
            known = _DIGESTS.get(str(path))
        if known is not None and known[0] == identity:
            return fh, identity[1], known[1]
        digest = hashlib.sha256()
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
        fh.seek(0)
        if _identity(os.fstat(fh.fileno())) == identity:  # not rewritten in place while we read it
            _digest_remember(path, identity, digest.hexdigest())
        return fh, identity[1], digest.hexdigest()
    except BaseException:
        fh.close()
        raise


def current_sha256(path: Path) -> str:
    """The sha256 of the bytes `path` holds now (see open_with_sha256)."""
    fh, _, sha256 = open_with_sha256(path)
    fh.close()
    return sha256


def held_well_known_file(file_id: int, *, size: int | None, sha256: str | None) -> StoredFile | None:
    """The held copy of file `file_id` when it matches its recorded `size` and `sha256` (either may be unknown:
    None); None when it is not held or no longer matches (damaged or replaced: not to be served as good)."""
    path = well_known_file_path(file_id)
    try:
        held_size = path.stat().st_size
        if size is not None and held_size != size:
            return None
        held_sha256 = current_sha256(path)
    except FileNotFoundError:
        return None
    if sha256 and held_sha256 != sha256:
        return None
    return StoredFile(path, held_size, held_sha256)


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


def _lock_path(file_id: int, suffix: str) -> Path:
    return _named_lock_path(f"well_known_file_{file_id}.{suffix}")


def _named_lock_path(name: str) -> Path:
    path = data_dir() / "locks" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def well_known_file_lock(file_id: int, *, timeout: float | None = None) -> Iterator[bool]:
    """Hold an exclusive lock on file `file_id` across processes and threads (one fetch at a time per file).

    Yields whether we had to wait for another holder. LockTimeout after `timeout` seconds of waiting (None: wait
    as long as it takes).
    """
    with named_lock(f"well_known_file_{file_id}.lock", timeout=timeout, what=f"well-known file {file_id}") as waited:
        yield waited


@contextmanager
def named_lock(name: str, *, timeout: float | None = None, what: str | None = None) -> Iterator[bool]:
    """An exclusive lock called `name` (a file name under locks/), as `well_known_file_lock`."""
    ends_at = None if timeout is None else time.monotonic() + timeout
    with open(_named_lock_path(name), "w") as lock:
        waited = False
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = True
                if ends_at is not None and time.monotonic() >= ends_at:
                    raise LockTimeout(f"{what or name} is locked by another fetch") from None
                time.sleep(0.05)
        try:
            yield waited
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def fetch_failure_record(file_id: int, message: str | None) -> None:
    """Remember why the last fetch of file `file_id` failed (None: it succeeded), for those who waited on it."""
    path = _lock_path(file_id, "failed")
    if message is None:
        path.unlink(missing_ok=True)
    else:
        write_atomic(path, [message.encode()])


def fetch_failure_since(file_id: int, since: float) -> str | None:
    """Why the last fetch of file `file_id` failed, when it failed after `since` (time.time())."""
    path = _lock_path(file_id, "failed")
    try:
        if path.stat().st_mtime < since:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None


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
