"""Ids for records Allen gives no id for (tags, lines, reporters, products, stand-in files and results).

A key (kind, key) gets LOCAL_ID_BASE + crc32("kind:key") the first time it is seen, or, when another key already
holds that id (a crc32 collision), the next id above the whole crc32 range. The registry (MintedId) then keeps
that id for that key for good. So ids never collide (a collision used to let one upsert overwrite another row),
stay the same across loads (rows, file store paths and caches refer to them), and are the ids earlier loads
gave every key that did not collide. Every minted id is >= LOCAL_ID_BASE, far above Allen's ids.
"""

import zlib

from django.db import IntegrityError

from celltypes.atlas.models import MintedId

LOCAL_ID_BASE = 9_000_000_000
COLLISION_BASE = LOCAL_ID_BASE + (1 << 32)  # ids given on a crc32 collision: above every crc32 id


class MintedIdError(Exception):
    """Two keys would share one id (the registry's invariant is broken)."""


class IdMinter:
    """Mint ids through the registry; call save() inside the loading transaction."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, str], int] = {}
        self.keys: dict[int, tuple[str, str]] = {}
        for pk, kind, key in MintedId.objects.values_list("id", "kind", "key"):
            self._remember(pk, (kind, key))
        self.new: list[MintedId] = []

    def __call__(self, kind: str, key: object) -> int:
        name = (kind, str(key))
        pk = self.ids.get(name)
        if pk is None:
            pk = LOCAL_ID_BASE + zlib.crc32(f"{kind}:{key}".encode())
            if pk in self.keys:
                pk = max(COLLISION_BASE - 1, *self.keys) + 1
            self._remember(pk, name)
            self.new.append(MintedId(id=pk, kind=name[0], key=name[1]))
        return pk

    def _remember(self, pk: int, name: tuple[str, str]) -> None:
        if pk in self.keys:
            raise MintedIdError(f"minted id {pk} would go to both {':'.join(self.keys[pk])} and {':'.join(name)}")
        self.ids[name] = pk
        self.keys[pk] = name

    def save(self) -> None:
        """Register the ids minted since the last save (fails loudly if another writer took one meanwhile)."""
        try:
            MintedId.objects.bulk_create(self.new, batch_size=1000)
        except IntegrityError as exc:
            raise MintedIdError(f"a minted id or key is already registered: {exc}") from exc
        self.new = []
