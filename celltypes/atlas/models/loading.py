"""What the demo loader keeps between loads: never served, never one of Allen's records."""

from django.db import models


class MintedId(models.Model):
    """An id we minted for a record Allen gives no id for (a tag, a line, a stand-in file), by key.

    Kept so that a key keeps its id across loads and no id ever goes to two keys (celltypes.atlas.services.minted_ids).
    """

    id = models.BigIntegerField(primary_key=True)
    kind = models.CharField(max_length=40)
    key = models.TextField()

    class Meta:
        db_table = "minted_ids"
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="minted_id_kind_key")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"


class LoadedRows(models.Model):
    """The primary keys (or, for a link table, the [from, to] pairs) of one table that the last demo load wrote.

    The next load deletes those its snapshot no longer has (celltypes.atlas.services.loaded_rows); rows that
    upstream sync wrote are not listed and are left alone.
    """

    table = models.CharField(max_length=100, primary_key=True)
    keys = models.JSONField(default=list)

    class Meta:
        db_table = "loaded_rows"

    def __str__(self) -> str:
        return f"{self.table}: {len(self.keys)} rows"
