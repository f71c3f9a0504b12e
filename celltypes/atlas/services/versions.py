"""The atlas version: one counter that every cache of atlas reads is keyed on."""

from django.db import connection
from django.db.models import F

from celltypes.atlas.models import AtlasVersion

# Read on every cached answer (RMA and REST API): one SQL statement, without building an ORM query each time
# (the ORM's query building cost two thirds of a cached REST answer).
_VERSION_SQL = f"SELECT version FROM {connection.ops.quote_name(AtlasVersion._meta.db_table)} WHERE id = 1"


def atlas_version_bump() -> None:
    """Invalidate every cache keyed on the atlas version (call inside the writing transaction)."""
    AtlasVersion.objects.get_or_create(id=1)
    AtlasVersion.objects.filter(id=1).update(version=F("version") + 1)


def atlas_version_get() -> int:
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_SQL)
        row = cursor.fetchone()
    return row[0] if row else 0
