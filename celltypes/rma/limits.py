"""What one RMA answer may cost: seconds of SQL, rows loaded by its includes, bytes of its body.

The numbers live in settings (RMA_QUERY_TIMEOUT_SECONDS, RMA_MAX_INCLUDED_ROWS, RMA_MAX_RESPONSE_BYTES) and are
read when a query runs. Going past one is the query's size, not a fault: an RmaError (HTTP 400) that says what to
narrow, like Allen's 25,000-row page cap.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from celltypes.rma.errors import RmaError

NARROW = "ask for fewer rows (num_rows, start_row), add filters, or include fewer associations"
# SQLite calls the deadline check every this many virtual-machine instructions (well under a millisecond).
SQLITE_PROGRESS_STEPS = 10_000
# PostgreSQL: how far past the deadline a statement may run before statement_timeout is set to the time left again.
POSTGRES_SLACK_MS = 100


class QueryTimeout(RmaError):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"the query ran longer than this server allows ({seconds:g} s); {NARROW}")


class IncludedRows:
    """The rows the includes of one answer have loaded, against RMA_MAX_INCLUDED_ROWS."""

    def __init__(self) -> None:
        self.limit = settings.RMA_MAX_INCLUDED_ROWS
        self.total = 0

    def left(self) -> int:
        return self.limit - self.total

    def add(self, count: int, where: str) -> None:
        """Count `count` more rows, loaded for the include path `where`; raise once past the limit."""
        self.total += count
        if self.total > self.limit:
            raise RmaError(f"the included associations hold more than {self.limit} rows (at '{where}'); {NARROW}")


def check_response_size(size: int) -> None:
    limit = settings.RMA_MAX_RESPONSE_BYTES
    if size > limit:
        raise RmaError(f"the answer would be {size} bytes, more than this server sends at once ({limit}); {NARROW}")


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = False
        self.statement_timeout_ms: int | None = None  # what PostgreSQL was last told

    def left(self) -> float:
        return self.ends - time.monotonic()

    def passed(self) -> bool:
        if self.left() <= 0:
            self.expired = True
        return self.expired

    def on_sqlite_progress(self) -> int:
        return 1 if self.passed() else 0  # non-zero interrupts the running statement

    def before_statement(self, execute, sql, params, many, context):
        """Django execute wrapper: no statement starts after the deadline; on PostgreSQL each one may run for the time
        left (statement_timeout, set again only once it would overshoot the deadline by more than
        POSTGRES_SLACK_MS: one extra round trip for a query of a few statements)."""
        if self.passed():
            raise QueryTimeout(self.seconds)
        if connection.vendor == "postgresql":
            left_ms = max(1, int(self.left() * 1000))
            if self.statement_timeout_ms is None or self.statement_timeout_ms - left_ms > POSTGRES_SLACK_MS:
                context["cursor"].cursor.execute("SELECT set_config('statement_timeout', %s, false)", [str(left_ms)])
                self.statement_timeout_ms = left_ms
        return execute(sql, params, many, context)


@contextmanager
def deadline(seconds: float | None = None) -> Iterator[None]:
    """Stop every SQL statement run inside once `seconds` (default RMA_QUERY_TIMEOUT_SECONDS) have passed, and raise
    QueryTimeout. SQLite: a progress handler interrupts the statement, also while its rows are being fetched.
    PostgreSQL: statement_timeout, reset when the block ends; inside a transaction (tests) the block runs in a
    savepoint, so that a cancelled statement does not leave the transaction aborted (an interrupted SELECT does not
    abort a SQLite transaction)."""
    state = _Deadline(settings.RMA_QUERY_TIMEOUT_SECONDS if seconds is None else seconds)
    connection.ensure_connection()
    sqlite = connection.vendor == "sqlite"
    savepoint = connection.vendor == "postgresql" and connection.in_atomic_block
    if sqlite:
        connection.connection.set_progress_handler(state.on_sqlite_progress, SQLITE_PROGRESS_STEPS)
    try:
        with (
            transaction.atomic() if savepoint else nullcontext(),
            connection.execute_wrapper(state.before_statement),
        ):
            yield
    except DatabaseError as exc:
        if state.expired or state.passed():
            raise QueryTimeout(state.seconds) from exc
        raise
    finally:
        if sqlite:
            if connection.connection is not None:
                connection.connection.set_progress_handler(None, 0)
        elif state.statement_timeout_ms is not None and connection.connection is not None:
            _reset_statement_timeout()


def _reset_statement_timeout() -> None:
    """Back to the session's own statement_timeout; a connection that cannot say so is not reused with ours."""
    try:
        with connection.wrap_database_errors, connection.connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")  # on the driver's cursor, like set_config: not a query's own
    except DatabaseError:
        if not connection.in_atomic_block:
            connection.close()
