"""Reads of well-known file records, and which of them the file store holds."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from celltypes.atlas import filestore
from celltypes.atlas.models import WellKnownFile


def well_known_files() -> QuerySet[WellKnownFile]:
    """Every well-known file record with its type (one query)."""
    return WellKnownFile.objects.select_related("well_known_file_type").order_by("id")


def held_file_ids(file_ids: Iterable[int]) -> set[int]:
    """Which of these files the file store holds right now (a stat per file, no query)."""
    return {file_id for file_id in file_ids if filestore.has_well_known_file(file_id)}
