"""What one RMA answer may cost: rows loaded by its includes, bytes of its body.

The numbers live in settings (RMA_MAX_INCLUDED_ROWS, RMA_MAX_RESPONSE_BYTES) and are read when a query runs. Going
past one is the query's size, not a fault: an RmaError (HTTP 400) that says what to narrow, like Allen's 25,000-row
page cap.
"""

from django.conf import settings

from celltypes.rma.errors import RmaError

NARROW = "ask for fewer rows (num_rows, start_row), add filters, or include fewer associations"


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
