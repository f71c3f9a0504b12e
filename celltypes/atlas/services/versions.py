"""The atlas version: one counter that every cache of atlas reads is keyed on."""

from django.db.models import F

from celltypes.atlas.models import AtlasVersion


def atlas_version_bump() -> None:
    """Invalidate every cache keyed on the atlas version (call inside the writing transaction)."""
    AtlasVersion.objects.get_or_create(id=1)
    AtlasVersion.objects.filter(id=1).update(version=F("version") + 1)


def atlas_version_get() -> int:
    return AtlasVersion.objects.filter(id=1).values_list("version", flat=True).first() or 0
