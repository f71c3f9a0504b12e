"""The SQL statements an RMA query ran, for tests that count them."""

from django.test.utils import CaptureQueriesContext


def statements_of(run: CaptureQueriesContext) -> list[str]:
    """The statements captured, without the savepoint a test's transaction gets around a query on PostgreSQL
    (celltypes.rma.limits.deadline; a request in production runs in autocommit and has none)."""
    return [s["sql"] for s in run.captured_queries if not s["sql"].startswith(("SAVEPOINT", "RELEASE"))]
